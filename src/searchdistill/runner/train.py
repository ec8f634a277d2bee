"""`train`: one run, with its experience collected where the config says."""

from __future__ import annotations

from searchdistill.config import Config
from searchdistill.loop import run


def train(config: Config, out, **options) -> dict:
  """Trains a run into the directory `out` (see `loop.run.train` for `options`); with
  `num_actors > 0` Ray actors collect while this process learns."""
  if config.distributed.num_actors:
    from searchdistill.distributed import ray_iteration  # Ray only when asked for.

    options["iteration_of"] = ray_iteration
  return run.train(config, out, **options)
