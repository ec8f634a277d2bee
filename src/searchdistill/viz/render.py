"""Episode GIFs of a trained agent, rendered headless with the environment's own viewer."""

from __future__ import annotations

import os

import jax

from searchdistill.training.evaluation import make_policy


def play_episode(parts, params, *, key, simulations: int = 0):
  """Plays one episode from `key`; returns (list of unbatched env states, total return)."""
  env = parts.env
  policy = make_policy(env, parts.network, num_simulations=simulations, config=parts.config)
  choose = jax.jit(lambda p, s, keys: policy(p, jax.tree.map(lambda x: x[None], s), keys)[0])
  step = jax.jit(env.step)
  state = jax.jit(env.reset)(key)
  states, total = [state], 0.0
  for t in range(env.max_episode_steps):
    if bool(state.done):
      break
    state, reward = step(state, choose(params, state, jax.random.fold_in(key, t)[None]))
    states.append(state)
    total += float(reward)
  return states, total


def write_gif(parts, states, path: str, interval: int = 400) -> None:
  """Animates the episode to `path` (Pillow writer; no display or ffmpeg needed)."""
  os.environ.setdefault("MPLBACKEND", "Agg")
  import matplotlib
  matplotlib.use("Agg")
  inner = [s.inner for s in states]
  parts.env.animate(inner, path, interval=interval)
