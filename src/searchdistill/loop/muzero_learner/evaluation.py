"""Episode evaluators of MuZero's stream environments, in-graph and host-side."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms.base import per_step_keys


def make_episode_evaluator(env, choose, *, max_steps: int):
  """Builds `evaluate(params, keys [N]) -> returns [N]`: the first episode of each of N
  streams, acting with `choose(params, key, observations, action_mask) -> actions`."""

  @jax.jit
  def evaluate(params, keys):
    states = jax.vmap(env.reset)(keys)
    n = keys.shape[0]

    def cond(carry):
      t, _, _, finished = carry
      return (t < max_steps) & ~jnp.all(finished)

    def body(carry):
      t, states, returns, finished = carry
      step_keys = per_step_keys(keys, t)
      actions = choose(
        params, jax.random.fold_in(keys[0], t), states.observation, states.action_mask
      )
      states, result = jax.vmap(env.step)(states, actions, step_keys)
      returns = returns + jnp.where(finished, 0.0, result.reward)
      finished = finished | result.terminated | result.truncated
      return t + 1, states, returns, finished

    init = (jnp.int32(0), states, jnp.zeros(n), jnp.zeros(n, bool))
    return jax.lax.while_loop(cond, body, init)[2]

  return evaluate


def make_host_episode_evaluator(env, choose, *, max_steps: int):
  """`evaluate(params, keys [N]) -> returns [N]` for host-side games: the raw score of the first
  whole game in each of N evaluation games (no reward clipping, no life-loss terminals),
  seeded from `keys`."""
  choose = jax.jit(choose)

  def evaluate(params, keys):
    seed = int(jax.random.randint(keys[0], (), 0, 2**31 - 1))
    vector = env.vector(keys.shape[0], seed=seed, training=False)
    observation = vector.reset()
    returns = np.zeros(vector.num_envs, np.float32)
    finished = np.zeros(vector.num_envs, bool)
    for t in range(max_steps):
      if finished.all():
        break
      actions = jax.device_get(
        choose(params, jax.random.fold_in(keys[0], t), observation, vector.action_mask)
      )
      observation, result = vector.step(actions)
      returns = np.where(result.game_over & ~finished, result.scores, returns)
      finished |= result.game_over
    # Games still running at the step limit count with their score so far.
    running = np.asarray([game.score for game in vector.games], np.float32)
    return np.where(finished, returns, running)

  return evaluate
