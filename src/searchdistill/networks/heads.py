"""Shared network outputs and masking."""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax.numpy as jnp


class PolicyValue(NamedTuple):
  """Outputs of a policy-value network.

  Attributes:
    logits: float32 `[..., num_actions]` unmasked policy logits.
    value: float32 `[...]` state-value estimate.
  """

  logits: chex.Array
  value: chex.Array


def mask_logits(logits: chex.Array, valid: chex.Array) -> chex.Array:
  """Replaces invalid logits by the dtype's most negative finite value.

  Finite, not -inf, so a row with no valid action still gives finite softmax and losses.
  The row maximum is subtracted first so valid logits stay in a well-conditioned range.
  """
  chex.assert_equal_shape([logits, valid])
  logits = logits - jnp.max(logits, axis=-1, keepdims=True)
  return jnp.where(valid, logits, jnp.finfo(logits.dtype).min)
