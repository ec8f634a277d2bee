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
