"""The jitted MuZero iteration: act with search, store, replay, learn.

One iteration steps `rollout_batch_size` self-resetting environments `collect_steps` times with
the learned-model search, appends the steps to a prioritized trajectory replay, then runs
`updates_per_iteration` SGD updates on replayed K-step windows (reanalysing a share of each
batch with the target network). Everything, the replay included, lives in `MuZeroState`, so a
checkpoint of it resumes the run exactly.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill import replay
from searchdistill.algorithms import muzero
from searchdistill.algorithms.base import per_step_keys
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
  """AdamW with linear warmup then cosine decay, after global-norm clipping."""
  total = config.max_num_iters * config.updates_per_iteration
  schedule = optax.warmup_cosine_decay_schedule(
      0.0, config.learning_rate, min(config.warmup_updates, total - 1) or 1, total,
      end_value=config.learning_rate * 0.1)
  return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                     optax.adamw(schedule, weight_decay=config.weight_decay))


def window_length(config) -> int:
  return config.num_unroll_steps + config.td_steps + 1


def init_muzero_state(config, env, network, optimizer) -> MuZeroState:
  key = jax.random.fold_in(jax.random.key(config.seed), 0)
  key, init_key, env_key = jax.random.split(key, 3)
  env_states = jax.vmap(env.reset)(jax.random.split(env_key, config.rollout_batch_size))
  observation = env_states.observation[:1]
  params = network.init(init_key, observation, jnp.zeros(1, jnp.int32))
  example = muzero.Step(
      observation=env_states.observation[0], action_mask=env_states.action_mask[0],
      action=jnp.int32(0), reward=jnp.float32(0), terminated=jnp.array(False),
      boundary=jnp.array(False), policy=jnp.zeros(env.num_actions, jnp.float32),
      root_value=jnp.float32(0))
  buffer = replay.init(example, num_streams=config.rollout_batch_size,
                       capacity=config.replay_capacity)
  # A separate copy: the iteration donates its input, and one buffer can't be donated twice.
  target_params = jax.tree.map(jnp.copy, params)
  return MuZeroState(params, target_params, optimizer.init(params), key, jnp.int32(0),
                     jnp.float32(0), env_states, jnp.zeros(config.rollout_batch_size),
                     buffer)


def make_muzero_iteration(config, env, network, search, optimizer, support):
  """Builds `iteration(state) -> (state, metrics)`, one jitted function.

  Args:
    config: the run's `Config`.
    env: a `StreamEnvironment`.
    network: the `MuZeroNetwork`.
    search: `search(params, key, observations, action_mask) -> LearnedSearchOutput`.
    optimizer: from `make_optimizer`.
    support: the value/reward `Support`.
  """
  window = window_length(config)
  beta_slope = (1.0 - config.priority_beta) / max(config.max_num_iters, 1)

  def collect(params, key, env_states, episode_return):
    def act(carry, step):
      states, running = carry
      search_key, env_key = jax.random.split(jax.random.fold_in(key, step))
      out = search(params, search_key, states.observation, states.action_mask)
      env_keys = jax.random.split(env_key, states.action_mask.shape[0])
      next_states, result = jax.vmap(env.step)(states, out.action, env_keys)
      boundary = result.terminated | result.truncated
      running = running + result.reward
      record = muzero.Step(states.observation, states.action_mask, out.action, result.reward,
                           result.terminated, boundary, out.action_weights, out.root_value)
      finished = (jnp.where(boundary, running, 0.0), boundary)
      return (next_states, jnp.where(boundary, 0.0, running)), (record, finished)

    (env_states, episode_return), (steps, finished) = jax.lax.scan(
        act, (env_states, episode_return), jnp.arange(config.collect_steps))
    # Time-major [L, E] -> stream-major [E, L] for the buffer.
    return env_states, episode_return, jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), steps), \
        finished

  def update(carry, update_key):
    params, opt_state, buffer, target_params, beta = carry
    sample_key, reanalyse_key = jax.random.split(update_key)
    drawn = replay.sample(buffer, sample_key, batch_size=config.training_batch_size,
                          window=window, alpha=config.priority_alpha, beta=beta)
    windows = drawn.data
    if config.reanalyse_fraction > 0:
      windows = muzero.reanalyse(windows, target_params, reanalyse_key, search=search,
                                 fraction=config.reanalyse_fraction)
    targets = jax.vmap(lambda w: muzero.unroll_targets(
        w, num_unroll_steps=config.num_unroll_steps, td_steps=config.td_steps,
        discount=config.discount))(windows)
    grads, aux = jax.grad(lambda p: muzero.loss_fn(
        p, network, targets, drawn.weight, support=support,
        value_loss_weight=config.value_loss_weight,
        consistency_weight=config.consistency_weight), has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    buffer = replay.update_priorities(buffer, drawn.stream, drawn.slot, aux.pop("priority"))
    return (params, opt_state, buffer, target_params, beta), aux

  def iteration(state: MuZeroState):
    key, collect_key, learn_key = jax.random.split(state.key, 3)
    env_states, episode_return, steps, (returns, ended) = collect(
        state.params, collect_key, state.env_states, state.episode_return)
    buffer = replay.add(state.replay, steps)
    ready = replay.size(buffer) >= max(config.min_replay_steps, window)
    beta = jnp.minimum(1.0, config.priority_beta + beta_slope * state.iteration)

    def learn(params, opt_state, buffer):
      keys = jax.random.split(learn_key, config.updates_per_iteration)
      (params, opt_state, buffer, _, _), aux = jax.lax.scan(
          update, (params, opt_state, buffer, state.target_params, beta), keys)
      return params, opt_state, buffer, jax.tree.map(jnp.mean, aux)

    aux_shape = jax.eval_shape(learn, state.params, state.opt_state, buffer)[3]
    skip = lambda p, o, b: (p, o, b, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype),
                                                   aux_shape))
    params, opt_state, buffer, losses = jax.lax.cond(ready, learn, skip, state.params,
                                                     state.opt_state, buffer)
    iteration_index = state.iteration + 1
    target_params = jax.lax.cond(iteration_index % config.target_update_interval == 0,
                                 lambda: params, lambda: state.target_params)
    num_ended = jnp.sum(ended)
    collected = jnp.float32(config.collect_steps * config.rollout_batch_size)
    metrics = {
        "rollout/avg_return": jnp.sum(returns) / jnp.maximum(num_ended, 1),
        "rollout/episodes": num_ended.astype(jnp.float32),
        "rollout/env_steps": collected,
        "train/sgd_steps": jnp.where(ready, config.updates_per_iteration, 0).astype(
            jnp.float32),
        **{f"train/{name}": value for name, value in losses.items()},
    }
    new_state = MuZeroState(
        params, target_params, opt_state, key, iteration_index, state.env_steps + collected,
        env_states, episode_return, buffer)
    return new_state, metrics

  return jax.jit(iteration, donate_argnums=0)


def make_episode_evaluator(env, choose, *, max_steps: int):
  """Builds `evaluate(params, keys [N]) -> returns [N]`: the first episode of each of N
  streams, acting with `choose(params, key, observations, action_mask) -> actions`."""

  @jax.jit
  def evaluate(params, keys):
    states = jax.vmap(env.reset)(keys)
    n = keys.shape[0]

    def cond(carry):
      t, _, _, finished = carry
      return (t < max_steps) & ~jnp.all(finished)

    def body(carry):
      t, states, returns, finished = carry
      step_keys = per_step_keys(keys, t)
      actions = choose(params, jax.random.fold_in(keys[0], t), states.observation,
                       states.action_mask)
      states, result = jax.vmap(env.step)(states, actions, step_keys)
      returns = returns + jnp.where(finished, 0.0, result.reward)
      finished = finished | result.terminated | result.truncated
      return t + 1, states, returns, finished

    init = (jnp.int32(0), states, jnp.zeros(n), jnp.zeros(n, bool))
    return jax.lax.while_loop(cond, body, init)[2]

  return evaluate
