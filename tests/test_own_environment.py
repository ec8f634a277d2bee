"""A user's own environment, named by import path: the example trains with distill and PPO."""

import jax
import jax.numpy as jnp
import pytest

from examples.knapsack import Knapsack
from searchdistill import make_config, make_environment, train
from searchdistill.runs.metrics import read_metrics
from tests.helpers import assert_step_compiles_once, cli

ENV = "examples.knapsack:make_env"


class _NoStep:
  num_actions, max_episode_steps = 2, 2

  def reset(self, key):
    raise NotImplementedError


def no_step():
  return _NoStep()


def failing():
  raise ValueError("no such board size")


def test_knapsack__step_compiles_once():
  assert_step_compiles_once(Knapsack(), num_steps=4)


def test_knapsack__an_invalid_action_changes_nothing_and_ends_the_episode():
  env = Knapsack()
  state = env.reset(jax.random.key(0))
  state, _ = env.step(state, jnp.argmax(state.action_mask))
  packed = int(jnp.argmax(state.inner.packed))
  after, reward = env.step(state, packed)  # already packed: not allowed
  assert not bool(state.done) and float(reward) == 0.0 and bool(after.done)
  assert not bool(jnp.any(after.action_mask))
  assert bool(jnp.all(after.inner.packed == state.inner.packed))


def test_knapsack__a_full_episode_returns_the_packed_share_of_the_value():
  env = Knapsack()
  state, total = env.reset(jax.random.key(1)), 0.0
  for _ in range(env.max_episode_steps):
    if bool(state.done):
      break
    state, reward = env.step(state, jnp.argmax(state.action_mask))
    total += float(reward)
  bag = state.inner
  assert bool(state.done)
  assert total == pytest.approx(
    float(jnp.sum(jnp.where(bag.packed, bag.values, 0.0)) / jnp.sum(bag.values)), rel=1e-5
  )
  assert float(jnp.sum(jnp.where(bag.packed, bag.weights, 0.0))) <= float(bag.capacity) + 1e-6


@pytest.mark.parametrize("algo", ["distill", "ppo"])
def test_own_environment__trains_through_the_python_api(tmp_path, algo):
  config = make_config("tiny", {"env": ENV, "algo": algo})
  summary = train(config, tmp_path / algo, show_progress=False)
  assert summary["iteration"] == config.run.max_num_iters
  assert 0.0 < summary["eval/greedy/mean"] <= 1.0
  assert make_environment(ENV).num_actions == 10


def test_cli__trains_an_environment_named_by_import_path(tmp_path):
  out = tmp_path / "run"
  cli("train", "--preset", "tiny", "--env", ENV, "--out", out, "--no-progress")
  assert [r["iteration"] for r in read_metrics(out)] == [1, 2]


@pytest.mark.parametrize(
  "env, message",
  [
    ("examples.nowhere:make_env", "cannot import 'examples.nowhere'"),
    ("examples.knapsack:make_bag", "'examples.knapsack' has no function 'make_bag'"),
    ("tests.test_own_environment:no_step", "the environment has no step"),
    ("tests.test_own_environment:failing", "failing() raised ValueError: no such board size"),
    (":make_env", "an import path is 'module:factory'"),
  ],
)
def test_cli__a_bad_import_path_gets_one_clear_message(tmp_path, env, message):
  out = tmp_path / "run"
  result = cli("train", "--preset", "tiny", "--env", env, "--out", out, check=False)
  assert result.returncode == 2 and message in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()
