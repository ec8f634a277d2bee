"""The axis permutations of BinPack: six views of every instance with the same solutions.

In the observation every coordinate is normalized by the container's length on its axis, so
the container is the unit cube. Jumanji's generator picks a split axis uniformly and a split
point uniformly along it (in proportion to the normalized lengths), so in these coordinates
instances are equally likely under any relabelling of x, y and z. The dynamics commute with
such a relabelling too: an item goes to its EMS's lower corner, EMSs are cut by the item's
six faces, and none of it singles out an axis. So permuting the axes of an observation gives
an observation of an equally likely instance in which every action (EMS slot, item slot) is
the same move, with the same return to come: a search target for one is a target for the
other. Volumes do not change, so the EMS order (largest first) is kept up to ties, and the
networks treat tokens as a set anyway.

Two details break the symmetry slightly: split points are whole millimetres, whose share of
the container differs per axis (negligible), and when all EMS slots are full Jumanji
overwrites slot 0, whose content depends on the order in which the axes' new EMSs were
inserted (`tests/envs/test_binpack_symmetry.py` plays permuted twins in lockstep: identical
until the slots fill, after about 12 steps of a first-valid-action policy). It holds for
Jumanji's `RandomGenerator` with normalized dimensions only, which is
when the adapter declares it (`envs.jumanji_env`).
"""

from __future__ import annotations

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np

# All 6 orders of (x, y, z); row 0 is the identity. NumPy, not JAX: importing this module must
# not start JAX's backend (the CLI sets the host device count first).
PERMUTATIONS = np.array(list(itertools.permutations(range(3))), np.int32)


def permute_axes(observation, permutation: chex.Array):
  """The observation with axis `i` taking the values of axis `permutation[i]`.

  Args:
    observation: a BinPack `Observation`, unbatched.
    permutation: int32 `[3]`, a permutation of (0, 1, 2).
  """
  ems, items = observation.ems, observation.items
  low = jnp.stack([ems.x1, ems.y1, ems.z1])[permutation]
  high = jnp.stack([ems.x2, ems.y2, ems.z2])[permutation]
  lengths = jnp.stack([items.x_len, items.y_len, items.z_len])[permutation]
  return observation._replace(
    ems=type(ems)(x1=low[0], x2=high[0], y1=low[1], y2=high[1], z1=low[2], z2=high[2]),
    items=type(items)(x_len=lengths[0], y_len=lengths[1], z_len=lengths[2]),
  )


def random_view(observation, key: chex.PRNGKey):
  """`permute_axes` with one of the 6 permutations drawn uniformly."""
  index = jax.random.randint(key, (), 0, len(PERMUTATIONS))
  return permute_axes(observation, jnp.asarray(PERMUTATIONS)[index])
