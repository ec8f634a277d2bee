"""Side-by-side comparison of runs grouped by algorithm (and variant): a markdown report, with
the reference policies' scores where the environment has them (the curves: `viz.plot`)."""

from __future__ import annotations

import json
import math
import pathlib
import statistics
from collections.abc import Sequence

from searchdistill.config import load_config
from searchdistill.runs.metrics import read_metrics, training_minutes


def _score_at(records: list[dict], key: str, minutes: float):
  """The last evaluation made by `minutes` of training (None before the first)."""
  values = [r[key] for r in records if r.get(key) is not None and training_minutes(r) <= minutes]
  return values[-1] if values else None


def _final(records: list[dict], key: str):
  return _score_at(records, key, math.inf)


def _mean_stderr(values: Sequence[float]) -> str:
  values = [v for v in values if v is not None]
  if not values:
    return "-"
  mean = statistics.fmean(values)
  if len(values) < 2:
    return f"{mean:.3f}"
  return f"{mean:.3f} +- {statistics.stdev(values) / math.sqrt(len(values)):.3f}"


def group_runs(run_dirs) -> dict[str, list[tuple[pathlib.Path, list[dict]]]]:
  groups: dict[str, list] = {}
  for run_dir in map(pathlib.Path, run_dirs):
    config = load_config(run_dir / "config.yaml")
    # The run directory names the algorithm and variant: `<algo>[_<variant>]_s<seed>`.
    label = run_dir.name.rsplit("_s", 1)[0]
    if config.run.algo == "distill":
      label += f" ({config.search.num_simulations} sims)"
    groups.setdefault(label, []).append((run_dir, read_metrics(run_dir)))
  return groups


HELD_OUT_FILE = "eval_1024.json"


def held_out(run_dir: pathlib.Path) -> dict | None:
  """A run's large held-out evaluation, if one was saved beside it: `HELD_OUT_FILE` holding
  `{"greedy": summary, "search_32": summary}` (summaries of `searchdistill eval RUN
  --episodes 1024 --json`, without and with `--simulations 32`)."""
  path = pathlib.Path(run_dir) / HELD_OUT_FILE
  return json.loads(path.read_text()) if path.exists() else None


def _spread(values: Sequence[float]) -> tuple[float, float | None]:
  """Mean and standard error across seeds (None with a single seed)."""
  mean = statistics.fmean(values)
  if len(values) < 2:
    return mean, None
  return mean, statistics.stdev(values) / math.sqrt(len(values))


def _algorithm_table(groups) -> list[str]:
  lines = [
    "| algorithm | seeds | greedy | search | env steps | decisions/s | training minutes "
    "| wall minutes |",
    "|---|---|---|---|---|---|---|---|",
  ]
  for label, runs in groups.items():
    records = [r for _, r in runs]
    rates = [statistics.median(x["decisions_per_second"] for x in r[1:] or r) for r in records]
    cells = (
      label,
      len(runs),
      _mean_stderr([_final(r, "eval/greedy/mean") for r in records]),
      _mean_stderr([_final(r, "eval/search/mean") for r in records]),
      _mean_stderr([r[-1]["env_steps"] for r in records]).split(".")[0],
      f"{statistics.fmean(rates):.0f}",
      f"{statistics.fmean(training_minutes(r[-1]) for r in records):.1f}",
      f"{statistics.fmean(r[-1]['wall_seconds'] for r in records) / 60:.1f}",
    )
    lines.append("| " + " | ".join(map(str, cells)) + " |")
  return lines


def _run_table(groups) -> list[str]:
  lines = ["| run | greedy | search | env steps | iterations |", "|---|---|---|---|---|"]
  for runs in groups.values():
    for run_dir, r in runs:

      def fmt(kind):
        mean, stderr = _final(r, f"eval/{kind}/mean"), _final(r, f"eval/{kind}/stderr")
        if mean is None:
          return "-"
        return f"{mean:.3f}" + ("" if stderr is None else f" +- {stderr:.3f}")

      lines.append(
        f"| {run_dir.name} | {fmt('greedy')} | {fmt('search')} | "
        f"{r[-1]['env_steps']:.0f} | {r[-1]['iteration']} |"
      )
  return lines


def _held_out_greedy(groups) -> dict[str, list[float]]:
  """Per algorithm, the 1024-episode greedy score of each run, when every run has one."""
  scores = {}
  for label, runs in groups.items():
    evaluations = [held_out(run_dir) for run_dir, _ in runs]
    if all(evaluations):
      scores[label] = [e["greedy"]["mean"] for e in evaluations]
  return scores


