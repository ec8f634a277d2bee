"""Trajectory replay with prioritized sampling of K-step unroll windows, as pure functions.

The buffer holds `E` parallel streams of experience (one per environment of a vectorized
collector), each a ring of `C` steps written in lockstep: step t of every stream goes to slot
`t % C`. Streams run through episode boundaries (environments reset themselves), so each step
records whether it ended its episode and the unroll targets stop there.

A sharded buffer stacks `M` such buffers along a leading axis (data `[M, E, C, ...]`, one
`written` per shard), for collectors that write independently of each other (the actors of an
actor-learner); `add_to_shard` appends to one shard, and sampling, priorities and sizes work
the same on both layouts, numbering streams across shards (stream `m * E + e`).

Sampling draws window starts with probability proportional to `priority ** alpha` among the
starts whose whole window (`window` steps) has been written and not yet overwritten, and
returns importance weights `(N P(i)) ** -beta` normalized by their maximum in the batch
(Schaul et al. 2016). New steps get the largest priority seen so far, so each is likely to be
replayed at least once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp


class ReplayState(NamedTuple):
  """The buffer.

  Attributes:
    data: pytree of arrays `[E, C, ...]` (sharded: `[M, E, C, ...]`), the stored steps.
    priority: float32 `[E, C]` (`[M, E, C]`), sampling priority of a window starting at each
      slot.
    max_priority: float32 scalar, max(1, the largest priority ever set), given to new steps.
    written: int32 scalar (`[M]`), steps written per stream so far (the next step's time
      index).
  """

  data: Any
  priority: chex.Array
  max_priority: chex.Array
  written: chex.Array


class Sample(NamedTuple):
  """A batch of `B` windows.

  Attributes:
    data: pytree of arrays `[B, window, ...]`, consecutive steps of one stream each.
    stream: int32 `[B]` stream index of each window (across shards: `m * E + e`).
    slot: int32 `[B]` slot of each window's first step (for `update_priorities`).
    weight: float32 `[B]`, importance-sampling weights (max 1).
    probability: float32 `[B]`, probability the window had of being drawn.
  """

  data: Any
  stream: chex.Array
  slot: chex.Array
  weight: chex.Array
  probability: chex.Array


def init(example_step: Any, *, num_streams: int, capacity: int) -> ReplayState:
  """An empty buffer for steps shaped like `example_step` (one step of one stream)."""
  if capacity < 2 or num_streams < 1:
    raise ValueError(f"need capacity >= 2 and num_streams >= 1, got {capacity}, {num_streams}")
  data = jax.tree.map(
    lambda x: jnp.zeros((num_streams, capacity) + jnp.shape(x), jnp.asarray(x).dtype), example_step
  )
  return ReplayState(
    data, jnp.zeros((num_streams, capacity), jnp.float32), jnp.float32(1.0), jnp.int32(0)
  )


def init_sharded(
  example_step: Any, *, num_shards: int, num_streams: int, capacity: int
) -> ReplayState:
  """An empty sharded buffer: `num_shards` buffers of `num_streams` streams each."""
  if num_shards < 1:
    raise ValueError(f"need num_shards >= 1, got {num_shards}")
  one = init(example_step, num_streams=num_streams, capacity=capacity)
  stack = lambda x: jnp.broadcast_to(x, (num_shards,) + x.shape)
  return ReplayState(
    jax.tree.map(stack, one.data), stack(one.priority), one.max_priority, stack(one.written)
  )


def capacity_of(state: ReplayState) -> int:
  return state.priority.shape[-1]


def add(state: ReplayState, steps: Any) -> ReplayState:
  """Appends `steps` (leaves `[E, L, ...]`, L <= C) to every stream, overwriting the oldest."""
  length = jax.tree.leaves(steps)[0].shape[1]
  capacity = capacity_of(state)
  chex.assert_scalar_positive(capacity - length + 1)
  slots = (state.written + jnp.arange(length)) % capacity
  data = jax.tree.map(lambda buffer, new: buffer.at[:, slots].set(new), state.data, steps)
  priority = state.priority.at[:, slots].set(state.max_priority)
  return ReplayState(data, priority, state.max_priority, state.written + length)


def add_to_shard(state: ReplayState, shard, steps: Any) -> ReplayState:
  """`add` for one shard of a sharded buffer (`steps` leaves `[E, L, ...]`)."""
  part = ReplayState(
    jax.tree.map(lambda x: x[shard], state.data),
    state.priority[shard],
    state.max_priority,
    state.written[shard],
  )
  part = add(part, steps)
  return ReplayState(
    jax.tree.map(lambda whole, new: whole.at[shard].set(new), state.data, part.data),
    state.priority.at[shard].set(part.priority),
    part.max_priority,
    state.written.at[shard].set(part.written),
  )


def valid_starts(state: ReplayState, *, window: int) -> chex.Array:
  """bool `[C]` (sharded: `[M, C]`): slots whose `window` consecutive steps are all written
  and still stored."""
  capacity = capacity_of(state)
  slots = jnp.arange(capacity)
  # The time index of the step now in each slot: the latest t < written with t % C == slot.
  newest = jnp.expand_dims(state.written, -1) - 1
  time = newest - (newest - slots) % capacity
  return (time >= 0) & (time + window <= newest + 1) & (window <= capacity)


def sampling_probabilities(state: ReplayState, *, window: int, alpha: float) -> chex.Array:
  """float32, shaped like the priorities: the probability of each window start (0 where the
  window is unusable)."""
  usable = jnp.expand_dims(valid_starts(state, window=window), -2)
  scores = jnp.where(usable, jnp.power(jnp.maximum(state.priority, 1e-12), alpha), 0.0)
  return scores / jnp.maximum(jnp.sum(scores), 1e-30)


def sample(
  state: ReplayState, key: chex.PRNGKey, *, batch_size: int, window: int, alpha: float, beta: float
) -> Sample:
  """Draws `batch_size` windows (with replacement) by priority; see the module docstring.

  `alpha = 0` samples uniformly among usable windows; `beta = 1` fully corrects the bias.
  The caller must have added at least `window` steps.
  """
  probabilities = sampling_probabilities(state, window=window, alpha=alpha)
  flat = probabilities.reshape(-1)
  index = jax.random.choice(key, flat.shape[0], (batch_size,), p=flat)
  # The float32 cumulative sum behind `choice` is not exactly monotone, so a rare draw (about
  # one in a million on a 64 x 1024 buffer) lands on a start of probability 0, whose importance
  # weight is infinite. Such draws move to the closest usable start before them (or the first).
  positions = jnp.arange(flat.shape[0])
  last_usable = jax.lax.cummax(jnp.where(flat > 0, positions, -1))
  fallback = jnp.where(last_usable[index] >= 0, last_usable[index], jnp.argmax(flat > 0))
  index = jnp.where(flat[index] > 0, index, fallback)
  capacity = capacity_of(state)
  stream, slot = index // capacity, index % capacity
  positions = (slot[:, None] + jnp.arange(window)[None, :]) % capacity
  data = jax.tree.map(lambda x: _by_stream(state, x)[stream[:, None], positions], state.data)
  num_usable = jnp.sum(flat > 0)
  weight = jnp.power(num_usable * flat[index], -beta)
  return Sample(
    data, stream.astype(jnp.int32), slot.astype(jnp.int32), weight / jnp.max(weight), flat[index]
  )


def _by_stream(state: ReplayState, leaf: chex.Array) -> chex.Array:
  """A data leaf (or the priorities) with the shard and stream axes merged: `[M * E, C, ...]`."""
  leading = state.priority.ndim - 1
  return leaf.reshape((-1,) + leaf.shape[leading:])


def update_priorities(
  state: ReplayState, stream: chex.Array, slot: chex.Array, priority: chex.Array
) -> ReplayState:
  """Sets the priorities of sampled windows (for example to their value errors): `stream` and
  `slot` int32 `[B]` as in a `Sample`, `priority` float `[B]` (floored at 1e-6)."""
  priority = jnp.maximum(priority.astype(jnp.float32), 1e-6)
  updated = _by_stream(state, state.priority).at[stream, slot].set(priority)
  return state._replace(
    priority=updated.reshape(state.priority.shape),
    max_priority=jnp.maximum(state.max_priority, jnp.max(priority)),
  )


def size(state: ReplayState) -> chex.Array:
  """Steps stored per stream (sharded: per shard, `[M]`)."""
  return jnp.minimum(state.written, capacity_of(state))
