"""searchdistill: search-based reinforcement learning in JAX.

The public API, re-exported lazily so that `searchdistill --help` and config errors do not
wait for JAX to import.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
  "Config": "searchdistill.config",
  "ConfigError": "searchdistill.config",
  "make_config": "searchdistill.config",
  "make_environment": "searchdistill.envs",
  "EnvState": "searchdistill.envs",
  "BinPackNetwork": "searchdistill.networks",
  "MLPNetwork": "searchdistill.networks",
  "make_search": "searchdistill.search",
  "SearchOutput": "searchdistill.search",
  "monte_carlo_returns": "searchdistill.algorithms",
  "train": "searchdistill.runner",
  "CheckpointError": "searchdistill.runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name in _EXPORTS:
    return getattr(importlib.import_module(_EXPORTS[name]), name)
  raise AttributeError(f"module 'searchdistill' has no attribute '{name}'")
