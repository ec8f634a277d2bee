"""Environments: one small protocol (`base`), adapters for Jumanji, gymnax, ALE, JaxMARL and
users' own environments, and the registry that maps an id to its adapter (`registry`).

Names are re-exported lazily: looking an id up (`family`) imports neither JAX nor any
environment package.
"""

import importlib

_EXPORTS = {
  "Capabilities": "searchdistill.envs.capabilities",
  "EnvError": "searchdistill.envs.capabilities",
  "Family": "searchdistill.envs.registry",
  "family": "searchdistill.envs.registry",
  "make_environment": "searchdistill.envs.registry",
  "make_stream_environment": "searchdistill.envs.registry",
  "require_packages": "searchdistill.envs.registry",
  "Environment": "searchdistill.envs.base",
  "EnvState": "searchdistill.envs.base",
  "StreamEnvironment": "searchdistill.envs.base",
  "StreamStep": "searchdistill.envs.base",
  "AtariEnvironment": "searchdistill.envs.atari",
  "EpisodicEnvironment": "searchdistill.envs.episodic",
  "GymnaxEnvironment": "searchdistill.envs.gymnax_env",
  "JaxMARLEnvironment": "searchdistill.envs.multi_agent",
  "JumanjiEnvironment": "searchdistill.envs.jumanji_env",
  "UserEnvironment": "searchdistill.envs.user",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f"module 'searchdistill.envs' has no attribute '{name}'")
