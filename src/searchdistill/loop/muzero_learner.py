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
import numpy as np
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
  total = config.run.max_num_iters * config.muzero.updates_per_iteration
  schedule = optax.warmup_cosine_decay_schedule(
    0.0,
    config.train.learning_rate,
    min(config.muzero.warmup_updates, total - 1) or 1,
    total,
    end_value=config.train.learning_rate * 0.1,
  )
  return optax.chain(
    optax.clip_by_global_norm(config.train.max_grad_norm),
    optax.adamw(schedule, weight_decay=config.muzero.weight_decay),
  )


def importance_beta(config, iteration):
  """The replay's importance-sampling exponent at `iteration`: `priority_beta` annealed
  linearly to 1 over `max_num_iters`."""
  slope = (1.0 - config.muzero.priority_beta) / max(config.run.max_num_iters, 1)
  return jnp.minimum(1.0, config.muzero.priority_beta + slope * iteration)


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
    # One shard per Ray actor (`training.distributed`), each with its actor's streams.
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


def make_sgd_step(config, network, search, optimizer, support):
  """Builds `sgd_step(params, opt_state, target_params, windows, weight, key) -> (params,
  opt_state, priority [B], losses)`: one SGD step on `B` replayed windows (leaves
  `[B, window, ...]`) with importance weights `weight [B]`, reanalysing a share of them first.
  The returned priorities are the windows' new ones (their root value errors)."""

  def sgd_step(params, opt_state, target_params, windows, weight, reanalyse_key):
    if config.muzero.reanalyse_fraction > 0:
      windows = muzero.reanalyse(
        windows,
        target_params,
        reanalyse_key,
        search=search,
        fraction=config.muzero.reanalyse_fraction,
      )
    targets = jax.vmap(
      lambda w: muzero.unroll_targets(
        w,
        num_unroll_steps=config.muzero.num_unroll_steps,
        td_steps=config.muzero.td_steps,
        discount=config.train.discount,
      )
    )(windows)
    grads, aux = jax.grad(
      lambda p: muzero.loss_fn(
        p,
        network,
        targets,
        weight,
        support=support,
        value_loss_weight=config.train.value_loss_weight,
        consistency_weight=config.muzero.consistency_weight,
      ),
      has_aux=True,
    )(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state, aux.pop("priority"), aux

  return sgd_step


def make_update(config, network, search, optimizer, support):
  """Builds `update(params, opt_state, buffer, target_params, beta, key) -> (params,
  opt_state, priority, max_priority, losses)`: one SGD step on a replayed batch.

  It returns the replay's new priorities rather than the whole replay, so the (large) stored
  observations are never copied.
  """
  window = window_length(config)
  sgd_step = make_sgd_step(config, network, search, optimizer, support)

  def update(params, opt_state, buffer, target_params, beta, update_key):
    sample_key, reanalyse_key = jax.random.split(update_key)
    drawn = replay.sample(
      buffer,
      sample_key,
      batch_size=config.train.training_batch_size,
      window=window,
      alpha=config.muzero.priority_alpha,
      beta=beta,
    )
    params, opt_state, priority, aux = sgd_step(
      params, opt_state, target_params, drawn.data, drawn.weight, reanalyse_key
    )
    buffer = replay.update_priorities(buffer, drawn.stream, drawn.slot, priority)
    return params, opt_state, buffer.priority, buffer.max_priority, aux

  return update


def _make_learn(config, network, search, optimizer, support):
  """`learn(state, key, steps [E, L], returns [L, E], ended [L, E]) -> (state, metrics)`:
  appends the collected steps to the replay and runs the iteration's SGD updates.

  `state` already holds where the environments stand after the collection; `returns` and
  `ended` report the episodes that finished during it. The updates are a Python loop over one
  jitted SGD step rather than a `lax.scan`: XLA:CPU runs convolution gradients inside a loop
  body 8-22x slower than outside one here (jax-ml/jax#12868; `benchmarks/scan_updates.py`).
  """
  window = window_length(config)

  update = jax.jit(make_update(config, network, search, optimizer, support), donate_argnums=(0, 1))
  add = jax.jit(replay.add, donate_argnums=0)

  @jax.jit
  def schedule(iteration, buffer, learn_key):
    ready = replay.size(buffer) >= max(config.muzero.min_replay_steps, window)
    beta = importance_beta(config, iteration)
    return ready, beta, jax.random.split(learn_key, config.muzero.updates_per_iteration)

  @jax.jit
  def rollout_metrics(returns, ended):
    num_ended = jnp.sum(ended)
    return {
      "rollout/avg_return": jnp.sum(returns) / jnp.maximum(num_ended, 1),
      "rollout/episodes": num_ended.astype(jnp.float32),
    }

  def learn(state: MuZeroState, learn_key, steps, returns, ended):
    buffer = add(state.replay, steps)
    ready, beta, keys = schedule(state.iteration, buffer, learn_key)
    params, opt_state, losses = state.params, state.opt_state, []
    if bool(ready):
      for update_key in keys:
        params, opt_state, priority, max_priority, aux = update(
          params, opt_state, buffer, state.target_params, beta, update_key
        )
        buffer = buffer._replace(priority=priority, max_priority=max_priority)
        losses.append(aux)
    iteration_index = state.iteration + 1
    if int(iteration_index) % config.muzero.target_update_interval == 0:
      target_params = jax.tree.map(jnp.copy, params)
    else:
      target_params = state.target_params
    collected = config.muzero.collect_steps * config.train.rollout_batch_size
    metrics = {
      **rollout_metrics(returns, ended),
      "rollout/env_steps": jnp.float32(collected),
      "train/sgd_steps": jnp.float32(len(losses)),
      **{
        f"train/{name}": jnp.mean(jnp.stack([aux[name] for aux in losses]))
        if losses
        else jnp.float32(0)
        for name in LOSS_NAMES
      },
    }
    return state._replace(
      params=params,
      target_params=target_params,
      opt_state=opt_state,
      iteration=iteration_index,
      env_steps=state.env_steps + collected,
      replay=buffer,
    ), metrics

  return learn


def make_collect(config, env, search):
  """Builds `collect(params, key, env_states [E], episode_return [E]) -> (env_states,
  episode_return, steps, (returns, ended))`: `collect_steps` steps of `E` self-resetting
  JAX environments acting with `search`. `steps` are stream-major `muzero.Step`s `[E, L]`;
  `returns` and `ended` `[L, E]` report the episodes that finished (returns 0 elsewhere).
  Traceable: the caller jits it."""

  def collect(params, key, env_states, episode_return):
    def act(carry, step):
      states, running = carry
      search_key, env_key = jax.random.split(jax.random.fold_in(key, step))
      out = search(params, search_key, states.observation, states.action_mask)
      env_keys = jax.random.split(env_key, states.action_mask.shape[0])
      next_states, result = jax.vmap(env.step)(states, out.action, env_keys)
      boundary = result.terminated | result.truncated
      running = running + result.reward
      record = muzero.Step(
        states.observation,
        states.action_mask,
        out.action,
        result.reward,
        result.terminated,
        boundary,
        out.action_weights,
        out.root_value,
      )
      finished = (jnp.where(boundary, running, 0.0), boundary)
      return (next_states, jnp.where(boundary, 0.0, running)), (record, finished)

    (env_states, episode_return), (steps, finished) = jax.lax.scan(
      act, (env_states, episode_return), jnp.arange(config.muzero.collect_steps)
    )
    # Time-major [L, E] -> stream-major [E, L] for the buffer.
    return (
      env_states,
      episode_return,
      jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), steps),
      finished,
    )

  return collect


