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
from searchdistill.search import greedy_action, make_search

EVAL_SEED = 20_221_122


def eval_keys(num_episodes: int):
  return jax.random.split(jax.random.fold_in(jax.random.key(EVAL_SEED), 1), num_episodes)


def make_policy(env, network, *, num_simulations: int, config):
  """`choose(params, states, keys) -> actions [B]` (one key per state): greedy if
  `num_simulations` is 0, else a deterministic search (no Gumbel noise) acting with the
  search's choice."""
  if not num_simulations:
    return lambda params, states, keys: greedy_action(network, params, states)
  search = make_search(
    env,
    network,
    num_simulations=num_simulations,
    max_num_considered_actions=config.search.max_num_considered_actions,
    gumbel_scale=0.0,
    discount=config.train.discount,
    value_scale=config.search.value_scale,
  )
  return lambda params, states, keys: search(params, keys, states).action


def make_evaluator(env, network, *, num_simulations: int, config):
  """Builds `evaluate(params, keys) -> returns [N]` with `make_policy`'s policy."""
  choose = make_policy(env, network, num_simulations=num_simulations, config=config)

  @jax.jit
  def evaluate(params, keys):
    states = jax.vmap(env.reset)(keys)

    def act(carry, step):
      states, returns = carry
      actions = choose(params, states, per_step_keys(keys, step))
      next_states, reward = jax.vmap(env.step)(states, actions)
      return (next_states, returns + reward), None

    (_, returns), _ = jax.lax.scan(
      act,
      (states, jnp.zeros(keys.shape[0])),
      jnp.arange(config.eval.eval_max_steps or env.max_episode_steps),
    )
    return returns

  return evaluate


def summarize(returns) -> dict:
  """Mean, standard error and count of per-episode returns."""
  returns = np.asarray(returns, dtype=np.float64)
  n = len(returns)
  stderr = float(returns.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
  return {"mean": float(returns.mean()), "stderr": stderr, "episodes": n}
