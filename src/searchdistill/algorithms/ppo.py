"""PPO with the same environment layer, network and training loop as search distillation.

Each iteration advances every stream (`algorithms.streams`) by one episode bound of steps,
sampling from the masked policy; advantages come from GAE along each stream, cut at episode
ends and bootstrapped from the value of the state a stream stopped in. The loss is the clipped
surrogate, a clipped value loss and an entropy bonus, averaged over live steps only.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp

from searchdistill.algorithms import streams as streams_lib
from searchdistill.algorithms.base import Algorithm, Rollout, per_step_keys
from searchdistill.algorithms.targets import stream_advantages
from searchdistill.envs.base import Environment
from searchdistill.networks.heads import mask_logits


class Trajectory(NamedTuple):
  """Time-major steps of `B` streams with what PPO needs to re-weight them.

  Attributes:
    observation: observation pytree with leaves `[T, B, ...]`.
    action_mask: bool `[T, B, A]`.
    action: int32 `[T, B]`, the sampled actions.
    log_prob: float32 `[T, B]`, their log-probabilities under the behaviour policy.
    value: float32 `[T, B]`, the value estimates (0 where not live).
    reward: float32 `[T, B]`.
    last: bool `[T, B]`, True where the step ended its episode.
    valid: bool `[T, B]`, True on steps of live episodes.
    bootstrap_value: float32 `[1, B]`, the value of the states the streams stopped in.
  """

  observation: Any
  action_mask: chex.Array
  action: chex.Array
  log_prob: chex.Array
  value: chex.Array
  reward: chex.Array
  last: chex.Array
  valid: chex.Array
  bootstrap_value: chex.Array


class Samples(NamedTuple):
  """Flat samples, `S = T x B` of them.

  Attributes:
    observation: observation pytree with leaves `[S, ...]`.
    action_mask: bool `[S, A]`.
    action: int32 `[S]`; log_prob, value: float32 `[S]`, as in the `Trajectory`.
    advantage: float32 `[S]`, GAE normalized over the real steps.
    value_target: float32 `[S]`, the return estimate: the advantage before normalization plus
      the value (0 on padding).
    weight: float32 `[S]`, 0 marks padding.
    view: None, or the observations of the same states seen as equivalent instances
      (leaves `[S, ...]`, see `reobserve`).
  """

  observation: Any
  action_mask: chex.Array
  action: chex.Array
  log_prob: chex.Array
  value: chex.Array
  advantage: chex.Array
  value_target: chex.Array
  weight: chex.Array
  view: Any = None


# Weight of the invariance terms of `loss_fn` on symmetric views: the value published with
# DrAC (Raileanu et al., 2021) for PPO with augmented observations.
VIEW_REGULARIZATION = 0.1


def collect(env: Environment, network, params, keys: chex.PRNGKey, streams, *, num_steps: int):
  """Advances a batch of streams by `num_steps` steps, sampling from the masked policy.

  `keys` holds one RNG key per stream (`[B]`), so streams don't depend on batch layout.

  Returns:
    `(trajectory, rollout, streams)`, time-major `[num_steps, B]`, and the advanced streams.
  """
  advance = jax.vmap(functools.partial(streams_lib.advance, env))

  def act(streams, step):
    states = streams.state
    step_keys = per_step_keys(keys, step)
    out = network.apply(params, states.observation)
    logits = mask_logits(out.logits, states.action_mask)
    action = jax.vmap(jax.random.categorical)(step_keys, logits).astype(jnp.int32)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], axis=-1)[:, 0]
    next_streams, done = advance(streams, action, jax.vmap(streams_lib.reset_key)(step_keys))
    live = ~states.done
    record = (
      states.observation,
      states.action_mask,
      action,
      log_prob,
      jnp.where(live, out.value, 0.0),
      done.reward,
      done.last,
      live,
    )
    return next_streams, (
      record,
      Rollout(live, done.last, done.episode_return, done.episode_length),
    )

  streams, (record, rollout) = jax.lax.scan(act, streams, jnp.arange(num_steps))
  bootstrap = network.apply(params, streams.state.observation).value
  bootstrap = jnp.where(streams.state.done, 0.0, bootstrap)[None]
  return Trajectory(*record, bootstrap_value=bootstrap), rollout, streams


def normalize(values: chex.Array, weight: chex.Array) -> chex.Array:
  """Zero mean, unit variance over the entries with weight 1; weighted-out entries become 0."""
  count = jnp.maximum(jnp.sum(weight), 1.0)
  mean = jnp.sum(values * weight) / count
  var = jnp.sum(jnp.square(values - mean) * weight) / count
  return jnp.where(weight > 0, (values - mean) / jnp.sqrt(var + 1e-8), 0.0)


def make_samples(trajectory: Trajectory, *, discount: float, gae_lambda: float) -> Samples:
  advantages = jax.vmap(stream_advantages, in_axes=(1, 1, 1, 0, None, None), out_axes=1)(
    trajectory.reward,
    trajectory.value,
    trajectory.last,
    trajectory.bootstrap_value[0],
    discount,
    gae_lambda,
  )
  advantages = jnp.where(trajectory.valid, advantages, 0.0)
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  weight = flat(trajectory.valid).astype(jnp.float32)
  advantage = flat(advantages)
  return Samples(
    observation=jax.tree.map(flat, trajectory.observation),
    action_mask=flat(trajectory.action_mask),
    action=flat(trajectory.action),
    log_prob=flat(trajectory.log_prob),
    value=flat(trajectory.value),
    advantage=normalize(advantage, weight),
    value_target=(advantage + flat(trajectory.value)) * weight,
    weight=weight,
  )


def loss_fn(
  params,
  network,
  samples: Samples,
  *,
  clip_eps: float,
  value_clip_eps: float,
  value_coef: float,
  entropy_coef: float,
):
  """Clipped surrogate + value_coef x clipped value loss - entropy_coef x entropy, on the
  observations the actions were taken in; with `samples.view`, plus `VIEW_REGULARIZATION` x
  (KL from the policy to the policy on the view + squared value difference), each with the
  original side held fixed (see `reobserve`)."""
  out = network.apply(params, samples.observation)
  log_policy = jax.nn.log_softmax(mask_logits(out.logits, samples.action_mask))
  log_prob = jnp.take_along_axis(log_policy, samples.action[:, None], axis=-1)[:, 0]
  log_ratio = log_prob - samples.log_prob
  ratio = jnp.exp(log_ratio)
  surrogate = jnp.minimum(
    ratio * samples.advantage, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * samples.advantage
  )
  clipped_value = samples.value + jnp.clip(
    out.value - samples.value, -value_clip_eps, value_clip_eps
  )
  value_loss = 0.5 * jnp.maximum(
    jnp.square(out.value - samples.value_target), jnp.square(clipped_value - samples.value_target)
  )
  policy = jnp.exp(log_policy)
  entropy = -jnp.sum(jnp.where(samples.action_mask, policy * log_policy, 0.0), axis=-1)
  approx_kl = (ratio - 1.0) - log_ratio

  count = jnp.maximum(jnp.sum(samples.weight), 1.0)
  mean = lambda x: jnp.sum(samples.weight * x) / count
  policy_loss, value_loss, entropy = -mean(surrogate), mean(value_loss), mean(entropy)
  total = policy_loss + value_coef * value_loss - entropy_coef * entropy
  metrics = dict(
    policy_loss=policy_loss,
    value_loss=value_loss,
    entropy=entropy,
    approx_kl=mean(approx_kl),
    clip_fraction=mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32)),
  )
  if samples.view is not None:
    view_policy, view_value = _view_divergence(params, network, samples, log_policy, out.value)
    metrics.update(view_policy_kl=mean(view_policy), view_value_error=mean(view_value))
    total = total + VIEW_REGULARIZATION * (metrics["view_policy_kl"] + metrics["view_value_error"])
  return total, metrics


def _view_divergence(params, network, samples: Samples, log_policy, value):
  """Per sample: KL(policy on the observation || policy on its view) and the squared value
  difference, with the observation's side held fixed so that only the view learns."""
  out = network.apply(params, samples.view)
  log_view = jax.nn.log_softmax(mask_logits(out.logits, samples.action_mask))
  log_policy = jax.lax.stop_gradient(log_policy)
  kl = jnp.sum(
    jnp.where(samples.action_mask, jnp.exp(log_policy) * (log_policy - log_view), 0.0), axis=-1
  )
  return kl, jnp.square(out.value - jax.lax.stop_gradient(value))


