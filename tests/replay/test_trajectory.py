import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill import replay

# Jitted, as the learners call them: op by op, each of their operations compiles on its own.
_add = jax.jit(replay.add)
_add_to_shard = jax.jit(replay.add_to_shard)
_sample = jax.jit(replay.sample, static_argnames=("batch_size", "window", "alpha", "beta"))


def _steps(start, length, streams=2):
  """Steps whose `t` field is their time index and `s` their stream."""
  t = jnp.arange(start, start + length, dtype=jnp.int32)
  return {
    "t": jnp.broadcast_to(t, (streams, length)),
    "s": jnp.broadcast_to(jnp.arange(streams, dtype=jnp.int32)[:, None], (streams, length)),
  }


def test_add__wraps_around_keeping_the_newest_steps():
  state = replay.init({"t": jnp.int32(0), "s": jnp.int32(0)}, num_streams=2, capacity=5)
  for start in range(0, 12, 3):  # 12 steps into 5 slots
    state = _add(state, _steps(start, 3))
  assert int(state.written) == 12 and int(replay.size(state)) == 5
  stored = np.sort(np.asarray(state.data["t"][0]))
  np.testing.assert_array_equal(stored, [7, 8, 9, 10, 11])
  np.testing.assert_array_equal(state.data["t"][0, 11 % 5], 11)


def test_sample__windows_are_consecutive_and_never_cross_the_write_point():
  state = replay.init({"t": jnp.int32(0), "s": jnp.int32(0)}, num_streams=2, capacity=7)
  for start in range(0, 17, 4):
    state = _add(state, _steps(start, 4))  # written = 20, stored t = 13..19
  out = _sample(state, jax.random.key(0), batch_size=256, window=3, alpha=0.0, beta=1.0)
  t = np.asarray(out.data["t"])
  np.testing.assert_array_equal(np.diff(t, axis=1), 1)  # consecutive, across the ring end
  assert t.min() >= 13 and t.max() <= 19  # only stored, written steps
  np.testing.assert_array_equal(out.data["s"][:, 0], out.stream)
  assert set(np.unique(t[:, 0])) == set(range(13, 18))  # every usable start is reachable


def test_sampling_probabilities__follow_priority_to_the_alpha():
  state = replay.init({"t": jnp.int32(0)}, num_streams=1, capacity=4)
  state = _add(state, {"t": jnp.arange(4, dtype=jnp.int32)[None]})
  state = replay.update_priorities(
    state, jnp.array([0, 0, 0]), jnp.array([0, 1, 2]), jnp.array([1.0, 2.0, 4.0])
  )
  probs = np.asarray(replay.sampling_probabilities(state, window=2, alpha=0.5))
  expected = np.array([1.0, np.sqrt(2), 2.0, 0.0])  # slot 3's window would need step 4
  np.testing.assert_allclose(probs[0], expected / expected.sum(), rtol=1e-6)


def test_sample__importance_weights_correct_for_the_priorities():
  state = replay.init({"t": jnp.int32(0)}, num_streams=1, capacity=3)
  state = _add(state, {"t": jnp.arange(3, dtype=jnp.int32)[None]})
  state = replay.update_priorities(
    state, jnp.array([0, 0, 0]), jnp.array([0, 1, 2]), jnp.array([1.0, 3.0, 9.0])
  )
  out = _sample(state, jax.random.key(1), batch_size=64, window=1, alpha=1.0, beta=0.5)
  probs = np.array([1.0, 3.0, 9.0]) / 13.0
  raw = (3 * probs) ** -0.5
  drawn = np.asarray(out.slot)
  expected = raw[drawn] / raw[drawn].max()
  np.testing.assert_allclose(out.weight, expected, rtol=1e-5)
  np.testing.assert_allclose(out.probability, probs[drawn], rtol=1e-5)


def test_add__new_steps_get_the_largest_priority_so_far():
  state = replay.init({"t": jnp.int32(0)}, num_streams=1, capacity=4)
  state = _add(state, {"t": jnp.zeros((1, 2), jnp.int32)})
  state = replay.update_priorities(state, jnp.array([0]), jnp.array([0]), jnp.array([5.0]))
  state = _add(state, {"t": jnp.zeros((1, 2), jnp.int32)})
  np.testing.assert_allclose(state.priority[0], [5.0, 1.0, 5.0, 5.0])


