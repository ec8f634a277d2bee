import warnings

import chex
import jax
import jax.numpy as jnp
import jumanji
import numpy as np
import pytest

from searchdistill.envs import EnvError, make_environment
from tests.helpers import assert_step_compiles_once


def test_make_environment__unknown_id_suggests_the_closest():
  with pytest.raises(EnvError, match="did you mean 'BinPack-v2'"):
    make_environment("BinPak-v2")


def test_binpack__flat_actions_and_mask(binpack):
  assert binpack.num_actions == 800 and binpack.max_episode_steps == 20
  state = binpack.reset(jax.random.key(0))
  np.testing.assert_array_equal(
    state.action_mask, np.asarray(state.observation.action_mask).reshape(-1)
  )


def test_step__invalid_action_is_not_forwarded(binpack):
  state = binpack.reset(jax.random.key(3))
  invalid = int(np.flatnonzero(~np.asarray(state.action_mask))[0])
  next_state, reward = jax.jit(binpack.step)(state, invalid)
  assert bool(next_state.done) and float(reward) == 0.0
  chex.assert_trees_all_equal(next_state.inner, state.inner)


def test_fast_binpack__matches_jumanji_on_random_episodes():
  original = jumanji.make("BinPack-v2")
  fast = make_environment("BinPack-v2").env

  @jax.jit
  def play(key):
    def run(env):
      state, timestep = jax.vmap(env.reset)(jax.random.split(key, 32))

      def step(carry, k):
        state, _ = carry
        logits = jnp.where(
          state.action_mask.reshape(32, -1), jax.random.gumbel(k, (32, 800)), -jnp.inf
        )
        flat = jnp.argmax(logits, -1)
        action = jnp.stack([flat // 20, flat % 20], -1)
        state, timestep = jax.vmap(env.step)(state, action)
        return (state, timestep), (timestep.reward, state.ems_mask)

      return jax.lax.scan(step, (state, timestep), jax.random.split(key, 20))

    return run(original), run(fast)

  with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    for seed in range(3):
      a, b = play(jax.random.key(seed))
      chex.assert_trees_all_equal(a, b)


def test_step__compiles_once(binpack):
  assert_step_compiles_once(binpack)
