"""The three multi-agent planners over a (random) learned joint model."""

import itertools

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

from searchdistill.networks.multi_agent_muzero import MultiAgentMuZeroNetwork
from searchdistill.networks.value_transform import Support, logits_to_scalar
from searchdistill.search.multi_agent import PLANNERS, make_multi_agent_planner

B, D, A = 3, 6, 4
SUPPORT = Support.symmetric(5)


def setup(num_agents, seed=0):
  network = MultiAgentMuZeroNetwork(
    num_actions=A,
    num_atoms=SUPPORT.num_atoms,
    width=8,
    num_heads=1,
    num_blocks=1,
    projection_size=4,
  )
  observation = jax.random.normal(jax.random.key(seed), (B, num_agents, D))
  params = network.init(
    jax.random.key(seed + 1), observation, jnp.zeros((B, num_agents), jnp.int32)
  )
  return network, params, observation


def plan_with(network, planner, **kwargs):
  return jax.jit(
    make_multi_agent_planner(
      network, SUPPORT, planner=planner, num_simulations=8, discount=0.99, **kwargs
    )
  )


@pytest.mark.parametrize("policy_type", ["muzero", "gumbel"])
@pytest.mark.parametrize("planner", PLANNERS)
def test_planner__every_agent_action_is_valid(planner, policy_type):
  network, params, observation = setup(num_agents=3)
  # Each agent has a different single allowed action in some rows, two in others.
  mask = np.zeros((B, 3, A), bool)
  rng = np.random.default_rng(0)
  for b in range(B):
    for n in range(3):
      mask[b, n, rng.choice(A, size=1 + b % 2, replace=False)] = True
  plan = plan_with(network, planner, num_samples=6, policy_type=policy_type)
  for seed in range(3):
    out = plan(params, jax.random.key(seed), observation, jnp.asarray(mask))
    chosen = np.take_along_axis(mask, np.asarray(out.action)[..., None], -1)[..., 0]
    assert chosen.all(), (planner, out.action)
    np.testing.assert_allclose(np.sum(out.action_weights, axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("policy_type", ["muzero", "gumbel"])
def test_sequential_and_independent__coincide_with_one_agent(policy_type):
  network, params, observation = setup(num_agents=1)
  mask = jnp.ones((B, 1, A), bool)
  key = jax.random.key(7)
  independent = plan_with(network, "independent", policy_type=policy_type)(
    params, key, observation, mask
  )
  sequential = plan_with(network, "sequential", policy_type=policy_type)(
    params, key, observation, mask
  )
  np.testing.assert_array_equal(independent.action, sequential.action)
  np.testing.assert_allclose(independent.action_weights, sequential.action_weights, atol=1e-6)
  np.testing.assert_allclose(independent.root_value, sequential.root_value, atol=1e-6)


def test_joint_planner__enumerating_every_joint_action_is_exhaustive_joint_search():
  num_agents = 2
  network, params, observation = setup(num_agents=num_agents, seed=3)
  mask = jnp.ones((B, num_agents, A), bool)
  key = jax.random.key(11)
  out = plan_with(network, "joint", num_samples=None, dirichlet_fraction=0.0, policy_type="muzero")(
    params, key, observation, mask
  )

  # Reference: a flat search over the A^N joint actions, index = a_0 * A + a_1.
  joint_of = jnp.array(list(itertools.product(range(A), repeat=num_agents)))

  def prior(policy_logits):
    log_p = jax.nn.log_softmax(policy_logits, axis=-1)
    return log_p[:, 0, :, None] + log_p[:, 1, None, :]

  def recurrent_fn(params, rng, action, latent):
    next_latent, reward_logits = network.apply(params, latent, joint_of[action], method="dynamics")
    prediction = network.apply(params, next_latent, method="predict")
    return mctx.RecurrentFnOutput(
      reward=logits_to_scalar(reward_logits, SUPPORT),
      discount=jnp.full((action.shape[0],), 0.99),
      prior_logits=prior(prediction.policy_logits).reshape(B, -1),
      value=logits_to_scalar(prediction.value_logits, SUPPORT),
    ), next_latent

  @jax.jit  # one program: op by op, the search compiles each of its operations on its own
  def exhaustive(params, key, observation):
    latent = network.apply(params, observation, method="represent")
    prediction = network.apply(params, latent, method="predict")
    root = mctx.RootFnOutput(
      prior_logits=prior(prediction.policy_logits).reshape(B, -1),
      value=logits_to_scalar(prediction.value_logits, SUPPORT),
      embedding=latent,
    )
    _, search_key = jax.random.split(key)
    return mctx.muzero_policy(
      params, search_key, root, recurrent_fn, num_simulations=8, dirichlet_fraction=0.0
    )

  reference = exhaustive(params, key, observation)
  np.testing.assert_array_equal(out.action, joint_of[reference.action])
  weights = np.asarray(reference.action_weights).reshape(B, A, A)
  np.testing.assert_allclose(out.action_weights[:, 0], weights.sum(2), atol=1e-5)
  np.testing.assert_allclose(out.action_weights[:, 1], weights.sum(1), atol=1e-5)
