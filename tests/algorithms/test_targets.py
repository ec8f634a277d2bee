import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms import monte_carlo_returns


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_monte_carlo_returns__matches_hand_computed(discount):
  rewards = jnp.array([0.1, 0.2, 0.3, 7.0, 9.0])  # The last two are padding.
  valid = jnp.array([True, True, True, False, False])
  g2 = 0.3
  g1 = 0.2 + discount * g2
  g0 = 0.1 + discount * g1
  np.testing.assert_allclose(
    monte_carlo_returns(rewards, valid, discount), [g0, g1, g2, 0.0, 0.0], rtol=1e-6
  )


def test_monte_carlo_returns__padding_does_not_change_real_targets():
  rewards = jnp.array([0.5, 0.25])
  padded = monte_carlo_returns(jnp.array([0.5, 0.25, 3.0]), jnp.array([True, True, False]), 1.0)
  np.testing.assert_allclose(padded[:2], monte_carlo_returns(rewards, jnp.array([True, True]), 1.0))


def test_n_step_returns__match_hand_computed_values_with_an_episode_end():
  from searchdistill.algorithms.targets import n_step_returns

  g = 0.9
  rewards = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
  # The step from state 2 ends the episode; state 3 starts a new one.
  discounts = jnp.array([g, g, 0.0, g, g])
  values = jnp.array([10.0, 20.0, 30.0, 40.0, 50.0])  # v(state t+1)
  expected = [
    1 + g * 2 + g * g * 3,  # d[2] = 0: nothing after the episode's last reward
    2 + g * 3,
    3,
    4 + g * 5 + g * g * 50,  # cut short by the stretch's end: bootstrap v(state 5)
    5 + g * 50,
  ]
  np.testing.assert_allclose(n_step_returns(rewards, discounts, values, n=3), expected, rtol=1e-6)


def test_n_step_returns__one_step_is_td_target():
  from searchdistill.algorithms.targets import n_step_returns

  rewards, discounts, values = jnp.array([1.0, -2.0]), jnp.array([0.5, 0.0]), jnp.array([4.0, 9.0])
  np.testing.assert_allclose(n_step_returns(rewards, discounts, values, n=1), [3.0, -2.0])


def test_alive_mask__stops_after_the_first_episode_end():
  from searchdistill.algorithms.targets import alive_mask

  dones = jnp.array([False, True, False, True])
  np.testing.assert_array_equal(alive_mask(dones), [True, True, False, False, False])


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_stream_returns__equal_each_whole_episodes_returns(discount):
  from searchdistill.algorithms.targets import stream_returns

  # An empty slot, then an episode of 2 steps, one of 3, and one still running.
  rewards = jnp.array([5.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
  last = jnp.array([False, False, True, False, False, True, False, False])
  valid = jnp.array([False, True, True, True, True, True, True, True])
  returns, complete = stream_returns(rewards, last, valid, discount)
  first = monte_carlo_returns(jnp.array([0.1, 0.2]), jnp.ones(2, bool), discount)
  second = monte_carlo_returns(jnp.array([0.3, 0.4, 0.5]), jnp.ones(3, bool), discount)
  np.testing.assert_allclose(returns[1:6], np.concatenate([first, second]), rtol=1e-6)
  assert returns[0] == 0.0
  np.testing.assert_array_equal(complete, [False, True, True, True, True, True, False, False])


def test_stream_advantages__equal_gae_for_a_finished_episode_and_bootstrap_when_cut():
  from searchdistill.algorithms.targets import generalized_advantages, stream_advantages

  rewards = jnp.array([0.1, 0.2, 0.3, 0.4])
  values = jnp.array([0.5, 0.4, 0.3, 0.2])
  ended = jnp.array([False, False, False, True])
  whole = generalized_advantages(rewards, values, jnp.ones(4, bool), 0.9, 0.8)
  np.testing.assert_allclose(
    stream_advantages(rewards, values, ended, 123.0, 0.9, 0.8), whole, rtol=1e-6
  )
  # Cut before the end: the last step bootstraps from the value of the state reached.
  cut = stream_advantages(rewards, values, jnp.zeros(4, bool), 2.0, 0.9, 0.8)
  np.testing.assert_allclose(cut[-1], 0.4 + 0.9 * 2.0 - 0.2, rtol=1e-6)
  np.testing.assert_allclose(
    cut[:-1] - whole[:-1], [(0.9 * 0.8) ** k * 0.9 * 2.0 for k in (3, 2, 1)], rtol=1e-5
  )
