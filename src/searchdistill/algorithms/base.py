"""What an algorithm plugs into the shared training iteration."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import chex
import jax


class Rollout(NamedTuple):
  """Fields every algorithm's time-major trajectory has, for shared rollout metrics.

  Attributes:
    reward: float32 `[T, B]`.
    valid: bool `[T, B]`, True on real (not padded) steps.
  """

  reward: chex.Array
  valid: chex.Array


class Algorithm(NamedTuple):
  """An algorithm as three pure functions over arrays.

  Attributes:
    collect: `(params, keys[B], states[B]) -> (trajectory, Rollout)`: play whole episodes,
      episode i drawing its randomness from `keys[i]` only (so the batch can be split over
      devices without changing any episode).
    make_samples: `(params, trajectory) -> samples`: flat training samples whose `weight`
      field is 1 on real steps and 0 on padding.
    loss: `(params, samples) -> (scalar loss, dict of scalar diagnostics)`.
    early_stop_key: a diagnostic that, when above `config.target_kl`, ends the iteration's
      updates (PPO's approximate KL), or None.
  """

  collect: Callable[..., Any]
  make_samples: Callable[..., Any]
  loss: Callable[..., Any]
  early_stop_key: str | None = None


def per_step_keys(keys: chex.PRNGKey, step: chex.Array) -> chex.PRNGKey:
  """Each episode's key for time step `step`: `[B]` keys from `[B]` episode keys."""
  return jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, step)
