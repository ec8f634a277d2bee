import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.networks import value_transform as vt


@pytest.mark.parametrize("eps", [1e-3, 1e-2])
def test_unsquash__inverts_squash_on_negative_and_positive_values(eps):
  x = jnp.array([-5000.0, -300.0, -21.5, -1.0, -1e-3, 0.0, 1e-3, 0.7, 42.0, 12345.0])
  np.testing.assert_allclose(vt.unsquash(vt.squash(x, eps), eps), x, rtol=1e-5, atol=1e-4)


def test_squash__is_odd_and_matches_the_formula():
  x = jnp.array([-9.0, -0.5, 3.0])
  expected = np.sign(x) * (np.sqrt(np.abs(x) + 1) - 1) + 1e-3 * np.asarray(x)
  np.testing.assert_allclose(vt.squash(x), expected, rtol=1e-6)
  np.testing.assert_allclose(vt.squash(-x), -vt.squash(x), rtol=1e-6)


def test_to_two_hot__puts_the_mass_on_the_two_neighbouring_atoms():
  support = vt.Support(low=-2.0, high=2.0, num_atoms=5)  # atoms -2, -1, 0, 1, 2
  probs = vt.to_two_hot(jnp.array(-1.25), support)
  np.testing.assert_allclose(probs, [0.25, 0.75, 0.0, 0.0, 0.0], atol=1e-6)
  np.testing.assert_allclose(vt.to_two_hot(jnp.array(2.0), support), [0, 0, 0, 0, 1], atol=1e-6)
  # Out of range values clip to the end atoms.
  np.testing.assert_allclose(vt.to_two_hot(jnp.array(-7.0), support), [1, 0, 0, 0, 0], atol=1e-6)


def test_scalar_to_target__round_trips_through_the_categorical_for_negative_rewards():
  support = vt.Support.symmetric(30)
  x = jnp.array([-250.0, -3.7, -0.2, 0.0, 0.45, 17.0, 500.0])
  probs = vt.scalar_to_target(x, support)
  np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
  assert np.all(np.asarray(probs) >= 0)
  logits = jnp.log(jnp.maximum(probs, 1e-30))
  np.testing.assert_allclose(vt.logits_to_scalar(logits, support), x, rtol=1e-4, atol=1e-4)


def test_support__rejects_an_empty_range():
  with pytest.raises(ValueError, match="num_atoms"):
    vt.Support(low=1.0, high=1.0, num_atoms=3)
