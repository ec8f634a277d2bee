"""The jitted training iteration of distill and PPO (the `Algorithm` contract): collect,
targets, minibatch SGD."""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms import streams as streams_lib
from searchdistill.algorithms.base import Algorithm
from searchdistill.loop.sharding import DataParallel
from searchdistill.loop.stage import START


class TrainState(NamedTuple):
  """Everything a run needs to continue exactly where it stopped.

  Attributes:
    params: network parameters.
    opt_state: optimizer state.
    key: the training RNG key (typed key array).
    iteration: int32 scalar, completed iterations.
    env_steps: float32 scalar, real environment steps so far (float: no int32 overflow).
    streams: `algorithms.streams.Stream` batch `[B]`, the running episodes.
    memory: what the algorithm keeps between iterations (leaves `[L, B, ...]`), or `()`.
  """

  params: Any
  opt_state: Any
  key: chex.PRNGKey
  iteration: chex.Array
  env_steps: chex.Array
  streams: Any = ()
  memory: Any = ()


def init_train_state(config, env, network, optimizer, algorithm: Algorithm) -> TrainState:
  key = jax.random.fold_in(jax.random.key(config.run.seed), 0)
  key, init_key, obs_key, stream_key = jax.random.split(key, 4)
  example = jax.tree.map(lambda x: x[None], env.reset(obs_key).observation)
  params = network.init(init_key, example)
  stream_keys = jax.random.split(stream_key, config.train.rollout_batch_size)
  streams = jax.jit(jax.vmap(functools.partial(streams_lib.start, env)))(stream_keys)
  return TrainState(
    params,
    optimizer.init(params),
    key,
    jnp.int32(0),
    jnp.float32(0),
    streams,
    algorithm.init_memory(),
  )


def state_shardings(state: TrainState, parallel: DataParallel) -> TrainState:
  """Streams split along their batch axis, memory along its second (stream) axis, the rest
  replicated: the layout the iteration takes and returns, so it compiles once."""
  replicated = lambda tree: jax.tree.map(lambda _: parallel.replicated, tree)
  return TrainState(
    *(replicated(x) for x in state[:5]),
    streams=jax.tree.map(lambda _: parallel.batch, state.streams),
    memory=jax.tree.map(lambda _: parallel.stream_axis, state.memory),
  )


def _minibatch_plan(weight: chex.Array, key: chex.PRNGKey, batch_size: int, num_minibatches: int):
  """The first `num_minibatches` minibatches of a shuffle of the samples, real samples first.

  Returns `(indices [num_minibatches, batch_size], weights [same])`: slots past the real
  samples get weight 0, so minibatches with none are at the end (the update skips them).
  """
  num = weight.shape[0]
  noise = jax.random.uniform(key, (num,))
  order = jnp.argsort(jnp.where(weight > 0, noise, 1.0 + noise))
  slots = jnp.arange(num_minibatches * batch_size)
  indices = order[slots % num]
  weights = jnp.where(slots < num, weight[indices], 0.0)
  return indices.reshape(-1, batch_size), weights.reshape(-1, batch_size)


def learning_rate_scale(config, progress: chex.Array) -> chex.Array:
  """Multiplier of the learning rate at `progress` (0 to 1) through the run's budget."""
  if config.train.lr_schedule == "cosine":
    final = config.train.lr_final_fraction
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.clip(progress, 0.0, 1.0)))
    return final + (1.0 - final) * cosine
  return jnp.float32(1.0)


def _symmetric_views(env, batch_size: int):
  """`views(observations [batch_size], key) -> observations`: each sample seen as one of the
  environment's equivalent instances, drawn with its own key."""
  view = jax.vmap(env.symmetric_view)
  return lambda observations, key: view(observations, jax.random.split(key, batch_size))


