"""Making configs: from a preset and explicit values (`make_config`), from a saved flat form
(`from_dict`, `load_config`), and a saved config with new explicit values (`override`).

Every problem is one `ConfigError` naming the key, raised before anything is built or
compiled: an unknown key (with the closest known one), a value of the wrong type or out of
range, an impossible combination, or an explicit key that the chosen algorithm and
environment do not use (naming who does).
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from searchdistill.config.presets import ALGORITHM_PRESETS, ENVIRONMENT_PRESETS, PRESETS
from searchdistill.config.schema import FIELDS, GROUPS, USES, Config, grouped
from searchdistill.envs.registry import family as env_family


class ConfigError(ValueError):
  """A configuration problem, reported to the user as a single line."""


def _suggest(name: str, options) -> str:
  close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f"; did you mean '{close[0]}'?" if close else ""


def _type_of(key: str) -> type:
  hint = typing.get_type_hints(GROUPS[FIELDS[key].group])[key]
  if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
    hint = next(a for a in typing.get_args(hint) if a is not type(None))
  return hint


def _parse(value: str, hint: type) -> Any:
  for parse in (int, float) if hint is int else (float,) if hint is float else ():
    try:
      return parse(value)
    except ValueError:
      pass
  try:
    return yaml.safe_load(value)
  except yaml.YAMLError:
    return value


def _coerce(key: str, value: Any) -> Any:
  """`value` (possibly a command-line string) as the key's type."""
  if key not in FIELDS:
    raise ConfigError(f"unknown config key '{key}'" + _suggest(key, FIELDS))
  hint = _type_of(key)
  if isinstance(value, str) and hint is not str:
    value = _parse(value, hint)
  numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
  if hint is bool and isinstance(value, bool):
    return value
  if hint is int and numeric and float(value).is_integer():
    return int(value)
  if hint is float and numeric:
    return float(value)
  if hint is str and isinstance(value, str):
    return value
  raise ConfigError(
    f"{key} must be of type {hint.__name__}, got {value!r} ({type(value).__name__})"
  )


def _check_value(key: str, value: Any) -> None:
  meta = FIELDS[key].field.metadata
  if isinstance(value, float) and not math.isfinite(value):
    raise ConfigError(f"{key} must be finite, got {value}")
  if meta["choices"] is not None and value not in meta["choices"]:
    raise ConfigError(
      f"{key} must be one of {', '.join(meta['choices'])}, got {value!r}"
      + _suggest(str(value), meta["choices"])
    )
  if meta["low"] is not None and value < meta["low"]:
    raise ConfigError(f"{key} must be >= {meta['low']}, got {value}")
  if meta["high"] is not None and value > meta["high"]:
    raise ConfigError(f"{key} must be <= {meta['high']}, got {value}")


def is_used(key: str, algo: str, env: str) -> bool:
  """Whether a run of `algo` on `env` reads `key`."""
  use = USES.get(key)
  return use is None or use.applies(algo, env_family(env))


def check_used(key: str, value: Any, algos: Sequence[str], env: str) -> None:
  """Refuses `key=value` set explicitly where no run of `algos` on `env` reads it (it would
  be silently ignored), naming who reads it."""
  if not any(is_used(key, algo, env) for algo in algos):
    runs = " or ".join(f"algo={algo}" for algo in algos)
    raise ConfigError(
      f"{key}={value} is not used by {runs} on {env}; it is read by {USES[key].who}"
    )


def _check_used(config: Config, explicit: Mapping[str, Any]) -> None:
  for key, value in explicit.items():
    check_used(key, value, [config.run.algo], config.run.env)
  if "lr_final_fraction" in explicit and config.train.lr_schedule != "cosine":
    raise ConfigError(
      f"lr_final_fraction={explicit['lr_final_fraction']} is not used with "
      f"lr_schedule={config.train.lr_schedule}; it is read by lr_schedule=cosine"
    )


def _check_combinations(config: Config) -> None:
  distributed = config.distributed
  if distributed.num_actors and config.run.algo != "muzero":
    raise ConfigError(
      f"num_actors={distributed.num_actors} needs algo=muzero (the Ray actor-learner), not "
      f"algo={config.run.algo}"
    )
  if distributed.ray_address and not distributed.num_actors:
    raise ConfigError("ray_address is set but num_actors=0; set num_actors to use Ray")


