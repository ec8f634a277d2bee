"""Algorithms as pure functions over arrays: no I/O, no global state."""

from searchdistill.algorithms import distill
from searchdistill.algorithms.targets import monte_carlo_returns

__all__ = ["distill", "monte_carlo_returns"]
