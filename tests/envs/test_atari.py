"""Atari through ALE under the Atari-100K protocol (host-side games)."""

import numpy as np
import pytest

from searchdistill.envs import EnvError, make_stream_environment
from searchdistill.envs.atari import human_normalized


@pytest.fixture(scope="module")
def breakout():
  return make_stream_environment("ALE/Breakout-v5")


def play(env, *, seed, training, steps, actions):
  vector = env.vector(len(actions[0]), seed=seed, training=training)
  observations = [vector.reset()]
  results = []
  for t in range(steps):
    observation, result = vector.step(actions[t % len(actions)])
    observations.append(observation)
    results.append(result)
  return np.stack(observations), results


def test_atari_environment__protocol_shapes(breakout):
  assert breakout.capabilities.host_side and breakout.num_actions == 4
  assert breakout.observation_shape == (96, 96, 4)
  assert breakout.max_episode_steps == 27_000
  rgb = make_stream_environment("ALE/Breakout-v5", atari_color="rgb")
  assert rgb.observation_shape == (96, 96, 12)
  observation = rgb.vector(1, seed=0, training=False).reset()
  assert observation.shape == (1, 96, 96, 12) and observation.dtype == np.uint8


def test_atari_vector__same_seed_same_games(breakout):
  actions = np.random.default_rng(0).integers(0, 4, (50, 2))
  obs_a, results_a = play(breakout, seed=7, training=True, steps=50, actions=actions)
  obs_b, results_b = play(breakout, seed=7, training=True, steps=50, actions=actions)
  np.testing.assert_array_equal(obs_a, obs_b)
  np.testing.assert_array_equal([r.reward for r in results_a], [r.reward for r in results_b])
  assert obs_a[-1].any(), "the screen should not be blank"


def test_atari_vector__life_loss_ends_bootstrapping_only_in_training(breakout):
  # FIRE then NOOP: the ball is launched and missed, so lives are lost; the game goes on.
  actions = [np.array([1])] + [np.array([0])] * 40
  _, train = play(breakout, seed=0, training=True, steps=400, actions=actions)
  _, test = play(breakout, seed=0, training=False, steps=400, actions=actions)
  train_terminal = np.array([r.terminated[0] for r in train])
  assert train_terminal.any(), "losing a life should be terminal in training"
  assert not any(r.game_over[0] for r in train[: int(np.argmax(train_terminal)) + 1])
  first_over = next((t for t, r in enumerate(test) if r.game_over[0]), len(test))
  assert not any(r.terminated[0] for r in test[:first_over])


def test_atari_vector__rewards_clipped_only_in_training():
  # Boxing pays 1 or 2 per punch; random play lands some 2s within a thousand steps.
  env = make_stream_environment("ALE/Boxing-v5")
  actions = np.random.default_rng(1).integers(0, env.num_actions, (1000, 1))
  _, train = play(env, seed=3, training=True, steps=1000, actions=actions)
  _, test = play(env, seed=3, training=False, steps=1000, actions=actions)
  train_rewards = np.array([r.reward[0] for r in train])
  test_rewards = np.array([r.reward[0] for r in test])
  assert set(np.unique(train_rewards)) <= {-1.0, 0.0, 1.0}
  np.testing.assert_array_equal(train_rewards, np.sign(test_rewards))
  assert np.abs(test_rewards).max() > 1, "expected an unclipped reward above 1"


def test_atari_vector__wrong_number_of_actions(breakout):
  vector = breakout.vector(2, seed=0, training=False)
  vector.reset()
  with pytest.raises(ValueError, match="expected 2 actions"):
    vector.step(np.array([0, 1, 2]))


@pytest.mark.parametrize(
  "env_id, message",
  [
    ("ALE/Breakot-v5", "unknown Atari game 'Breakot'"),
    ("ALE/Breakout", "not an ALE id"),
  ],
)
def test_make_stream_environment__bad_atari_id(env_id, message):
  with pytest.raises(EnvError, match=message):
    make_stream_environment(env_id)


def test_human_normalized__anchors():
  assert human_normalized("ALE/Breakout-v5", 1.7) == pytest.approx(0.0)
  assert human_normalized("ALE/Breakout-v5", 30.5) == pytest.approx(1.0)
  assert human_normalized("ALE/Tetris-v5", 10.0) is None


def test_atari_vector__fire_reset_keeps_a_constant_policy_from_stalling():
  # Breakout only serves the ball on FIRE: without fire_reset a NOOP-only game never ends.
  from searchdistill.envs.atari import AtariEnvironment

  noop = [np.array([0])]
  for fire_reset, should_end in ((True, True), (False, False)):
    env = AtariEnvironment("ALE/Breakout-v5", fire_reset=fire_reset)
    _, results = play(env, seed=0, training=False, steps=1500, actions=noop)
    assert any(r.game_over[0] for r in results) == should_end, fire_reset
