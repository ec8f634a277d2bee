"""Episode GIFs of a trained agent, rendered headless.

Jumanji environments draw themselves (their own matplotlib viewer); MinAtar observations are
drawn as colored cells; Atari games are recorded from the emulator's full-resolution screen.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.envs.base import EnvState

# Cell colors of MinAtar channels, in channel order (later channels are drawn on top).
_PALETTE = np.array(
  [
    [240, 200, 60],
    [230, 80, 80],
    [90, 160, 230],
    [120, 200, 120],
    [200, 120, 220],
    [250, 150, 70],
    [160, 160, 160],
    [60, 200, 200],
    [230, 230, 230],
    [150, 110, 70],
  ],
  np.uint8,
)


class Episode(NamedTuple):
  """One recorded episode.

  Attributes:
    frames: RGB uint8 images `[H, W, 3]`, one per state (None when `states` draw themselves).
    states: the unbatched environment states (Jumanji), else None.
    total: the episode's return (raw score for Atari).
    steps: agent steps taken.
  """

  frames: list[np.ndarray] | None
  states: list[Any] | None
  total: float
  steps: int


def grid_frame(observation, *, cell: int = 16) -> np.ndarray:
  """Draws a `[H, W, C]` grid of channel indicators (MinAtar) as an RGB image."""
  grid = np.asarray(observation) > 0
  image = np.zeros(grid.shape[:2] + (3,), np.uint8)
  for channel in range(grid.shape[-1]):
    image[grid[..., channel]] = _PALETTE[channel % len(_PALETTE)]
  return np.repeat(np.repeat(image, cell, axis=0), cell, axis=1)


def play_episode(parts, params, *, key, simulations: int = 0) -> Episode:
  """Plays one held-out episode from `key` with the run's greedy network (`simulations` 0)
  or its noise-free search."""
  if parts.learned_model:
    if parts.env.capabilities.host_side:
      return _play_atari(parts, params, key=key, simulations=simulations)
    return _play_stream(parts, params, key=key, simulations=simulations)
  env = parts.env
  policy = parts.policy(simulations)
  choose = jax.jit(lambda p, s, keys: policy(p, keys, jax.tree.map(lambda x: x[None], s))[0])
  step = jax.jit(env.step)
  state = jax.jit(env.reset)(key)
  states, total = [state], 0.0
  for t in range(env.max_episode_steps):
    if bool(state.done):
      break
    state, reward = step(state, choose(params, state, jax.random.fold_in(key, t)[None]))
    states.append(state)
    total += float(reward)
  if env.capabilities.renderer == "animate":
    return Episode(None, states, total, len(states) - 1)
  return Episode([grid_frame(s.observation) for s in states], None, total, len(states) - 1)


def _play_stream(parts, params, *, key, simulations: int) -> Episode:
  env = parts.env
  policy = parts.policy(simulations)
  choose = jax.jit(lambda p, s, keys: policy(p, keys, jax.tree.map(lambda x: x[None], s))[0])
  step = jax.jit(env.step)
  state = jax.jit(env.reset)(key)
  frames, total = [grid_frame(state.observation)], 0.0
  for t in range(env.max_episode_steps):
    step_key = jax.random.fold_in(key, t)
    action = choose(params, state, step_key[None])
    next_state, result = step(state, action, step_key)
    total += float(result.reward)
    if bool(result.terminated | result.truncated):
      break  # `next_state` already starts the next episode.
    state = next_state
    frames.append(grid_frame(state.observation))
  return Episode(frames, None, total, len(frames))


def _play_atari(parts, params, *, key, simulations: int) -> Episode:
  policy = jax.jit(parts.policy(simulations))
  seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
  vector = parts.env.vector(1, seed=seed, training=False)
  observation = vector.reset()
  frames = vector.frames()
  limit = parts.config.eval.eval_max_steps or parts.env.max_episode_steps
  for t in range(limit):
    states = EnvState(None, jnp.asarray(observation), jnp.asarray(vector.action_mask), None)
    action = policy(params, jax.random.fold_in(key, t)[None], states)
    observation, result = vector.step(np.asarray(action))
    if result.game_over[0]:
      return Episode(frames, None, float(result.scores[0]), t + 1)
    frames.extend(vector.frames())
  return Episode(frames, None, float(vector.games[0].score), limit)


def write_gif(parts, episode: Episode, path: str, interval: int = 100) -> None:
  """Writes the episode to `path` as a GIF (Pillow; no display or ffmpeg needed)."""
  if episode.frames is None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    parts.env.animate([s.inner for s in episode.states], path, interval=4 * interval)
    return
  from PIL import Image

  images = [Image.fromarray(frame) for frame in episode.frames]
  images[0].save(path, save_all=True, append_images=images[1:], duration=interval, loop=0)
