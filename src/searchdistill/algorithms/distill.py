"""Policy iteration via search distillation.

One iteration: collect episodes acting with Gumbel search over the true environment and record
the search's `action_weights` (softmax of prior logits + completed Q); compute Monte-Carlo
returns; then fit the network by cross-entropy to the weights and squared error to the returns,
over real (not padded) steps only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms.base import Algorithm, Rollout, per_step_keys
from searchdistill.algorithms.targets import monte_carlo_returns
from searchdistill.envs.base import Environment, EnvState
from searchdistill.networks.heads import mask_logits


class Trajectory(NamedTuple):
  """Time-major batch of episodes, padded to the environment's episode bound.

  Attributes:
    observation: observation pytree with leaves `[T, B, ...]`.
    action_mask: bool `[T, B, A]`.
    policy_target: float32 `[T, B, A]`, the search's action weights.
    reward: float32 `[T, B]`.
    valid: bool `[T, B]`, True on real steps.
  """

  observation: Any
  action_mask: chex.Array
  policy_target: chex.Array
  reward: chex.Array
  valid: chex.Array


class Samples(NamedTuple):
  """Flat training samples; `weight` is 1 for real steps and 0 for padding."""

  observation: Any
  action_mask: chex.Array
  policy_target: chex.Array
  value_target: chex.Array
  weight: chex.Array


def collect(env: Environment, search, params, keys: chex.PRNGKey, states: EnvState):
  """Plays a batch of episodes to the end with the search as the policy.

  Finished episodes are frozen (the adapter never forwards their actions), and their steps are
  marked invalid.

  Args:
    env: the environment.
    search: `search(params, keys, states) -> SearchOutput` for a batch of states.
    params: network parameters.
    keys: one RNG key per episode `[B]`; episode i's searches depend on `keys[i]` only, so
      the batch can be split over devices without changing any episode.
    states: `EnvState` batch `[B]` of freshly reset episodes.

  Returns:
    a time-major `Trajectory` of length `env.max_episode_steps`.
  """
  def act(states, step):
    out = search(params, per_step_keys(keys, step), states)
    next_states, reward = jax.vmap(env.step)(states, out.action)
    record = Trajectory(states.observation, states.action_mask, out.action_weights,
                        reward, ~states.done)
    return next_states, record

  _, trajectory = jax.lax.scan(act, states, jnp.arange(env.max_episode_steps))
  return trajectory


def make_samples(trajectory: Trajectory, discount: float) -> Samples:
  """Monte-Carlo targets, then flattens time and batch into one sample axis."""
  returns = jax.vmap(monte_carlo_returns, in_axes=(1, 1, None), out_axes=1)(
      trajectory.reward, trajectory.valid, discount)
  flat = lambda x: x.reshape((-1,) + x.shape[2:])
  return Samples(
      observation=jax.tree.map(flat, trajectory.observation),
      action_mask=flat(trajectory.action_mask), policy_target=flat(trajectory.policy_target),
      value_target=flat(returns), weight=flat(trajectory.valid).astype(jnp.float32))


def loss_fn(params, network, samples: Samples, *, value_loss_weight: float):
  """Weighted mean over real samples of CE(search weights, policy) + w * (value - return)^2."""
  out = network.apply(params, samples.observation)
  log_policy = jax.nn.log_softmax(mask_logits(out.logits, samples.action_mask))
  policy_loss = -jnp.sum(
      jnp.where(samples.action_mask, samples.policy_target * log_policy, 0.0), axis=-1)
  value_loss = jnp.square(out.value - samples.value_target)
  denominator = jnp.maximum(jnp.sum(samples.weight), 1.0)
  policy_loss = jnp.sum(samples.weight * policy_loss) / denominator
  value_loss = jnp.sum(samples.weight * value_loss) / denominator
  total = policy_loss + value_loss_weight * value_loss
  return total, dict(policy_loss=policy_loss, value_loss=value_loss)


def make_optimizer(config) -> optax.GradientTransformation:
  return optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                     optax.adam(config.learning_rate))


def make_algorithm(config, env: Environment, network, search) -> Algorithm:
  """Search distillation with `search` (batched) as the policy-improvement operator."""

  def collect_episodes(params, keys, states):
    trajectory = collect(env, search, params, keys, states)
    return trajectory, Rollout(trajectory.reward, trajectory.valid)

  return Algorithm(
      collect=collect_episodes,
      make_samples=lambda params, trajectory: make_samples(trajectory, config.discount),
      loss=lambda params, samples: loss_fn(params, network, samples,
                                           value_loss_weight=config.value_loss_weight))
