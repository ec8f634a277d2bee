"""MuZero's learning step: unroll targets from replayed windows, the unrolled loss, reanalyse.

A replayed window is `W = K + n + 1` consecutive steps of one stream (see `replay`): states
s..s+K get policy and value targets, the K actions taken from them drive the learned dynamics,
and the n-step value targets need rewards up to s+K+n-1 and the value of state s+K+n.

Episode ends inside a window: a state after the step that ended the episode is "absorbing".
Its value and reward targets are 0, and its policy and consistency losses are masked (the
stored observations there already belong to the next episode). A time-limit truncation is
treated like termination here: the stream holds no value for the truncated episode's last
state, so the return stops there.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from searchdistill.algorithms.targets import alive_mask, n_step_returns
from searchdistill.networks.value_transform import Support, logits_to_scalar, scalar_to_target


class Step(NamedTuple):
  """One stored step of a stream (leaves gain `[E, C]` in the buffer, `[B, W]` when sampled).

  Attributes:
    observation: the observation the step started from.
    action_mask: bool `[A]`, the actions valid there (`[N, A]` for N agents).
    action: int32, the action taken (`[N]`: the joint action).
    reward: float32, the reward received.
    terminated: bool, the step ended the episode in a terminal state.
    boundary: bool, the step ended the episode (terminated or truncated).
    policy: float32 `[A]` (`[N, A]`), the search's policy target at the observation.
    root_value: float32, the search's value of the observation.
  """

  observation: Any
  action_mask: chex.Array
  action: chex.Array
  reward: chex.Array
  terminated: chex.Array
  boundary: chex.Array
  policy: chex.Array
  root_value: chex.Array


class UnrollTargets(NamedTuple):
  """Targets of one window for a K-step unroll.

  Attributes:
    observation: leaves `[K + 1, ...]`, the real observations of states s..s+K.
    action: int32 `[K]` (`[K, N]` for N agents), the actions taken from states s..s+K-1.
    policy: float32 `[K + 1, A]` (`[K + 1, N, A]`), the search's action weights.
    value: float32 `[K + 1]`, n-step returns (0 for absorbing states).
    reward: float32 `[K]`, rewards of the K steps (0 from absorbing states).
    alive: bool `[K + 1]`, the state is in the episode of state s.
  """

  observation: Any
  action: chex.Array
  policy: chex.Array
  value: chex.Array
  reward: chex.Array
  alive: chex.Array


def unroll_targets(
  window: Step, *, num_unroll_steps: int, td_steps: int, discount: float
) -> UnrollTargets:
  """Targets for one window of `num_unroll_steps + td_steps + 1` steps (no batch axis)."""
  k, n = num_unroll_steps, td_steps
  chex.assert_shape(window.reward, (k + n + 1,))
  transitions = k + n
  discounts = discount * (1.0 - window.boundary[:transitions].astype(jnp.float32))
  returns = n_step_returns(
    window.reward[:transitions], discounts, window.root_value[1 : transitions + 1], n=n
  )[: k + 1]
  alive = alive_mask(window.boundary[:k])
  return UnrollTargets(
    observation=jax.tree.map(lambda x: x[: k + 1], window.observation),
    action=window.action[:k],
    policy=window.policy[: k + 1],
    value=jnp.where(alive, returns, 0.0),
    reward=jnp.where(alive[:k], window.reward[:k], 0.0),
    alive=alive,
  )


def _scale_gradient(x, scale: float):
  return x * scale + jax.lax.stop_gradient(x) * (1.0 - scale)


def _cross_entropy(target_probs, logits):
  """Per example `[B]`; a multi-agent policy `[B, N, A]` sums its agents' cross-entropies."""
  per_row = -jnp.sum(target_probs * jax.nn.log_softmax(logits), axis=-1)
  return per_row.reshape(per_row.shape[0], -1).sum(axis=-1)


def _prediction_terms(prediction, targets: UnrollTargets, k: int, support: Support):
  """The policy (on live steps) and value cross-entropies of unroll step `k`, per example."""
  alive = targets.alive[:, k].astype(jnp.float32)
  policy_term = alive * _cross_entropy(targets.policy[:, k], prediction.policy_logits)
  value_term = _cross_entropy(
    scalar_to_target(targets.value[:, k], support), prediction.value_logits
  )
  return policy_term, value_term


