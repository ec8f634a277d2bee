"""MuZero search over a learned model: `mctx.muzero_policy` or `mctx.gumbel_muzero_policy`.

The root is the representation of real observations; every expansion runs the learned dynamics
and prediction. Values and rewards leave the network as categorical logits and enter the tree
as raw scalars (`value_transform.logits_to_scalar`). The model knows no legality, so the root's
invalid actions are masked (mctx never selects them there) and the executed action is always
a valid root action; below the root the model's own policy decides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import chex
import jax.numpy as jnp
import mctx

from searchdistill.networks.value_transform import Support, logits_to_scalar
from searchdistill.search.output import SearchOutput

POLICY_TYPES = ("muzero", "gumbel")


def make_learned_search(
  network,
  support: Support,
  *,
  policy_type: str,
  num_simulations: int,
  discount: float,
  dirichlet_alpha: float = 0.3,
  dirichlet_fraction: float = 0.25,
  temperature: float = 1.0,
  max_num_considered_actions: int = 16,
  gumbel_scale: float = 1.0,
) -> Callable[..., SearchOutput]:
  """Builds `search(params, key, observations [B, ...], action_mask bool [B, A])`.

  Args:
    network: a `MuZeroNetwork`.
    support: the support of its value and reward heads.
    policy_type: "muzero" (PUCT with Dirichlet root noise; acts by sampling visit counts at
      `temperature`) or "gumbel" (Gumbel MuZero; acts with the search's choice).
    num_simulations: simulations per search.
    discount: discount between model steps.
    dirichlet_alpha: "muzero" root noise concentration (`dirichlet_fraction` 0 turns it off).
    dirichlet_fraction: "muzero" weight of the root noise.
    temperature: "muzero" visit-count temperature for the executed action.
    max_num_considered_actions: "gumbel" root actions kept by Gumbel top-k (every action if
      there are fewer: mctx's visit schedule assumes that many actions exist).
    gumbel_scale: "gumbel" noise scale (0 for a deterministic search).
  """
  if policy_type not in POLICY_TYPES:
    raise ValueError(f"policy_type must be one of {POLICY_TYPES}, got {policy_type!r}")

  recurrent_fn = _model_recurrent_fn(network, support, discount)
  if policy_type == "muzero":
    noise = dict(
      dirichlet_alpha=dirichlet_alpha,
      dirichlet_fraction=dirichlet_fraction,
      temperature=temperature,
    )
    policy = functools.partial(mctx.muzero_policy, num_simulations=num_simulations, **noise)
  else:
    policy = functools.partial(
      mctx.gumbel_muzero_policy, num_simulations=num_simulations, gumbel_scale=gumbel_scale
    )

  def search(
    params, key: chex.PRNGKey, observations: chex.Array, action_mask: chex.Array
  ) -> SearchOutput:
    chex.assert_rank(action_mask, 2)
    root = _model_root(network, support, params, observations)
    extra = {}
    if policy_type == "gumbel":
      extra["max_num_considered_actions"] = min(max_num_considered_actions, action_mask.shape[-1])
    output = policy(params, key, root, recurrent_fn, invalid_actions=~action_mask, **extra)
    weights = jnp.where(action_mask, output.action_weights, 0.0)
    return SearchOutput(
      output.action.astype(jnp.int32), weights, output.search_tree.node_values[:, 0]
    )

  return search


def _model_root(network, support: Support, params, observations) -> mctx.RootFnOutput:
  """The search's root: the represented observations and their prediction."""
  latent = network.apply(params, observations, method="represent")
  prediction = network.apply(params, latent, method="predict")
  return mctx.RootFnOutput(
    prior_logits=prediction.policy_logits,
    value=logits_to_scalar(prediction.value_logits, support),
    embedding=latent,
  )


def _model_recurrent_fn(network, support: Support, discount: float):
  """mctx's `recurrent_fn` over the learned model: one dynamics step and a prediction."""

  def recurrent_fn(params, rng_key, action, latent):
    del rng_key
    next_latent, reward_logits = network.apply(params, latent, action, method="dynamics")
    prediction = network.apply(params, next_latent, method="predict")
    batch = action.shape[0]
    return mctx.RecurrentFnOutput(
      reward=logits_to_scalar(reward_logits, support),
      discount=jnp.full((batch,), discount, jnp.float32),
      prior_logits=prediction.policy_logits,
      value=logits_to_scalar(prediction.value_logits, support),
    ), next_latent

  return recurrent_fn
