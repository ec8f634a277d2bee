"""A run's directory: created once for a new run, checked before a resume, never overwritten."""

from __future__ import annotations

import pathlib

from searchdistill.config import Config, ConfigError, load_config

# A resumed run may get a new budget (or a new log sink); anything else would change the run.
RESUMABLE_CHANGES = ("max_num_iters", "minutes", "logger", "eval_every", "checkpoint_every")


def changed_keys(saved: Config, config: Config) -> list[str]:
  """The keys in which `config` differs from a run's `saved` one, beyond what a resume may
  change (`RESUMABLE_CHANGES`)."""
  before, after = saved.to_dict(), config.to_dict()
  return [k for k in after if before[k] != after[k] and k not in RESUMABLE_CHANGES]


def prepare_run_dir(config: Config, out: pathlib.Path, resume: bool) -> None:
  """Creates `out` for a new run, or checks it for a resume; never overwrites results."""
  config_path = out / "config.yaml"
  if resume:
    changed = changed_keys(load_config(config_path), config)
    if changed:
      raise ConfigError(
        f"--resume {out}: only {', '.join(RESUMABLE_CHANGES)} may change; "
        f"{', '.join(changed)} differ from {config_path}"
      )
    return
  if config_path.exists() or (out / "checkpoints").exists():
    raise ConfigError(f"{out} already holds a run; use --resume {out} or another --out")
  out.mkdir(parents=True, exist_ok=True)
  config_path.write_text(config.to_yaml())


def find_run_config(path) -> Config | None:
  """The `config.yaml` of the run that holds `path` (the run directory, its `checkpoints` or
  `best` directory, or one of their steps), read without starting JAX; None elsewhere."""
  path = pathlib.Path(path)
  for folder in (path, path.parent, path.parent.parent):
    if (folder / "config.yaml").is_file():
      return load_config(folder / "config.yaml")
  return None
