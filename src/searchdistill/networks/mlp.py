"""A generic MLP policy-value network over any flattened observation."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from searchdistill.networks.heads import PolicyValue


class MLPNetwork(nn.Module):
  """Concatenates every observation leaf (per example) and applies an MLP torso.

  Attributes:
    num_actions: policy width.
    hidden_sizes: widths of the torso layers.
    batch_ndim: leading dimensions that index examples rather than features.
  """

  num_actions: int
  hidden_sizes: tuple[int, ...] = (128, 128)
  batch_ndim: int = 1

  @nn.compact
  def __call__(self, observation) -> PolicyValue:
    leaves = jax.tree.leaves(observation)
    batch_shape = leaves[0].shape[: self.batch_ndim]
    x = jnp.concatenate(
      [leaf.reshape(batch_shape + (-1,)).astype(jnp.float32) for leaf in leaves], axis=-1
    )
    for size in self.hidden_sizes:
      x = nn.relu(nn.Dense(size)(x))
    return PolicyValue(nn.Dense(self.num_actions)(x), nn.Dense(1)(x)[..., 0])
