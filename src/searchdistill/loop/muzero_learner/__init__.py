"""MuZero's learner: its state and schedules (`state`), the update every MuZero learner shares
(`update`), in-process experience (`collect`) and the in-process iteration (`learner`). The
Ray learner (`distributed`) reuses `update`."""

from searchdistill.loop.muzero_learner.collect import make_collect
from searchdistill.loop.muzero_learner.learner import make_learn, make_muzero_iteration
from searchdistill.loop.muzero_learner.state import (
  LOSS_NAMES,
  MuZeroState,
  importance_beta,
  init_muzero_state,
  learning_rate_decay,
  make_optimizer,
  window_length,
)
from searchdistill.loop.muzero_learner.update import (
  draw,
  iteration_metrics,
  make_sgd_step,
  make_update,
  refreshed_target,
)

__all__ = [
  "LOSS_NAMES",
  "MuZeroState",
  "draw",
  "importance_beta",
  "init_muzero_state",
  "iteration_metrics",
  "learning_rate_decay",
  "make_collect",
  "make_learn",
  "make_muzero_iteration",
  "make_optimizer",
  "make_sgd_step",
  "make_update",
  "refreshed_target",
  "window_length",
]
