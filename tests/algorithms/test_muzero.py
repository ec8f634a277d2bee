"""MuZero unroll targets, loss and reanalyse."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms import muzero
from searchdistill.networks.muzero import MuZeroNetwork
from searchdistill.networks.value_transform import Support
from searchdistill.search.learned_model import make_learned_search

SUPPORT = Support.symmetric(6)


def _window(rewards, terminated, truncated, root_values, num_actions=2):
  length = len(rewards)
  return muzero.Step(
    observation=jnp.arange(length, dtype=jnp.float32)[:, None] * jnp.ones((1, 3)),
    action_mask=jnp.ones((length, num_actions), bool),
    action=jnp.arange(length, dtype=jnp.int32) % num_actions,
    reward=jnp.asarray(rewards, jnp.float32),
    terminated=jnp.asarray(terminated),
    boundary=jnp.asarray(terminated) | jnp.asarray(truncated),
    policy=jnp.full((length, num_actions), 1.0 / num_actions),
    root_value=jnp.asarray(root_values, jnp.float32),
  )


def test_unroll_targets__match_hand_computed_values_across_an_episode_end():
  g = 0.5
  # K = 2 unroll steps, n = 2 TD steps: window of 5 states s..s+4. The step from s+1 ends it.
  window = _window(
    rewards=[1.0, 2.0, 3.0, 4.0, 5.0],
    terminated=[False, True, False, False, False],
    truncated=[False] * 5,
    root_values=[10.0, 20.0, 30.0, 40.0, 50.0],
  )
  out = muzero.unroll_targets(window, num_unroll_steps=2, td_steps=2, discount=g)
  np.testing.assert_array_equal(out.alive, [True, True, False])
  np.testing.assert_allclose(out.value, [1 + g * 2, 2.0, 0.0])  # nothing after the end
  np.testing.assert_allclose(out.reward, [1.0, 2.0])
  np.testing.assert_array_equal(out.action, [0, 1])
  np.testing.assert_allclose(out.observation[:, 0], [0.0, 1.0, 2.0])


def test_unroll_targets__bootstrap_from_the_state_n_steps_ahead():
  g = 0.9
  window = _window(
    rewards=[1.0, 1.0, 1.0, 1.0],
    terminated=[False] * 4,
    truncated=[False] * 4,
    root_values=[0.0, 5.0, 6.0, 7.0],
  )
  out = muzero.unroll_targets(window, num_unroll_steps=1, td_steps=2, discount=g)
  np.testing.assert_allclose(out.value, [1 + g + g * g * 6.0, 1 + g + g * g * 7.0], rtol=1e-6)
  np.testing.assert_array_equal(out.alive, [True, True])


def test_unroll_targets__a_truncation_stops_the_unroll_like_an_end():
  window = _window(
    rewards=[1.0, 1.0, 1.0, 1.0],
    terminated=[False] * 4,
    truncated=[True, False, False, False],
    root_values=[0.0, 5.0, 6.0, 7.0],
  )
  out = muzero.unroll_targets(window, num_unroll_steps=1, td_steps=2, discount=1.0)
  np.testing.assert_array_equal(out.alive, [True, False])
  np.testing.assert_allclose(out.value, [1.0, 0.0])


@pytest.fixture(scope="module")
def vector_model():
  network = MuZeroNetwork(
    num_actions=2,
    num_atoms=SUPPORT.num_atoms,
    torso="mlp",
    width=16,
    num_blocks=1,
    projection_size=8,
  )
  params = jax.jit(network.init)(jax.random.key(0), jnp.ones((1, 3)), jnp.zeros(1, jnp.int32))
  return network, params


def _batch(n=4):
  # The step from state 1 ends the episode: state 2 is absorbing.
  window = _window(
    rewards=[1.0, 0.0, 1.0, 0.0, 1.0],
    terminated=[False, True, False, False, False],
    truncated=[False] * 5,
    root_values=[0.5] * 5,
  )
  targets = muzero.unroll_targets(window, num_unroll_steps=2, td_steps=2, discount=0.9)
  np.testing.assert_array_equal(targets.alive, [True, True, False])
  return jax.tree.map(lambda x: jnp.stack([x] * n), targets)


def test_loss_fn__decreases_when_fitted_and_masks_dead_states(vector_model):
  network, params = vector_model
  targets = _batch()
  loss = jax.jit(
    lambda p, t: muzero.loss_fn(p, network, t, jnp.ones(4), support=SUPPORT, consistency_weight=1.0)
  )
  value, aux = loss(params, targets)
  assert np.isfinite(value) and aux["priority"].shape == (4,)
  import optax

  optimizer = optax.adam(3e-3)

  @jax.jit  # one program: op by op, Adam compiles each of its operations on its own
  def step(params, opt_state):
    grads = jax.grad(lambda p: loss(p, targets)[0])(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state

  opt_state = jax.jit(optimizer.init)(params)
  for _ in range(60):
    params, opt_state = step(params, opt_state)
  assert float(loss(params, targets)[0]) < 0.7 * float(value)
  # A dead state's policy target does not matter: changing it leaves the loss unchanged.
  dead = targets._replace(policy=targets.policy.at[:, 2].set(jnp.array([1.0, 0.0])))
  np.testing.assert_allclose(
    loss(params, dead)[1]["policy_loss"], loss(params, targets)[1]["policy_loss"], rtol=1e-6
  )


def test_loss_fn__consistency_target_is_the_encoding_of_the_real_next_observation(vector_model):
  network, params = vector_model
  targets = _batch()
  aux = jax.jit(
    lambda t: muzero.loss_fn(
      params, network, t, jnp.ones(4), support=SUPPORT, consistency_weight=1.0
    )[1]
  )
  # Changing the real next observation changes the consistency loss and no other term: the
  # model's own predictions come from the first observation and the actions only.
  moved = targets._replace(observation=targets.observation.at[:, 1].add(3.0))
  before, after = aux(targets), aux(moved)
  assert abs(float(after["consistency_loss"]) - float(before["consistency_loss"])) > 1e-4
  for term in ("policy_loss", "value_loss", "reward_loss"):
    np.testing.assert_allclose(after[term], before[term], rtol=1e-6)


def test_reanalyse__refreshes_only_the_requested_fraction(vector_model):
  network, params = vector_model
  search = make_learned_search(
    network,
    SUPPORT,
    policy_type="gumbel",
    num_simulations=4,
    discount=0.9,
    max_num_considered_actions=2,
  )
  window = _window(
    rewards=[0.0] * 5, terminated=[False] * 5, truncated=[False] * 5, root_values=[123.0] * 5
  )
  batch = jax.tree.map(lambda x: jnp.stack([x] * 4), window)
  out = jax.jit(
    lambda b: muzero.reanalyse(b, params, jax.random.key(0), search=search, fraction=0.5)
  )(batch)
  assert out.policy.shape == batch.policy.shape and out.root_value.shape == (4, 5)
  assert np.all(np.asarray(out.root_value[:2]) != 123.0)
  np.testing.assert_array_equal(out.root_value[2:], batch.root_value[2:])
  np.testing.assert_allclose(out.policy.sum(-1), 1.0, atol=1e-5)
