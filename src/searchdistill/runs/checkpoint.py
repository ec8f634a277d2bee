"""Orbax checkpoints of the complete training state, with clear errors for bad ones.

Layout: `RUN/checkpoints/<iteration>/{state,meta}` for the most recent `keep_checkpoints`
saves, and `RUN/best/<iteration>/...` for the best evaluation so far. Each save is atomic
(Orbax writes to a temporary directory and renames it), so a killed process leaves the last
complete checkpoint loadable. `meta` holds the resolved config, the format version, the wall
time and the metrics line count, so a checkpoint can be evaluated or resumed on its own.
"""

from __future__ import annotations

import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

FORMAT_VERSION = 2


class CheckpointError(ValueError):
  """A checkpoint is missing, unreadable, or incompatible; the message names the file."""


def _manager(directory: pathlib.Path, keep: int, *, read_only: bool = False):
  options = ocp.CheckpointManagerOptions(
    max_to_keep=keep, create=not read_only, read_only=read_only, enable_async_checkpointing=False
  )
  return ocp.CheckpointManager(directory.absolute(), options=options)


def _is_key(leaf) -> bool:
  return isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _to_storable(state):
  """Typed PRNG keys (the training key, environments' keys inside the streams) as raw data."""
  return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, state)


class Checkpointer:
  """Saves `TrainState`s of one run (latest N, and best by evaluation)."""

  def __init__(self, run_dir, keep: int):
    run_dir = pathlib.Path(run_dir)
    self._latest = _manager(run_dir / "checkpoints", keep)
    self._best = _manager(run_dir / "best", 1)

  def save(self, state, meta: dict, *, best: bool = False) -> None:
    step = int(state.iteration)
    args = ocp.args.Composite(
      state=ocp.args.StandardSave(_to_storable(state)),
      meta=ocp.args.JsonSave(dict(meta, format_version=FORMAT_VERSION, iteration=step)),
    )
    manager = self._best if best else self._latest
    if step not in manager.all_steps():
      manager.save(step, args=args)
      manager.wait_until_finished()

  def close(self) -> None:
    self._latest.close()
    self._best.close()


def resolve(path) -> tuple[pathlib.Path, int]:
  """Finds `(checkpoint root, step)` from a run dir, a checkpoints dir or a step dir."""
  path = pathlib.Path(path)
  if not path.exists():
    raise CheckpointError(f"{path}: no such run or checkpoint")
  if (path / "state").is_dir() and path.name.isdigit():
    return path.parent, int(path.name)
  root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
  steps = (
    sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    if root.is_dir()
    else []
  )
  if not steps:
    raise CheckpointError(f"{path}: contains no complete checkpoint")
  return root, steps[-1]


def read_meta(path) -> tuple[pathlib.Path, dict]:
  """The metadata of the checkpoint at `path` (see `resolve`), checked for compatibility."""
  root, step = resolve(path)
  step_dir = root / str(step)
  try:
    meta = _manager(root, 1, read_only=True).restore(
      step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())
    )["meta"]
  except Exception as e:  # Orbax raises many types for a damaged directory.
    raise CheckpointError(f"{step_dir}: unreadable checkpoint metadata ({_reason(e)})") from None
  if not isinstance(meta, dict) or "config" not in meta:
    raise CheckpointError(f"{step_dir}: checkpoint metadata has no config")
  if meta.get("format_version") != FORMAT_VERSION:
    raise CheckpointError(
      f"{step_dir}: checkpoint format {meta.get('format_version')} is not supported "
      f"(this version reads format {FORMAT_VERSION})"
    )
  return step_dir, meta


def restore(path, template) -> tuple[Any, dict]:
  """Restores `(TrainState, meta)` from `path`, shaped like `template` (a fresh TrainState).

  Raises:
    CheckpointError: missing, truncated or corrupt files, or a state whose structure or shapes
      differ from `template` (a checkpoint written with an incompatible config).
  """
  step_dir, meta = read_meta(path)
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, _to_storable(template))
  try:
    restored = _manager(step_dir.parent, 1, read_only=True).restore(
      int(step_dir.name), args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
    )["state"]
  except Exception as e:
    raise CheckpointError(f"{step_dir}: cannot restore training state ({_reason(e)})") from None
  restored = type(template)(*restored) if not isinstance(restored, type(template)) else restored
  for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(abstract)):
    if np.shape(got) != want.shape:
      raise CheckpointError(
        f"{step_dir}: checkpoint shapes do not match this config ({np.shape(got)} vs {want.shape})"
      )
  restored = jax.tree.map(
    lambda got, want: jax.random.wrap_key_data(jnp.asarray(got)) if _is_key(want) else got,
    restored,
    template,
  )
  return restored, meta


def _reason(error: Exception) -> str:
  text = str(error).strip().splitlines()
  first = text[0] if text else type(error).__name__
  return first[:200]
