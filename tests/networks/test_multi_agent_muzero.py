"""The multi-agent world model: shapes, cross-agent dynamics, permutation equivariance."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.networks.multi_agent_muzero import MultiAgentMuZeroNetwork

B, N, D, A, ATOMS = 4, 3, 18, 5, 11


@pytest.fixture(scope="module")
def model():
  network = MultiAgentMuZeroNetwork(
    num_actions=A, num_atoms=ATOMS, width=16, num_heads=2, num_blocks=1, projection_size=8
  )
  observation = jax.random.normal(jax.random.key(0), (B, N, D))
  actions = jax.random.randint(jax.random.key(1), (B, N), 0, A)
  params = network.init(jax.random.key(2), observation, actions)
  return network, params, observation, actions


def outputs(model, observation, actions):
  network, params, _, _ = model
  latent = network.apply(params, observation, method="represent")
  next_latent, reward = network.apply(params, latent, actions, method="dynamics")
  prediction = network.apply(params, next_latent, method="predict")
  projection = network.apply(params, next_latent, with_predictor=False, method="project")
  return latent, next_latent, reward, prediction, projection


def test_multi_agent_model__shapes_and_normalized_latents(model):
  _, _, observation, actions = model
  latent, next_latent, reward, prediction, projection = outputs(model, observation, actions)
  chex.assert_shape([latent, next_latent], (B, N, 16))
  chex.assert_shape([reward, prediction.value_logits], (B, ATOMS))
  chex.assert_shape(prediction.policy_logits, (B, N, A))
  chex.assert_shape(projection, (B, 8))
  for x in (latent, next_latent):
    np.testing.assert_allclose(jnp.min(x, axis=-1), 0.0, atol=1e-6)
    np.testing.assert_allclose(jnp.max(x, axis=-1), 1.0, atol=1e-5)


def test_multi_agent_dynamics__each_agent_sees_the_others_actions(model):
  _, _, observation, actions = model
  other = actions.at[:, 1].set((actions[:, 1] + 1) % A)
  _, next_a, _, _, _ = outputs(model, observation, actions)
  _, next_b, _, _, _ = outputs(model, observation, other)
  # Only agent 1's action changed, yet agents 0 and 2 move to different latents.
  assert float(jnp.max(jnp.abs(next_a[:, 0] - next_b[:, 0]))) > 1e-4
  assert float(jnp.max(jnp.abs(next_a[:, 2] - next_b[:, 2]))) > 1e-4


def test_multi_agent_model__permutation_equivariant(model):
  _, _, observation, actions = model
  order = jnp.array([2, 0, 1])
  base = outputs(model, observation, actions)
  permuted = outputs(model, observation[:, order], actions[:, order])
  np.testing.assert_allclose(permuted[1], base[1][:, order], atol=1e-5)
  np.testing.assert_allclose(permuted[3].policy_logits, base[3].policy_logits[:, order], atol=1e-5)
  np.testing.assert_allclose(permuted[2], base[2], atol=1e-5)  # team reward
  np.testing.assert_allclose(permuted[3].value_logits, base[3].value_logits, atol=1e-5)
  np.testing.assert_allclose(permuted[4], base[4], atol=1e-5)  # projection
