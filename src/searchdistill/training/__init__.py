"""Training loop, evaluation, checkpoints, logging and device sharding."""

from searchdistill.training.checkpoint import CheckpointError
from searchdistill.training.loop import NonFiniteError, load_run_config, train

__all__ = ["CheckpointError", "NonFiniteError", "load_run_config", "train"]
