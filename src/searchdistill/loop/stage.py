"""How far a run is through its budget, as an iteration sees it."""

from __future__ import annotations

from typing import NamedTuple


class Stage(NamedTuple):
  """The share of the budget (iterations or minutes, whichever ends first) done when an
  iteration starts and when it will have ended, each 0 to 1. `end` is 1 for the iteration the
  run loop plans as its last, so schedules that follow it complete with the budget.

  Schedules of the learning rate follow `start` (an iteration's updates happen from there);
  MuZero's importance-sampling exponent follows `end`.
  """

  start: float = 0.0
  end: float = 0.0


# The stage of an iteration called without one (tests, benchmarks): the start of the budget.
START = Stage()


def plan_stage(
  iteration: int,
  *,
  max_iters: int,
  trained: float,
  budget: float,
  pace: float,
  last_end: float,
) -> tuple[Stage, bool]:
  """The stage of iteration `iteration` (0-based), and whether the run plans it as its last.

  It is the last when it is the last of `max_iters`, or when, at `pace` seconds per
  iteration, it would end at or past the `budget` of seconds from `trained` (seconds spent);
  the last gets `end` 1. Ends never decrease (`last_end`: the previous stage's end). An
  iteration that takes longer than `pace` can still spend the budget with an end below 1.
  """
  end = max((iteration + 1) / max_iters, (trained + pace) / budget, last_end)
  start = max(iteration / max_iters, trained / budget)
  return Stage(start, min(end, 1.0)), end >= 1.0
