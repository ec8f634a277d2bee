"""Evaluation on a fixed, seeded set of held-out instances.

The instances come from a key stream that training never uses (training keys descend from
`fold_in(key(seed), 0)`, evaluation keys from `fold_in(key(EVAL_SEED), 1)`), and are the same
for every run, so numbers from different runs and algorithms are comparable.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms.base import per_step_keys
from searchdistill.envs.base import EnvState
from searchdistill.search import greedy_action, make_search

EVAL_SEED = 20_221_122


def eval_keys(num_episodes: int):
  return jax.random.split(jax.random.fold_in(jax.random.key(EVAL_SEED), 1), num_episodes)


def make_policy(env, network, *, num_simulations: int, config):
  """The episodic algorithms' evaluation policy, `policy(params, keys [B], states [B]) ->
  actions [B]` (one key per state): greedy if `num_simulations` is 0, else a deterministic
  search over the true environment (no Gumbel noise) acting with the search's choice."""
  if not num_simulations:
    return lambda params, keys, states: greedy_action(network, params, states)
  search = make_search(
    env,
    network,
    num_simulations=num_simulations,
    max_num_considered_actions=config.search.max_num_considered_actions,
    gumbel_scale=0.0,
    discount=config.train.discount,
    value_scale=config.search.value_scale,
  )
  return lambda params, keys, states: search(params, keys, states).action


def observation_policy(choose):
  """`choose(params, key, observations, action_mask) -> actions`, which sees observations and
  one key for the batch (MuZero's policies, the reference policies), as a `policy(params,
  keys, states)`; the batch key is the first state's."""
  return lambda params, keys, states: choose(
    params, keys[0], states.observation, states.action_mask
  )


def make_episode_evaluator(env, policy, *, max_steps: int, stream: bool = False):
  """Builds `evaluate(params, keys [N]) -> returns [N]`: one episode from each key, acting with
  `policy(params, keys, states) -> actions`, for at most `max_steps` steps (a cut episode
  counts with its return so far).

  `env` is episodic (`step(state, action)`; distill, PPO) or, with `stream`, self-resetting
  (`step(state, action, key)`; MuZero), in which case each episode is its stream's first. At
  step `t` episode `i` uses the key `fold_in(keys[i], t)`, for its action and its step.
  """

  def step(states, actions, step_keys):
    if not stream:
      states, reward = jax.vmap(env.step)(states, actions)
      return states, reward, states.done
    states, result = jax.vmap(env.step)(states, actions, step_keys)
    return states, result.reward, result.terminated | result.truncated

  @jax.jit
  def evaluate(params, keys):
    def cond(carry):
      t, _, _, finished = carry
      return (t < max_steps) & ~jnp.all(finished)

    def body(carry):
      t, states, returns, finished = carry
      step_keys = per_step_keys(keys, t)
      states, reward, ended = step(states, policy(params, step_keys, states), step_keys)
      returns = returns + jnp.where(finished, 0.0, reward)
      return t + 1, states, returns, finished | ended

    n = keys.shape[0]
    init = (jnp.int32(0), jax.vmap(env.reset)(keys), jnp.zeros(n), jnp.zeros(n, bool))
    return jax.lax.while_loop(cond, body, init)[2]

  return evaluate


def make_host_episode_evaluator(env, policy, *, max_steps: int):
  """`evaluate(params, keys [N]) -> returns [N]` for host-side games (ALE), with the same
  `policy` as `make_episode_evaluator`: the raw score of the first whole game in each of N
  evaluation games (no reward clipping, no life-loss terminals), seeded from `keys`."""
  policy = jax.jit(policy)

  def evaluate(params, keys):
    seed = int(jax.random.randint(keys[0], (), 0, 2**31 - 1))
    vector = env.vector(keys.shape[0], seed=seed, training=False)
    observation = vector.reset()
    returns = np.zeros(vector.num_envs, np.float32)
    finished = np.zeros(vector.num_envs, bool)
    for t in range(max_steps):
      if finished.all():
        break
      states = EnvState(None, observation, vector.action_mask, finished)
      actions = jax.device_get(policy(params, per_step_keys(keys, t), states))
      observation, result = vector.step(actions)
      returns = np.where(result.game_over & ~finished, result.scores, returns)
      finished |= result.game_over
    # Games still running at the step limit count with their score so far.
    running = np.asarray([game.score for game in vector.games], np.float32)
    return np.where(finished, returns, running)

  return evaluate


def summarize(returns) -> dict:
  """Mean, standard error and count of per-episode returns."""
  returns = np.asarray(returns, dtype=np.float64)
  n = len(returns)
  stderr = float(returns.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
  return {"mean": float(returns.mean()), "stderr": stderr, "episodes": n}
