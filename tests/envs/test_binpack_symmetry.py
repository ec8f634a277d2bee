"""BinPack's axis permutations are symmetries: the permuted instance plays out as the permuted
original, action for action, with the same rewards."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.envs.binpack_symmetry import PERMUTATIONS, permute_axes, random_view


def _permute_space(space, permutation):
  low = [space.x1, space.y1, space.z1]
  high = [space.x2, space.y2, space.z2]
  p = [int(i) for i in permutation]
  return type(space)(
    x1=low[p[0]], x2=high[p[0]], y1=low[p[1]], y2=high[p[1]], z1=low[p[2]], z2=high[p[2]]
  )


def _permute_state(inner, permutation):
  """The Jumanji state of the instance with relabelled axes (container included)."""
  p = [int(i) for i in permutation]
  items = [inner.items.x_len, inner.items.y_len, inner.items.z_len]
  location = [inner.items_location.x, inner.items_location.y, inner.items_location.z]
  return inner.replace(
    container=_permute_space(inner.container, permutation),
    ems=_permute_space(inner.ems, permutation),
    items=type(inner.items)(x_len=items[p[0]], y_len=items[p[1]], z_len=items[p[2]]),
    items_location=type(inner.items_location)(x=location[p[0]], y=location[p[1]], z=location[p[2]]),
  )


def _ems_rows(observation):
  """The valid EMSs as a sorted set of rows (the order of equal-volume EMSs may differ)."""
  ems = observation.ems
  rows = np.stack(
    [np.asarray(getattr(ems, c)) for c in ("x1", "x2", "y1", "y2", "z1", "z2")], axis=-1
  )[np.asarray(observation.ems_mask)]
  return rows[np.lexsort(rows.T[::-1])]


def test_permute_axes__identity_and_inverse(binpack):
  observation = binpack.reset(jax.random.key(3)).observation
  same = permute_axes(observation, PERMUTATIONS[0])
  for a, b in zip(jax.tree.leaves(same), jax.tree.leaves(observation)):
    np.testing.assert_array_equal(a, b)
  cycle = jnp.array([1, 2, 0], jnp.int32)
  back = permute_axes(permute_axes(permute_axes(observation, cycle), cycle), cycle)
  for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(observation)):
    np.testing.assert_array_equal(a, b)


def test_permute_axes__a_permuted_instance_plays_out_as_the_permuted_original(binpack):
  reset, step = jax.jit(binpack.env.reset), jax.jit(binpack.env.step)
  capacity = binpack.env.generator.max_num_ems
  compared = 0
  for seed, permutation in enumerate(PERMUTATIONS[1:]):
    state, timestep = reset(jax.random.key(seed))
    twin = _permute_state(state, permutation)
    twin_timestep = timestep
    for _ in range(binpack.max_episode_steps):
      mask = np.asarray(timestep.observation.action_mask)
      if timestep.last() or not mask.any():
        break
      # With every EMS slot taken Jumanji overwrites slot 0, whose content depends on the
      # axis order: the symmetry is exact until then (see the module's docstring).
      if int(state.ems_mask.sum()) == capacity or int(twin.ems_mask.sum()) == capacity:
        break
      compared += 1
      ems_slot, item = np.argwhere(mask)[0]
      # The same EMS in the twin's observation (slots may be ordered differently on ties).
      twin_observation = twin_timestep.observation
      wanted = _ems_rows(permute_axes(timestep.observation, permutation))
      assert np.allclose(wanted, _ems_rows(twin_observation), atol=1e-6)
      target = permute_axes(timestep.observation, permutation).ems
      target_row = np.array(
        [np.asarray(getattr(target, c))[ems_slot] for c in ("x1", "x2", "y1", "y2", "z1", "z2")]
      )
      twin_rows = np.stack(
        [
          np.asarray(getattr(twin_observation.ems, c)) for c in ("x1", "x2", "y1", "y2", "z1", "z2")
        ],
        axis=-1,
      )
      twin_slot = int(np.argmin(np.abs(twin_rows - target_row).sum(-1)))
      assert np.asarray(twin_observation.action_mask)[twin_slot, item]
      state, timestep = step(state, jnp.array([ems_slot, item]))
      twin, twin_timestep = step(twin, jnp.array([twin_slot, item]))
      np.testing.assert_allclose(twin_timestep.reward, timestep.reward, rtol=1e-5, atol=1e-7)
      assert bool(twin_timestep.last()) == bool(timestep.last())
  assert compared >= 40  # About 12 steps per episode before the EMS slots fill up.


def test_random_view__draws_every_permutation_and_keeps_the_action_mask(binpack):
  observation = binpack.reset(jax.random.key(5)).observation
  views = jax.vmap(random_view, in_axes=(None, 0))(
    observation, jax.random.split(jax.random.key(0), 64)
  )
  first_item = lambda items, i=(): tuple(
    np.asarray([items.x_len[i + (0,)], items.y_len[i + (0,)], items.z_len[i + (0,)]]).round(6)
  )
  drawn = {first_item(views.items, (i,)) for i in range(64)}
  assert drawn == set(itertools.permutations(first_item(observation.items)))
  np.testing.assert_array_equal(
    views.action_mask, np.broadcast_to(observation.action_mask, views.action_mask.shape)
  )


def test_binpack_environment__declares_its_symmetries(binpack):
  assert binpack.symmetries == 6
  observation = binpack.reset(jax.random.key(0)).observation
  view = binpack.symmetric_view(observation, jax.random.key(1))
  assert jax.tree.structure(view) == jax.tree.structure(observation)
