"""Algorithms as pure functions over arrays: no I/O, no global state."""

from searchdistill.algorithms import distill, ppo
from searchdistill.algorithms.base import Algorithm, Rollout
from searchdistill.algorithms.targets import generalized_advantages, monte_carlo_returns

__all__ = [
  "Algorithm",
  "Rollout",
  "distill",
  "generalized_advantages",
  "monte_carlo_returns",
  "ppo",
]
