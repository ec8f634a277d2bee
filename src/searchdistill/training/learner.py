"""The jitted training iteration shared by every algorithm: collect, targets, minibatch SGD."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms.base import Algorithm
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


def make_iteration(config, algorithm: Algorithm, env, optimizer, parallel: DataParallel):
  """Builds `iteration(train_state) -> (train_state, metrics)`, one jitted function.

  `num_epochs` shuffled passes of minibatch SGD over the iteration's samples; minibatches with
  no real sample are skipped, and so is everything after the algorithm's early-stop diagnostic
  exceeds `config.target_kl` (when that is positive).
  """
  early_stop = algorithm.early_stop_key if config.target_kl > 0 else None
  collect = parallel.per_shard_episodes(algorithm.collect)

  def sgd_step(params, opt_state, samples):
    grads, aux = jax.grad(algorithm.loss, has_aux=True)(params, samples)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, aux

  def learn(params, opt_state, samples, key):
    aux_shape = jax.eval_shape(lambda: algorithm.loss(params, samples)[1])
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), aux_shape)

    def epoch(carry, epoch_key):
      indices, weights = _minibatch_plan(samples.weight, epoch_key, config.training_batch_size)

      def minibatch(carry, plan):
        params, opt_state, stopped = carry
        idx, weight = plan
        batch = parallel.shard_batch(
            jax.tree.map(lambda x: x[idx], samples)._replace(weight=weight))
        run = (jnp.sum(weight) > 0) & ~stopped
        params, opt_state, aux = jax.lax.cond(
            run, sgd_step, lambda p, o, b: (p, o, zeros), params, opt_state, batch)
        if early_stop is not None:
          stopped = stopped | (run & (aux[early_stop] > config.target_kl))
        return (params, opt_state, stopped), (aux, run)

      return jax.lax.scan(minibatch, carry, (indices, weights))

    (params, opt_state, _), (aux, ran) = jax.lax.scan(
        epoch, (params, opt_state, jnp.array(False)), jax.random.split(key, config.num_epochs))
    steps = jnp.sum(ran)
    aux = jax.tree.map(lambda x: jnp.sum(x) / jnp.maximum(steps, 1), aux)
    return params, opt_state, aux, steps

  def iteration(state: TrainState):
    key, reset_key, collect_key, learn_key = jax.random.split(state.key, 4)
    reset_keys = jax.random.split(reset_key, config.rollout_batch_size)
    starts = parallel.shard_batch(jax.vmap(env.reset)(reset_keys))
    episode_keys = parallel.shard_batch(jax.random.split(collect_key, config.rollout_batch_size))
    trajectory, rollout = collect(state.params, episode_keys, starts)
    samples = algorithm.make_samples(state.params, trajectory)
    params, opt_state, losses, steps = learn(state.params, state.opt_state, samples, learn_key)
    real_steps = jnp.sum(rollout.valid).astype(jnp.float32)
    metrics = {
        "rollout/avg_return": jnp.mean(jnp.sum(rollout.reward, axis=0)),
        "rollout/avg_episode_length": real_steps / config.rollout_batch_size,
        "rollout/env_steps": real_steps,
        "train/sgd_steps": steps.astype(jnp.float32),
        **{f"train/{name}": value for name, value in losses.items()},
    }
    new_state = TrainState(params, opt_state, key, state.iteration + 1,
                           state.env_steps + real_steps)
    return new_state, metrics

  return jax.jit(iteration, donate_argnums=0)
