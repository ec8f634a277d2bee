"""The jitted training iteration for search distillation: collect, targets, minibatch SGD."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms import distill
from searchdistill.training.sharding import DataParallel


class TrainState(NamedTuple):
  """Everything a run needs to continue exactly where it stopped.

  Attributes:
    params: network parameters.
    opt_state: optimizer state.
    key: the training RNG key (typed key array).
    iteration: int32 scalar, completed iterations.
    env_steps: float32 scalar, real environment steps so far (float: no int32 overflow).
  """

  params: Any
  opt_state: Any
  key: chex.PRNGKey
  iteration: chex.Array
  env_steps: chex.Array


def init_train_state(config, env, network, optimizer) -> TrainState:
  key = jax.random.fold_in(jax.random.key(config.seed), 0)
  key, init_key, obs_key = jax.random.split(key, 3)
  example = jax.tree.map(lambda x: x[None], env.reset(obs_key).observation)
  params = network.init(init_key, example)
  return TrainState(params, optimizer.init(params), key, jnp.int32(0), jnp.float32(0))


def _minibatch_plan(weight: chex.Array, key: chex.PRNGKey, batch_size: int):
  """Shuffled sample indices padded to whole minibatches, real samples first.

  Returns `(indices [M // batch_size, batch_size], weights [same])`: padding and repeated
  indices get weight 0, and because real samples come first the all-padding minibatches are
  at the end (the update skips them).
  """
  num = weight.shape[0]
  noise = jax.random.uniform(key, (num,))
  order = jnp.argsort(jnp.where(weight > 0, noise, 1.0 + noise))
  total = math.ceil(num / batch_size) * batch_size
  slots = jnp.arange(total)
  indices = order[slots % num]
  weights = jnp.where(slots < num, weight[indices], 0.0)
  return indices.reshape(-1, batch_size), weights.reshape(-1, batch_size)


def make_iteration(config, env, network, optimizer, search, parallel: DataParallel):
  """Builds `iteration(train_state) -> (train_state, metrics)`, one jitted function."""

  def sgd_step(params, opt_state, samples):
    grads, aux = jax.grad(distill.loss_fn, has_aux=True)(
        params, network, samples, value_loss_weight=config.value_loss_weight)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, aux

  def learn(params, opt_state, samples, key):
    def epoch(carry, epoch_key):
      indices, weights = _minibatch_plan(samples.weight, epoch_key, config.training_batch_size)

      def minibatch(carry, plan):
        params, opt_state = carry
        idx, weight = plan
        batch = parallel.shard_batch(
            jax.tree.map(lambda x: x[idx], samples)._replace(weight=weight))
        has_data = jnp.sum(weight) > 0

        def skip(params, opt_state, batch):
          zero = jnp.float32(0)
          return params, opt_state, dict(policy_loss=zero, value_loss=zero)

        params, opt_state, aux = jax.lax.cond(has_data, sgd_step, skip, params, opt_state, batch)
        return (params, opt_state), (aux, has_data)

      carry, out = jax.lax.scan(minibatch, carry, (indices, weights))
      return carry, out

    (params, opt_state), (aux, counted) = jax.lax.scan(
        epoch, (params, opt_state), jax.random.split(key, config.num_epochs))
    steps = jnp.maximum(jnp.sum(counted), 1)
    aux = jax.tree.map(lambda x: jnp.sum(x) / steps, aux)
    return params, opt_state, aux

  def iteration(state: TrainState):
    key, reset_key, search_key, learn_key = jax.random.split(state.key, 4)
    reset_keys = jax.random.split(reset_key, config.rollout_batch_size)
    starts = parallel.shard_batch(jax.vmap(env.reset)(reset_keys))
    trajectory = distill.collect(env, search, state.params, search_key, starts)
    samples = distill.make_samples(trajectory, config.discount)
    params, opt_state, losses = learn(state.params, state.opt_state, samples, learn_key)
    real_steps = jnp.sum(trajectory.valid).astype(jnp.float32)
    metrics = {
        "rollout/avg_return": jnp.mean(jnp.sum(trajectory.reward, axis=0)),
        "rollout/avg_episode_length": real_steps / config.rollout_batch_size,
        "train/policy_loss": losses["policy_loss"],
        "train/value_loss": losses["value_loss"],
        "rollout/env_steps": real_steps,
    }
    new_state = TrainState(params, opt_state, key, state.iteration + 1,
                           state.env_steps + real_steps)
    return new_state, metrics

  return jax.jit(iteration, donate_argnums=0)
