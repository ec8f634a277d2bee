"""JaxMARL simple_spread through the multi-agent adapter, and the reference policies."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms.reference_policies import random_joint_action, scripted_spread_action
from searchdistill.envs import EnvError
from searchdistill.envs.multi_agent import JaxMARLEnvironment


@pytest.fixture(scope="module")
def spread():
  return JaxMARLEnvironment("MPE_simple_spread_v3")


def play(env, policy, key, num_episodes):
  """Returns per-episode team returns and the per-step (terminated, truncated) flags."""
  keys = jax.random.split(key, num_episodes)

  @jax.jit
  def run(keys):
    states = jax.vmap(env.reset)(keys)

    def body(carry, t):
      states, returns = carry
      step_keys = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys)
      actions = jax.vmap(policy)(step_keys, states)
      states, result = jax.vmap(env.step)(states, actions, step_keys)
      return (states, returns + result.reward), (result.terminated, result.truncated, actions)

    init = (states, jnp.zeros(num_episodes))
    (_, returns), flags = jax.lax.scan(body, init, jnp.arange(env.max_episode_steps))
    return returns, flags

  return run(keys)


def random_policy(key, state):
  return random_joint_action(key, state.action_mask)


def scripted_policy(key, state):
  del key
  return scripted_spread_action(state.observation, num_landmarks=3)


def test_jaxmarl_environment__stacks_agents(spread):
  assert spread.num_agents == 3 and spread.num_actions == 5
  # MPE's 18 features per agent, then the elapsed fraction of the episode.
  assert spread.observation_shape == (3, 19) and spread.max_episode_steps == 26
  state = spread.reset(jax.random.key(0))
  chex.assert_shape(state.observation, (3, 19))
  chex.assert_shape(state.action_mask, (3, 5))


def test_jaxmarl_environment__observations_end_with_the_elapsed_fraction(spread):
  state = spread.reset(jax.random.key(0))
  elapsed = [np.asarray(state.observation[:, -1])]
  for t in range(spread.max_episode_steps):
    state, _ = spread.step(state, jnp.zeros(3, jnp.int32), jax.random.key(t))
    elapsed.append(np.asarray(state.observation[:, -1]))
  elapsed = np.stack(elapsed)
  np.testing.assert_allclose(elapsed[:, 0], elapsed[:, 2])  # the same for every agent
  np.testing.assert_allclose(elapsed[:26, 0], np.arange(26) / 25, rtol=1e-6)
  assert elapsed[26, 0] == 0.0  # the next episode starts from the beginning


def test_jaxmarl_environment__episode_ends_by_truncation_at_the_limit(spread):
  _, (terminated, truncated, _) = play(spread, random_policy, jax.random.key(0), 4)
  assert not bool(jnp.any(terminated))
  assert bool(jnp.all(truncated[-1])) and not bool(jnp.any(truncated[:-1]))


def test_jaxmarl_environment__bad_ids():
  with pytest.raises(EnvError, match="not a supported JaxMARL id"):
    JaxMARLEnvironment("simple_spread")
  with pytest.raises(EnvError, match="unknown JaxMARL environment"):
    JaxMARLEnvironment("MPE_simple_sprad_v3")


def test_reference_policies__scripted_beats_random_and_actions_are_valid(spread):
  random_returns, (_, _, random_actions) = play(spread, random_policy, jax.random.key(1), 64)
  scripted_returns, (_, _, scripted_actions) = play(spread, scripted_policy, jax.random.key(1), 64)
  for actions in (random_actions, scripted_actions):
    assert int(actions.min()) >= 0 and int(actions.max()) < spread.num_actions
  random_mean, scripted_mean = float(random_returns.mean()), float(scripted_returns.mean())
  stderr = float(random_returns.std() + scripted_returns.std()) / np.sqrt(64)
  assert scripted_mean > random_mean + 6 * stderr, (scripted_mean, random_mean)


def test_random_joint_action__respects_the_mask():
  mask = jnp.array([[False, True, False], [True, False, False]])
  actions = jax.vmap(lambda k: random_joint_action(k, mask))(
    jax.random.split(jax.random.key(0), 100)
  )
  np.testing.assert_array_equal(np.unique(np.asarray(actions[:, 0])), [1])
  np.testing.assert_array_equal(np.unique(np.asarray(actions[:, 1])), [0])
