"""One episode of MinAtar (gymnax) through the episodic protocol."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.envs import EnvError, EpisodicEnvironment, make_environment
from tests.helpers import assert_step_compiles_once


@pytest.fixture(scope="module")
def breakout():
  return make_environment("Breakout-MinAtar")


def play(env, key, actions):
  """Steps one episode with the given action sequence; returns rewards and done flags."""
  step = jax.jit(env.step)
  state = env.reset(key)
  rewards, dones = [], []
  for action in actions:
    state, reward = step(state, jnp.int32(action))
    rewards.append(float(reward))
    dones.append(bool(state.done))
  return state, np.array(rewards), np.array(dones)


def test_make_environment__gymnax_id_is_episodic(breakout):
  assert isinstance(breakout, EpisodicEnvironment)
  assert breakout.num_actions == 3 and breakout.max_episode_steps == 1000
  state = breakout.reset(jax.random.key(0))
  chex.assert_shape(state.observation, breakout.observation_shape)
  assert not bool(state.done) and bool(jnp.all(state.action_mask))


def test_make_environment__unknown_id_names_it():
  with pytest.raises(EnvError, match="Breakout-MinAtr"):
    make_environment("Breakout-MinAtr")


def test_episodic_step__deterministic_given_state_and_action(breakout):
  # The stream's RNG key lives in the state, so the same state and action give the same
  # successor: what search over the true environment relies on.
  actions = np.random.default_rng(0).integers(0, 3, 40)
  _, rewards_a, dones_a = play(breakout, jax.random.key(3), actions)
  _, rewards_b, dones_b = play(breakout, jax.random.key(3), actions)
  np.testing.assert_array_equal(rewards_a, rewards_b)
  np.testing.assert_array_equal(dones_a, dones_b)


def test_episodic_step__frozen_after_the_episode_ends(breakout):
  # A constant action loses the ball quickly; after that nothing changes and nothing is paid.
  state, rewards, dones = play(breakout, jax.random.key(1), [0] * 300)
  assert dones.any(), "a constant policy should lose the ball within 300 steps"
  first_done = int(np.argmax(dones))
  assert dones[first_done:].all()
  assert (rewards[first_done + 1 :] == 0).all()
  assert not bool(jnp.any(state.action_mask))
  next_state, reward = breakout.step(state, jnp.int32(1))
  assert float(reward) == 0.0
  chex.assert_trees_all_equal(next_state, state)


def test_episodic_step__compiles_once(breakout):
  assert_step_compiles_once(breakout, num_steps=4)
