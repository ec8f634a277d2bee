"""Policy iteration via search distillation.

One iteration: advance every stream (`algorithms.streams`) by one episode bound of steps,
acting with Gumbel search over the true environment and recording the search's
`action_weights` (softmax of prior logits + completed Q); append the steps to a history of the
last iterations; compute Monte-Carlo returns of every step whose episode has ended; then fit
the network by cross-entropy to the weights and squared error to the returns on minibatches
drawn from the history's finished episodes.

A search target is the expensive part of an iteration (`num_simulations` of the true
environment and the network per step, 32 in the BinPack cpu preset), so the history keeps
each one for `replay_iterations` iterations; `num_epochs` is the expected number of times each
step is learned from, whatever the window.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms import streams as streams_lib
from searchdistill.algorithms.base import Algorithm, Rollout, per_step_keys
from searchdistill.algorithms.targets import stream_returns
from searchdistill.envs.base import Environment
from searchdistill.networks.heads import mask_logits


class Trajectory(NamedTuple):
  """Time-major steps of `B` streams.

  Attributes:
    observation: observation pytree with leaves `[T, B, ...]`.
    action_mask: bool `[T, B, A]`.
    policy_target: float32 `[T, B, A]`, the search's action weights.
    reward: float32 `[T, B]`.
    last: bool `[T, B]`, True where the step ended its episode.
    valid: bool `[T, B]`, True on recorded steps (False in a history's empty slots).
  """

  observation: Any
  action_mask: chex.Array
  policy_target: chex.Array
  reward: chex.Array
  last: chex.Array
  valid: chex.Array


class Samples(NamedTuple):
  """Flat training samples, `S` of them (a history's `T x B` steps).

  Attributes:
    observation: observation pytree with leaves `[S, ...]`.
    action_mask: bool `[S, A]`.
    policy_target: float32 `[S, A]`, the search's action weights.
    value_target: float32 `[S]`, the Monte-Carlo return from the step.
    weight: float32 `[S]`, 1 for steps of finished episodes, else 0.
  """

  observation: Any
  action_mask: chex.Array
  policy_target: chex.Array
  value_target: chex.Array
  weight: chex.Array


def collect(env: Environment, search, params, keys: chex.PRNGKey, streams, *, num_steps: int):
  """Advances a batch of streams by `num_steps` steps with the search as the policy.

  Args:
    env: the environment.
    search: `search(params, keys, states) -> SearchOutput` for a batch of states.
    params: network parameters.
    keys: one RNG key per stream `[B]`; stream i's searches and resets depend on `keys[i]`
      only, so the batch can be split over devices without changing any stream.
    streams: `streams.Stream` batch `[B]`.
    num_steps: steps per stream.

  Returns:
    `(trajectory, rollout, streams)`: time-major `Trajectory` and `Rollout` `[num_steps, B]`
    and the advanced streams.
  """
  advance = jax.vmap(functools.partial(streams_lib.advance, env))

  def act(streams, step):
    step_keys = per_step_keys(keys, step)
    out = search(params, step_keys, streams.state)
    next_streams, done = advance(streams, out.action, jax.vmap(streams_lib.reset_key)(step_keys))
    live = ~streams.state.done
    record = Trajectory(
      streams.state.observation,
      streams.state.action_mask,
      out.action_weights,
      done.reward,
      done.last,
      live,
    )
    return next_streams, (
      record,
      Rollout(live, done.last, done.episode_return, done.episode_length),
    )

  streams, (trajectory, rollout) = jax.lax.scan(act, streams, jnp.arange(num_steps))
  return trajectory, rollout, streams


def empty_history(env: Environment, *, num_streams: int, length: int) -> Trajectory:
  """A history of `length` steps of `num_streams` streams with no recorded step."""
  state = jax.eval_shape(env.reset, jax.random.key(0))
  zeros = lambda s: jnp.zeros((length, num_streams) + s.shape, s.dtype)
  return Trajectory(
    observation=jax.tree.map(zeros, state.observation),
    action_mask=zeros(state.action_mask),
    policy_target=jnp.zeros((length, num_streams, env.num_actions), jnp.float32),
    reward=jnp.zeros((length, num_streams), jnp.float32),
    last=jnp.zeros((length, num_streams), bool),
    valid=jnp.zeros((length, num_streams), bool),
  )


def make_samples(history: Trajectory, trajectory: Trajectory, *, discount: float):
  """Appends the new steps to the history (dropping as many of its oldest), then gives every
  step of the history as a sample, with weight 1 where its episode has ended."""
  num_new = trajectory.reward.shape[0]
  history = jax.tree.map(
    lambda old, new: jnp.concatenate([old[num_new:], new]), history, trajectory
  )
  returns, complete = jax.vmap(stream_returns, in_axes=(1, 1, 1, None), out_axes=1)(
    history.reward, history.last, history.valid, discount
  )
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  samples = Samples(
    observation=jax.tree.map(flat, history.observation),
    action_mask=flat(history.action_mask),
    policy_target=flat(history.policy_target),
    value_target=flat(returns),
    weight=flat(complete).astype(jnp.float32),
  )
  return samples, history


def loss_fn(params, network, samples: Samples, *, value_loss_weight: float):
  """Weighted mean over real samples of CE(search weights, policy) + w * (value - return)^2.

  Also reports the target's entropy, so that `policy_loss - target_entropy` is the KL from
  the search's weights to the network's policy: how far the student is from its teacher."""
  out = network.apply(params, samples.observation)
  log_policy = jax.nn.log_softmax(mask_logits(out.logits, samples.action_mask))
  in_support = samples.action_mask & (samples.policy_target > 0)
  policy_loss = -jnp.sum(jnp.where(in_support, samples.policy_target * log_policy, 0.0), -1)
  target_entropy = -jnp.sum(
    jnp.where(
      in_support,
      samples.policy_target * jnp.log(jnp.where(in_support, samples.policy_target, 1.0)),
      0.0,
    ),
    -1,
  )
  value_loss = jnp.square(out.value - samples.value_target)
  denominator = jnp.maximum(jnp.sum(samples.weight), 1.0)
  mean = lambda x: jnp.sum(samples.weight * x) / denominator
  policy_loss, value_loss = mean(policy_loss), mean(value_loss)
  total = policy_loss + value_loss_weight * value_loss
  return total, dict(
    policy_loss=policy_loss,
    value_loss=value_loss,
    target_entropy=jax.lax.stop_gradient(mean(target_entropy)),
  )


def make_optimizer(config) -> optax.GradientTransformation:
  return optax.chain(
    optax.clip_by_global_norm(config.train.max_grad_norm), optax.adam(config.train.learning_rate)
  )


def make_algorithm(config, env: Environment, network, search) -> Algorithm:
  """Search distillation with `search` (batched) as the policy-improvement operator."""
  steps = env.max_episode_steps
  # The running episodes' first steps must still be in the history when they end.
  length = config.distill.replay_iterations * steps + env.max_episode_steps

  def collect_streams(params, keys, streams):
    return collect(env, search, params, keys, streams, num_steps=steps)

  return Algorithm(
    collect=collect_streams,
    make_samples=lambda params, history, trajectory: make_samples(
      history, trajectory, discount=config.train.discount
    ),
    loss=lambda params, samples: loss_fn(
      params, network, samples, value_loss_weight=config.train.value_loss_weight
    ),
    init_memory=lambda: empty_history(
      env, num_streams=config.train.rollout_batch_size, length=length
    ),
  )
