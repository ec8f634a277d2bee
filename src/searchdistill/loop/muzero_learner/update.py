"""The update MuZero's learners share, in-process or fed by Ray actors: an SGD step on
replayed windows, the target network's refresh, and the iteration's metrics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from searchdistill import replay
from searchdistill.algorithms import muzero
from searchdistill.loop.muzero_learner.state import LOSS_NAMES, window_length


def make_sgd_step(config, network, search, optimizer, support):
  """Builds `sgd_step(params, opt_state, target_params, windows, weight, key, lr_scale) ->
  (params, opt_state, priority [B], losses)`: one SGD step on `B` replayed windows (leaves
  `[B, window, ...]`) with importance weights `weight [B]`, reanalysing a share of them
  first, its updates scaled by `lr_scale` (`learning_rate_decay`).
  The returned priorities are the windows' new ones (their root value errors)."""

  def sgd_step(params, opt_state, target_params, windows, weight, reanalyse_key, lr_scale=1.0):
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
    # AdamW's decoupled weight decay is part of `updates`, so it decays with the rate.
    updates = jax.tree.map(lambda u: u * lr_scale, updates)
    params = optax.apply_updates(params, updates)
    return params, opt_state, aux.pop("priority"), aux

  return sgd_step


def draw(config, buffer, key, beta):
  """A training batch from `buffer`: `training_batch_size` windows drawn by priority with
  exponent `priority_alpha`, importance-weighted with exponent `beta` (`replay.sample`)."""
  return replay.sample(
    buffer,
    key,
    batch_size=config.train.training_batch_size,
    window=window_length(config),
    alpha=config.muzero.priority_alpha,
    beta=beta,
  )


def make_update(config, network, search, optimizer, support):
  """Builds `update(params, opt_state, buffer, target_params, beta, key, lr_scale) -> (params,
  opt_state, priority, max_priority, losses)`: one SGD step on a replayed batch.

  It returns the replay's new priorities rather than the whole replay, so the (large) stored
  observations are never copied.
  """
  sgd_step = make_sgd_step(config, network, search, optimizer, support)

  def update(params, opt_state, buffer, target_params, beta, update_key, lr_scale):
    sample_key, reanalyse_key = jax.random.split(update_key)
    drawn = draw(config, buffer, sample_key, beta)
    params, opt_state, priority, aux = sgd_step(
      params, opt_state, target_params, drawn.data, drawn.weight, reanalyse_key, lr_scale
    )
    buffer = replay.update_priorities(buffer, drawn.stream, drawn.slot, priority)
    return params, opt_state, buffer.priority, buffer.max_priority, aux

  return update


def refreshed_target(config, iteration: int, params, target_params):
  """The target network after iteration number `iteration` (counted from 1): a copy of
  `params` every `target_update_interval` iterations, else unchanged."""
  if iteration % config.muzero.target_update_interval == 0:
    return jax.tree.map(jnp.copy, params)
  return target_params


@jax.jit
def rollout_metrics(returns_sum, episodes):
  """The average return of the episodes that ended, and how many."""
  return {
    "rollout/avg_return": returns_sum / jnp.maximum(episodes, 1),
    "rollout/episodes": jnp.asarray(episodes).astype(jnp.float32),
  }


def iteration_metrics(
  losses: list[dict], *, returns_sum, episodes, env_steps, learning_rate, beta
) -> dict:
  """The metrics of one iteration: its rollouts, its schedules, and the mean of each loss over
  its updates (0 before learning starts)."""
  return {
    **rollout_metrics(returns_sum, episodes),
    "rollout/env_steps": jnp.float32(env_steps),
    "train/sgd_steps": jnp.float32(len(losses)),
    "train/learning_rate": jnp.float32(learning_rate),
    "train/importance_beta": jnp.float32(beta),
    **{
      f"train/{name}": jnp.mean(jnp.stack([aux[name] for aux in losses]))
      if losses
      else jnp.float32(0)
      for name in LOSS_NAMES
    },
  }
