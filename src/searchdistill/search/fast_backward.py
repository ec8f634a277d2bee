"""A batched replacement for mctx's backward pass, with identical results.

mctx (0.0.71) backs a leaf value up with `vmap(while_loop)` over the batch. A `while_loop`
under `vmap` with a per-row condition carries the whole tree and selects between the old and
new tree on every step, so each step touches all `[B, nodes, actions]` entries; with 800
actions this grows faster than the number of simulations and dominates the search at 32.

`batched_backward` walks all rows up together and writes only `B` entries per step, performing
per row exactly the same float operations in the same order as mctx's `backward`, so the tree
(and therefore `action` and `action_weights`) is bit-identical. `use_batched_backward()` swaps it
into mctx while a search is traced; tests check the equality against the original.
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
from mctx._src import search as mctx_search
from mctx._src.tree import Tree


def batched_backward(tree: Tree, leaf_index) -> Tree:
  """Updates values and visit counts from `leaf_index` `[B]` up to each row's root."""
  rows = jnp.arange(leaf_index.shape[0])
  root = Tree.ROOT_INDEX

  def cond(loop_state):
    _, _, index = loop_state
    return jnp.any(index != root)

  def body(loop_state):
    tree, leaf_value, index = loop_state
    active = index != root
    # Rows already at the root read (and rewrite unchanged) entry 0, harmlessly.
    parent = jnp.where(active, tree.parents[rows, index], 0)
    action = jnp.where(active, tree.action_from_parent[rows, index], 0)
    count = tree.node_visits[rows, parent]
    reward = tree.children_rewards[rows, parent, action]
    new_leaf_value = reward + tree.children_discounts[rows, parent, action] * leaf_value
    parent_value = (tree.node_values[rows, parent] * count + new_leaf_value) / (count + 1.0)
    child_value = tree.node_values[rows, index]
    child_visits = tree.children_visits[rows, parent, action]

    def write(array, value, *index_arrays):
      old = array[(rows,) + index_arrays]
      return array.at[(rows,) + index_arrays].set(jnp.where(active, value, old).astype(array.dtype))

    tree = tree.replace(
      node_values=write(tree.node_values, parent_value, parent),
      node_visits=write(tree.node_visits, count + 1, parent),
      children_values=write(tree.children_values, child_value, parent, action),
      children_visits=write(tree.children_visits, child_visits + 1, parent, action),
    )
    return tree, jnp.where(active, new_leaf_value, leaf_value), jnp.where(active, parent, index)

  leaf_index = jnp.asarray(leaf_index, dtype=jnp.int32)
  loop_state = (tree, tree.node_values[rows, leaf_index], leaf_index)
  tree, _, _ = jax.lax.while_loop(cond, body, loop_state)
  return tree


@contextlib.contextmanager
def use_batched_backward(enabled: bool = True):
  """Within the block, searches traced by mctx use `batched_backward`."""
  if not enabled:
    yield
    return
  original = mctx_search.backward
  mctx_search.backward = batched_backward
  try:
    yield
  finally:
    mctx_search.backward = original
