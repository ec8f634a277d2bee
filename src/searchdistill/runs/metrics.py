"""Metric sinks: `metrics.jsonl` always, TensorBoard or Weights & Biases on request.

The optional backends are imported only when chosen, so neither is a dependency.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import sys
import urllib.parse

from searchdistill.extras import require

# The optional backends and the module each needs (each its own extra).
LOGGER_MODULES = {"tensorboard": "tensorboardX", "wandb": "wandb"}


class MetricsLog:
  """Appends one JSON object per iteration to `RUN/metrics.jsonl` and forwards to a backend."""

  def __init__(self, run_dir, backend: str = "jsonl", config: dict | None = None):
    self.path = pathlib.Path(run_dir) / "metrics.jsonl"
    self._file = open(self.path, "a", buffering=1)
    self._backend = _open_backend(backend, pathlib.Path(run_dir), config or {})

  @staticmethod
  def truncate(run_dir, num_lines: int) -> None:
    """Keeps the first `num_lines` lines: the ones written before the checkpoint resumed from."""
    path = pathlib.Path(run_dir) / "metrics.jsonl"
    if not path.exists():
      return
    lines = path.read_text().splitlines(keepends=True)[:num_lines]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, path)

  def line_count(self) -> int:
    self._file.flush()
    return sum(1 for _ in open(self.path))

  def write(self, record: dict) -> None:
    clean = {
      k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()
    }
    self._file.write(json.dumps(clean) + "\n")
    self._file.flush()
    if self._backend is not None:
      self._backend(record)

  def close(self) -> None:
    self._file.close()
    if self._backend is not None and hasattr(self._backend, "close"):
      self._backend.close()


def read_metrics(run_dir) -> list[dict]:
  path = pathlib.Path(run_dir) / "metrics.jsonl"
  if not path.exists():
    return []
  return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _TensorBoard:
  def __init__(self, run_dir: pathlib.Path):
    from tensorboardX import SummaryWriter

    self._writer = SummaryWriter(str(run_dir / "tensorboard"))

  def __call__(self, record: dict) -> None:
    step = int(record["iteration"])
    for key, value in record.items():
      if key != "iteration" and isinstance(value, (int, float)):
        self._writer.add_scalar(key, value, step)
    self._writer.flush()

  def close(self) -> None:
    self._writer.close()


def wandb_mode(environ=os.environ, netrc_path=None, settings_paths=None) -> str | None:
  """The mode a W&B run gets: the user's `WANDB_MODE`; `None` (W&B decides, from its settings
  files and the login) when the user chose a mode there or is logged in; else "offline", so
  that a run never stops at a login prompt.

  Chosen: `WANDB_MODE` (returned as it is: W&B reads its environment once per process, so a
  value set later would be missed), or a `mode` in W&B's settings files (`wandb offline`,
  `wandb disabled`). Logged in: `WANDB_API_KEY`, or a `~/.netrc` entry for the W&B host
  (`WANDB_BASE_URL`, default api.wandb.ai) as `wandb login` writes it.
  """
  if environ.get("WANDB_MODE"):
    return environ["WANDB_MODE"]
  if environ.get("WANDB_API_KEY"):
    return None
  home = pathlib.Path(environ.get("HOME", pathlib.Path.home()))
  config_dir = pathlib.Path(environ.get("WANDB_CONFIG_DIR", home / ".config" / "wandb"))
  for path in settings_paths or (config_dir / "settings", pathlib.Path("wandb") / "settings"):
    if any(line.replace(" ", "").startswith("mode=") for line in _lines(path)):
      return None
  host = urllib.parse.urlparse(environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
  netrc = netrc_path or environ.get("NETRC") or home / ".netrc"
  logged_in = any(line.split()[:2] == ["machine", host] for line in _lines(netrc))
  return None if logged_in else "offline"


def _lines(path) -> list[str]:
  try:
    return pathlib.Path(path).read_text().splitlines()
  except OSError:
    return []


class _WandB:
  def __init__(self, run_dir: pathlib.Path, config: dict):
    import wandb

    mode = wandb_mode()
    if mode == "offline":
      print(
        "logger=wandb: no W&B login found, logging offline (upload later with `wandb sync`)",
        file=sys.stderr,
      )
    # The run's own folder unless the user chose one.
    directory = os.environ.get("WANDB_DIR", str(run_dir))
    self._run = wandb.init(
      project=os.environ.get("WANDB_PROJECT", "searchdistill"),
      config=config,
      dir=directory,
      mode=mode,
      reinit="finish_previous",
    )

  def __call__(self, record: dict) -> None:
    self._run.log(
      {k: v for k, v in record.items() if k != "iteration"}, step=int(record["iteration"])
    )

  def close(self) -> None:
    self._run.finish()


def _open_backend(name: str, run_dir: pathlib.Path, config: dict):
  if name == "jsonl":
    return None
  require(LOGGER_MODULES[name], f"logger={name}")
  return _TensorBoard(run_dir) if name == "tensorboard" else _WandB(run_dir, config)


def training_minutes(record: dict) -> float:
  """Minutes spent training (evaluation excluded) when the run recorded it, else wall time."""
  return record.get("train_seconds", record["wall_seconds"]) / 60