def _held_out_table(groups) -> list[str]:
  """A row per run (+- standard error across its episodes), then per algorithm whose runs all
  have one, the mean over its seeds (+- standard error across seeds)."""
  lines, means = [], []
  for label, runs in groups.items():
    evaluations = [held_out(run_dir) for run_dir, _ in runs]
    for (run_dir, _), evaluation in zip(runs, evaluations):
      if evaluation:
        cells = [
          f"{evaluation[k]['mean']:.3f} +- {evaluation[k]['stderr']:.3f}"
          if k in evaluation
          else "-"
          for k in ("greedy", "search_32")
        ]
        lines.append(f"| {run_dir.name} | {cells[0]} | {cells[1]} |")
    if len(runs) > 1 and all(evaluations):
      cells = [
        _mean_stderr(
          [e[k]["mean"] for e in evaluations] if all(k in e for e in evaluations) else []
        )
        for k in ("greedy", "search_32")
      ]
      means.append(f"| {label}, mean of {len(runs)} seeds | {cells[0]} | {cells[1]} |")
  if not lines:
    return []
  lines += means
  return [
    "",
    f"Held-out evaluation of the final networks on 1024 episodes ({HELD_OUT_FILE}):",
    "",
    "| run | greedy | search (32 sims) |",
    "|---|---|---|",
    *lines,
  ]


def _differences(groups) -> list[str]:
  """Greedy differences between algorithms, on the 1024-episode evaluations where every run
  has one, with the combined standard error across seeds."""
  scores = _held_out_greedy(groups)
  source = "1024 held-out episodes"
  if len(scores) < 2:
    source = "the runs' final evaluations"
    scores = {
      label: [_final(r, "eval/greedy/mean") for _, r in runs] for label, runs in groups.items()
    }
  labels = [label for label, values in scores.items() if None not in values]
  lines = []
  for index, first in enumerate(labels):
    for second in labels[index + 1 :]:
      (m1, e1), (m2, e2) = _spread(scores[first]), _spread(scores[second])
      if e1 is None or e2 is None:
        lines.append(f"| {first} - {second} | {m1 - m2:+.3f} | - | (one seed) |")
        continue
      combined = math.hypot(e1, e2)
      verdict = "yes" if abs(m1 - m2) > 2 * combined else "no"
      lines.append(f"| {first} - {second} | {m1 - m2:+.3f} | {combined:.3f} | {verdict} |")
  if not lines:
    return []
  return [
    "",
    f"Greedy differences across seeds (on {source}):",
    "",
    "| difference | mean | combined stderr | more than twice it |",
    "|---|---|---|---|",
    *lines,
  ]


# Where the time table looks, as fractions of the budget: 5, 10, 15, 30, 45, 60 of 60 minutes.
TIME_FRACTIONS = (1 / 12, 1 / 6, 1 / 4, 1 / 2, 3 / 4, 1)


def _time_table(groups, minutes: float) -> list[str]:
  """Per algorithm, the mean over seeds of its last greedy and search evaluations by each
  fraction of the budget, and the gap between them (how far the network trails its search).
  The last column is the final evaluation, made once the budget is spent."""
  marks = [minutes * f for f in TIME_FRACTIONS[:-1]] + [math.inf]
  header = " | ".join(f"{minutes * f:g}" for f in TIME_FRACTIONS)
  lines = [f"| training minutes | {header} |", "|---|" + "---|" * len(marks)]
  for label, runs in groups.items():
    rows = {}
    for kind in ("greedy", "search"):
      scores = [[_score_at(r, f"eval/{kind}/mean", t) for _, r in runs] for t in marks]
      rows[kind] = [None if None in s else statistics.fmean(s) for s in scores]
    rows["gap"] = [None if None in pair else pair[1] - pair[0] for pair in zip(*rows.values())]
    for kind, values in rows.items():
      if any(v is not None for v in values):
        cells = " | ".join("-" if v is None else f"{v:.3f}" for v in values)
        lines.append(f"| {label} {kind} | {cells} |")
  return [
    "",
    "Over training time (mean over seeds of the last evaluation on the held-out episodes; "
    "gap = search - greedy):",
    "",
    *lines,
  ]


def write_report(
  run_dirs, out: pathlib.Path, *, minutes: float, references: dict | None = None
) -> str:
  """Markdown tables: per algorithm, the final score (mean +- stderr across seeds) and costs;
  per run, the final score +- stderr across its evaluation episodes; per algorithm, the scores
  over training time; the runs' 1024-episode evaluations where saved (`held_out`); the greedy
  differences between algorithms; then the reference policies (`name -> summarize(...)` dict)
  on the same episodes."""
  groups = group_runs(run_dirs)
  lines = [
    f"# Comparison ({minutes:g} minutes per run, runs sequential on one machine)",
    "",
    "Score on the fixed held-out episodes at the end of each run (BinPack: volume "
    "utilization; otherwise the return); mean +- standard error across seeds.",
    "",
    *_algorithm_table(groups),
    "",
    "Per run: mean +- standard error across the evaluation episodes.",
    "",
    *_run_table(groups),
    *_time_table(groups, minutes),
    *_held_out_table(groups),
    *_differences(groups),
  ]
  if references:
    lines += [
      "",
      "Reference policies on the same evaluation episodes:",
      "",
      "| policy | return | episodes |",
      "|---|---|---|",
    ]
    for name, score in references.items():
      lines.append(
        f"| {name} | {score['mean']:.3f} +- {score['stderr']:.3f} | {score['episodes']} |"
      )
  text = "\n".join(lines) + "\n"
  out.write_text(text)
  return text
