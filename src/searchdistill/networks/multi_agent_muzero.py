"""The multi-agent world model: per-agent representation, joint dynamics with attention across
agents, a team reward, a centralized value and per-agent policies (Flax).

Agents share every weight and carry no identity embedding, so the model is permutation
equivariant: reordering the agents (observations and actions together) reorders the latents and
policies and leaves reward and value unchanged. Observations such as simple_spread's are already
agent-relative, which is what makes that sharing work.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from searchdistill.networks.muzero import normalize_latent


class JointPrediction(NamedTuple):
  """Prediction at one joint latent state.

  Attributes:
    policy_logits: float32 `[B, N, A]`, one factor of the joint prior per agent.
    value_logits: float32 `[B, num_atoms]`, the centralized team value.
  """

  policy_logits: chex.Array
  value_logits: chex.Array


class _AgentAttention(nn.Module):
  """Self-attention across the agent axis, then a feed-forward layer (pre-LayerNorm)."""

  width: int
  num_heads: int

  @nn.compact
  def __call__(self, x):
    y = nn.LayerNorm()(x)
    x = x + nn.MultiHeadDotProductAttention(num_heads=self.num_heads)(y, y)
    y = nn.Dense(self.width)(nn.relu(nn.Dense(2 * self.width)(nn.LayerNorm()(x))))
    return x + y


class MultiAgentMuZeroNetwork(nn.Module):
  """Called through `apply(..., method=...)`; latents are `[B, N, width]`.

  Attributes:
    num_actions: actions per agent.
    num_atoms: atoms of the value and reward supports.
    width: per-agent latent units.
    num_heads: attention heads across agents.
    num_blocks: attention blocks in the dynamics.
    projection_size: width of the consistency-loss projection.
  """

  num_actions: int
  num_atoms: int
  width: int = 64
  num_heads: int = 2
  num_blocks: int = 2
  projection_size: int = 64

  def setup(self):
    self.encoder = [nn.Dense(self.width), nn.Dense(self.width)]
    self.dynamics_in = nn.Dense(self.width)
    self.dynamics_blocks = [
      _AgentAttention(self.width, self.num_heads) for _ in range(self.num_blocks)
    ]
    self.prediction_block = _AgentAttention(self.width, self.num_heads)
    self.reward_head = [nn.Dense(self.width), nn.Dense(self.num_atoms)]
    self.value_head = [nn.Dense(self.width), nn.Dense(self.num_atoms)]
    self.policy_head = [nn.Dense(self.width), nn.Dense(self.num_actions)]
    self.projection = [nn.Dense(self.projection_size), nn.Dense(self.projection_size)]
    self.projection_predictor = [
      nn.Dense(self.projection_size // 2),
      nn.Dense(self.projection_size),
    ]

  @staticmethod
  def _mlp(layers, x):
    return layers[1](nn.relu(layers[0](x)))

  def represent(self, observation: chex.Array) -> chex.Array:
    """Observations `[B, N, D]` -> normalized latents `[B, N, width]` (each agent its own)."""
    chex.assert_rank(observation, 3)
    x = nn.relu(self._mlp(self.encoder, observation.astype(jnp.float32)))
    return jax.vmap(normalize_latent, in_axes=1, out_axes=1)(x)

  def dynamics(self, latent: chex.Array, joint_action: chex.Array) -> tuple[chex.Array, chex.Array]:
    """(latents `[B, N, W]`, joint action int `[B, N]`) -> (next latents, team reward logits
    `[B, num_atoms]`). Every agent's next latent attends to all agents' latents and actions."""
    chex.assert_rank([latent, joint_action], [3, 2])
    x = jnp.concatenate([latent, jax.nn.one_hot(joint_action, self.num_actions)], axis=-1)
    x = nn.relu(self.dynamics_in(x))
    for block in self.dynamics_blocks:
      x = block(x)
    reward_logits = self._mlp(self.reward_head, jnp.mean(x, axis=1))
    return jax.vmap(normalize_latent, in_axes=1, out_axes=1)(x), reward_logits

  def predict(self, latent: chex.Array) -> JointPrediction:
    """Latents `[B, N, W]` -> per-agent policy logits and the centralized value."""
    x = self.prediction_block(latent)
    return JointPrediction(
      self._mlp(self.policy_head, x), self._mlp(self.value_head, jnp.mean(x, axis=1))
    )

  def project(self, latent: chex.Array, *, with_predictor: bool) -> chex.Array:
    """Consistency-loss embedding `[B, projection_size]` of a joint latent (mean over agents,
    so it is permutation invariant); the predictor only on the online branch."""
    x = self._mlp(self.projection, jnp.mean(latent, axis=1))
    if with_predictor:
      x = self._mlp(self.projection_predictor, x)
    return x

  def __call__(self, observation: chex.Array, joint_action: chex.Array):
    """Touches every parameter (used by `init`)."""
    latent = self.represent(observation)
    next_latent, reward_logits = self.dynamics(latent, joint_action)
    return self.predict(next_latent), reward_logits, self.project(next_latent, with_predictor=True)
