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


def generalized_advantages(
  rewards: chex.Array, values: chex.Array, valid: chex.Array, discount: float, gae_lambda: float
) -> chex.Array:
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


def n_step_returns(
  rewards: chex.Array, discounts: chex.Array, bootstrap_values: chex.Array, *, n: int
) -> chex.Array:
  """n-step bootstrapped returns along one stretch of experience, truncated at its end.

  `G[t] = r[t] + d[t] r[t+1] + ... + (d[t]...d[t+m-2]) r[t+m-1] + (d[t]...d[t+m-1]) v[t+m-1]`
  with `m = min(n, T - t)`: at most n rewards, then the value of the state reached. A discount
  of 0 (the step ended the episode) cuts off everything after it.

  Args:
    rewards: float `[T]`, reward of the step from state t.
    discounts: float `[T]`, discount between state t and state t+1 (0 if the step was terminal).
    bootstrap_values: float `[T]`, value estimate of state t+1.
    n: number of rewards before bootstrapping (>= 1).

  Returns:
    float32 `[T]` returns.
  """
  chex.assert_rank([rewards, discounts, bootstrap_values], 1)
  chex.assert_equal_shape([rewards, discounts, bootstrap_values])
  if n < 1:
    raise ValueError(f"n must be >= 1, got {n}")
  length = rewards.shape[0]
  # Past the end: no reward, discount 1, the last state's value, so a stretch cut short
  # bootstraps from where it stops.
  pad = lambda x, value: jnp.concatenate([x, jnp.full((n - 1,), value, x.dtype)])
  rewards = pad(rewards.astype(jnp.float32), 0.0)
  discounts = pad(discounts.astype(jnp.float32), 1.0)
  values = pad(bootstrap_values.astype(jnp.float32), bootstrap_values[-1])
  returns = values[n - 1 : n - 1 + length]
  for i in reversed(range(n)):
    returns = rewards[i : i + length] + discounts[i : i + length] * returns
  return returns


def alive_mask(dones: chex.Array) -> chex.Array:
  """`alive[k]` is True when no step before k (of a stretch starting at a real state) ended the
  episode: the states a K-step unroll may learn real targets for.

  Args:
    dones: bool `[T]`, True where the step from state t ended the episode.

  Returns:
    bool `[T + 1]` for states 0..T.
  """
  chex.assert_rank(dones, 1)
  ended = jnp.cumsum(dones.astype(jnp.int32)) > 0
  return jnp.concatenate([jnp.array([True]), ~ended])


def stream_returns(
  rewards: chex.Array, last: chex.Array, valid: chex.Array, discount: float
) -> tuple[chex.Array, chex.Array]:
  """Monte-Carlo return-to-go of each step of one stream of episodes, and whether it is known.

  `G[t] = r[t] + discount * G[t+1]`, cut where `last[t]` (the step ended its episode). A step's
  return is complete when its episode ends within the stretch; steps of the episode still
  running at the end get `complete` False (their targets come once it ends). Invalid steps
  (an empty history's slots) get 0 and False.

  Args:
    rewards: float `[T]`.
    last: bool `[T]`, True where the step ended its episode.
    valid: bool `[T]`, True for recorded steps.
    discount: the discount factor.

  Returns:
    `(returns, complete)`: float32 `[T]` and bool `[T]`.
  """
  chex.assert_rank([rewards, last, valid], 1)
  chex.assert_equal_shape([rewards, last, valid])

  def backward(carry, step):
    future, future_complete = carry
    reward, is_last, is_valid = step
    ret = jnp.where(is_valid, reward + jnp.where(is_last, 0.0, discount * future), 0.0)
    complete = is_valid & (is_last | future_complete)
    return (ret, complete), (ret, complete)

  init = (jnp.float32(0.0), jnp.array(False))
  _, (returns, complete) = jax.lax.scan(
    backward, init, (rewards.astype(jnp.float32), last, valid), reverse=True
  )
  return returns, complete


def stream_advantages(
  rewards: chex.Array,
  values: chex.Array,
  last: chex.Array,
  bootstrap_value: chex.Array,
  discount: float,
  gae_lambda: float,
) -> chex.Array:
  """GAE(lambda) advantages along one stream of episodes cut at an arbitrary step.

  `delta[t] = r[t] + discount * (1 - last[t]) * V[t+1] - V[t]` and
  `A[t] = delta[t] + discount * lambda * (1 - last[t]) * A[t+1]`, where `V[T]` is
  `bootstrap_value`, the value of the state the stream stopped in.

  Args:
    rewards: float `[T]`.
    values: float `[T]`, value estimates of the states the steps started from.
    last: bool `[T]`, True where the step ended its episode.
    bootstrap_value: float scalar.
    discount: the discount factor.
    gae_lambda: the GAE lambda.

  Returns:
    float32 `[T]` advantages.
  """
  chex.assert_rank([rewards, values, last], 1)
  chex.assert_equal_shape([rewards, values, last])

  def backward(carry, step):
    next_value, next_advantage = carry
    reward, value, is_last = step
    keep = 1.0 - is_last.astype(jnp.float32)
    delta = reward + discount * keep * next_value - value
    advantage = delta + discount * gae_lambda * keep * next_advantage
    return (value, advantage), advantage

  init = (jnp.asarray(bootstrap_value, jnp.float32), jnp.float32(0.0))
  _, advantages = jax.lax.scan(
    backward, init, (rewards.astype(jnp.float32), values.astype(jnp.float32), last), reverse=True
  )
  return advantages
