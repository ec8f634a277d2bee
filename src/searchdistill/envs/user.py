"""Environments written by users, named by import path: `env=mypkg.module:make_env`.

The factory is called with no argument and returns an object with the `Environment` protocol's
members (`envs.base.Environment`): `num_actions`, `max_episode_steps`, `reset(key)` and
`step(state, action)` on one unbatched `EnvState`. `symmetries` and `symmetric_view` may be
left out (an environment with no known symmetry); `env_id` is set to the import path.
See docs/own_environment.md.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from searchdistill.envs.capabilities import Capabilities, EnvError

_REQUIRED = ("num_actions", "max_episode_steps", "reset", "step")


class UserEnvironment:
  """A user's environment as the `Environment` protocol: its members, plus the defaults of
  the optional ones."""

  def __init__(self, env_id: str, inner: Any):
    self.env_id = env_id
    self.inner = inner
    self.num_actions = int(inner.num_actions)
    self.max_episode_steps = int(inner.max_episode_steps)
    self.symmetries = int(getattr(inner, "symmetries", 1))
    self.capabilities = Capabilities(family="custom")
    self.reset = inner.reset
    self.step = inner.step

  def symmetric_view(self, observation, key):
    if self.symmetries == 1:
      return observation
    return self.inner.symmetric_view(observation, key)


def load(env_id: str) -> UserEnvironment:
  """Imports `module:factory` from `env_id`, calls the factory and checks what it returned;
  raises `EnvError` naming what is wrong (the user's own exception included)."""
  module_name, _, factory_name = env_id.partition(":")
  if not module_name or not factory_name:
    raise EnvError(f"env={env_id}: an import path is 'module:factory', e.g. 'mypkg.envs:make_env'")
  # As `python -m` would: a module in the working folder imports from the console script too.
  if os.getcwd() not in sys.path and "" not in sys.path:
    sys.path.append(os.getcwd())
  try:
    module = importlib.import_module(module_name)
  except Exception as e:  # whatever the user's module raises, said in one line
    raise EnvError(
      f"env={env_id}: cannot import {module_name!r} ({type(e).__name__}: {e})"
    ) from None
  factory = getattr(module, factory_name, None)
  if not callable(factory):
    raise EnvError(f"env={env_id}: {module_name!r} has no function {factory_name!r}")
  try:
    inner = factory()
  except Exception as e:
    raise EnvError(f"env={env_id}: {factory_name}() raised {type(e).__name__}: {e}") from None
  missing = [name for name in _REQUIRED if not hasattr(inner, name)]
  if missing:
    raise EnvError(
      f"env={env_id}: the environment has no {', '.join(missing)} (see docs/own_environment.md)"
    )
  return UserEnvironment(env_id, inner)
