"""Running experiments: `train` (in-process or with Ray actors), comparisons, evaluation of
saved runs. The layer above the run loop and the distributed learner."""

from searchdistill.runner.train import train

__all__ = ["train"]
