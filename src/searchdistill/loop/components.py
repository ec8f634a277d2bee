"""Builds the pieces of a run from a config, checking every combination before compiling."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from searchdistill.algorithms import distill, ppo
from searchdistill.config import Config, ConfigError, check_runtime
from searchdistill.config.groups import OutputConfig
from searchdistill.envs import (
  EnvError,
  Environment,
  family,
  make_environment,
  make_stream_environment,
  require_packages,
)
from searchdistill.extras import require
from searchdistill.loop import muzero_learner
from searchdistill.loop.evaluation import (
  make_episode_evaluator,
  make_host_episode_evaluator,
  make_policy,
  observation_policy,
)
from searchdistill.loop.learner import (
  init_train_state,
  make_iteration,
  state_shardings,
)
from searchdistill.loop.sharding import DataParallel
from searchdistill.loop.stage import START
from searchdistill.networks import make_network
from searchdistill.networks.value_transform import Support
from searchdistill.runs.metrics import LOGGER_MODULES
from searchdistill.search import make_search
from searchdistill.search.learned_model import make_learned_search
from searchdistill.search.multi_agent import make_multi_agent_planner


def _reused(make):
  """Makes a `Components` method return the program it made the first time for the same
  arguments: jax.jit caches traces by function object, so a process that trains or evaluates
  one config again (a notebook, `eval` after `train`, the tests) skips 10-60 s of tracing."""

  @functools.wraps(make)
  def reused(self, *args, **kwargs):
    key = (make.__name__, args, tuple(sorted(kwargs.items())))
    if key not in self.programs:
      self.programs[key] = make(self, *args, **kwargs)
    return self.programs[key]

  return reused


@dataclasses.dataclass(frozen=True, eq=False)
class Components:
  """The pieces of one run (see `build`), and the programs made from them."""

  config: Config
  env: Environment
  network: Any
  optimizer: Any
  parallel: DataParallel
  programs: dict = dataclasses.field(default_factory=dict, repr=False)

  def search(self, **overrides):
    """The training search (Gumbel noise on), unbatched; overrides any keyword."""
    kwargs = dict(
      num_simulations=self.config.search.num_simulations,
      max_num_considered_actions=self.config.search.max_num_considered_actions,
      gumbel_scale=self.config.search.gumbel_scale,
      discount=self.config.train.discount,
      value_scale=self.config.search.value_scale,
    )
    kwargs.update(overrides)
    return make_search(self.env, self.network, **kwargs)

  @property
  def learned_model(self) -> bool:
    return self.config.run.algo == "muzero"

  @property
  def support(self) -> Support:
    return Support.symmetric(self.config.muzero.support_size)

  def learned_search(self, *, training: bool, num_simulations: int | None = None):
    """The MuZero search over the learned model; without training noise when evaluating.

    For a multi-agent environment it is the configured planner, whose `SearchOutput` holds the
    joint action `[B, N]` and per-agent policy targets `[B, N, A]`."""
    c = self.config
    if self.env.capabilities.multi_agent:
      return make_multi_agent_planner(
        self.network,
        self.support,
        planner=c.multi_agent.planner,
        num_simulations=num_simulations or c.search.num_simulations,
        discount=c.train.discount,
        num_samples=c.multi_agent.num_joint_samples,
        policy_type=c.search.search_policy,
        dirichlet_alpha=c.search.dirichlet_alpha,
        dirichlet_fraction=c.search.dirichlet_fraction if training else 0.0,
        temperature=1.0 if training else 0.0,
        gumbel_scale=c.search.gumbel_scale if training else 0.0,
        max_num_considered_actions=c.search.max_num_considered_actions,
      )
    return make_learned_search(
      self.network,
      self.support,
      policy_type=c.search.search_policy,
      num_simulations=num_simulations or c.search.num_simulations,
      discount=c.train.discount,
      dirichlet_alpha=c.search.dirichlet_alpha,
      dirichlet_fraction=c.search.dirichlet_fraction if training else 0.0,
      max_num_considered_actions=c.search.max_num_considered_actions,
      gumbel_scale=c.search.gumbel_scale if training else 0.0,
    )

  def algorithm(self, **search_overrides):
    """The configured episodic algorithm, built over this run's env, network and search."""
    if self.config.run.algo == "ppo":
      return ppo.make_algorithm(self.config, self.env, self.network)
    return distill.make_algorithm(
      self.config, self.env, self.network, self.search(**search_overrides)
    )

  def iteration(self):
    """`iteration(state, stage) -> (state, metrics)` of the configured algorithm with its
    experience collected in this process, where `stage` (`loop.stage.Stage`) is how far the
    run is through its budget. (The Ray actor-learner is `distributed.ray_iteration`.)"""
    if self.config.distributed.num_actors:
      raise ConfigError(
        f"num_actors={self.config.distributed.num_actors}: the experience comes from Ray "
        "actors; train with runner.train (or pass distributed.ray_iteration to loop.run.train)"
      )
    if self.env.capabilities.host_side:
      # Its games live in the iteration (`muzero_learner.host_collector`): one per run.
      return self._make_iteration()
    return self._reused_iteration()

  def _make_iteration(self):
    if self.learned_model:
      return muzero_learner.make_muzero_iteration(
        self.config,
        self.env,
        self.network,
        self.learned_search(training=True),
        self.optimizer,
        self.support,
      )
    late = make_iteration(self.config, self.algorithm(), self.env, self.optimizer, self.parallel)
    if not self.config.distill.early_simulations:
      return late
    early = make_iteration(
      self.config,
      self.algorithm(num_simulations=self.config.distill.early_simulations),
      self.env,
      self.optimizer,
      self.parallel,
    )
    fraction = self.config.distill.early_fraction
    return lambda state, stage=START: (early if stage.start < fraction else late)(state, stage)

  _reused_iteration = _reused(_make_iteration)

  @_reused
  def evaluator(self, num_simulations: int):
    """`evaluate(params, keys [N]) -> returns [N]` on held-out episodes with `policy`; distill
    and PPO split the episodes over the devices."""
    policy = self.policy(num_simulations)
    max_steps = self.config.eval.eval_max_steps or self.env.max_episode_steps
    if self.env.capabilities.host_side:
      return make_host_episode_evaluator(self.env, policy, max_steps=max_steps)
    evaluate = make_episode_evaluator(
      self.env, policy, max_steps=max_steps, stream=self.learned_model
    )
    if self.learned_model:
      # MuZero's policies draw one key for the whole batch, so a slice would see another key.
      return evaluate
    # One slice of the episodes per device, with the same returns: 128 episodes at 32
    # simulations took 8.6 s, against 19.7 s replicated (every device playing every episode)
    # and 13.3 s on one device (benchmarks/evaluation_throughput.py, 2 cores).
    return self.parallel.per_shard_rows(evaluate)

  def policy(self, num_simulations: int):
    """The evaluation policy, `policy(params, keys [B], states [B]) -> actions [B]`: the
    network alone (`num_simulations` 0) or acting with a noise-free search (over the true
    environment, or for MuZero the most likely action of the search over its model)."""
    if not self.learned_model:
      return make_policy(
        self.env, self.network, num_simulations=num_simulations, config=self.config
      )
    network = self.network
    if not num_simulations:

      def greedy(params, key, observations, action_mask):
        del key
        latent = network.apply(params, observations, method="represent")
        logits = network.apply(params, latent, method="predict").policy_logits
        return jnp.argmax(jnp.where(action_mask, logits, -jnp.inf), axis=-1)

      return observation_policy(greedy)
    search = self.learned_search(training=False, num_simulations=num_simulations)
    # The most likely action of the search's policy: deterministic for both policy types.
    return observation_policy(
      lambda params, key, observations, action_mask: jnp.argmax(
        search(params, key, observations, action_mask).action_weights, axis=-1
      )
    )

  @_reused
  def _initializer(self):
    if self.learned_model:
      init = muzero_learner.init_muzero_state
      args = (self.config, self.env, self.network, self.optimizer)
    else:
      init, args = init_train_state, (self.config, self.env, self.network, self.optimizer)
      args = (*args, self.algorithm())
    # One program: run op by op, initialization compiles each of its hundreds of operations.
    return jax.jit(functools.partial(init, *args))

  def init_state(self):
    """The run's first state (seeded by `config.run.seed`), on the default device."""
    return self._initializer()()

  def place(self, state):
    """Puts a state on the devices in the layout its iteration keeps."""
    if self.learned_model:
      return self.parallel.replicate(state)
    return jax.device_put(state, state_shardings(state, self.parallel))


