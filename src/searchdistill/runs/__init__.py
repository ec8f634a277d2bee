"""Run I/O: the run directory, metrics logs, checkpoints and the console progress bar."""

from searchdistill.runs.checkpoint import CheckpointError

__all__ = ["CheckpointError"]
