"""MuZero search over a learned model."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.networks.muzero import MuZeroNetwork
from searchdistill.networks.value_transform import Support
from searchdistill.search.learned_model import make_learned_search

SUPPORT = Support.symmetric(5)
NUM_ACTIONS = 4


@pytest.fixture(scope="module")
def model():
  network = MuZeroNetwork(
    num_actions=NUM_ACTIONS,
    num_atoms=SUPPORT.num_atoms,
    torso="resnet",
    width=8,
    num_blocks=1,
    projection_size=8,
  )
  observations = jax.random.uniform(jax.random.key(0), (6, 5, 5, 3))
  params = network.init(jax.random.key(1), observations, jnp.zeros(6, jnp.int32))
  return network, params, observations


@pytest.fixture(scope="module", params=["muzero", "gumbel"])
def search(request, model):
  network = model[0]
  return jax.jit(
    make_learned_search(
      network,
      SUPPORT,
      policy_type=request.param,
      num_simulations=6,
      discount=0.97,
      max_num_considered_actions=4,
    )
  )


@pytest.mark.parametrize("seed", range(4))
def test_learned_search__never_executes_an_invalid_action(model, search, seed):
  _, params, observations = model
  mask = jax.random.bernoulli(jax.random.key(seed), 0.5, (6, NUM_ACTIONS))
  mask = mask.at[:, seed % NUM_ACTIONS].set(True)  # at least one valid action per row
  out = jax.device_get(search(params, jax.random.key(10 + seed), observations, mask))
  mask = np.asarray(mask)
  assert np.all(mask[np.arange(6), out.action])
  assert np.all(out.action_weights[~mask] == 0)
  np.testing.assert_allclose(out.action_weights.sum(-1), 1.0, atol=1e-5)
  assert out.root_value.shape == (6,) and np.all(np.isfinite(out.root_value))


def test_muzero_network__latents_are_normalized_and_shapes_follow_the_torso(model):
  network, params, observations = model
  latent = network.apply(params, observations, method="represent")
  assert latent.shape == (6, 5, 5, 8)
  flat = np.asarray(latent).reshape(6, -1)
  np.testing.assert_allclose(flat.min(1), 0.0, atol=1e-6)
  np.testing.assert_allclose(flat.max(1), 1.0, atol=1e-4)
  next_latent, reward_logits = network.apply(
    params, latent, jnp.arange(6) % NUM_ACTIONS, method="dynamics"
  )
  assert next_latent.shape == latent.shape and reward_logits.shape == (6, SUPPORT.num_atoms)
  prediction = network.apply(params, next_latent, method="predict")
  assert prediction.policy_logits.shape == (6, NUM_ACTIONS)


def test_muzero_network__downsamples_atari_frames_sixteenfold():
  network = MuZeroNetwork(
    num_actions=3,
    num_atoms=11,
    torso="resnet",
    width=8,
    num_blocks=1,
    downsample=True,
    projection_size=8,
  )
  frames = jnp.zeros((1, 96, 96, 4), jnp.uint8)
  params = network.init(jax.random.key(0), frames, jnp.zeros(1, jnp.int32))
  assert network.apply(params, frames, method="represent").shape == (1, 6, 6, 8)


def test_muzero_network__mlp_torso_takes_vector_observations():
  network = MuZeroNetwork(
    num_actions=5, num_atoms=11, torso="mlp", width=16, num_blocks=1, projection_size=8
  )
  observations = jnp.ones((3, 18))
  params = network.init(jax.random.key(0), observations, jnp.zeros(3, jnp.int32))
  assert network.apply(params, observations, method="represent").shape == (3, 16)


def test_make_learned_search__rejects_an_unknown_policy_type(model):
  with pytest.raises(ValueError, match="policy_type"):
    make_learned_search(model[0], SUPPORT, policy_type="alphazero", num_simulations=2, discount=1.0)