def check_extras(config: Config) -> None:
  """Raises `MissingExtraError` for a run-time feature of `config` whose extra is missing (the
  environment's own extra is checked when it is made)."""
  if config.output.logger in LOGGER_MODULES:
    require(LOGGER_MODULES[config.output.logger], f"logger={config.output.logger}")
  if config.distributed.num_actors:
    require("ray", f"num_actors={config.distributed.num_actors}")


def build(config: Config, devices=None) -> Components:
  """Makes the environment and network; raises `EnvError`/`ConfigError` on bad input.

  Configs that differ only in what the run loop alone reads (the budget and the output
  settings) share one `Components`' programs, which are then traced once per process (see
  `_reused`), except for an environment of the user's own code, which they may reload. The
  returned `config` is always the one given."""
  loop_only = dict(
    run=dataclasses.replace(config.run, max_num_iters=1, minutes=0.0), output=OutputConfig()
  )
  # Checked here too: an uninstalled package is an error even where the pieces are reused.
  require_packages(config.run.env)
  devices = None if devices is None else tuple(devices)
  make = _make.__wrapped__ if family(config.run.env).user_code else _make
  shared = make(dataclasses.replace(config, **loop_only), devices)
  return dataclasses.replace(shared, config=config)


@functools.lru_cache(maxsize=8)
def _make(config: Config, devices) -> Components:
  if devices is None and config.run.algo == "muzero":
    # Learned-model runs are not split over devices: on more they would only repeat the work.
    devices = jax.local_devices()[:1]
  parallel = DataParallel(devices)
  if config.run.algo == "muzero":
    try:
      env = make_stream_environment(config.run.env, atari_color=config.environment.atari_color)
    except EnvError as e:
      raise ConfigError(f"algo=muzero: {e}") from None
    if config.distributed.num_actors and env.capabilities.host_side:
      raise ConfigError(
        f"num_actors={config.distributed.num_actors}: the Ray actors step environments "
        f"written in JAX, not host-side games such as {config.run.env}"
      )
    optimizer = muzero_learner.make_optimizer(config)
    window = muzero_learner.window_length(config)
    if config.muzero.replay_capacity < window + config.muzero.collect_steps:
      raise ConfigError(
        f"replay_capacity={config.muzero.replay_capacity} must hold one window "
        f"(num_unroll_steps + td_steps + 1 = {window}) plus collect_steps="
        f"{config.muzero.collect_steps}"
      )
  else:
    env = make_environment(config.run.env)
    optimizer = distill.make_optimizer(config)
  check_runtime(config, num_devices=parallel.num_devices)
  return Components(config, env, make_network(config, env), optimizer, parallel)
