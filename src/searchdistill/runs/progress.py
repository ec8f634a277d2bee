"""Console progress: a bar with iteration, mean rollout return and time left; eval lines."""

from __future__ import annotations

import math
import sys


class Progress:
  """A `rich` progress bar; a no-op when disabled or when stdout is not a terminal."""

  def __init__(self, total_iters: int, budget_seconds: float, *, enabled: bool = True):
    self._total = total_iters
    self._budget = budget_seconds
    self._enabled = enabled
    self._bar = None

  def __enter__(self):
    if self._enabled:
      from rich.progress import BarColumn, TextColumn
      from rich.progress import Progress as RichProgress

      self._bar = RichProgress(
        TextColumn("iter {task.completed}/{task.total}"),
        BarColumn(),
        TextColumn("{task.fields[status]}"),
        transient=False,
      )
      self._bar.start()
      self._task = self._bar.add_task("train", total=self._total, status="compiling...")
    return self

  def __exit__(self, *exc):
    if self._bar is not None:
      self._bar.stop()

  def update(self, iteration: int, record: dict, elapsed: float) -> None:
    if self._bar is None:
      return
    per_iter = elapsed / max(iteration, 1)
    left = min((self._total - iteration) * per_iter, self._budget - elapsed)
    status = (
      f"return {record['rollout/avg_return']:.3f}  "
      f"{record['decisions_per_second']:.0f} dec/s  left {_clock(left)}"
    )
    self._bar.update(self._task, completed=iteration, status=status)

  def note(self, evaluation: dict) -> None:
    text = "eval greedy {:.3f} +- {:.3f}".format(
      evaluation["eval/greedy/mean"], evaluation["eval/greedy/stderr"]
    )
    if "eval/search/mean" in evaluation:
      text += "  search {:.3f} +- {:.3f}".format(
        evaluation["eval/search/mean"], evaluation["eval/search/stderr"]
      )
    if self._bar is not None:
      self._bar.console.print(text)
    elif self._enabled:
      print(text, file=sys.stderr)


def _clock(seconds: float) -> str:
  if not math.isfinite(seconds):
    return "?"
  seconds = max(0, int(seconds))
  return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
