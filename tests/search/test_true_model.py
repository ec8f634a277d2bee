"""Invariants of Gumbel search over the true environment."""

import functools

import jax
import jax.numpy as jnp
import mctx
import numpy as np
import pytest

from searchdistill.envs.base import EnvState
from searchdistill.networks import MLPNetwork
from searchdistill.search import evaluate_states, make_search
from searchdistill.search.gumbel import gumbel_muzero_policy_with_noise

NUM_SIMULATIONS = 8


@pytest.fixture(scope="module")
def searches_both_backwards(binpack, tiny_network):
  """The search (trees returned) with our batched backward and with mctx's own, jitted."""
  make = functools.partial(
    make_search,
    binpack,
    tiny_network,
    num_simulations=NUM_SIMULATIONS,
    max_num_considered_actions=4,
    gumbel_scale=1.0,
    discount=1.0,
    return_tree=True,
  )
  return jax.jit(make(batched_backward=True)), jax.jit(make(batched_backward=False))


@pytest.fixture(scope="module")
def batched_search(searches_both_backwards):
  # The default search; one compiled function serves every test of this module.
  return searches_both_backwards[0]


def _random_states(env, key, batch_size):
  """Fresh instances advanced by a random number of random valid steps (some finished)."""
  reset_key, walk_key, length_key = jax.random.split(key, 3)
  states = jax.vmap(env.reset)(jax.random.split(reset_key, batch_size))
  lengths = jax.random.randint(length_key, (batch_size,), 0, 22)

  def walk(states, step):
    t, k = step
    logits = jnp.where(states.action_mask, jax.random.gumbel(k, states.action_mask.shape), -jnp.inf)
    action = jnp.argmax(logits, axis=-1)
    stepped, _ = jax.vmap(env.step)(states, action)
    keep = t < lengths
    return jax.tree.map(
      lambda a, b: jnp.where(keep.reshape(keep.shape + (1,) * (a.ndim - 1)), a, b), stepped, states
    ), None

  steps = (jnp.arange(22), jax.random.split(walk_key, 22))
  return jax.lax.scan(walk, states, steps)[0]


_random_states_of_six = jax.jit(_random_states, static_argnums=(0, 2))


def random_states(env, key, batch_size):
  """The first `batch_size` (at most 6) of six random states: one compiled walk for all."""
  return jax.tree.map(lambda x: x[:batch_size], _random_states_of_six(env, key, 6))


def row_keys(seed, batch_size):
  return jax.random.split(jax.random.key(seed), batch_size)


@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("seed", range(6))
def test_search__never_chooses_an_invalid_action(
  binpack, tiny_params, batched_search, seed, batch_size
):
  states = random_states(binpack, jax.random.key(seed), batch_size)
  out = jax.device_get(batched_search(tiny_params, row_keys(100 + seed, batch_size), states))
  mask, done = np.asarray(states.action_mask), np.asarray(states.done)
  weights = np.asarray(out.action_weights)

  # At the root: the chosen action is valid whenever one exists.
  for row in range(batch_size):
    if not done[row]:
      assert mask[row, out.action[row]]
  # Weights form a distribution over valid actions (and are all zero without any).
  assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
  assert np.all(weights[~mask] == 0)
  np.testing.assert_allclose(weights.sum(-1), np.where(done, 0.0, 1.0), atol=1e-5)

  # Inside the tree: every visited edge leaves a non-terminal node by a valid action; edges out
  # of terminal nodes reach nodes with no reward and no value.
  tree = out.tree
  node_mask = np.asarray(tree.embeddings.action_mask)  # [B, nodes, A]
  node_done = np.asarray(tree.embeddings.done)
  parents, actions = np.asarray(tree.parents), np.asarray(tree.action_from_parent)
  visits, values = np.asarray(tree.node_visits), np.asarray(tree.node_values)
  rewards = np.asarray(tree.children_rewards)
  checked = 0
  for row in range(batch_size):
    for node in range(1, NUM_SIMULATIONS + 1):
      if visits[row, node] == 0:
        continue
      parent, action = parents[row, node], actions[row, node]
      if node_done[row, parent]:
        assert node_done[row, node] and rewards[row, parent, action] == 0
        assert values[row, node] == 0
      else:
        assert node_mask[row, parent, action], (row, node, parent, action)
        checked += 1
  assert checked > 0 or np.all(done)


def test_search__all_invalid_row_stays_finite(binpack, tiny_params, batched_search):
  states = random_states(binpack, jax.random.key(7), 6)
  finished = states._replace(
    action_mask=jnp.zeros_like(states.action_mask), done=jnp.ones_like(states.done)
  )
  out = batched_search(tiny_params, row_keys(8, 6), finished)
  assert np.all(np.isfinite(np.asarray(out.action_weights)))
  assert np.all(np.asarray(out.action_weights) == 0)
  assert np.all(np.isfinite(np.asarray(out.root_value)))


class Bandit:
  """A one-step environment of six arms whose rewards and action mask its state carries (in
  `inner` and `action_mask`), so that one compiled search serves every instance."""

  env_id = "bandit"
  max_episode_steps = 1
  num_actions = 6

  def step(self, state, action):
    valid = state.action_mask[action] & ~state.done
    reward = jnp.where(valid, state.inner[action], 0.0)
    finished = EnvState(
      state.inner, state.observation, jnp.zeros_like(state.action_mask), jnp.array(True)
    )
    return finished, reward


