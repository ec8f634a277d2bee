"""Multi-agent planners over the learned joint model, each with `mctx.gumbel_muzero_policy` or
`mctx.muzero_policy` (PUCT with optional Dirichlet root noise).

  * independent: one search per agent over its own actions; inside the model the other agents
    take the argmax of their predicted policies.
  * sequential: agents plan one after another; agent i's search holds the actions already chosen
    by agents 0..i-1 in the joint action of its first model step (later steps: argmax).
  * joint: one search over K joint actions sampled from the factorized prior at every node
    (Sampled MuZero). Sampling from the prior itself makes the corrected prior (beta-hat / beta)
    x pi equal to the empirical distribution of the samples: a uniform prior over the K draws,
    duplicates adding up. With `num_samples=None` every joint action is enumerated with its
    exact prior (exhaustive joint search; only for tiny problems).

With few simulations Gumbel search is the one that improves the policy: its targets are
softmax(prior logits + completed Q), where PUCT's visit counts stay close to the prior (on
simple_spread with 8 simulations per agent, PUCT targets trained a policy no better than
random).

The root's per-agent action masks are respected (invalid root actions are never chosen, and the
other agents' argmax at the root is masked too); below the root the model knows no legality.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import mctx
import numpy as np

from searchdistill.networks.value_transform import Support, logits_to_scalar
from searchdistill.search.output import SearchOutput

PLANNERS = ("independent", "sequential", "joint")


class _AgentNode(NamedTuple):
  latent: chex.Array  # [B, N, W]
  agent: chex.Array  # int32 [B], whose actions this search branches on
  others: chex.Array  # int32 [B, N], what every agent plays from this node


class _JointNode(NamedTuple):
  latent: chex.Array  # [B, N, W]
  candidates: chex.Array  # int32 [B, K, N], the joint actions branched on here
  key: chex.Array  # [B] keys for the children's samples


def _masked_argmax(logits, mask):
  return jnp.argmax(jnp.where(mask, logits, -jnp.inf), axis=-1).astype(jnp.int32)


def _sample_joint(key, logits, num_samples):
  """K joint actions `[K, N]` from the factorized policy `logits [N, A]`."""
  return jax.random.categorical(key, logits, shape=(num_samples, logits.shape[0])).astype(jnp.int32)


def make_multi_agent_planner(
  network,
  support: Support,
  *,
  planner: str,
  num_simulations: int,
  discount: float,
  num_samples: int | None = 16,
  policy_type: str,
  dirichlet_alpha: float = 0.3,
  dirichlet_fraction: float = 0.25,
  temperature: float = 1.0,
  gumbel_scale: float = 1.0,
  max_num_considered_actions: int = 16,
) -> Callable[..., SearchOutput]:
  """Builds `plan(params, key, observations [B, N, D], action_mask bool [B, N, A])`.

  Args:
    network: a `MultiAgentMuZeroNetwork`.
    support: the support of its value and reward heads.
    planner: one of `PLANNERS`.
    num_simulations: simulations per search (each agent's search for independent/sequential).
    discount: discount between model steps.
    num_samples: joint planner's K; None enumerates every joint action.
    policy_type: "gumbel" (`mctx.gumbel_muzero_policy`) or "muzero" (`mctx.muzero_policy`).
    dirichlet_alpha, dirichlet_fraction: PUCT root noise (fraction 0 turns it off).
    temperature: PUCT visit-count temperature of the executed action.
    gumbel_scale: Gumbel root noise (0 when evaluating).
    max_num_considered_actions: Gumbel's root top-k (at most the actions, or samples, at the
      root).
  """
  if planner not in PLANNERS:
    raise ValueError(f"planner must be one of {PLANNERS}, got {planner!r}")
  if policy_type not in ("gumbel", "muzero"):
    raise ValueError(f"policy_type must be 'gumbel' or 'muzero', got {policy_type!r}")
  return _Planner(
    network,
    support,
    planner=planner,
    num_simulations=num_simulations,
    discount=discount,
    num_samples=num_samples,
    policy_type=policy_type,
    dirichlet_alpha=dirichlet_alpha,
    dirichlet_fraction=dirichlet_fraction,
    temperature=temperature,
    gumbel_scale=gumbel_scale,
    max_num_considered_actions=max_num_considered_actions,
  )


@dataclasses.dataclass(frozen=True, eq=False)
class _Planner:
  """The planners of `make_multi_agent_planner`, with the pieces they share."""

  network: Any
  support: Support
  planner: str
  num_simulations: int
  discount: float
  num_samples: int | None
  policy_type: str
  dirichlet_alpha: float
  dirichlet_fraction: float
  temperature: float
  gumbel_scale: float
  max_num_considered_actions: int

  def __call__(
    self, params, key: chex.PRNGKey, observations: chex.Array, action_mask: chex.Array
  ) -> SearchOutput:
    chex.assert_rank(action_mask, 3)
    latent = self.network.apply(params, observations, method="represent")
    prediction = self.network.apply(params, latent, method="predict")
    plan = {
      "independent": self._independent,
      "sequential": self._sequential,
      "joint": self._joint,
    }[self.planner]
    return plan(params, key, latent, prediction, action_mask)

  def _run_mctx(self, params, key, root, recurrent_fn, invalid_actions):
    if self.policy_type == "gumbel":
      return mctx.gumbel_muzero_policy(
        params,
        key,
        root,
        recurrent_fn,
        num_simulations=self.num_simulations,
        invalid_actions=invalid_actions,
        gumbel_scale=self.gumbel_scale,
        max_num_considered_actions=min(self.max_num_considered_actions, invalid_actions.shape[-1]),
      )
    return mctx.muzero_policy(
      params,
      key,
      root,
      recurrent_fn,
      num_simulations=self.num_simulations,
      invalid_actions=invalid_actions,
      dirichlet_alpha=self.dirichlet_alpha,
      dirichlet_fraction=self.dirichlet_fraction,
      temperature=self.temperature,
    )

  def _model_step(self, params, latent, joint):
    next_latent, reward_logits = self.network.apply(params, latent, joint, method="dynamics")
    prediction = self.network.apply(params, next_latent, method="predict")
    return next_latent, logits_to_scalar(reward_logits, self.support), prediction

  def _agent_recurrent_fn(self, params, rng_key, action, node: _AgentNode):
    del rng_key
    batch = jnp.arange(action.shape[0])
    joint = node.others.at[batch, node.agent].set(action)
    next_latent, reward, prediction = self._model_step(params, node.latent, joint)
    out = mctx.RecurrentFnOutput(
      reward=reward,
      discount=jnp.full_like(reward, self.discount),
      prior_logits=prediction.policy_logits[batch, node.agent],
      value=logits_to_scalar(prediction.value_logits, self.support),
    )
    greedy = jnp.argmax(prediction.policy_logits, axis=-1).astype(jnp.int32)
    return out, _AgentNode(next_latent, node.agent, greedy)

  def _agent_search(self, params, key, latent, prediction, agent, others, mask):
    """One search per row, branching on agent `agent [B]`'s actions."""
    batch = jnp.arange(agent.shape[0])
    root = mctx.RootFnOutput(
      prior_logits=prediction.policy_logits[batch, agent],
      value=logits_to_scalar(prediction.value_logits, self.support),
      embedding=_AgentNode(latent, agent, others),
    )
    output = self._run_mctx(params, key, root, self._agent_recurrent_fn, ~mask[batch, agent])
    return (
      output.action.astype(jnp.int32),
      output.action_weights,
      output.search_tree.node_values[:, 0],
    )

  def _independent(self, params, key, latent, prediction, action_mask):
    # All N searches in one batch of B x N rows; the others play their masked argmax.
    b, n, a = action_mask.shape
    greedy = _masked_argmax(prediction.policy_logits, action_mask)  # [B, N]
    rows = lambda x: jnp.repeat(x, n, axis=0)
    agent = jnp.tile(jnp.arange(n, dtype=jnp.int32), b)
    # The same key as the sequential planner's first search: with one agent they coincide.
    actions, weights, values = self._agent_search(
      params,
      jax.random.fold_in(key, 0),
      rows(latent),
      jax.tree.map(rows, prediction),
      agent,
      rows(greedy),
      rows(action_mask),
    )
    return SearchOutput(actions.reshape(b, n), weights.reshape(b, n, a), values.reshape(b, n)[:, 0])

  def _sequential(self, params, key, latent, prediction, action_mask):
    b, n, _ = action_mask.shape
    chosen = _masked_argmax(prediction.policy_logits, action_mask)  # [B, N]
    targets, root_value = [], None
    for i in range(n):
      agent = jnp.full((b,), i, jnp.int32)
      action, weights, values = self._agent_search(
        params, jax.random.fold_in(key, i), latent, prediction, agent, chosen, action_mask
      )
      chosen = chosen.at[:, i].set(action)
      targets.append(weights)
      root_value = values if root_value is None else root_value
    return SearchOutput(chosen, jnp.stack(targets, axis=1), root_value)

  def _joint_recurrent_fn(self, params, rng_key, action, node: _JointNode):
    del rng_key
    batch = jnp.arange(action.shape[0])
    joint = node.candidates[batch, action]
    next_latent, reward, prediction = self._model_step(params, node.latent, joint)
    keys = jax.vmap(jax.random.fold_in)(node.key, action)
    candidates, prior = self._candidates_and_prior(keys, prediction.policy_logits)
    out = mctx.RecurrentFnOutput(
      reward=reward,
      discount=jnp.full_like(reward, self.discount),
      prior_logits=prior,
      value=logits_to_scalar(prediction.value_logits, self.support),
    )
    return out, _JointNode(next_latent, candidates, keys)

  def _candidates_and_prior(self, keys, logits):
    """(`[B, K, N]` candidate joint actions, `[B, K]` prior logits) at nodes with per-agent
    policy `logits [B, N, A]`."""
    b, n, a = logits.shape
    if self.num_samples is None:
      table = jnp.asarray(np.array(list(itertools.product(range(a), repeat=n))), jnp.int32)
      log_policy = jax.nn.log_softmax(logits, axis=-1)  # [B, N, A]
      prior = jnp.sum(
        jnp.take_along_axis(log_policy[:, None], table[None, :, :, None], axis=-1)[..., 0], axis=-1
      )
      return jnp.broadcast_to(table, (b,) + table.shape), prior
    num_samples = self.num_samples
    candidates = jax.vmap(lambda k, row: _sample_joint(k, row, num_samples))(keys, logits)
    return candidates, jnp.zeros((b, num_samples))

  def _joint(self, params, key, latent, prediction, action_mask):
    b, _, a = action_mask.shape
    sample_key, search_key = jax.random.split(key)
    # Finite: an all -inf combination would turn the enumerated prior's sums into NaN.
    masked_logits = jnp.where(action_mask, prediction.policy_logits, -1e9)
    node_keys = jax.random.split(sample_key, b)
    candidates, prior = self._candidates_and_prior(node_keys, masked_logits)
    invalid = ~jnp.all(
      jnp.take_along_axis(action_mask[:, None], candidates[..., None], axis=-1)[..., 0], axis=-1
    )  # [B, K]
    root = mctx.RootFnOutput(
      prior_logits=prior,
      value=logits_to_scalar(prediction.value_logits, self.support),
      embedding=_JointNode(latent, candidates, node_keys),
    )
    output = self._run_mctx(params, search_key, root, self._joint_recurrent_fn, invalid)
    joint_action = candidates[jnp.arange(b), output.action]
    one_hot = jax.nn.one_hot(candidates, a)  # [B, K, N, A]
    targets = jnp.einsum("bk,bkna->bna", output.action_weights, one_hot)
    return SearchOutput(joint_action, targets, output.search_tree.node_values[:, 0])
