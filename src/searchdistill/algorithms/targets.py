"""Value targets: pure functions for one episode, batched by the caller's `vmap`."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def monte_carlo_returns(rewards: chex.Array, valid: chex.Array, discount: float) -> chex.Array:
  """Discounted return-to-go of each step of one episode.

  `G[t] = r[t] + discount * G[t+1]`, with `G = 0` on padded steps (where `valid` is False), so
  an episode padded to a fixed length gets the same targets as the unpadded episode.

  Args:
    rewards: float `[T]` rewards of the steps.
    valid: bool `[T]`, True for real steps (a prefix of the episode).
    discount: the discount factor.

  Returns:
    float32 `[T]` returns.
  """
  chex.assert_rank([rewards, valid], 1)
  chex.assert_equal_shape([rewards, valid])
  rewards = jnp.where(valid, rewards, 0.0).astype(jnp.float32)

  def backward(future, step):
    reward, is_valid = step
    ret = jnp.where(is_valid, reward + discount * future, 0.0)
    return ret, ret

  _, returns = jax.lax.scan(backward, jnp.float32(0.0), (rewards, valid), reverse=True)
  return returns


def generalized_advantages(rewards: chex.Array, values: chex.Array, valid: chex.Array,
                           discount: float, gae_lambda: float) -> chex.Array:
  """GAE(lambda) advantages of one episode, the value after its last real step taken as 0.

  `delta[t] = r[t] + discount * V[t+1] - V[t]`, `A[t] = delta[t] + discount * lambda * A[t+1]`,
  with `V` and `A` zero on padded steps (where `valid` is False).

  Args:
    rewards: float `[T]`.
    values: float `[T]`, value estimates of the states the steps started from.
    valid: bool `[T]`, True for real steps (a prefix).
    discount: the discount factor.
    gae_lambda: the GAE lambda.

  Returns:
    float32 `[T]` advantages, 0 on padded steps.
  """
  chex.assert_rank([rewards, values, valid], 1)
  chex.assert_equal_shape([rewards, values, valid])
  rewards = jnp.where(valid, rewards, 0.0).astype(jnp.float32)
  values = jnp.where(valid, values, 0.0).astype(jnp.float32)

  def backward(carry, step):
    next_value, next_advantage = carry
    reward, value, is_valid = step
    delta = reward + discount * next_value - value
    advantage = jnp.where(is_valid, delta + discount * gae_lambda * next_advantage, 0.0)
    return (value, advantage), advantage

  init = (jnp.float32(0.0), jnp.float32(0.0))
  _, advantages = jax.lax.scan(backward, init, (rewards, values, valid), reverse=True)
  return advantages