def test_init__rejects_a_capacity_below_two():
  with pytest.raises(ValueError, match="capacity"):
    replay.init({"t": jnp.int32(0)}, num_streams=1, capacity=1)


def _sharded_and_flat(shard_steps):
  """A sharded buffer with one shard per entry of `shard_steps`, and the unsharded buffer
  holding the same streams side by side (only equal when every shard was written equally)."""
  example = {"t": jnp.int32(0), "s": jnp.int32(0)}
  sharded = replay.init_sharded(example, num_shards=len(shard_steps), num_streams=2, capacity=6)
  for shard, steps in enumerate(shard_steps):
    sharded = _add_to_shard(sharded, shard, steps)
  flat = replay.init(example, num_streams=2 * len(shard_steps), capacity=6)
  flat = _add(flat, jax.tree.map(lambda *xs: jnp.concatenate(xs), *shard_steps))
  return sharded, flat


def test_sharded_sample__matches_one_buffer_holding_the_shards_side_by_side():
  shard_steps = [jax.tree.map(lambda x: x + 100 * m, _steps(0, 5)) for m in range(3)]
  sharded, flat = _sharded_and_flat(shard_steps)
  sharded = replay.update_priorities(
    sharded, jnp.array([0, 3, 5]), jnp.array([1, 0, 2]), jnp.array([5.0, 2.0, 0.5])
  )
  flat = replay.update_priorities(
    flat, jnp.array([0, 3, 5]), jnp.array([1, 0, 2]), jnp.array([5.0, 2.0, 0.5])
  )
  np.testing.assert_allclose(
    replay.sampling_probabilities(sharded, window=2, alpha=0.7).reshape(6, 6),
    replay.sampling_probabilities(flat, window=2, alpha=0.7),
  )
  a = _sample(sharded, jax.random.key(3), batch_size=32, window=2, alpha=0.7, beta=0.4)
  b = _sample(flat, jax.random.key(3), batch_size=32, window=2, alpha=0.7, beta=0.4)
  jax.tree.map(np.testing.assert_array_equal, a, b)
  # Stream m * E + e of the sharded buffer is stream e of shard m.
  np.testing.assert_array_equal(a.data["s"][:, 0] - 100 * (a.stream // 2), a.stream % 2)
  np.testing.assert_array_equal(a.data["t"][:, 0] // 100, a.stream // 2)


def test_sharded_sample__never_draws_from_a_shard_without_a_whole_window():
  sharded = replay.init_sharded(
    {"t": jnp.int32(0), "s": jnp.int32(0)}, num_shards=2, num_streams=2, capacity=6
  )
  sharded = _add_to_shard(sharded, 1, _steps(0, 4))
  sharded = _add_to_shard(sharded, 0, _steps(0, 1))  # shorter than a window
  np.testing.assert_array_equal(replay.size(sharded), [1, 4])
  out = _sample(sharded, jax.random.key(0), batch_size=128, window=2, alpha=0.0, beta=1.0)
  assert np.all(np.asarray(out.stream) >= 2)  # shard 1 only
  np.testing.assert_array_equal(np.diff(np.asarray(out.data["t"]), axis=1), 1)


def test_sample__a_draw_of_an_unusable_start_moves_to_a_usable_one(monkeypatch):
  # jax.random.choice can land on a probability-0 entry (its float32 cumulative sum is not
  # exactly monotone); this forces such draws to check that they never reach the batch.
  state = replay.init({"t": jnp.int32(0), "s": jnp.int32(0)}, num_streams=2, capacity=6)
  state = replay.add(state, _steps(0, 4))  # starts 0..2 usable for window 2
  probabilities = np.asarray(replay.sampling_probabilities(state, window=2, alpha=1.0))
  unusable = np.flatnonzero(probabilities.reshape(-1) == 0)
  forced = jnp.asarray(np.resize(unusable, 16))
  monkeypatch.setattr(replay.trajectory.jax.random, "choice", lambda *a, **k: forced)
  out = replay.sample(state, jax.random.key(0), batch_size=16, window=2, alpha=1.0, beta=1.0)
  assert np.all(np.asarray(out.probability) > 0)
  assert np.all(np.isfinite(np.asarray(out.weight)))
  np.testing.assert_array_equal(np.diff(np.asarray(out.data["t"]), axis=1), 1)
  assert np.asarray(out.data["t"]).max() <= 3  # only written steps
