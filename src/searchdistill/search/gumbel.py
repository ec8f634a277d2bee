"""Gumbel MuZero with the root's Gumbel noise supplied by the caller.

`mctx.gumbel_muzero_policy` draws its Gumbel noise from one key for the whole `[B, A]` batch,
so the noise a row receives depends on where that row sits in the batch. Running the search
separately on each device's shard (`shard_map`, no collectives inside the search's loops) would
then change the searches with the device count. Here the caller draws the noise (one key per
row), and the rest is mctx's own pieces assembled exactly as `mctx.gumbel_muzero_policy` does:
given the same noise, and as key mctx's own search key (`jax.random.split(key)[0]`), the
outputs are identical (tested).
"""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import mctx
from mctx._src import action_selection, qtransforms, seq_halving
from mctx._src import search as mctx_search


def _mask_invalid(logits: chex.Array, invalid_actions: chex.Array) -> chex.Array:
  # A finite minimum (not -inf) keeps an all-invalid row free of NaN after softmax.
  logits = logits - jnp.max(logits, axis=-1, keepdims=True)
  return jnp.where(invalid_actions, jnp.finfo(logits.dtype).min, logits)


def gumbel_noise(keys: chex.PRNGKey, *, num_actions: int, scale: float) -> chex.Array:
  """Per-row Gumbel noise `[B, num_actions]` from per-row keys `[B]`: row i depends on keys[i]
  only, so sharding the batch does not change it."""
  return scale * jax.vmap(lambda k: jax.random.gumbel(k, (num_actions,)))(keys)


def gumbel_muzero_policy_with_noise(
  params,
  rng_key: chex.PRNGKey,
  root: mctx.RootFnOutput,
  recurrent_fn,
  *,
  gumbel: chex.Array,
  num_simulations: int,
  invalid_actions: chex.Array,
  max_num_considered_actions: int,
  max_depth: int | None = None,
  qtransform=qtransforms.qtransform_completed_by_mix_value,
) -> mctx.PolicyOutput:
  """`mctx.gumbel_muzero_policy` with the root noise `gumbel` `[B, A]` given.

  Args:
    params: forwarded to `recurrent_fn`.
    rng_key: key consumed by the tree search (handed to `recurrent_fn`).
    root: `RootFnOutput` with prior logits `[B, A]`, value `[B]`, embedding `[B, ...]`.
    recurrent_fn: mctx recurrent function.
    gumbel: float `[B, A]`, the already-scaled Gumbel noise (zeros for a deterministic search).
    num_simulations: simulations per search.
    invalid_actions: bool `[B, A]`, True where an action is invalid at the root.
    max_num_considered_actions: root actions kept by Gumbel top-k.
    max_depth: optional bound on a simulation's depth.
    qtransform: how Q-values are completed (mctx's default for Gumbel MuZero).
  """
  chex.assert_equal_shape([root.prior_logits, gumbel, invalid_actions])
  root = root.replace(prior_logits=_mask_invalid(root.prior_logits, invalid_actions))
  tree = mctx_search.search(
    params=params,
    rng_key=rng_key,
    root=root,
    recurrent_fn=recurrent_fn,
    root_action_selection_fn=functools.partial(
      action_selection.gumbel_muzero_root_action_selection,
      num_simulations=num_simulations,
      max_num_considered_actions=max_num_considered_actions,
      qtransform=qtransform,
    ),
    interior_action_selection_fn=functools.partial(
      action_selection.gumbel_muzero_interior_action_selection, qtransform=qtransform
    ),
    num_simulations=num_simulations,
    max_depth=max_depth,
    invalid_actions=invalid_actions,
    extra_data=action_selection.GumbelMuZeroExtraData(root_gumbel=gumbel),
  )
  visits = tree.summary().visit_counts
  completed_q = jax.vmap(qtransform, in_axes=[0, None])(tree, tree.ROOT_INDEX)
  # Act with the best of the most visited actions: highest gumbel + logits + completed Q.
  score = seq_halving.score_considered(
    jnp.max(visits, axis=-1, keepdims=True), gumbel, root.prior_logits, completed_q, visits
  )
  action = action_selection.masked_argmax(score, invalid_actions)
  weights = jax.nn.softmax(_mask_invalid(root.prior_logits + completed_q, invalid_actions))
  return mctx.PolicyOutput(action=action, action_weights=weights, search_tree=tree)
