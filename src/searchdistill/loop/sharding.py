"""Data parallelism over all local devices with `jax.sharding`.

Batches are split along their leading axis over a one-axis mesh named "data"; parameters and
optimizer state are replicated. Episode collection runs on each device's slice separately
(`shard_map`): a search's data-dependent while loops then need no collectives, which under
GSPMD they did (and XLA:CPU's in-process rendezvous could abort on them). The learning step
stays with GSPMD, which adds the all-reduce of the gradient sum. The same code runs on one
device or many.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec


class DataParallel:
  """The mesh of the local devices and the two shardings the training loop uses."""

  def __init__(self, devices=None):
    self.devices = list(devices if devices is not None else jax.local_devices())
    self.mesh = jax.sharding.Mesh(self.devices, ("data",))
    self.batch = NamedSharding(self.mesh, PartitionSpec("data"))
    self.replicated = NamedSharding(self.mesh, PartitionSpec())
    # Time-major histories `[L, B, ...]` are split along the stream axis.
    self.stream_axis = NamedSharding(self.mesh, PartitionSpec(None, "data"))

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def shard_batch(self, tree):
    """Constrains (inside jit) every leaf of `tree` to be split along its leading axis."""
    return jax.lax.with_sharding_constraint(tree, self.batch)

  def replicate(self, tree):
    """Places `tree` (outside jit) on every device."""
    return jax.device_put(tree, self.replicated)

  def per_shard_episodes(self, collect):
    """Runs `collect(params, keys[B], streams[B]) -> (trajectory, rollout, streams)` (the
    first two time-major, `[T, B, ...]` leaves) on each device's slice of the batch, with
    `params` replicated.

    Correct only for functions whose row i depends on `keys[i]` and `states[i]` alone, which
    is the `Algorithm.collect` contract.
    """
    batch, time_major = PartitionSpec("data"), PartitionSpec(None, "data")
    return jax.shard_map(
      collect,
      mesh=self.mesh,
      in_specs=(PartitionSpec(), batch, batch),
      out_specs=(time_major, time_major, batch),
      check_vma=False,
    )

  def per_shard_rows(self, evaluate):
    """Runs `evaluate(params, keys [N]) -> values [N]` on each device's slice of the keys, with
    `params` replicated. Any N works: the last key is repeated to fill the slices, and the
    copies' values are dropped.

    Correct only for functions whose row i depends on `keys[i]` alone (the episodic
    evaluators). Each device runs its own while loops, as in `per_shard_episodes`.
    """
    batch = PartitionSpec("data")
    split = jax.jit(
      jax.shard_map(
        evaluate,
        mesh=self.mesh,
        in_specs=(PartitionSpec(), batch),
        out_specs=batch,
        check_vma=False,
      )
    )

    def run(params, keys):
      rows = keys.shape[0]
      fill = -rows % self.num_devices
      if fill:
        keys = jnp.concatenate([keys, jnp.repeat(keys[-1:], fill, axis=0)])
      values = split(self.replicate(params), keys)
      return values[:rows] if fill else values

    return run
