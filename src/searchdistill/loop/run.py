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
from searchdistill.runs import checkpoint as ckpt
from searchdistill.runs.directory import prepare_run_dir
from searchdistill.runs.metrics import MetricsLog
from searchdistill.runs.progress import Progress


class NonFiniteError(RuntimeError):
  """A loss or parameter became NaN or infinite."""


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
      (default: collected in this process, `Components.iteration`); `runner.train` passes
      the Ray actor-learner's for `num_actors > 0`.

  Returns:
    a summary with the final iteration and evaluation.
  """
  out = pathlib.Path(out)
  check_extras(config)
  parts = build(config, devices)  # Validates env id and combinations before compiling.
  if resume:
    ckpt.resolve(out)
  prepare_run_dir(config, out, resume)

  state = parts.init_state()
  elapsed_before, best = 0.0, -math.inf
  # Evaluation time is kept apart: the `minutes` budget counts training only, so algorithms
  # that evaluate at different rates still get the same time to learn.
  eval_seconds = 0.0
  if resume:
    state, meta = ckpt.restore(out, state)
    elapsed_before, best = meta["wall_seconds"], meta.get("best_eval", -math.inf)
    eval_seconds = meta.get("eval_seconds", 0.0)
    # Only now that the checkpoint has loaded may the run's files change.
    (out / "config.yaml").write_text(config.to_yaml())
    MetricsLog.truncate(out, meta["metrics_lines"])
  state = parts.place(state)

  iteration = iteration_of(parts) if iteration_of else parts.iteration()
  greedy_eval = parts.evaluator(0)
  search_eval = (
    parts.evaluator(config.eval.eval_simulations) if config.eval.eval_simulations else None
  )
  keys = eval_keys(config.eval.eval_batch_size)

  log = MetricsLog(out, config.output.logger, config.to_dict())
  checkpointer = ckpt.Checkpointer(out, config.output.keep_checkpoints)
  budget = config.run.minutes * 60 or math.inf
  start = time.perf_counter() - elapsed_before
  progress = Progress(config.run.max_num_iters, budget, enabled=show_progress)
  summary: dict = {}
  last_eval: dict = {}

  def train_seconds():
    return time.perf_counter() - start - eval_seconds

  def save(best_copy: bool = False):
    meta = dict(
      config=config.to_dict(),
      wall_seconds=time.perf_counter() - start,
      eval_seconds=eval_seconds,
      metrics_lines=log.line_count(),
      best_eval=best,
    )
    # The Ray learner's replay lives in its replay actor until a checkpoint asks for it.
    complete = getattr(iteration, "checkpoint_state", lambda s: s)(state)
    checkpointer.save(jax.device_get(complete), meta, best=best_copy)

  def evaluate():
    record = {}
    greedy = summarize(greedy_eval(state.params, keys))
    record.update({"eval/greedy/mean": greedy["mean"], "eval/greedy/stderr": greedy["stderr"]})
    if search_eval is not None:
      searched = summarize(search_eval(state.params, keys))
      record.update(
        {"eval/search/mean": searched["mean"], "eval/search/stderr": searched["stderr"]}
      )
    return record

  num_devices = parts.parallel.num_devices
  done_here = 0
  try:
    with _StopRequest() as stop, progress:
      while int(state.iteration) < config.run.max_num_iters:
        tick = time.perf_counter()
        progress_done = max(
          int(state.iteration) / config.run.max_num_iters, train_seconds() / budget
        )
        state, metrics = iteration(state, progress_done)
        metrics = {k: float(v) for k, v in jax.device_get(metrics).items()}
        seconds = time.perf_counter() - tick
        _check_finite(metrics, state.params)
        step, trained = int(state.iteration), train_seconds()
        record = {
          "iteration": step,
          **({} if done_here else {"devices": num_devices}),
          "wall_seconds": time.perf_counter() - start,
          "train_seconds": trained,
          "env_steps": float(state.env_steps),
          "decisions_per_second": metrics["rollout/env_steps"] / seconds,
          **metrics,
        }
        # The logged figure decides, so a comparison can tell a finished run from its log.
        is_last = step >= config.run.max_num_iters or trained >= budget
        if config.eval.eval_every and (step % config.eval.eval_every == 0 or is_last):
          eval_start = time.perf_counter()
          last_eval = evaluate()
          eval_seconds += time.perf_counter() - eval_start
          record.update(last_eval)
          record["wall_seconds_after_eval"] = time.perf_counter() - start
          progress.note(last_eval)
        log.write(record)
        progress.update(step, record, train_seconds())
        done_here += 1
        new_best = "eval/greedy/mean" in record and record["eval/greedy/mean"] > best
        if new_best:
          best = record["eval/greedy/mean"]
        stopping = (
          is_last
          or stop.signal_name is not None
          or (stop_after is not None and done_here >= stop_after)
        )
        if step % config.output.checkpoint_every == 0 or stopping:
          save()
        if new_best:
          save(best_copy=True)
        if stopping:
          summary["stopped_by"] = stop.signal_name or ("budget" if is_last else "stop_after")
          break
  finally:
    # Distributed iterations report what each actor did (blocks, parameter refreshes).
    actors = getattr(iteration, "close", lambda: None)()
    checkpointer.close()
    log.close()
  if actors:
    summary["actors"] = actors
  summary.update(
    iteration=int(state.iteration),
    wall_seconds=time.perf_counter() - start,
    train_seconds=train_seconds(),
    **last_eval,
  )
  return summary


def load_run_config(path) -> Config:
  """The config of a run directory or checkpoint (from the checkpoint's own metadata)."""
  _, meta = ckpt.read_meta(path)
  try:
    return from_dict(meta["config"])
  except ConfigError as e:
    raise ckpt.CheckpointError(f"{path}: checkpoint config is invalid ({e})") from None
