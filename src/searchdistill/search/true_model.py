"""Gumbel MuZero search whose model is the true environment.

The search tree's embeddings are `EnvState`s: expanding a node steps the real environment. Masks
are applied at every node, not only the root, because `mctx` masks only the root's
`invalid_actions`: each child's prior logits are masked with the child's own action mask, and
a transition that ends the episode gets discount 0 and value 0, so nothing beyond a terminal
node contributes to any Q-value.

Every state brings its own RNG key, and a row's Gumbel noise depends only on that key
(`gumbel.gumbel_noise`). The search is therefore a per-row function of `(key, state)`: it can
run on each device's shard of the batch separately (no collectives inside its loops) and one
and two devices give the same searches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp
import mctx
from mctx._src import qtransforms

from searchdistill.envs.base import Environment, EnvState
from searchdistill.networks.heads import mask_logits
from searchdistill.search.fast_backward import use_batched_backward
from searchdistill.search.gumbel import gumbel_muzero_policy_with_noise, gumbel_noise
from searchdistill.search.output import SearchOutput


def evaluate_states(network, params, states: EnvState):
  """For a batch of `B` states: masked prior logits float32 `[B, A]` and values float32 `[B]`
  (0 once done)."""
  out = network.apply(params, states.observation)
  logits = mask_logits(out.logits, states.action_mask)
  return logits, jnp.where(states.done, 0.0, out.value)


def make_search(
  env: Environment,
  network,
  *,
  num_simulations: int,
  max_num_considered_actions: int,
  gumbel_scale: float,
  discount: float,
  value_scale: float = 0.1,
  return_tree: bool = False,
  batched_backward: bool = True,
) -> Callable[[Any, chex.PRNGKey, EnvState], SearchOutput]:
  """Builds `search(params, keys, states) -> SearchOutput` for a batch of states; `keys`
  holds one key per state (`[B]`), and row i depends only on `keys[i]`, `states[i]`, `params`.

  Args:
    env: the environment whose true `step` is the search's model.
    network: a Flax module mapping observations to `PolicyValue`.
    num_simulations: simulations per search.
    max_num_considered_actions: root actions kept by Gumbel top-k (at most all of them).
    gumbel_scale: scale of the root Gumbel noise (0 for a deterministic search).
    discount: discount applied between non-terminal transitions.
    value_scale: `c_scale` of the completed-Q transform, sigma(q) = (c_visit + max visits) *
      value_scale * q with q rescaled to [0, 1]: how far the action weights move from the
      prior towards the best Q (mctx's default 0.1).
    return_tree: also return the search tree (for tests and diagnostics).
    batched_backward: back values up with `fast_backward.batched_backward` (same results as
      mctx's own backward, much cheaper with many actions).
  """
  qtransform = functools.partial(
    qtransforms.qtransform_completed_by_mix_value, value_scale=value_scale
  )

  recurrent_fn = _true_recurrent_fn(env, network, discount)

  def search(params, keys: chex.PRNGKey, states: EnvState) -> SearchOutput:
    chex.assert_equal_shape_prefix([keys, states.action_mask], 1)
    logits, value = evaluate_states(network, params, states)
    with use_batched_backward(batched_backward):
      output = gumbel_muzero_policy_with_noise(
        params,
        # For `recurrent_fn` and mctx's action selection: both deterministic here, unused.
        jax.random.fold_in(keys[0], 1),
        mctx.RootFnOutput(prior_logits=logits, value=value, embedding=states),
        recurrent_fn,
        gumbel=gumbel_noise(keys, num_actions=logits.shape[-1], scale=gumbel_scale),
        num_simulations=num_simulations,
        invalid_actions=~states.action_mask,
        qtransform=qtransform,
        max_num_considered_actions=min(max_num_considered_actions, logits.shape[-1]),
      )
    # mctx fills an all-invalid row with uniform weights; a finished state has no target.
    return SearchOutput(
      action=output.action.astype(jnp.int32),
      action_weights=jnp.where(states.action_mask, output.action_weights, 0.0),
      root_value=output.search_tree.node_values[:, 0],
      tree=output.search_tree if return_tree else None,
    )

  return search


def _true_recurrent_fn(env: Environment, network, discount: float):
  """mctx's `recurrent_fn` over the true environment: a step of each state, then the network
  on the next states (discount 0 past an episode's end)."""

  def recurrent_fn(params, rng_key, action, states):
    del rng_key  # The true dynamics are deterministic.
    next_states, reward = jax.vmap(env.step)(states, action)
    logits, value = evaluate_states(network, params, next_states)
    step_discount = jnp.where(next_states.done, 0.0, discount).astype(jnp.float32)
    return mctx.RecurrentFnOutput(
      reward=reward, discount=step_discount, prior_logits=logits, value=value
    ), next_states

  return recurrent_fn


def greedy_action(network, params, states: EnvState) -> chex.Array:
  """The network's most likely valid action for each of a batch of states: int32 `[B]`."""
  logits, _ = evaluate_states(network, params, states)
  return jnp.argmax(logits, axis=-1).astype(jnp.int32)