def reobserve(samples: Samples, observation) -> Samples:
  """The samples with `observation`, a view of equivalent instances, beside their own.

  The clipped surrogate stays on the observations the actions were sampled in: on a view, a
  network that is not yet invariant can give the taken action almost no probability, and the
  ratio against it grew to 1e33 within 46 iterations (policy loss NaN; 60-minute BinPack run,
  seed 0, 2026-11-30). The view teaches invariance through `loss_fn`'s regularizer instead,
  as DrAC does."""
  return samples._replace(view=observation)


def make_algorithm(config, env: Environment, network) -> Algorithm:

  def collect_streams(params, keys, streams):
    return collect(env, network, params, keys, streams, num_steps=env.max_episode_steps)

  def samples(params, memory, trajectory):
    del params  # The values were recorded while collecting.
    return make_samples(
      trajectory, discount=config.train.discount, gae_lambda=config.ppo.gae_lambda
    ), memory

  return Algorithm(
    collect=collect_streams,
    make_samples=samples,
    loss=lambda params, samples: loss_fn(
      params,
      network,
      samples,
      clip_eps=config.ppo.clip_eps,
      value_clip_eps=config.ppo.value_clip_eps,
      value_coef=config.ppo.value_coef,
      entropy_coef=config.ppo.entropy_coef,
    ),
    early_stop_key="approx_kl",
    reobserve=reobserve,
  )
