"""What an algorithm plugs into the shared training iteration."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import chex


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
    collect: `(params, key, states[B]) -> (trajectory, Rollout)`: play whole episodes.
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
