"""Helpers shared by the benchmarks (run them as scripts: `python benchmarks/NAME.py`)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from searchdistill import replay
from searchdistill.algorithms import muzero


def median_seconds(fn, *args, repeats: int) -> float:
  fn(*args)  # Warm-up: compiles.
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn(*args)
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def filled_replay(state, env, config, rng, *, max_steps: int = 1024):
  """The state's replay with up to `max_steps` random steps per stream (only shapes matter)."""
  e, length = config.train.rollout_batch_size, min(config.muzero.replay_capacity, max_steps)
  obs = rng.integers(0, 256, (e, length, *env.observation_shape), dtype=np.uint8)
  steps = muzero.Step(
    observation=obs.astype(state.replay.data.observation.dtype),
    action_mask=np.ones((e, length, env.num_actions), bool),
    action=rng.integers(0, env.num_actions, (e, length)).astype(np.int32),
    reward=rng.normal(size=(e, length)).astype(np.float32),
    terminated=rng.random((e, length)) < 0.01,
    boundary=rng.random((e, length)) < 0.01,
    policy=np.full((e, length, env.num_actions), 1 / env.num_actions, np.float32),
    root_value=rng.normal(size=(e, length)).astype(np.float32),
  )
  return replay.add(state.replay, steps)
