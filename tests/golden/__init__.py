"""The golden runs: short seeded runs of every algorithm and environment family, their figures
recorded in `tests/golden/<name>.json` (checked by tests/test_golden_runs.py).

The same runs serve the tests of run management, the CLI and the learners, which read them
through the `golden_run` fixture instead of training runs of their own: on this machine a run
costs tens of seconds of compilation, so each is trained once per test process. A test that
changes a run works on a copy.
"""

import json
import os
import pathlib

import jax
import numpy as np
import pytest

# Timings differ between runs; `devices` depends on the machine.
UNTIMED = {
  "wall_seconds",
  "train_seconds",
  "wall_seconds_after_eval",
  "decisions_per_second",
  "devices",
  "progress",  # added to the records after the runs were recorded
}
ALL_DEVICES, ONE_DEVICE = "all", "one"  # learned-model runs are not sharded
MPE = {
  "algo": "muzero",
  "env": "MPE_simple_spread_v3",
  "num_joint_samples": 4,
  "eval_batch_size": 2,
  "max_num_iters": 3,
}

# name -> (preset, overrides, devices): each as small as its family allows.
RUNS = {
  "distill_binpack": ("tiny", {"max_num_iters": 3}, ALL_DEVICES),
  "ppo_binpack": ("tiny", {"algo": "ppo", "max_num_iters": 3}, ALL_DEVICES),
  "ppo_minatar": (
    "tiny",
    {"algo": "ppo", "env": "Breakout-MinAtar", "max_num_iters": 2, "eval_batch_size": 2},
    ALL_DEVICES,
  ),
  "muzero_minatar": ("tiny", {"algo": "muzero", "max_num_iters": 4, "eval_every": 2}, ONE_DEVICE),
  "muzero_mpe_independent": ("tiny", {**MPE, "planner": "independent"}, ONE_DEVICE),
  "muzero_mpe_sequential": ("tiny", {**MPE, "planner": "sequential"}, ONE_DEVICE),
  "muzero_mpe_joint": ("tiny", {**MPE, "planner": "joint"}, ONE_DEVICE),
}


def uses(name):
  """Marks a test that reads golden run `name`: with pytest-xdist's `--dist loadgroup`, the
  tests of one run share a worker, so the run is trained once."""
  return pytest.mark.xdist_group(name)


def config(name):
  from searchdistill.config import make_config

  preset, overrides, _ = RUNS[name]
  return make_config(preset, overrides)


def devices(name):
  return jax.local_devices()[:1] if RUNS[name][2] == ONE_DEVICE else None


def train_run(name, out):
  """Trains golden run `name` into `out`. Runs on all devices go through the command line in
  this process, as a user starts them; one-device runs through `train`, since the command line
  has no device option."""
  from searchdistill.runner import train
  from tests.helpers import cli

  preset, overrides, placement = RUNS[name]
  if placement == ALL_DEVICES:
    settings = [f"{key}={value}" for key, value in overrides.items()]
    cli("train", "--preset", preset, *settings, "--out", out, "--no-progress")
  else:
    train(config(name), out, show_progress=False, devices=devices(name))
  return out


def figures(run_dir) -> dict:
  """What a run must reproduce: its metrics without timings, and the `leaf_sums` of its final
  parameters."""
  from searchdistill.runner.evaluate import load_trained
  from searchdistill.runs.metrics import read_metrics

  metrics = [{k: v for k, v in line.items() if k not in UNTIMED} for line in read_metrics(run_dir)]
  return {"metrics": metrics, "params": leaf_sums(load_trained(run_dir)[1].params)}


def leaf_sums(params) -> dict:
  """Per parameter leaf, the sum and the sum of squares (float64 of float32 values: exact)."""
  return {
    jax.tree_util.keystr(path): [
      float(np.sum(leaf, dtype=np.float64)),
      float(np.sum(np.square(leaf, dtype=np.float64))),
    ]
    for path, leaf in jax.tree_util.tree_leaves_with_path(jax.device_get(params))
  }


def check_recorded(name: str, record: dict) -> None:
  """Asserts that `record` equals `tests/golden/<name>.json`, or writes it there when
  SEARCHDISTILL_RECORD_GOLDEN=1."""
  path = pathlib.Path(__file__).parent / f"{name}.json"
  if os.environ.get("SEARCHDISTILL_RECORD_GOLDEN") == "1":
    path.write_text(json.dumps(record, indent=1) + "\n")
    return
  recorded = json.loads(path.read_text())
  for key in record:
    assert record[key] == recorded[key], f"golden {name}: {key} differs from its recording"
