"""The MuZero iteration, its run management and its input checks."""

import jax
import numpy as np
import pytest

from searchdistill.config import ConfigError, make_config
from searchdistill.loop.components import build
from searchdistill.runner import train
from searchdistill.runner.evaluate import evaluate_checkpoint
from tests import golden

DEVICE = jax.local_devices()[:1]


def assert_renders(parts, params, path, *, simulations):
  """The run's agent plays one episode into a GIF showing every state for 100 ms."""
  from PIL import Image

  from searchdistill.viz import play_episode, write_gif

  episode = play_episode(parts, params, key=jax.random.key(0), simulations=simulations)
  write_gif(parts, episode, str(path))
  assert episode.steps >= 1 and len(episode.frames) >= 1
  with Image.open(path) as gif:
    assert np.asarray(gif.convert("RGB")).any(), "the first frame should not be blank"
    # Pillow merges identical consecutive frames, adding up their durations.
    durations = []
    for index in range(gif.n_frames):
      gif.seek(index)
      durations.append(gif.info["duration"])
  assert sum(durations) == 100 * len(episode.frames)


MUZERO_RUN = "muzero_minatar"  # four iterations of the tiny preset, evaluated every two


@pytest.fixture(scope="module")
def tiny():
  # The golden run's config: the same programs, so the compilation cache on disk serves both.
  return golden.config(MUZERO_RUN)


@golden.uses(MUZERO_RUN)
def test_muzero_iteration__fills_replay_then_learns(tiny):
  parts = build(tiny, DEVICE)
  iteration = parts.iteration()
  state = parts.place(parts.init_state())  # as the run places it: the run's programs serve
  sgd_steps = []
  for _ in range(3):
    state, metrics = iteration(state)
    sgd_steps.append(float(metrics["train/sgd_steps"]))
  per_stream = 3 * tiny.muzero.collect_steps
  assert int(state.replay.written) == per_stream
  assert float(state.env_steps) == per_stream * tiny.train.rollout_batch_size
  # Learning waits for min_replay_steps (6) per stream: 4 steps after one iteration, 8 after two.
  assert sgd_steps == [0.0, tiny.muzero.updates_per_iteration, tiny.muzero.updates_per_iteration]
  assert np.isfinite(float(metrics["train/value_loss"]))
  assert float(state.replay.max_priority) >= 1.0


@golden.uses(MUZERO_RUN)
def test_muzero_run__resume_matches_an_uninterrupted_run(tiny, golden_run, tmp_path):
  train(tiny, tmp_path / "split", show_progress=False, devices=DEVICE, stop_after=2)
  train(tiny, tmp_path / "split", resume=True, show_progress=False, devices=DEVICE)
  from searchdistill.runner.evaluate import load_trained

  _, whole, _ = load_trained(golden_run(MUZERO_RUN), DEVICE)
  parts, split, _ = load_trained(tmp_path / "split", DEVICE)
  # Parameters, optimizer, replay contents and priorities, and the environments' states.
  for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(split)):
    if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
      a, b = jax.random.key_data(a), jax.random.key_data(b)
    np.testing.assert_array_equal(a, b)
  result = evaluate_checkpoint(tmp_path / "split", episodes=2, simulations=2)
  assert result["episodes"] == 2 and result["env"] == "Breakout-MinAtar"
  assert_renders(parts, split.params, tmp_path / "episode.gif", simulations=2)


def test_build__muzero_rejects_an_environment_without_a_stream():
  with pytest.raises(ConfigError, match="algo=muzero.*Breakout-MinAtar"):
    build(make_config("tiny", {"algo": "muzero", "env": "BinPack-v2"}), DEVICE)


def test_build__muzero_rejects_a_replay_too_small_for_a_window():
  with pytest.raises(ConfigError, match="replay_capacity=8"):
    build(make_config("tiny", {"algo": "muzero", "replay_capacity": 8}), DEVICE)


def test_muzero_training__beats_the_random_policy_on_breakout_minatar():
  import jax.numpy as jnp

  from searchdistill.loop.evaluation import (
    eval_keys,
    make_episode_evaluator,
    observation_policy,
    summarize,
  )

  config = make_config("cpu", {"algo": "muzero", "training_batch_size": 64, "eval_every": 0})
  parts = build(config, DEVICE)
  iteration, state = parts.iteration(), parts.init_state()
  for _ in range(220):  # 56k environment steps
    state, _ = iteration(state)
  keys = eval_keys(64)
  trained = summarize(parts.evaluator(0)(state.params, keys))
  env = parts.env
  uniform = lambda p, key, obs, mask: jax.random.randint(key, (obs.shape[0],), 0, env.num_actions)
  random = summarize(
    make_episode_evaluator(
      env, observation_policy(uniform), max_steps=env.max_episode_steps, stream=True
    )(None, keys)
  )
  assert trained["mean"] > random["mean"] + 3 * (trained["stderr"] + random["stderr"]), (
    trained,
    random,
  )
  assert jnp.isfinite(state.replay.max_priority)


