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