def _consistency(params, network, latent, targets: UnrollTargets, k: int):
  """Cosine similarity of the predicted latent's projection and the stopped projection of the
  encoded real observation of step `k` (EfficientZero), per example."""
  real = network.apply(
    params, jax.tree.map(lambda x: x[:, k], targets.observation), method="represent"
  )
  target = jax.lax.stop_gradient(
    network.apply(params, real, with_predictor=False, method="project")
  )
  online = network.apply(params, latent, with_predictor=True, method="project")
  return optax.cosine_similarity(online, target, epsilon=1e-5)


def loss_fn(
  params,
  network,
  targets: UnrollTargets,
  weight: chex.Array,
  *,
  support: Support,
  value_loss_weight: float = 0.25,
  consistency_weight: float = 0.0,
):
  """The unrolled MuZero loss over a batch of `B` windows.

  Args:
    params: network parameters.
    network: a `MuZeroNetwork`.
    targets: `UnrollTargets` with a leading batch axis `[B, ...]`.
    weight: float32 `[B]`, importance-sampling weights.
    support: the value/reward support.
    value_loss_weight: weight of the value cross-entropy (MuZero Reanalyse uses 0.25).
    consistency_weight: weight of the negative cosine similarity between the predicted next
      latent's projection and the stopped projection of the encoded real next observation
      (EfficientZero); 0 turns it off.

  Returns:
    `(loss, aux)` with per-term means and `priority` `[B]`, the |value error| at the root.
  """
  num_unroll = targets.action.shape[1]
  latent = network.apply(
    params, jax.tree.map(lambda x: x[:, 0], targets.observation), method="represent"
  )
  policy_loss = value_loss = reward_loss = consistency_loss = 0.0
  root_value = None
  for k in range(num_unroll + 1):
    prediction = network.apply(params, latent, method="predict")
    policy_term, value_term = _prediction_terms(prediction, targets, k, support)
    if k == 0:
      root_value = logits_to_scalar(prediction.value_logits, support)
    # Every unrolled step shares one unit of loss with the root (MuZero's 1/K scaling).
    scale = 1.0 if k == 0 else 1.0 / num_unroll
    policy_loss += scale * policy_term
    value_loss += scale * value_term
    if k == num_unroll:
      break
    latent, reward_logits = network.apply(params, latent, targets.action[:, k], method="dynamics")
    reward_loss += (1.0 / num_unroll) * _cross_entropy(
      scalar_to_target(targets.reward[:, k], support), reward_logits
    )
    if consistency_weight:
      similarity = _consistency(params, network, latent, targets, k + 1)
      consistency_loss += (1.0 / num_unroll) * targets.alive[:, k + 1] * -similarity
    latent = _scale_gradient(latent, 0.5)

  terms = dict(
    policy_loss=policy_loss,
    value_loss=value_loss,
    reward_loss=reward_loss,
    consistency_loss=consistency_loss,
  )
  weights = dict(value_loss=value_loss_weight, consistency_loss=consistency_weight)
  return _total(terms, weights, weight, priority=jnp.abs(root_value - targets.value[:, 0]))


def _total(terms: dict, weights: dict, weight, *, priority):
  """`(loss, aux)`: the importance-weighted mean of the weighted sum of the per-example loss
  `terms`, and each term's weighted mean (a term never added stays 0)."""
  per_example = (
    terms["policy_loss"]
    + weights["value_loss"] * terms["value_loss"]
    + terms["reward_loss"]
    + weights["consistency_loss"] * terms["consistency_loss"]
  )
  mean = lambda x: jnp.mean(weight * x) if jnp.ndim(x) else jnp.float32(x)
  aux = {name: mean(term) for name, term in terms.items()}
  return jnp.mean(weight * per_example), {**aux, "priority": priority}


def reanalyse(window: Step, target_params, key: chex.PRNGKey, *, search, fraction: float) -> Step:
  """Refreshes the targets of the first `round(fraction * B)` windows of a batch `[B, W]`.

  Their policy targets and root values are recomputed by searching every observation with the
  target network (so the n-step bootstraps use fresh values too); the other windows keep the
  targets stored when they were collected.
  """
  batch, length = window.reward.shape
  count = int(round(fraction * batch))
  if count == 0:
    return window
  fresh = jax.tree.map(lambda x: x[:count], window)
  flat = lambda x: x.reshape((count * length,) + x.shape[2:])
  out = search(target_params, key, jax.tree.map(flat, fresh.observation), flat(fresh.action_mask))
  unflat = lambda x: x.reshape((count, length) + x.shape[1:])
  policy = window.policy.at[:count].set(unflat(out.action_weights))
  root_value = window.root_value.at[:count].set(unflat(out.root_value))
  return window._replace(policy=policy, root_value=root_value)
