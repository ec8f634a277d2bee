"""Where an iteration stands in its run's budget: the schedules follow it."""

import math

from searchdistill.loop.stage import Stage, plan_stage


def test_plan_stage__an_iteration_budget_ends_at_its_last_iteration():
  plans = [
    plan_stage(i, max_iters=4, trained=0.0, budget=math.inf, pace=1.0, last_end=0.0)
    for i in range(4)
  ]
  assert [stage for stage, _ in plans] == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
  assert [last for _, last in plans] == [False, False, False, True]


def test_plan_stage__the_iteration_expected_to_spend_the_time_budget_is_the_last():
  budget = dict(max_iters=1_000_000, budget=10.0, pace=2.0)
  stage, last = plan_stage(3, trained=7.0, last_end=0.8, **budget)
  assert stage == Stage(0.7, 0.9) and not last
  stage, last = plan_stage(4, trained=8.5, last_end=0.9, **budget)
  assert stage == Stage(0.85, 1.0) and last
  # A slower pace than the recent ones' ends it earlier; ends never go back.
  stage, last = plan_stage(4, trained=7.5, last_end=0.9, max_iters=10**6, budget=10.0, pace=3.0)
  assert stage.end == 1.0 and last
  stage, last = plan_stage(4, trained=7.5, last_end=0.9, max_iters=10**6, budget=10.0, pace=0.5)
  assert stage == Stage(0.75, 0.9) and not last
