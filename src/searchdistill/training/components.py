"""Builds the pieces of a run from a config, checking every combination before compiling."""

from __future__ import annotations

from typing import Any, NamedTuple

from searchdistill.algorithms import distill, ppo
from searchdistill.config import Config, check_runtime
from searchdistill.envs import Environment, make_environment
from searchdistill.networks import make_network
from searchdistill.search import make_search
from searchdistill.training.learner import TrainState, init_train_state
from searchdistill.training.sharding import DataParallel


class Components(NamedTuple):
  config: Config
  env: Environment
  network: Any
  optimizer: Any
  parallel: DataParallel

  def search(self, **overrides):
    """The training search (Gumbel noise on), unbatched; overrides any keyword."""
    kwargs = dict(
        num_simulations=self.config.num_simulations,
        max_num_considered_actions=self.config.max_num_considered_actions,
        gumbel_scale=self.config.gumbel_scale, discount=self.config.discount)
    kwargs.update(overrides)
    return make_search(self.env, self.network, **kwargs)

  def algorithm(self):
    """The configured algorithm, built over this run's env, network and search."""
    if self.config.algo == "ppo":
      return ppo.make_algorithm(self.config, self.env, self.network)
    return distill.make_algorithm(self.config, self.env, self.network, self.search())

  def init_state(self) -> TrainState:
    return init_train_state(self.config, self.env, self.network, self.optimizer)


def build(config: Config, devices=None) -> Components:
  """Makes the environment and network; raises `EnvError`/`ConfigError` on bad input."""
  env = make_environment(config.env)
  parallel = DataParallel(devices)
  check_runtime(config, num_actions=env.num_actions, num_devices=parallel.num_devices)
  return Components(config, env, make_network(config, env), distill.make_optimizer(config),
                    parallel)
