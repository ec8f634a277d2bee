"""Building a run's pieces: one process traces the programs of one configuration once."""

from searchdistill.config import make_config
from searchdistill.loop.components import build


def test_build__runs_that_differ_only_in_budget_and_output_share_their_programs():
  short = make_config("tiny", {"max_num_iters": 2, "checkpoint_every": 1})
  long = make_config("tiny", {"minutes": 5.0, "keep_checkpoints": 1})
  first, second = build(short), build(long)
  assert first.config == short and second.config == long
  assert second.iteration() is first.iteration()
  assert second.evaluator(2) is first.evaluator(2) and first.evaluator(0) is not first.evaluator(2)


def test_build__what_the_programs_read_gives_new_programs():
  parts = build(make_config("tiny"))
  for change in ({"seed": 1}, {"learning_rate": 0.5}, {"eval_simulations": 4}):
    other = build(make_config("tiny", change))
    assert other.programs is not parts.programs, change


def test_build__an_environment_of_the_users_code_is_made_anew():
  config = make_config("tiny", {"env": "examples.knapsack:make_env"})
  first, second = build(config), build(config)
  assert first.env is not second.env and first.iteration() is not second.iteration()


def test_build__an_iteration_that_holds_host_side_games_is_made_anew():
  # A resumed or repeated run must start new games, not continue the last run's.
  config = make_config("tiny", {"algo": "muzero", "env": "ALE/Pong-v5"})
  assert build(config).iteration() is not build(config).iteration()
