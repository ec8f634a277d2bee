"""Evaluation of a saved run or checkpoint on the held-out instances."""

from __future__ import annotations

import jax

from searchdistill.loop.components import build
from searchdistill.loop.evaluation import eval_keys, summarize
from searchdistill.loop.run import load_run_config
from searchdistill.runs import checkpoint as ckpt


def load_trained(path, devices=None):
  """Restores `(components, train_state, meta)` from a run directory or checkpoint."""
  config = load_run_config(path)
  parts = build(config, devices)
  state, meta = ckpt.restore(path, parts.init_state())
  return parts, state, meta


def evaluate_checkpoint(path, *, episodes: int, simulations: int) -> dict:
  """Mean return +- standard error over `episodes` held-out instances."""
  parts, state, meta = load_trained(path)
  evaluator = parts.evaluator(simulations)
  returns = jax.device_get(evaluator(state.params, eval_keys(episodes)))
  return dict(
    summarize(returns),
    env=parts.config.run.env,
    simulations=simulations,
    iteration=int(meta["iteration"]),
    checkpoint=str(ckpt.resolve(path)[0]),
  )
