"""The in-process MuZero iteration: collect (jitted, or host-side games), store, replay,
learn.

One iteration steps `rollout_batch_size` self-resetting environments `collect_steps` times with
the learned-model search, appends the steps to a prioritized trajectory replay, then runs
`updates_per_iteration` SGD updates on replayed K-step windows (reanalysing a share of each
batch with the target network). Everything, the replay included, lives in `MuZeroState`, so a
checkpoint of it resumes the run exactly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from searchdistill import replay
from searchdistill.loop.muzero_learner.collect import host_collector, jit_collector
from searchdistill.loop.muzero_learner.state import (
  MuZeroState,
  importance_beta,
  learning_rate_decay,
  window_length,
)
from searchdistill.loop.muzero_learner.update import (
  iteration_metrics,
  make_update,
  refreshed_target,
)
from searchdistill.loop.stage import START


def make_learn(config, network, search, optimizer, support):
  """`learn(state, key, steps [E, L], returns [L, E], ended [L, E], stage) -> (state,
  metrics)`: appends the collected steps to the replay and runs the iteration's SGD updates.

  `state` already holds where the environments stand after the collection; `returns` and
  `ended` report the episodes that finished during it. The updates are a Python loop over one
  jitted SGD step rather than a `lax.scan`: XLA:CPU runs convolution gradients inside a loop
  body 8-22x slower than outside one here (jax-ml/jax#12868; `benchmarks/scan_updates.py`).
  """
  window = window_length(config)
  update = jax.jit(make_update(config, network, search, optimizer, support), donate_argnums=(0, 1))
  add = jax.jit(replay.add, donate_argnums=0)

  @jax.jit
  def schedule(buffer, learn_key, stage):
    ready = replay.size(buffer) >= max(config.muzero.min_replay_steps, window)
    keys = jax.random.split(learn_key, config.muzero.updates_per_iteration)
    return ready, importance_beta(config, stage.end), learning_rate_decay(stage.start), keys

  def learn(state: MuZeroState, learn_key, steps, returns, ended, stage=START):
    buffer = add(state.replay, steps)
    ready, beta, lr_scale, keys = schedule(buffer, learn_key, stage)
    params, opt_state, losses = state.params, state.opt_state, []
    if bool(ready):
      for update_key in keys:
        params, opt_state, priority, max_priority, aux = update(
          params, opt_state, buffer, state.target_params, beta, update_key, lr_scale
        )
        buffer = buffer._replace(priority=priority, max_priority=max_priority)
        losses.append(aux)
    iteration_index = state.iteration + 1
    collected = config.muzero.collect_steps * config.train.rollout_batch_size
    metrics = iteration_metrics(
      losses,
      returns_sum=jnp.sum(returns),
      episodes=jnp.sum(ended),
      env_steps=collected,
      learning_rate=config.train.learning_rate * lr_scale,
      beta=beta,
    )
    return state._replace(
      params=params,
      target_params=refreshed_target(config, int(iteration_index), params, state.target_params),
      opt_state=opt_state,
      iteration=iteration_index,
      env_steps=state.env_steps + collected,
      replay=buffer,
    ), metrics

  return learn


def make_muzero_iteration(config, env, network, search, optimizer, support):
  """Builds `iteration(state, stage) -> (state, metrics)` with the experience collected in
  this process; the learning rate and the importance-sampling exponent follow `stage`.

  For a JAX environment (`StreamEnvironment`) the collection is one jitted scan. For a
  host-side environment (`capabilities.host_side`, ALE) the games are stepped in Python and
  the search is jitted; the games live outside `MuZeroState`, so a resumed run starts new
  games (everything else, the replay included, resumes exactly).

  Args:
    config: the run's `Config`.
    env: a `StreamEnvironment`, jitted, or a host-side one.
    network: the `MuZeroNetwork`.
    search: `search(params, key, observations, action_mask) -> SearchOutput`.
    optimizer: from `make_optimizer`.
    support: the value/reward `Support`.
  """
  learn = make_learn(config, network, search, optimizer, support)
  collector = host_collector if env.capabilities.host_side else jit_collector
  collect = collector(config, env, search)

  def iteration(state: MuZeroState, stage=START):
    state, learn_key, steps, returns, ended = collect(state)
    return learn(state, learn_key, steps, returns, ended, stage)

  return iteration