@pytest.fixture(scope="module")
def bandit_search():
  network = MLPNetwork(num_actions=Bandit.num_actions, hidden_sizes=(4,))
  search = make_search(
    Bandit(),
    network,
    num_simulations=24,
    max_num_considered_actions=6,
    gumbel_scale=0.0,
    discount=1.0,
  )
  return network, jax.jit(search)


@pytest.mark.parametrize("seed", range(4))
def test_search__one_step_bandit_picks_the_best_valid_arm(bandit_search, seed):
  network, search = bandit_search
  rng = np.random.default_rng(seed)
  rewards = rng.uniform(0, 1, size=Bandit.num_actions).astype(np.float32)
  mask = np.ones(Bandit.num_actions, bool)
  mask[np.argmax(rewards)] = False  # The best arm is invalid: the search must not take it.
  states = EnvState(
    jnp.asarray(rewards)[None], jnp.zeros((1, 1)), jnp.asarray(mask)[None], jnp.array([False])
  )
  params = network.init(jax.random.key(seed), states.observation)
  out = search(params, row_keys(seed, 1), states)
  best_valid = int(np.argmax(np.where(mask, rewards, -1)))
  assert int(out.action[0]) == best_valid
  assert int(np.argmax(out.action_weights[0])) == best_valid
  assert float(out.action_weights[0, ~mask].sum()) == 0.0


@pytest.mark.parametrize("seed", range(4))
def test_batched_backward__gives_mctx_trees_exactly(
  binpack, tiny_params, searches_both_backwards, seed
):
  ours, original = searches_both_backwards
  states = random_states(binpack, jax.random.key(50 + seed), 6)
  a = jax.device_get(ours(tiny_params, row_keys(seed, 6), states))
  b = jax.device_get(original(tiny_params, row_keys(seed, 6), states))
  np.testing.assert_array_equal(a.action, b.action)
  np.testing.assert_array_equal(a.action_weights, b.action_weights)
  for field in ("node_visits", "node_values", "children_visits", "children_values", "parents"):
    np.testing.assert_array_equal(getattr(a.tree, field), getattr(b.tree, field), err_msg=field)


@pytest.mark.parametrize("seed", range(3))
def test_search__a_row_depends_only_on_its_key_and_state(
  binpack, tiny_params, batched_search, seed
):
  # What lets each device search its own slice of the batch: a sub-batch gives the same rows.
  states = random_states(binpack, jax.random.key(70 + seed), 6)
  keys = row_keys(seed, 6)
  whole = jax.device_get(batched_search(tiny_params, keys, states))
  # The last row alone (a batch size the tests compile anyway).
  tail = jax.device_get(
    batched_search(tiny_params, keys[5:], jax.tree.map(lambda x: x[5:], states))
  )
  np.testing.assert_array_equal(whole.action[5:], tail.action)
  # XLA:CPU vectorizes a softmax over 800 actions differently for different numbers of rows
  # (seen on AVX-512 machines): the weights agree to float32 rounding, not bit for bit.
  np.testing.assert_allclose(whole.action_weights[5:], tail.action_weights, rtol=1e-4, atol=1e-6)
  np.testing.assert_array_equal(whole.tree.node_visits[5:], tail.tree.node_visits)


@pytest.fixture(scope="module")
def mctx_and_ours(binpack, tiny_network):
  """`(params, key, states) -> (mctx's search, ours given mctx's own noise)`, compiled once."""

  def recurrent_fn(params, rng_key, action, embedding):
    del rng_key
    next_states, reward = jax.vmap(binpack.step)(embedding, action)
    next_logits, next_value = evaluate_states(tiny_network, params, next_states)
    discount = jnp.where(next_states.done, 0.0, 1.0)
    return mctx.RecurrentFnOutput(
      reward=reward, discount=discount, prior_logits=next_logits, value=next_value
    ), next_states

  @jax.jit
  def both(params, key, states):
    logits, value = evaluate_states(tiny_network, params, states)
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=states)
    kwargs = dict(
      num_simulations=NUM_SIMULATIONS,
      invalid_actions=~states.action_mask,
      max_num_considered_actions=4,
    )
    original = mctx.gumbel_muzero_policy(
      params, key, root, recurrent_fn, gumbel_scale=0.7, **kwargs
    )
    # mctx's own draw: the key is split into (search key, Gumbel key).
    search_key, gumbel_key = jax.random.split(key)
    noise = 0.7 * jax.random.gumbel(gumbel_key, logits.shape)
    ours = gumbel_muzero_policy_with_noise(
      params, search_key, root, recurrent_fn, gumbel=noise, **kwargs
    )
    return original, ours

  return both


@pytest.mark.parametrize("seed", range(3))
def test_gumbel_policy_with_noise__equals_mctx_given_the_same_noise(
  binpack, tiny_params, mctx_and_ours, seed
):
  states = random_states(binpack, jax.random.key(90 + seed), 6)
  original, ours = jax.device_get(mctx_and_ours(tiny_params, jax.random.key(seed), states))
  np.testing.assert_array_equal(original.action, ours.action)
  np.testing.assert_array_equal(original.action_weights, ours.action_weights)
  np.testing.assert_array_equal(original.search_tree.node_visits, ours.search_tree.node_visits)
  np.testing.assert_array_equal(original.search_tree.node_values, ours.search_tree.node_values)
