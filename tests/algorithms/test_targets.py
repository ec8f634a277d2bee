import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms import monte_carlo_returns


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_monte_carlo_returns__matches_hand_computed(discount):
  rewards = jnp.array([0.1, 0.2, 0.3, 7.0, 9.0])   # The last two are padding.
  valid = jnp.array([True, True, True, False, False])
  g2 = 0.3
  g1 = 0.2 + discount * g2
  g0 = 0.1 + discount * g1
  np.testing.assert_allclose(monte_carlo_returns(rewards, valid, discount),
                             [g0, g1, g2, 0.0, 0.0], rtol=1e-6)


def test_monte_carlo_returns__padding_does_not_change_real_targets():
  rewards = jnp.array([0.5, 0.25])
  padded = monte_carlo_returns(jnp.array([0.5, 0.25, 3.0]), jnp.array([True, True, False]), 1.0)
  np.testing.assert_allclose(padded[:2], monte_carlo_returns(rewards, jnp.array([True, True]), 1.0))