def make_muzero_iteration(config, env, network, search, optimizer, support):
  """Builds `iteration(state, progress) -> (state, metrics)`.

  For a JAX environment (`StreamEnvironment`) collection and learning are one jitted function.
  For a host-side environment (`AtariEnvironment`) the games are stepped in Python, the search
  and the learning step are jitted; the games live outside `MuZeroState`, so a resumed run
  starts new games (everything else, the replay included, resumes exactly).

  Args:
    config: the run's `Config`.
    env: a `StreamEnvironment`, jitted, or a host-side one (`capabilities.host_side`).
    network: the `MuZeroNetwork`.
    search: `search(params, key, observations, action_mask) -> LearnedSearchOutput`.
    optimizer: from `make_optimizer`.
    support: the value/reward `Support`.
  """
  learn = _make_learn(config, network, search, optimizer, support)
  if env.capabilities.host_side:
    return _host_iteration(config, env, search, learn)

  collect = make_collect(config, env, search)

  @jax.jit
  def collect_iteration(params, rng, env_states, episode_return):
    key, collect_key, learn_key = jax.random.split(rng, 3)
    return key, learn_key, *collect(params, collect_key, env_states, episode_return)

  def iteration(state: MuZeroState, progress=None):
    del progress  # MuZero's schedules count updates (see `make_optimizer`).
    key, learn_key, env_states, episode_return, steps, (returns, ended) = collect_iteration(
      state.params, state.key, state.env_states, state.episode_return
    )
    state = state._replace(key=key, env_states=env_states, episode_return=episode_return)
    return learn(state, learn_key, steps, returns, ended)

  return iteration


