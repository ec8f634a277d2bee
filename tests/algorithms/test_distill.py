import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms import distill


def _samples(binpack, key, n):
  states = jax.vmap(binpack.reset)(jax.random.split(key, n))
  mask = states.action_mask
  target = jnp.where(mask, jax.random.uniform(key, mask.shape), 0.0)
  target = target / target.sum(-1, keepdims=True)
  return distill.Samples(states.observation, mask, target,
                         jax.random.uniform(jax.random.fold_in(key, 1), (n,)), jnp.ones(n))


def test_loss__padded_samples_do_not_count(binpack, tiny_network, tiny_params):
  real = _samples(binpack, jax.random.key(0), 3)
  junk = _samples(binpack, jax.random.key(1), 2)
  junk = junk._replace(value_target=junk.value_target + 100.0, weight=jnp.zeros(2))
  mixed = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), real, junk)
  loss = lambda s: distill.loss_fn(tiny_params, tiny_network, s, value_loss_weight=0.5)
  (total_real, aux_real), (total_mixed, aux_mixed) = loss(real), loss(mixed)
  np.testing.assert_allclose(total_mixed, total_real, rtol=1e-5)
  np.testing.assert_allclose(aux_mixed["value_loss"], aux_real["value_loss"], rtol=1e-5)
  # And the padding would have mattered had it counted.
  counted = loss(mixed._replace(weight=jnp.ones(5)))[0]
  assert float(counted) > float(total_real) + 1.0


def test_loss__cross_entropy_is_minimised_by_the_target(binpack, tiny_network, tiny_params):
  samples = _samples(binpack, jax.random.key(2), 2)
  total, aux = distill.loss_fn(tiny_params, tiny_network, samples, value_loss_weight=0.0)
  target = samples.policy_target
  entropy = -jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1).mean()
  assert float(aux["policy_loss"]) >= float(entropy) - 1e-4
  np.testing.assert_allclose(total, aux["policy_loss"], rtol=1e-6)
