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
import warnings

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


def host() -> str:
  """The CPU a run's float results depend on: XLA compiles for the host's vector units, and its
  matrix kernels block their sums by cache size."""
  import platform

  import jaxlib

  info = {}
  if os.path.exists("/proc/cpuinfo"):
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
      key, _, value = line.partition(":")
      info.setdefault(key.strip(), value.strip())
  flags = info.get("flags", "").split()
  vectors = next((isa for isa in ("avx512f", "avx2", "avx") if isa in flags), "")
  model = info.get("model name", platform.processor())
  if "cpu family" in info:  # a masked model name can hide the generation
    model += f" (family {info['cpu family']}, model {info.get('model', '?')})"
  parts = [platform.machine(), model, vectors, info.get("cache size", ""), jaxlib.__version__]
  return ", ".join(part for part in parts if part)


# Measured between the Xeon these runs were first recorded on and an AMD EPYC (AVX-512): every
# count equal, every metric within 0.54% (ppo_binpack's policy loss; 1e-4 elsewhere), while
# parameter sums differ by up to 100% where the gradient is zero in exact arithmetic (the key
# biases of attention, a bias shared by all the logits of one softmax): Adam turns the rounding
# there into steps of the full learning rate.
METRIC_RTOL, METRIC_ATOL = 0.02, 1e-4


def check_recorded(name: str, record: dict) -> None:
  """Asserts that `record` equals `tests/golden/<name>.json`, or writes it there, with the CPU
  it was computed on, when SEARCHDISTILL_RECORD_GOLDEN=1.

  On the recording's CPU the figures must be equal bit for bit: a restructuring proves there
  that it kept behaviour. On another CPU float rounding differs, so metrics must agree within
  `METRIC_RTOL` (and `METRIC_ATOL`), counts and names exactly, and parameters by name only."""
  path = pathlib.Path(__file__).parent / f"{name}.json"
  if os.environ.get("SEARCHDISTILL_RECORD_GOLDEN") == "1":
    path.write_text(json.dumps({"host": host(), **record}, indent=1) + "\n")
    return
  recorded = json.loads(path.read_text())
  if recorded.get("host") == host():
    for key in record:
      assert record[key] == recorded[key], f"golden {name}: {key} differs from its recording"
    return
  warnings.warn(
    f"golden {name} was recorded on {recorded.get('host')!r}, not on this {host()!r}: metrics "
    f"compared within {METRIC_RTOL:.0%}, parameters by name. Re-record it here (from unchanged "
    "code) for a bit-exact check.",
    stacklevel=2,
  )
  for key in record:
    if key == "params":
      assert sorted(record[key]) == sorted(recorded[key]), f"golden {name}: parameter names differ"
    else:
      assert_close(record[key], recorded[key], f"golden {name}: {key}")


def assert_close(ours, recorded, where: str) -> None:
  """Asserts that two JSON values agree: floats within the metric tolerance, the rest exactly."""
  if isinstance(recorded, dict):
    assert ours.keys() == recorded.keys(), f"{where}: keys differ from the recording"
    for key in recorded:
      assert_close(ours[key], recorded[key], f"{where}.{key}")
  elif isinstance(recorded, list):
    assert len(ours) == len(recorded), f"{where}: length differs from the recording"
    for index, (a, b) in enumerate(zip(ours, recorded)):
      assert_close(a, b, f"{where}[{index}]")
  elif isinstance(recorded, float):
    close = abs(ours - recorded) <= METRIC_ATOL + METRIC_RTOL * abs(recorded)
    assert close, f"{where}: {ours} against {recorded} recorded"
  else:
    assert ours == recorded, f"{where}: {ours!r} against {recorded!r} recorded"
