"""Side-by-side comparison of runs grouped by algorithm: a markdown report and curves."""

from __future__ import annotations

import math
import pathlib
import statistics
from typing import Sequence

import numpy as np

from searchdistill.config import load_config
from searchdistill.training.logging import read_metrics, training_minutes


def _final(records: list[dict], key: str):
  values = [r[key] for r in records if r.get(key) is not None]
  return values[-1] if values else None


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
    label = config.algo + (f" ({config.num_simulations} sims)" if config.algo == "distill" else "")
    groups.setdefault(label, []).append((run_dir, read_metrics(run_dir)))
  return groups


def write_report(run_dirs, out: pathlib.Path, *, minutes: float) -> str:
  """Markdown table per algorithm: final utilization (mean +- stderr across seeds) and costs."""
  groups = group_runs(run_dirs)
  lines = [f"# Comparison ({minutes:g} minutes per run, seeds sequential on one machine)", "",
           "Utilization on the fixed held-out instances at the end of each run; mean +- standard "
           "error across seeds.", "",
           "| algorithm | seeds | greedy | search | env steps | decisions/s | training minutes "
           "| wall minutes |",
           "|---|---|---|---|---|---|---|---|"]
  for label, runs in groups.items():
    records = [r for _, r in runs]
    rates = [statistics.median(x["decisions_per_second"] for x in r[1:] or r) for r in records]
    lines.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
        label, len(runs),
        _mean_stderr([_final(r, "eval/greedy/mean") for r in records]),
        _mean_stderr([_final(r, "eval/search/mean") for r in records]),
        _mean_stderr([r[-1]["env_steps"] for r in records]).split(".")[0],
        f"{statistics.fmean(rates):.0f}",
        f"{statistics.fmean(training_minutes(r[-1]) for r in records):.1f}",
        f"{statistics.fmean(r[-1]['wall_seconds'] for r in records) / 60:.1f}"))
  lines += ["", "| run | greedy | search | iterations |", "|---|---|---|---|"]
  for label, runs in groups.items():
    for run_dir, r in runs:
      fmt = lambda key: "-" if _final(r, key) is None else f"{_final(r, key):.3f}"
      lines.append(f"| {run_dir.name} | {fmt('eval/greedy/mean')} | {fmt('eval/search/mean')} | "
                   f"{r[-1]['iteration']} |")
  text = "\n".join(lines) + "\n"
  out.write_text(text)
  return text


def plot_comparison(run_dirs, out: pathlib.Path) -> None:
  """Utilization against training time and env steps, greedy (solid) and with search
  (dashed): mean line over seeds, min-max band."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  for index, (label, runs) in enumerate(group_runs(run_dirs).items()):
    for axis, x_of in ((axes[0], training_minutes), (axes[1], lambda r: r["env_steps"])):
      for kind, style in (("greedy", "-"), ("search", "--")):
        curves = []
        for _, records in runs:
          points = [(x_of(r), r[f"eval/{kind}/mean"]) for r in records
                    if r.get(f"eval/{kind}/mean") is not None]
          if points:
            curves.append(np.array(points))
        if not curves:
          continue
        grid = np.linspace(min(c[0, 0] for c in curves), min(c[-1, 0] for c in curves), 60)
        ys = np.stack([np.interp(grid, c[:, 0], c[:, 1]) for c in curves])
        axis.plot(grid, ys.mean(0), color=f"C{index}", linestyle=style,
                  label=f"{label} {kind}, {len(curves)} seeds")
        axis.fill_between(grid, ys.min(0), ys.max(0), color=f"C{index}", alpha=0.15)
  axes[0].set_xlabel("training time (minutes, evaluation excluded)")
  axes[1].set_xlabel("environment steps")
  axes[0].set_ylabel("utilization on held-out instances")
  for axis in axes:
    axis.grid(alpha=0.3)
  axes[1].legend(loc="lower right")
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)