def _validated(flat: Mapping[str, Any]) -> Config:
  for key, value in flat.items():
    _check_value(key, value)
  config = grouped(dict(flat))
  _check_combinations(config)
  return config


def _preset_values(preset: str, algo: str | None, env: str | None) -> dict[str, Any]:
  """The defaults and the preset layers for `preset` (see `config.presets`)."""
  if preset not in PRESETS:
    raise ConfigError(
      f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)}" + _suggest(preset, PRESETS)
    )
  base = PRESETS[preset]
  algo = algo or base.get("algo", FIELDS["algo"].field.default)
  _check_value("algo", algo)
  if base.get("algo", algo) != algo:
    raise ConfigError(f"preset '{preset}' is for algo={base['algo']}, not {algo}")
  values = {**base, **ALGORITHM_PRESETS.get(algo, {}).get(preset, {})}
  kind = env_family(str(env or values.get("env", FIELDS["env"].field.default))).name
  values.update(ENVIRONMENT_PRESETS.get(algo, {}).get(kind, {}).get(preset, {}))
  return values


def make_config(preset: str = "cpu", overrides: Mapping[str, Any] | None = None) -> Config:
  """A validated config: `preset`'s layers, then the explicit `overrides` (key -> value;
  strings are parsed as YAML scalars, "1e-3", "true").

  Raises:
    ConfigError: unknown preset or key, wrong type, value out of range, impossible
      combination, or an explicit key that the chosen algorithm and environment ignore.
  """
  explicit = {key: _coerce(key, value) for key, value in (overrides or {}).items()}
  values = _preset_values(preset, explicit.get("algo"), explicit.get("env"))
  config = _validated({**values, **explicit})
  _check_used(config, explicit)
  return config


def override(config: Config, overrides: Mapping[str, Any]) -> Config:
  """`config` with explicit `overrides` applied and checked as in `make_config`."""
  explicit = {key: _coerce(key, value) for key, value in overrides.items()}
  new = _validated({**config.to_dict(), **explicit})
  _check_used(new, explicit)
  return new


def from_dict(values: Mapping[str, Any]) -> Config:
  """A config from its flat saved form. Keys the saved form lacks (added to the schema
  after it was written) take their defaults, which keep the former behaviour; an unknown key
  is an error."""
  return _validated({key: _coerce(key, value) for key, value in values.items()})


def load_config(path) -> Config:
  """Reads a `config.yaml` written by a run; raises `ConfigError` naming the file on failure."""
  try:
    with open(path) as f:
      raw = yaml.safe_load(f)
  except FileNotFoundError:
    raise ConfigError(f"{path}: no such file") from None
  except (OSError, yaml.YAMLError) as e:
    raise ConfigError(f"{path}: cannot read config ({e.__class__.__name__})") from None
  if not isinstance(raw, dict):
    raise ConfigError(f"{path}: not a config mapping")
  try:
    return from_dict(raw)
  except ConfigError as e:
    raise ConfigError(f"{path}: {e}") from None


def parse_overrides(items: list[str]) -> dict[str, str]:
  """Parses `key=value` strings, rejecting anything that is not one."""
  overrides = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise ConfigError(f"expected key=value, got '{item}'")
    overrides[key.strip().replace("-", "_")] = value.strip()
  return overrides


def check_runtime(config: Config, *, num_devices: int) -> None:
  """Checks the combinations that depend on the machine."""
  sizes = {
    "rollout_batch_size": config.train.rollout_batch_size,
    "training_batch_size": config.train.training_batch_size,
    "eval_batch_size": config.eval.eval_batch_size,
  }
  for key, value in sizes.items():
    if value % num_devices:
      raise ConfigError(f"{key}={value} is not divisible by the {num_devices} local devices")


__all__ = [
  "Config",
  "ConfigError",
  "check_runtime",
  "check_used",
  "from_dict",
  "is_used",
  "load_config",
  "make_config",
  "override",
  "parse_overrides",
]
