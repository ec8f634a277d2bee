"""Multi-agent MuZero through the shared synchronous learner on MPE simple_spread."""

import jax
import numpy as np
import optax
import pytest

from searchdistill import replay
from searchdistill.loop import muzero_learner
from searchdistill.runner.evaluate import load_trained
from searchdistill.runs.metrics import read_metrics
from tests import golden

DEVICE = jax.local_devices()[:1]


@pytest.mark.parametrize(
  "planner",
  [
    pytest.param(planner, marks=golden.uses(f"muzero_mpe_{planner}"))
    for planner in ("independent", "sequential", "joint")
  ],
)
def test_multi_agent_run__collects_learns_and_evaluates(planner, golden_run):
  # The golden run: three iterations of the tiny preset with this planner.
  run_dir = golden_run(f"muzero_mpe_{planner}")
  config = golden.config(f"muzero_mpe_{planner}")
  parts, state, _ = load_trained(run_dir, DEVICE)
  state = parts.place(state)  # as the run placed it, so that its evaluation program serves
  num_agents, num_actions = 3, 5
  assert state.replay.data.action.shape[-1] == num_agents
  assert state.replay.data.policy.shape[-2:] == (num_agents, num_actions)
  last = read_metrics(run_dir)[-1]
  assert last["train/sgd_steps"] == config.muzero.updates_per_iteration
  assert np.isfinite(last["train/policy_loss"])
  stored = np.asarray(state.replay.data.policy[:, : int(state.replay.written)])
  np.testing.assert_allclose(stored.sum(-1), 1.0, rtol=1e-5)
  returns = parts.evaluator(2)(state.params, jax.random.split(jax.random.key(0), 2))
  assert returns.shape == (2,) and bool(np.all(np.asarray(returns) < 0))  # MPE pays distances
  # What the planner stored is learnable: repeated updates on one replayed batch lower the
  # objective on it (policy toward the planner's targets, value and reward toward the returns).
  losses = _objective_over_repeated_updates(config, parts, state, num_updates=8)
  assert losses[-1] < 0.9 * losses[0], losses


def _objective_over_repeated_updates(config, parts, state, num_updates):
  drawn = replay.sample(
    state.replay,
    jax.random.key(1),
    batch_size=config.train.training_batch_size,
    window=muzero_learner.window_length(config),
    alpha=config.muzero.priority_alpha,
    beta=1.0,
  )
  # A fresh optimizer at a fixed rate: the run's schedule has already decayed.
  optimizer = optax.adam(1e-2)
  sgd_step = jax.jit(
    muzero_learner.make_sgd_step(
      config, parts.network, parts.learned_search(training=True), optimizer, parts.support
    )
  )
  # On one device as the step's outputs are, so that it compiles once, not twice.
  params, opt_state, target_params, data, weight = jax.device_put(
    (state.params, optimizer.init(state.params), state.target_params, drawn.data, drawn.weight),
    DEVICE[0],
  )
  objective = []
  for _ in range(num_updates):
    params, opt_state, _, aux = sgd_step(
      params, opt_state, target_params, data, weight, jax.random.key(2)
    )
    objective.append(
      float(aux["policy_loss"])
      + config.train.value_loss_weight * float(aux["value_loss"])
      + float(aux["reward_loss"])
      + config.muzero.consistency_weight * float(aux["consistency_loss"])
    )
  return objective
