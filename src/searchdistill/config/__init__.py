"""The run configuration: one schema grouped by owner (`schema`, `groups`, `muzero_groups`),
presets in layers (`presets`), and the functions that make, load and check configs (`build`).
"""

from searchdistill.config.build import (
  ConfigError,
  check_runtime,
  check_used,
  from_dict,
  is_used,
  load_config,
  make_config,
  override,
  parse_overrides,
)
from searchdistill.config.groups import ALGORITHMS, LOGGERS
from searchdistill.config.presets import ALGORITHM_PRESETS, ENVIRONMENT_PRESETS, PRESETS
from searchdistill.config.schema import FIELDS, GROUPS, Config

__all__ = [
  "ALGORITHMS",
  "ALGORITHM_PRESETS",
  "Config",
  "ConfigError",
  "ENVIRONMENT_PRESETS",
  "FIELDS",
  "GROUPS",
  "LOGGERS",
  "PRESETS",
  "check_runtime",
  "check_used",
  "from_dict",
  "is_used",
  "load_config",
  "make_config",
  "override",
  "parse_overrides",
]