def _make_learn(
  config, algorithm: Algorithm, optimizer, parallel: DataParallel, minibatches: int, views=None
):
  """`learn(params, opt_state, samples, key, lr_scale) -> (params, opt_state, losses, steps)`:
  `num_epochs` epochs of `minibatches` SGD steps each (see `make_iteration`); with `views`
  (see `_symmetric_views`), every minibatch is seen through fresh symmetric views, which the
  algorithm's `reobserve` turns into samples."""
  early_stop = algorithm.early_stop_key if config.ppo.target_kl > 0 else None

  def sgd_step(params, opt_state, samples, lr_scale):
    grads, aux = jax.grad(algorithm.loss, has_aux=True)(params, samples)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    if config.train.lr_schedule != "constant":
      updates = jax.tree.map(lambda u: u * lr_scale, updates)
    return optax.apply_updates(params, updates), opt_state, aux

  def learn(params, opt_state, samples, key, lr_scale):
    def epoch(carry, epoch_key):
      indices, weights = _minibatch_plan(
        samples.weight, epoch_key, config.train.training_batch_size, minibatches
      )
      # Derived from the shuffle's key (not split from it) so that runs without views keep
      # their shuffles bit for bit.
      view_keys = jax.random.split(jax.random.fold_in(epoch_key, 1), minibatches)

      def minibatch(carry, plan):
        params, opt_state, stopped = carry
        idx, weight, view_key = plan
        batch = parallel.shard_batch(
          jax.tree.map(lambda x: x[idx], samples)._replace(weight=weight)
        )
        if views is not None:
          batch = algorithm.reobserve(batch, views(batch.observation, view_key))
        aux_shape = jax.eval_shape(lambda: algorithm.loss(params, batch)[1])
        zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), aux_shape)
        run = (jnp.sum(weight) > 0) & ~stopped
        params, opt_state, aux = jax.lax.cond(
          run, sgd_step, lambda p, o, b, s: (p, o, zeros), params, opt_state, batch, lr_scale
        )
        if early_stop is not None:
          stopped = stopped | (run & (aux[early_stop] > config.ppo.target_kl))
        return (params, opt_state, stopped), (aux, run)

      return jax.lax.scan(minibatch, carry, (indices, weights, view_keys))

    (params, opt_state, _), (aux, ran) = jax.lax.scan(
      epoch, (params, opt_state, jnp.array(False)), jax.random.split(key, config.train.num_epochs)
    )
    steps = jnp.sum(ran)
    aux = jax.tree.map(lambda x: jnp.sum(x) / jnp.maximum(steps, 1), aux)
    return params, opt_state, aux, steps

  return learn


def _rollout_metrics(rollout) -> dict:
  real_steps = jnp.sum(rollout.valid).astype(jnp.float32)
  episodes = jnp.sum(rollout.last)
  per_episode = lambda x: jnp.sum(x).astype(jnp.float32) / jnp.maximum(episodes, 1)
  return {
    "rollout/avg_return": per_episode(rollout.episode_return),
    "rollout/avg_episode_length": per_episode(rollout.episode_length),
    "rollout/episodes": episodes.astype(jnp.float32),
    "rollout/env_steps": real_steps,
  }


def make_iteration(config, algorithm: Algorithm, env, optimizer, parallel: DataParallel):
  """Builds `iteration(train_state, stage) -> (train_state, metrics)`, one jitted function.

  `stage` (`loop.stage.Stage`) is how far the run is through its budget; the learning-rate
  schedule follows its start. Each of `num_epochs` epochs makes as many minibatch SGD steps
  as one pass over a new iteration's steps would, on minibatches of a fresh shuffle of the
  algorithm's samples; minibatches with no real sample are skipped, and so is everything
  after the algorithm's early-stop diagnostic exceeds `target_kl` (when that is positive).
  With `symmetric_views`, an environment with symmetries shows each minibatch sample as a
  random one of its equivalent instances.
  """
  collect = parallel.per_shard_episodes(algorithm.collect)
  new_steps = env.max_episode_steps * config.train.rollout_batch_size
  views = (
    _symmetric_views(env, config.train.training_batch_size)
    if config.train.symmetric_views and env.symmetries > 1
    else None
  )
  learn = _make_learn(
    config,
    algorithm,
    optimizer,
    parallel,
    math.ceil(new_steps / config.train.training_batch_size),
    views,
  )

  def iteration(state: TrainState, stage=START):
    key, collect_key, learn_key = jax.random.split(state.key, 3)
    stream_keys = parallel.shard_batch(
      jax.random.split(collect_key, config.train.rollout_batch_size)
    )
    trajectory, rollout, streams = collect(state.params, stream_keys, state.streams)
    samples, memory = algorithm.make_samples(state.params, state.memory, trajectory)
    lr_scale = learning_rate_scale(config, stage.start)
    params, opt_state, losses, steps = learn(
      state.params, state.opt_state, samples, learn_key, lr_scale
    )
    metrics = {
      **_rollout_metrics(rollout),
      "train/sgd_steps": steps.astype(jnp.float32),
      "train/learning_rate": config.train.learning_rate * lr_scale,
      **{f"train/{name}": value for name, value in losses.items()},
    }
    new_state = TrainState(
      params,
      opt_state,
      key,
      state.iteration + 1,
      state.env_steps + metrics["rollout/env_steps"],
      streams,
      memory,
    )
    new_state = jax.lax.with_sharding_constraint(new_state, state_shardings(new_state, parallel))
    return new_state, metrics

  return jax.jit(iteration, donate_argnums=0)
