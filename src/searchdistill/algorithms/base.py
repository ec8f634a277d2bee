"""What an algorithm plugs into the shared training iteration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax


class Rollout(NamedTuple):
  """Per-step records `[T, B]` of the streams, for the shared rollout metrics.

  Attributes:
    valid: bool, True where the slot acted in a live state.
    last: bool, True where the step ended an episode.
    episode_return: float32, the ended episode's return where `last`, else 0.
    episode_length: int32, the ended episode's length where `last`, else 0.
  """

  valid: chex.Array
  last: chex.Array
  episode_return: chex.Array
  episode_length: chex.Array


class Algorithm(NamedTuple):
  """An algorithm as pure functions over arrays.

  Attributes:
    collect: `(params, keys[B], streams[B]) -> (trajectory, Rollout, streams)`: advance each
      stream (`algorithms.streams`) by a fixed number of steps, stream i drawing its
      randomness from `keys[i]` only (so the batch can be split over devices without changing
      any stream). Trajectory and Rollout leaves are time-major `[T, B, ...]`.
    make_samples: `(params, memory, trajectory) -> (samples, memory)`: flat training samples
      whose `weight` field is 1 on samples to learn from and 0 elsewhere, and the memory the
      algorithm keeps between iterations (`()` if none).
    loss: `(params, samples) -> (scalar loss, dict of scalar diagnostics)`.
    init_memory: `() -> memory`, the memory before the first iteration; its leaves are
      time-major `[L, B, ...]` (split over devices along B).
    early_stop_key: a diagnostic that, when above `config.ppo.target_kl`, ends the iteration's
      updates (PPO's approximate KL), or None.
    reobserve: `(samples, observation) -> samples`: the samples with `observation`, an
      observation of equivalent instances (a symmetric view), for the loss to learn from
      (distill: in place of the original; PPO: beside it, see `ppo.reobserve`). By default
      only the observation changes.
  """

  collect: Callable[..., Any]
  make_samples: Callable[..., Any]
  loss: Callable[..., Any]
  init_memory: Callable[[], Any] = lambda: ()
  early_stop_key: str | None = None
  reobserve: Callable[..., Any] = lambda samples, observation: samples._replace(
    observation=observation
  )


def per_step_keys(keys: chex.PRNGKey, step: chex.Array) -> chex.PRNGKey:
  """Each stream's key for time step `step`: `[B]` keys from the `[B]` streams' keys."""
  return jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, step)
