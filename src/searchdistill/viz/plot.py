"""Learning curves: return (utilization for BinPack) against wall time and environment steps."""

from __future__ import annotations

import pathlib

import numpy as np

from searchdistill.config import ConfigError, load_config
from searchdistill.envs.registry import family as env_family
from searchdistill.runs.metrics import read_metrics, training_minutes
from searchdistill.viz.report import group_runs


def run_label(run_dir) -> str:
  config = load_config(pathlib.Path(run_dir) / "config.yaml")
  if config.run.algo == "distill":
    return f"{config.run.algo} ({config.search.num_simulations} sims) s{config.run.seed}"
  return f"{config.run.algo} s{config.run.seed}"


def plot_runs(run_dirs, out: str) -> None:
  """One line per run and evaluation kind: greedy solid, search dashed, rollout faint."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  final_steps, env_ids = [], set()
  for index, run_dir in enumerate(run_dirs):
    records = read_metrics(run_dir)
    if not records:
      raise ConfigError(f"{run_dir}: no metrics.jsonl lines to plot")
    color = f"C{index}"
    label = run_label(run_dir)
    final_steps.append(max(records[-1]["env_steps"], 1.0))
    env_ids.add(load_config(pathlib.Path(run_dir) / "config.yaml").run.env)
    for axis, x_of in ((axes[0], training_minutes), (axes[1], lambda r: r["env_steps"])):
      # Stream algorithms (MuZero) report no rollout return in iterations where no episode
      # ended; those are skipped rather than drawn as zeros.
      rollouts = [r for r in records if r.get("rollout/episodes", 1) > 0]
      axis.plot(
        [x_of(r) for r in rollouts],
        [r["rollout/avg_return"] for r in rollouts],
        color=color,
        alpha=0.25,
        linewidth=1,
        label=f"{label} rollout",
      )
      for kind, style in (("greedy", "-"), ("search", "--")):
        points = [
          (x_of(r), r[f"eval/{kind}/mean"], r[f"eval/{kind}/stderr"])
          for r in records
          if r.get(f"eval/{kind}/mean") is not None
        ]
        if points:
          x, y, e = zip(*points)
          axis.errorbar(
            x,
            y,
            yerr=e,
            color=color,
            linestyle=style,
            marker="o",
            markersize=3,
            capsize=2,
            label=f"{label} eval {kind}",
          )
  _label_axes(axes, final_steps, env_ids)
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)


def _label_axes(axes, final_steps, env_ids) -> None:
  axes[0].set_xlabel("training time (minutes, evaluation excluded)")
  axes[1].set_xlabel("environment steps")
  if max(final_steps) > 4 * min(final_steps):
    # Algorithms that differ in sample cost (MuZero vs PPO) need a log axis to share a plot.
    axes[1].set_xscale("log")
  return_names = {env_family(env_id).return_name for env_id in env_ids}
  axes[0].set_ylabel(return_names.pop() if len(return_names) == 1 else "episode return")
  axes[0].set_title(", ".join(sorted(env_ids)), fontsize=9, loc="left")
  for axis in axes:
    axis.grid(alpha=0.3)
  axes[1].legend(fontsize=7, loc="best")


def plot_comparison(run_dirs, out: pathlib.Path, references: dict | None = None) -> None:
  """Score against training time and env steps, greedy (solid) and with search (dashed):
  mean line over seeds, min-max band; reference policies as dotted horizontal lines."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  for index, (label, runs) in enumerate(group_runs(run_dirs).items()):
    for axis, x_of in ((axes[0], training_minutes), (axes[1], lambda r: r["env_steps"])):
      for kind, style in (("greedy", "-"), ("search", "--")):
        curves = []
        for _, records in runs:
          points = [
            (x_of(r), r[f"eval/{kind}/mean"])
            for r in records
            if r.get(f"eval/{kind}/mean") is not None
          ]
          if points:
            curves.append(np.array(points))
        if not curves:
          continue
        grid = np.linspace(min(c[0, 0] for c in curves), min(c[-1, 0] for c in curves), 60)
        ys = np.stack([np.interp(grid, c[:, 0], c[:, 1]) for c in curves])
        axis.plot(
          grid,
          ys.mean(0),
          color=f"C{index}",
          linestyle=style,
          label=f"{label} {kind}, {len(curves)} seeds",
        )
        axis.fill_between(grid, ys.min(0), ys.max(0), color=f"C{index}", alpha=0.15)
  axes[0].set_xlabel("training time (minutes, evaluation excluded)")
  axes[1].set_xlabel("environment steps")
  axes[0].set_ylabel("score on held-out episodes")
  for name, score in (references or {}).items():
    for axis in axes:
      axis.axhline(score["mean"], color="0.3", linestyle=":", alpha=0.8)
    axes[0].text(
      0.01,
      score["mean"],
      f" {name}",
      transform=axes[0].get_yaxis_transform(),
      va="bottom",
      fontsize=8,
      color="0.3",
    )
  for axis in axes:
    axis.grid(alpha=0.3)
  axes[1].legend(loc="lower right")
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)
