"""MuZero's training state, optimizer and schedules."""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill import replay
from searchdistill.algorithms import muzero
from searchdistill.envs.base import EnvState


class MuZeroState(NamedTuple):
  """Everything a MuZero run needs to continue exactly where it stopped.

  Attributes:
    params: online network parameters.
    target_params: the target network (reanalyse), refreshed every `target_update_interval`.
    opt_state: optimizer state.
    key: training RNG key.
    iteration: int32 scalar.
    env_steps: float32 scalar, environment steps so far (all streams).
    env_states: `EnvState` batch `[E]`, where each stream stands.
    episode_return: float32 `[E]`, return so far of each stream's current episode.
    replay: the `ReplayState` of `muzero.Step`s.
  """

  params: Any
  target_params: Any
  opt_state: Any
  key: chex.PRNGKey
  iteration: chex.Array
  env_steps: chex.Array
  env_states: EnvState
  episode_return: chex.Array
  replay: replay.ReplayState


def make_optimizer(config) -> optax.GradientTransformation:
  """AdamW after global-norm clipping, its learning rate warmed up linearly over
  `warmup_updates`; the decay over the budget is `learning_rate_decay`, applied per
  iteration by the SGD step."""
  warmup = optax.linear_schedule(
    0.0, config.train.learning_rate, max(config.muzero.warmup_updates, 1)
  )
  return optax.chain(
    optax.clip_by_global_norm(config.train.max_grad_norm),
    optax.adamw(warmup, weight_decay=config.muzero.weight_decay),
  )


def learning_rate_decay(progress):
  """The learning rate's multiplier at `progress` (0 to 1) through the budget: a cosine from
  1 to 0.1, so a run bounded by minutes anneals like one bounded by iterations."""
  progress = jnp.clip(progress, 0.0, 1.0)
  return 0.1 + 0.9 * 0.5 * (1.0 + jnp.cos(jnp.pi * progress))


def importance_beta(config, progress):
  """The replay's importance-sampling exponent at `progress` (0 to 1) through the budget:
  `priority_beta` annealed linearly to 1 at its end."""
  progress = jnp.clip(progress, 0.0, 1.0)
  return config.muzero.priority_beta + (1.0 - config.muzero.priority_beta) * progress


def window_length(config) -> int:
  return config.muzero.num_unroll_steps + config.muzero.td_steps + 1


def init_muzero_state(config, env, network, optimizer) -> MuZeroState:
  key = jax.random.fold_in(jax.random.key(config.run.seed), 0)
  key, init_key, env_key = jax.random.split(key, 3)
  n = config.train.rollout_batch_size
  if env.capabilities.host_side:
    # The games live on the host (`_host_iteration`); the state keeps their latest frames.
    env_states = EnvState(
      inner=jnp.zeros(n, jnp.int32),
      observation=jnp.zeros((n, *env.observation_shape), jnp.uint8),
      action_mask=jnp.ones((n, env.num_actions), bool),
      done=jnp.zeros(n, bool),
    )
  else:
    env_states = jax.vmap(env.reset)(jax.random.split(env_key, n))
  observation = env_states.observation[:1]
  # One action per agent for multi-agent environments (masks `[N, A]`), else a scalar.
  action_shape = env_states.action_mask.shape[1:-1]
  params = network.init(init_key, observation, jnp.zeros((1, *action_shape), jnp.int32))
  example = muzero.Step(
    observation=env_states.observation[0],
    action_mask=env_states.action_mask[0],
    action=jnp.zeros(action_shape, jnp.int32),
    reward=jnp.float32(0),
    terminated=jnp.array(False),
    boundary=jnp.array(False),
    policy=jnp.zeros(env_states.action_mask.shape[1:], jnp.float32),
    root_value=jnp.float32(0),
  )
  if config.distributed.num_actors:
    # One shard per Ray actor (`distributed`), each with its actor's streams.
    buffer = replay.init_sharded(
      example,
      num_shards=config.distributed.num_actors,
      num_streams=config.train.rollout_batch_size,
      capacity=config.muzero.replay_capacity,
    )
  else:
    buffer = replay.init(
      example, num_streams=config.train.rollout_batch_size, capacity=config.muzero.replay_capacity
    )
  # A separate copy: the iteration donates its input, and one buffer can't be donated twice.
  target_params = jax.tree.map(jnp.copy, params)
  return MuZeroState(
    params,
    target_params,
    optimizer.init(params),
    key,
    jnp.int32(0),
    jnp.float32(0),
    env_states,
    jnp.zeros(config.train.rollout_batch_size),
    buffer,
  )


# What `muzero.loss_fn` reports per SGD step, logged as `train/<name>`.
LOSS_NAMES = ("policy_loss", "value_loss", "reward_loss", "consistency_loss")