def _host_iteration(config, env, search, learn):
  """The iteration for host-side games: a Python loop of jitted searches, then `learn`."""

  @jax.jit
  def act(params, key, step, observations, action_mask):
    out = search(params, jax.random.fold_in(key, step), observations, action_mask)
    return out.action, out.action_weights, out.root_value

  split = jax.jit(lambda key: jax.random.split(key, 3))
  games = {}

  def iteration(state: MuZeroState, progress=None):
    del progress  # MuZero's schedules count updates (see `make_optimizer`).
    if "vector" not in games:
      # Seeded by the iteration too, so a resumed run does not replay the first games.
      games["vector"] = env.vector(
        config.train.rollout_batch_size,
        seed=config.run.seed * 1_000_003 + int(state.iteration),
        training=True,
      )
      games["observation"] = games["vector"].reset()
    vector = games["vector"]
    key, collect_key, learn_key = split(state.key)
    mask = vector.action_mask
    records, returns, ended = [], [], []
    for step in range(config.muzero.collect_steps):
      observation = games["observation"]
      action, weights, root_value = jax.device_get(
        act(state.params, collect_key, step, observation, mask)
      )
      games["observation"], result = vector.step(action)
      records.append(
        muzero.Step(
          observation,
          mask,
          action.astype(np.int32),
          result.reward,
          result.terminated,
          result.terminated | result.truncated,
          weights,
          root_value,
        )
      )
      returns.append(result.scores)
      ended.append(result.game_over)
    steps = jax.tree.map(lambda *xs: np.stack(xs, axis=1), *records)
    state = state._replace(
      key=key, env_states=state.env_states._replace(observation=games["observation"])
    )
    return learn(state, learn_key, steps, np.stack(returns), np.stack(ended))

  return iteration


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
      actions = choose(
        params, jax.random.fold_in(keys[0], t), states.observation, states.action_mask
      )
      states, result = jax.vmap(env.step)(states, actions, step_keys)
      returns = returns + jnp.where(finished, 0.0, result.reward)
      finished = finished | result.terminated | result.truncated
      return t + 1, states, returns, finished

    init = (jnp.int32(0), states, jnp.zeros(n), jnp.zeros(n, bool))
    return jax.lax.while_loop(cond, body, init)[2]

  return evaluate


def make_host_episode_evaluator(env, choose, *, max_steps: int):
  """`evaluate(params, keys [N]) -> returns [N]` for host-side games: the raw score of the first
  whole game in each of N evaluation games (no reward clipping, no life-loss terminals),
  seeded from `keys`."""
  choose = jax.jit(choose)

  def evaluate(params, keys):
    seed = int(jax.random.randint(keys[0], (), 0, 2**31 - 1))
    vector = env.vector(keys.shape[0], seed=seed, training=False)
    observation = vector.reset()
    returns = np.zeros(vector.num_envs, np.float32)
    finished = np.zeros(vector.num_envs, bool)
    for t in range(max_steps):
      if finished.all():
        break
      actions = jax.device_get(
        choose(params, jax.random.fold_in(keys[0], t), observation, vector.action_mask)
      )
      observation, result = vector.step(actions)
      returns = np.where(result.game_over & ~finished, result.scores, returns)
      finished |= result.game_over
    # Games still running at the step limit count with their score so far.
    running = np.asarray([game.score for game in vector.games], np.float32)
    return np.where(finished, returns, running)

  return evaluate
