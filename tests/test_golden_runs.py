"""Golden runs: short seeded runs of every algorithm and environment family give the figures
recorded in `tests/golden/*.json`, bit for bit on CPU.

They pin behaviour across restructurings. A change that alters a run on purpose re-records
it, and says why in its commit:

  SEARCHDISTILL_RECORD_GOLDEN=1 python -m pytest tests/test_golden_runs.py
"""

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
