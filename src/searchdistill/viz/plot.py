"""Learning curves: utilization against wall time and against environment steps."""

from __future__ import annotations

import pathlib

from searchdistill.config import ConfigError, load_config
from searchdistill.training.logging import read_metrics, training_minutes


def run_label(run_dir) -> str:
  config = load_config(pathlib.Path(run_dir) / "config.yaml")
  if config.algo == "distill":
    return f"{config.algo} ({config.num_simulations} sims) s{config.seed}"
  return f"{config.algo} s{config.seed}"


def plot_runs(run_dirs, out: str) -> None:
  """One line per run and evaluation kind: greedy solid, search dashed, rollout faint."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  for index, run_dir in enumerate(run_dirs):
    records = read_metrics(run_dir)
    if not records:
      raise ConfigError(f"{run_dir}: no metrics.jsonl lines to plot")
    color = f"C{index}"
    label = run_label(run_dir)
    for axis, x_of in ((axes[0], training_minutes), (axes[1], lambda r: r["env_steps"])):
      xs = [x_of(r) for r in records]
      axis.plot(xs, [r["rollout/avg_return"] for r in records], color=color, alpha=0.25,
                linewidth=1, label=f"{label} rollout")
      for kind, style in (("greedy", "-"), ("search", "--")):
        points = [(x_of(r), r[f"eval/{kind}/mean"], r[f"eval/{kind}/stderr"])
                  for r in records if r.get(f"eval/{kind}/mean") is not None]
        if points:
          x, y, e = zip(*points)
          axis.errorbar(x, y, yerr=e, color=color, linestyle=style, marker="o", markersize=3,
                        capsize=2, label=f"{label} eval {kind}")
  axes[0].set_xlabel("training time (minutes, evaluation excluded)")
  axes[1].set_xlabel("environment steps")
  axes[0].set_ylabel("utilization (return)")
  for axis in axes:
    axis.grid(alpha=0.3)
  axes[1].legend(fontsize=7, loc="lower right")
  fig.tight_layout()
  fig.savefig(out, dpi=120)
  plt.close(fig)
