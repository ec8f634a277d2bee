"""The comparison report: tables from the runs' files, differences across seeds."""

import json

import pytest

from searchdistill.config import make_config
from searchdistill.viz.report import write_report


def _run(root, algo, seed, greedy, held_out=None):
  run_dir = root / f"{algo}_s{seed}"
  run_dir.mkdir()
  (run_dir / "config.yaml").write_text(make_config("tiny", {"algo": algo, "seed": seed}).to_yaml())
  record = {
    "iteration": 2,
    "wall_seconds": 120.0,
    "train_seconds": 100.0,
    "env_steps": 1000.0,
    "decisions_per_second": 10.0,
    "eval/greedy/mean": greedy,
    "eval/greedy/stderr": 0.01,
  }
  (run_dir / "metrics.jsonl").write_text(json.dumps(record) + "\n")
  if held_out is not None:
    summary = lambda mean: {"mean": mean, "stderr": 0.002, "episodes": 1024}
    (run_dir / "eval_1024.json").write_text(
      json.dumps({"greedy": summary(held_out), "search_32": summary(0.97)})
    )
  return run_dir


def test_report__differences_use_the_held_out_evaluations_across_seeds(tmp_path):
  runs = [
    _run(tmp_path, "distill", 0, 0.90, held_out=0.930),
    _run(tmp_path, "distill", 1, 0.91, held_out=0.934),
    _run(tmp_path, "ppo", 0, 0.92, held_out=0.915),
    _run(tmp_path, "ppo", 1, 0.92, held_out=0.917),
  ]
  text = write_report(runs, tmp_path / "report.md", minutes=1)
  assert "| distill_s1 | 0.934 +- 0.002 | 0.970 +- 0.002 |" in text
  # Across seeds: distill 0.930 and 0.934 (stderr 0.002), search 0.97 both times (0).
  assert "| distill (2 sims), mean of 2 seeds | 0.932 +- 0.002 | 0.970 +- 0.000 |" in text
  assert "| ppo, mean of 2 seeds | 0.916 +- 0.001 |" in text
  # Means 0.932 and 0.916; stderr across two seeds 0.002 and 0.001: combined 0.00224.
  assert "on 1024 held-out episodes" in text
  assert "| distill (2 sims) - ppo | +0.016 | 0.002 | yes |" in text


def test_report__without_held_out_files_compares_the_final_evaluations(tmp_path):
  runs = [_run(tmp_path, "distill", 0, 0.90), _run(tmp_path, "ppo", 0, 0.92)]
  text = write_report(runs, tmp_path / "report.md", minutes=1)
  assert "on the runs' final evaluations" in text
  assert "| distill (2 sims) - ppo | -0.020 | - | (one seed) |" in text
  assert "Held-out evaluation" not in text


@pytest.mark.parametrize("ppo_scores", [(0.929, 0.933)])
def test_report__close_scores_are_not_called_different(tmp_path, ppo_scores):
  runs = [
    _run(tmp_path, "distill", 0, 0.9, held_out=0.930),
    _run(tmp_path, "distill", 1, 0.9, held_out=0.934),
    _run(tmp_path, "ppo", 0, 0.9, held_out=ppo_scores[0]),
    _run(tmp_path, "ppo", 1, 0.9, held_out=ppo_scores[1]),
  ]
  text = write_report(runs, tmp_path / "report.md", minutes=1)
  assert "| distill (2 sims) - ppo | +0.001 | 0.003 | no |" in text


def _timed_run(root, seed, evaluations):
  """A distill run whose metrics hold `(training minutes, greedy, search)` evaluations."""
  run_dir = _run(root, "distill", seed, evaluations[-1][1])
  records = [
    {
      "iteration": index + 1,
      "wall_seconds": 70.0 * minutes,
      "train_seconds": 60.0 * minutes,
      "env_steps": 1000.0 * (index + 1),
      "decisions_per_second": 10.0,
      "eval/greedy/mean": greedy,
      "eval/search/mean": search,
    }
    for index, (minutes, greedy, search) in enumerate(evaluations)
  ]
  (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
  return run_dir


def test_report__time_table_averages_each_seeds_last_evaluation_by_each_mark(tmp_path):
  runs = [
    _timed_run(tmp_path, 0, [(1.5, 0.80, 0.97), (5, 0.90, 0.97), (12.2, 0.95, 0.97)]),
    _timed_run(tmp_path, 1, [(1.5, 0.82, 0.99), (5, 0.92, 0.99), (12.2, 0.93, 0.99)]),
  ]
  text = write_report(runs, tmp_path / "report.md", minutes=12)
  # Marks at 1, 2, 3, 6 and 9 minutes; the last column is the final evaluation (12.2 > 12).
  assert "| training minutes | 1 | 2 | 3 | 6 | 9 | 12 |" in text
  assert "| distill (2 sims) greedy | - | 0.810 | 0.810 | 0.910 | 0.910 | 0.940 |" in text
  assert "| distill (2 sims) search | - | 0.980 | 0.980 | 0.980 | 0.980 | 0.980 |" in text
  assert "| distill (2 sims) gap | - | 0.170 | 0.170 | 0.070 | 0.070 | 0.040 |" in text
