"""Golden runs: short seeded runs of every algorithm and environment family give the figures
recorded in `tests/golden/*.json`: bit for bit on the CPU they were recorded on, within float
rounding on another (`golden.check_recorded`).

They pin behaviour across restructurings: before one, re-record them from unchanged code on
the machine it is made on. A change that alters a run on purpose re-records it, and says why
in its commit:

  SEARCHDISTILL_RECORD_GOLDEN=1 python -m pytest tests/test_golden_runs.py \
    tests/training/test_ray_loop.py
"""

import json
import pathlib

import jax
import pytest

from tests import golden


def _devices(name):
  return len(jax.local_devices()) if golden.RUNS[name][2] == golden.ALL_DEVICES else 1


@pytest.mark.parametrize(
  "name", [pytest.param(name, marks=golden.uses(name)) for name in sorted(golden.RUNS)]
)
def test_golden_run__reproduces_its_recorded_figures(name, golden_run):
  preset, overrides, _ = golden.RUNS[name]
  record = {"preset": preset, "overrides": overrides, "devices": _devices(name)}
  golden.check_recorded(name, {**record, **golden.figures(golden_run(name))})


@golden.uses("ppo_minatar")  # beside the run that re-records the file it reads
def test_golden_check__on_another_cpu_accepts_rounding_and_rejects_changed_figures(monkeypatch):
  recorded = json.loads((pathlib.Path(golden.__file__).parent / "ppo_minatar.json").read_text())
  record = {key: value for key, value in recorded.items() if key != "host"}
  monkeypatch.setattr(golden, "host", lambda: "another CPU")
  monkeypatch.delenv("SEARCHDISTILL_RECORD_GOLDEN", raising=False)  # checks, never records
  rounded = json.loads(json.dumps(record))
  rounded["metrics"][0]["train/value_loss"] *= 1.005
  rounded["params"] = {leaf: [2 * s, 3 * q] for leaf, (s, q) in rounded["params"].items()}
  with pytest.warns(UserWarning, match="not on this 'another CPU'"):
    golden.check_recorded("ppo_minatar", rounded)
  changed_loss = json.loads(json.dumps(record))
  changed_loss["metrics"][0]["train/value_loss"] *= 1.1
  changed_count = json.loads(json.dumps(record))
  changed_count["metrics"][-1]["iteration"] += 1
  for changed in (changed_loss, changed_count):
    with pytest.warns(UserWarning), pytest.raises(AssertionError, match="golden ppo_minatar"):
      golden.check_recorded("ppo_minatar", changed)
