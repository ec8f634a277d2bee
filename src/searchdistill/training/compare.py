"""Trains several algorithms under the same wall-clock budget and seeds, one after another."""

from __future__ import annotations

import pathlib

from searchdistill.config import make_config
from searchdistill.training.components import build
from searchdistill.training.loop import train


def plan_runs(*, env: str, algos, seeds, minutes: float, preset: str, overrides: dict, out):
  """Validated `(config, run_dir)` pairs; every config is checked before anything trains."""
  runs = []
  # Seed-major order: an interrupted comparison still has every algorithm for the seeds done.
  for seed in seeds:
    for algo in algos:
      config = make_config(preset, {**overrides, "env": env, "algo": algo, "seed": seed,
                                    "minutes": minutes, "max_num_iters": 1_000_000})
      runs.append((config, pathlib.Path(out) / f"{algo}_s{seed}"))
  build(runs[0][0])  # The environment id and device combinations.
  return runs


def run_comparison(runs, *, show_progress: bool = True) -> None:
  """Trains each planned run in turn; a run that already finished is resumed, not redone."""
  for config, run_dir in runs:
    resume = (run_dir / "checkpoints").exists()
    train(config, run_dir, resume=resume, show_progress=show_progress)
