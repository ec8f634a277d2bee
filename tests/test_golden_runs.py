"""Golden runs: short seeded runs of every algorithm and environment family give the figures
recorded in `tests/golden/*.json`, bit for bit on CPU.

They pin behaviour across restructurings. A change that alters a run on purpose re-records
it, and says why in its commit:

  SEARCHDISTILL_RECORD_GOLDEN=1 python -m pytest tests/test_golden_runs.py
"""

import json
import os
import pathlib

import jax
import numpy as np
import pytest

from searchdistill.config import make_config
from searchdistill.runner import train
from searchdistill.runner.evaluate import load_trained
from searchdistill.runs.metrics import read_metrics

GOLDEN = pathlib.Path(__file__).parent / "golden"
RECORD = os.environ.get("SEARCHDISTILL_RECORD_GOLDEN") == "1"
# Timings differ between runs; `devices` depends on the machine.
UNTIMED = {
  "wall_seconds",
  "train_seconds",
  "wall_seconds_after_eval",
  "decisions_per_second",
  "devices",
  "progress",  # added to the records after the runs were recorded
}
ONE_DEVICE = "one"  # learned-model runs are not sharded: they run on one device
MPE = {
  "algo": "muzero",
  "env": "MPE_simple_spread_v3",
  "num_joint_samples": 4,
  "eval_batch_size": 2,
  "max_num_iters": 3,
}

# name -> (preset, overrides, devices): each as small as its family allows.
RUNS = {
  "distill_binpack": ("tiny", {"max_num_iters": 3}, "all"),
  "ppo_binpack": ("tiny", {"algo": "ppo", "max_num_iters": 3}, "all"),
  "ppo_minatar": (
    "tiny",
    {"algo": "ppo", "env": "Breakout-MinAtar", "max_num_iters": 2, "eval_batch_size": 2},
    "all",
  ),
  "muzero_minatar": ("tiny", {"algo": "muzero", "max_num_iters": 4, "eval_every": 2}, ONE_DEVICE),
  "muzero_mpe_independent": ("tiny", {**MPE, "planner": "independent"}, ONE_DEVICE),
  "muzero_mpe_sequential": ("tiny", {**MPE, "planner": "sequential"}, ONE_DEVICE),
  "muzero_mpe_joint": ("tiny", {**MPE, "planner": "joint"}, ONE_DEVICE),
}


def _figures(run_dir) -> dict:
  """What a run must reproduce: its metrics without timings, and per parameter leaf the sum
  and the sum of squares of the final parameters (float64 of float32 values: exact)."""
  metrics = [{k: v for k, v in line.items() if k not in UNTIMED} for line in read_metrics(run_dir)]
  params = jax.device_get(load_trained(run_dir)[1].params)
  leaves = {
    jax.tree_util.keystr(path): [
      float(np.sum(leaf, dtype=np.float64)),
      float(np.sum(np.square(leaf, dtype=np.float64))),
    ]
    for path, leaf in jax.tree_util.tree_leaves_with_path(params)
  }
  return {"metrics": metrics, "params": leaves}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_golden_run__reproduces_its_recorded_figures(name, tmp_path):
  preset, overrides, devices = RUNS[name]
  config = make_config(preset, overrides)
  train(
    config,
    tmp_path / name,
    show_progress=False,
    devices=jax.local_devices()[:1] if devices == ONE_DEVICE else None,
  )
  figures = _figures(tmp_path / name)
  path = GOLDEN / f"{name}.json"
  if RECORD:
    path.write_text(
      json.dumps(
        {
          "preset": preset,
          "overrides": overrides,
          "devices": len(jax.local_devices()) if devices == "all" else 1,
          **figures,
        },
        indent=1,
      )
      + "\n"
    )
    return
  recorded = json.loads(path.read_text())
  assert recorded["devices"] == (len(jax.local_devices()) if devices == "all" else 1), (
    "golden runs were recorded with another number of devices"
  )
  assert figures["metrics"] == recorded["metrics"]
  assert figures["params"] == recorded["params"]
