"""The console progress of a training run: the bar's status line and the evaluation lines."""

import math

import pytest

from searchdistill.runs.progress import Progress, _clock

RECORD = {"rollout/avg_return": 0.8125, "decisions_per_second": 212.4}
GREEDY = {"eval/greedy/mean": 0.9312, "eval/greedy/stderr": 0.0021}
SEARCH = {**GREEDY, "eval/search/mean": 0.9804, "eval/search/stderr": 0.0013}


def test_progress__bar_shows_iterations_utilization_speed_and_time_left(capsys):
  with Progress(10, budget_seconds=3600, enabled=True) as progress:
    progress.update(4, RECORD, elapsed=40.0)
    progress.note(SEARCH)
  out = capsys.readouterr().out
  # Four iterations in 40 s leave six at 10 s each: one minute, well inside the budget.
  assert "iter 4/10" in out
  assert "return 0.812  212 dec/s  left 0:01:00" in out
  assert "eval greedy 0.931 +- 0.002  search 0.980 +- 0.001" in out


def test_progress__the_time_budget_caps_the_time_left(capsys):
  with Progress(1000, budget_seconds=90, enabled=True) as progress:
    progress.update(1, RECORD, elapsed=30.0)
  assert "left 0:01:00" in capsys.readouterr().out


def test_progress__disabled_prints_only_evaluations_and_only_when_enabled(capsys):
  with Progress(10, budget_seconds=math.inf, enabled=False) as progress:
    progress.update(1, RECORD, elapsed=1.0)
    progress.note(GREEDY)
  assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
  "seconds, text", [(59.9, "0:00:59"), (3725, "1:02:05"), (-3, "0:00:00"), (math.inf, "?")]
)
def test_clock__hours_minutes_seconds(seconds, text):
  assert _clock(seconds) == text
