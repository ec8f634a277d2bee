"""Optional dependencies: which extra of the package provides each one, and one clear error
when a feature's extra is not installed.

The core install carries distill and PPO on Jumanji; the rest is opt-in (`pyproject.toml`).
`require` looks a module up without importing it, so a check costs nothing and runs before
anything compiles.
"""

from __future__ import annotations

import importlib.util

# Module -> the extra that installs it.
EXTRA_OF_MODULE = {
  "gymnax": "minatar",
  "six": "minatar",  # gymnax imports it without declaring it
  "ale_py": "atari",
  "jaxmarl": "marl",
  "ray": "ray",
  "tensorboardX": "tensorboard",
  "wandb": "wandb",
}


class MissingExtraError(RuntimeError):
  """A feature was asked for whose optional dependency is not installed."""


def installed(module: str) -> bool:
  return importlib.util.find_spec(module) is not None


def require(module: str, feature: str) -> None:
  """Raises `MissingExtraError` naming the extra to install when `module` is missing.

  `feature` says what needed it, e.g. "env=Breakout-MinAtar" or "logger=wandb".
  """
  if not installed(module):
    extra = EXTRA_OF_MODULE[module]
    raise MissingExtraError(
      f"{feature} needs the '{extra}' extra ({module} is not installed): "
      f"pip install 'searchdistill[{extra}]'"
    )