def test_muzero_atari__host_side_iterations_learn_and_evaluate(tmp_path):
  # Real ALE Breakout at tiny network sizes: two iterations fill the replay and learn, an
  # evaluation plays whole games (cut at eval_max_steps), and the run resumes from the replay.
  config = make_config(
    "tiny",
    {
      "algo": "muzero",
      "env": "ALE/Breakout-v5",
      "rollout_batch_size": 2,
      "collect_steps": 4,
      "min_replay_steps": 4,
      "replay_capacity": 16,
      "max_num_iters": 3,
      "eval_batch_size": 2,
      "eval_max_steps": 30,
      "eval_simulations": 0,
    },
  )
  train(config, tmp_path, show_progress=False, devices=DEVICE, stop_after=2)
  train(config, tmp_path, resume=True, show_progress=False, devices=DEVICE)
  import json

  records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  iterations = [r for r in records if "train/sgd_steps" in r]
  assert [r["iteration"] for r in iterations] == [1, 2, 3]
  assert iterations[-1]["env_steps"] == 3 * 4 * 2
  assert iterations[-1]["train/sgd_steps"] == config.muzero.updates_per_iteration
  assert np.isfinite(iterations[-1]["train/value_loss"])
  assert any("eval/greedy/mean" in r for r in records)
  from searchdistill.runner.evaluate import load_trained

  parts, state, _ = load_trained(tmp_path, DEVICE)
  assert_renders(parts, state.params, tmp_path / "game.gif", simulations=0)


def test_learned_search__considers_every_action_when_fewer_than_asked():
  # atari100k asks for 16 considered actions; Breakout has 4 and MinAtar Breakout 3.
  config = make_config("tiny", {"algo": "muzero", "max_num_considered_actions": 16})
  parts = build(config, DEVICE)
  assert parts.env.num_actions == 3
  state = parts.init_state()
  args = (
    state.params,
    jax.random.key(0),
    state.env_states.observation,
    state.env_states.action_mask,
  )
  out = jax.jit(parts.learned_search(training=True))(*args)
  np.testing.assert_allclose(np.sum(np.asarray(out.action_weights), axis=-1), 1.0, rtol=1e-5)
  # Asking for 16 is asking for all 3: the same search, the same visit schedule.
  exact = build(make_config("tiny", {"algo": "muzero", "max_num_considered_actions": 3}), DEVICE)
  same = jax.jit(exact.learned_search(training=True))(*args)
  np.testing.assert_allclose(out.action_weights, same.action_weights, atol=1e-6)
  np.testing.assert_array_equal(out.action, same.action)


@golden.uses(MUZERO_RUN)
def test_muzero_schedules__a_minutes_bounded_run_ends_annealed(tmp_path):
  # The run loop plans the iteration that spends the time budget as the last one (its stage
  # ends at 1), so the importance-sampling exponent reaches 1 whatever the iteration count,
  # unless that iteration runs past the pace it was planned at (`plan_stage`). The
  # learning rate follows where each iteration starts: on a slow machine whose first iteration
  # compiles for most of the budget, the last one starts well before the end (0.66 seen in CI).
  from searchdistill.loop.muzero_learner import learning_rate_decay
  from searchdistill.runs.metrics import read_metrics

  config = make_config(
    "tiny",
    {
      "algo": "muzero",
      "max_num_iters": 1_000_000,
      "minutes": 0.2,
      "eval_every": 0,
      "checkpoint_every": 1_000_000,
    },
  )
  summary = train(config, tmp_path / "run", show_progress=False, devices=DEVICE)
  records = read_metrics(tmp_path / "run")
  assert summary["iteration"] == len(records) > 2
  budget = 60 * config.run.minutes
  if records[-1]["progress"] == 1.0:
    assert records[-1]["train/importance_beta"] == 1.0
  else:
    # Planned to end before the budget at the recent pace, the last iteration took longer
    # than that pace and spent the budget itself (seen on a loaded machine: end 0.9995).
    assert records[-1]["train_seconds"] >= budget
    assert records[-2]["train_seconds"] / budget < records[-1]["progress"] < 1.0
  rates = [r["train/learning_rate"] for r in records]
  assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]
  # float32 cosine: XLA's CPU kernels differ by instruction set (1e-5 relative seen in CI).
  last_start_at_least = records[-2]["train_seconds"] / budget
  ceiling = config.train.learning_rate * float(learning_rate_decay(last_start_at_least))
  assert 0.1 * config.train.learning_rate * (1 - 1e-4) <= rates[-1] <= ceiling * (1 + 1e-4)
  betas = [r["train/importance_beta"] for r in records]
  assert betas == sorted(betas) and betas[0] < 1.0
