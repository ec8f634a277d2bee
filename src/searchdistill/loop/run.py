"""The training loop shared by every algorithm: budget, evaluation, checkpoints, logs, signals."""

from __future__ import annotations

import math
import pathlib
import signal
import time

import jax
import numpy as np

from searchdistill.config import Config, ConfigError, from_dict
from searchdistill.loop.components import build, check_extras
from searchdistill.loop.evaluation import eval_keys, summarize
from searchdistill.loop.stage import Stage, plan_stage
from searchdistill.runs import checkpoint as ckpt
from searchdistill.runs.directory import prepare_run_dir
from searchdistill.runs.metrics import MetricsLog
from searchdistill.runs.progress import Progress


class NonFiniteError(RuntimeError):
  """A loss or parameter became NaN or infinite."""


class InProcess:
  """An iteration collected and learned in this process, with the methods the loop calls on
  any iteration (the Ray learner has them too): nothing to close, and its state is whole."""

  def __init__(self, step):
    self.step = step

  def __call__(self, state, stage: Stage):
    return self.step(state, stage)

  def close(self) -> None:
    return None

  def checkpoint_state(self, state):
    return state


class _StopRequest:
  """Turns SIGINT/SIGTERM into a flag checked between iterations."""

  def __init__(self):
    self.signal_name: str | None = None
    self._previous = {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      try:
        self._previous[sig] = signal.signal(sig, self._handle)
      except ValueError:  # Not the main thread: leave signals alone.
        pass
    return self

  def _handle(self, signum, frame):
    self.signal_name = signal.Signals(signum).name

  def __exit__(self, *exc):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def _check_finite(metrics: dict, params) -> None:
  for name in ("train/policy_loss", "train/value_loss"):
    if not math.isfinite(metrics[name]):
      raise NonFiniteError(f"{name} became {metrics[name]}")
  for path, leaf in jax.tree_util.tree_leaves_with_path(params):
    if not np.all(np.isfinite(np.asarray(leaf))):
      raise NonFiniteError(f"parameter {jax.tree_util.keystr(path)} is not finite")


class _Clock:
  """Wall time since the run began (earlier processes included) and training time, which
  leaves out evaluation: the `minutes` budget counts training only, so algorithms that
  evaluate at different rates still get the same time to learn."""

  def __init__(self, elapsed_before: float = 0.0, eval_seconds: float = 0.0):
    self.start = time.perf_counter() - elapsed_before
    self.eval_seconds = eval_seconds

  def wall(self) -> float:
    return time.perf_counter() - self.start

  def trained(self) -> float:
    return self.wall() - self.eval_seconds


class _Evaluation:
  """Greedy and (if configured) search evaluation on the run's fixed held-out episodes."""

  def __init__(self, config: Config, parts):
    self.greedy = parts.evaluator(0)
    simulations = config.eval.eval_simulations
    self.search = parts.evaluator(simulations) if simulations else None
    self.keys = eval_keys(config.eval.eval_batch_size)

  def __call__(self, params) -> dict:
    record = {}
    for kind, evaluator in (("greedy", self.greedy), ("search", self.search)):
      if evaluator is not None:
        score = summarize(evaluator(params, self.keys))
        record[f"eval/{kind}/mean"] = score["mean"]
        record[f"eval/{kind}/stderr"] = score["stderr"]
    return record


def _start(config: Config, out: pathlib.Path, parts, resume: bool):
  """The starting state (restored on a resume, then placed on the devices), the clock and
  the best greedy evaluation so far."""
  state = parts.init_state()
  if not resume:
    return parts.place(state), _Clock(), -math.inf
  state, meta = ckpt.restore(out, state)
  # Only now that the checkpoint has loaded may the run's files change.
  (out / "config.yaml").write_text(config.to_yaml())
  MetricsLog.truncate(out, meta["metrics_lines"])
  clock = _Clock(meta["wall_seconds"], meta.get("eval_seconds", 0.0))
  return parts.place(state), clock, meta.get("best_eval", -math.inf)


def train(
  config: Config,
  out,
  *,
  resume: bool = False,
  devices=None,
  show_progress: bool = True,
  stop_after: int | None = None,
  iteration_of=None,
) -> dict:
  """Trains until `max_num_iters`, the `minutes` budget, or a stop signal.

  Args:
    config: the run's config.
    out: the run directory.
    resume: continue from the run's latest complete checkpoint.
    devices: devices to shard over (default: all local devices).
    show_progress: draw a progress bar on the console.
    stop_after: stop (with a checkpoint) after this many iterations in this process; for tests.
    iteration_of: `iteration_of(components) -> iteration`, where the experience comes from
      (default: collected in this process, `InProcess(Components.iteration())`);
      `runner.train` passes the Ray actor-learner's for `num_actors > 0`. An iteration is
      called with `(state, stage)` and has `close()` and `checkpoint_state(state)`.

  Returns:
    a summary with the final iteration and evaluation.
  """
  out = pathlib.Path(out)
  check_extras(config)
  parts = build(config, devices)  # Validates env id and combinations before compiling.
  if resume:
    ckpt.resolve(out)
  prepare_run_dir(config, out, resume)
  state, clock, best = _start(config, out, parts, resume)
  iteration = iteration_of(parts) if iteration_of else InProcess(parts.iteration())
  run = _Loop(config, out, parts, iteration, clock, best, show_progress, stop_after)
  try:
    state, summary = run(state)
  finally:
    # Distributed iterations report what each actor did (blocks, parameter refreshes).
    actors = iteration.close()
    run.close()
  if actors:
    summary["actors"] = actors
  summary.update(
    iteration=int(state.iteration),
    wall_seconds=clock.wall(),
    train_seconds=clock.trained(),
    **run.last_eval,
  )
  return summary


class _Loop:
  """Iterates, evaluates, logs and checkpoints until the budget or a stop."""

  def __init__(self, config, out, parts, iteration, clock, best, show_progress, stop_after):
    self.config, self.iteration, self.clock, self.best = config, iteration, clock, best
    self.stop_after = stop_after
    self.evaluate = _Evaluation(config, parts)
    self.log = MetricsLog(out, config.output.logger, config.to_dict())
    self.checkpointer = ckpt.Checkpointer(out, config.output.keep_checkpoints)
    self.budget = config.run.minutes * 60 or math.inf
    self.progress = Progress(config.run.max_num_iters, self.budget, enabled=show_progress)
    self.num_devices = parts.parallel.num_devices
    self.last_eval: dict = {}
    self.done_here = 0
    self.recent_seconds: list[float] = []
    self.last_end = 0.0

  def __call__(self, state):
    summary: dict = {}
    with _StopRequest() as stop, self.progress:
      while int(state.iteration) < self.config.run.max_num_iters:
        state, record, is_last = self._step(state)
        new_best = "eval/greedy/mean" in record and record["eval/greedy/mean"] > self.best
        if new_best:
          self.best = record["eval/greedy/mean"]
        stopping = (
          is_last
          or stop.signal_name is not None
          or (self.stop_after is not None and self.done_here >= self.stop_after)
        )
        if record["iteration"] % self.config.output.checkpoint_every == 0 or stopping:
          self._save(state)
        if new_best:
          self._save(state, best_copy=True)
        if stopping:
          summary["stopped_by"] = stop.signal_name or ("budget" if is_last else "stop_after")
          break
    return state, summary

  def _stage(self, iteration: int) -> tuple[Stage, bool]:
    """Where the next iteration starts and ends in the budget, and whether it is the last: the
    last of `max_num_iters`, or the one expected to spend the time budget (at the pace of the
    slowest of the recent iterations), which then gets `end` 1."""
    stage, last = plan_stage(
      iteration,
      max_iters=self.config.run.max_num_iters,
      trained=self.clock.trained(),
      budget=self.budget,
      pace=max(self.recent_seconds, default=0.0),
      last_end=self.last_end,
    )
    self.last_end = stage.end
    return stage, last

  def _step(self, state):
    """One iteration, its metrics record (evaluated when due) written to the log."""
    config, clock = self.config, self.clock
    tick, trained_before = time.perf_counter(), clock.trained()
    stage, planned_last = self._stage(int(state.iteration))
    state, metrics = self.iteration(state, stage)
    metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
    seconds = time.perf_counter() - tick
    _check_finite(metrics, state.params)
    step, trained = int(state.iteration), clock.trained()
    # Evaluations are left out; checkpoints and logging are part of an iteration's pace. The
    # first iteration of a process compiles, which is not its pace.
    if self.done_here:
      self.recent_seconds = [*self.recent_seconds[-2:], trained - trained_before]
    record = {
      "iteration": step,
      **({} if self.done_here else {"devices": self.num_devices}),
      "wall_seconds": clock.wall(),
      "train_seconds": trained,
      "progress": stage.end,
      "env_steps": float(state.env_steps),
      "decisions_per_second": metrics["rollout/env_steps"] / seconds,
      **metrics,
    }
    # The logged figures decide, so a comparison can tell a finished run from its log.
    is_last = planned_last or step >= config.run.max_num_iters or trained >= self.budget
    every = config.eval.eval_every
    if every and (step % every == 0 or is_last):
      eval_start = time.perf_counter()
      self.last_eval = self.evaluate(state.params)
      clock.eval_seconds += time.perf_counter() - eval_start
      record.update(self.last_eval)
      record["wall_seconds_after_eval"] = clock.wall()
      self.progress.note(self.last_eval)
    self.log.write(record)
    self.progress.update(step, record, clock.trained())
    self.done_here += 1
    return state, record, is_last

  def _save(self, state, best_copy: bool = False):
    meta = dict(
      config=self.config.to_dict(),
      wall_seconds=self.clock.wall(),
      eval_seconds=self.clock.eval_seconds,
      metrics_lines=self.log.line_count(),
      best_eval=self.best,
    )
    # The Ray learner's replay lives in its replay actor until a checkpoint asks for it.
    complete = self.iteration.checkpoint_state(state)
    self.checkpointer.save(jax.device_get(complete), meta, best=best_copy)

  def close(self):
    self.checkpointer.close()
    self.log.close()


def load_run_config(path) -> Config:
  """The config of a run directory or checkpoint (from the checkpoint's own metadata)."""
  _, meta = ckpt.read_meta(path)
  try:
    return from_dict(meta["config"])
  except ConfigError as e:
    raise ckpt.CheckpointError(f"{path}: checkpoint config is invalid ({e})") from None
