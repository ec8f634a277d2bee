"""MuZero's learned model: representation, dynamics and prediction networks (Flax).

Latents are min-max normalized to [0, 1] per example after the representation and after every
dynamics step (MuZero, Appendix G), so unrolled latents stay on the scale the prediction head
was trained on. Values and rewards are categorical over a `value_transform.Support`.

Two torsos:
  * `"resnet"` for image observations `[H, W, C]`: a convolutional stem (with stride-2
    downsampling and average pooling for large frames such as Atari's 96x96) and residual
    blocks; actions enter the dynamics as constant one-hot planes.
  * `"mlp"` for vector observations (any shape, flattened): residual MLP blocks with
    LayerNorm; actions enter the dynamics as a one-hot vector.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp


class ModelOutput(NamedTuple):
  """Prediction at one latent state.

  Attributes:
    policy_logits: float32 `[B, A]`.
    value_logits: float32 `[B, num_atoms]`.
  """

  policy_logits: chex.Array
  value_logits: chex.Array


def normalize_latent(latent: chex.Array) -> chex.Array:
  """Scales each example's latent to [0, 1] (min-max over all its features)."""
  axes = tuple(range(1, latent.ndim))
  low = jnp.min(latent, axis=axes, keepdims=True)
  high = jnp.max(latent, axis=axes, keepdims=True)
  return (latent - low) / jnp.maximum(high - low, 1e-5)


class _ConvBlock(nn.Module):
  channels: int

  @nn.compact
  def __call__(self, x):
    y = nn.relu(nn.LayerNorm()(nn.Conv(self.channels, (3, 3))(x)))
    y = nn.LayerNorm()(nn.Conv(self.channels, (3, 3))(y))
    return nn.relu(x + y)


class _DenseBlock(nn.Module):
  width: int

  @nn.compact
  def __call__(self, x):
    y = nn.relu(nn.LayerNorm()(nn.Dense(self.width)(x)))
    return nn.relu(x + nn.LayerNorm()(nn.Dense(self.width)(y)))


class MuZeroNetwork(nn.Module):
  """The three MuZero functions, called through `apply(..., method=...)`.

  Attributes:
    num_actions: size of the discrete action space.
    num_atoms: atoms of the value and reward supports.
    torso: "resnet" (image observations) or "mlp" (vector observations).
    width: channels (resnet) or units (mlp) of the latent.
    num_blocks: residual blocks in each of the representation and dynamics torsos.
    downsample: for "resnet", reduce the frame 16x with strided convolutions and pooling (for
      96x96 Atari frames; MinAtar's 10x10 is used at full resolution).
    projection_size: width of the consistency-loss projection (EfficientZero).
  """

  num_actions: int
  num_atoms: int
  torso: str = "mlp"
  width: int = 64
  num_blocks: int = 2
  downsample: bool = False
  projection_size: int = 128

  def setup(self):
    if self.torso not in ("mlp", "resnet"):
      raise ValueError(f"torso must be 'mlp' or 'resnet', got {self.torso!r}")
    image = self.torso == "resnet"
    block = (lambda: _ConvBlock(self.width)) if image else (lambda: _DenseBlock(self.width))
    if image:
      stem = [nn.Conv(self.width // 2, (3, 3), strides=2), nn.Conv(self.width, (3, 3), strides=2)]
      self.stem = stem if self.downsample else [nn.Conv(self.width, (3, 3))]
      self.dynamics_in = nn.Conv(self.width, (3, 3))
    else:
      self.stem = [nn.Dense(self.width)]
      self.dynamics_in = nn.Dense(self.width)
    self.representation_blocks = [block() for _ in range(self.num_blocks)]
    self.dynamics_blocks = [block() for _ in range(self.num_blocks)]
    self.reward_head = [nn.Dense(self.width), nn.Dense(self.num_atoms)]
    self.prediction_block = block()
    self.policy_head = [nn.Dense(self.width), nn.Dense(self.num_actions)]
    self.value_head = [nn.Dense(self.width), nn.Dense(self.num_atoms)]
    self.projection = [nn.Dense(self.projection_size), nn.Dense(self.projection_size)]
    self.projection_predictor = [
      nn.Dense(self.projection_size // 2),
      nn.Dense(self.projection_size),
    ]

  def _head(self, layers, latent):
    x = latent.reshape(latent.shape[0], -1)
    return layers[1](nn.relu(layers[0](x)))

  def represent(self, observation: chex.Array) -> chex.Array:
    """Observation batch `[B, ...]` -> normalized latent `[B, H', W', width]` or `[B, width]`.

    uint8 observations (Atari frames) are scaled to [0, 1]."""
    x = observation.astype(jnp.float32)
    if observation.dtype == jnp.uint8:
      x = x / 255.0
    if self.torso == "resnet":
      for index, conv in enumerate(self.stem):
        x = nn.relu(conv(x))
        if self.downsample and index == len(self.stem) - 1:
          x = nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")
          x = nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")
    else:
      x = nn.relu(self.stem[0](x.reshape(x.shape[0], -1)))
    for block in self.representation_blocks:
      x = block(x)
    return normalize_latent(x)

  def dynamics(self, latent: chex.Array, action: chex.Array) -> tuple[chex.Array, chex.Array]:
    """(latent `[B, ...]`, action int `[B]`) -> (next normalized latent, reward logits
    `[B, num_atoms]`)."""
    one_hot = jax.nn.one_hot(action, self.num_actions)
    if self.torso == "resnet":
      planes = jnp.broadcast_to(one_hot[:, None, None, :], latent.shape[:-1] + (self.num_actions,))
      x = jnp.concatenate([latent, planes], axis=-1)
    else:
      x = jnp.concatenate([latent, one_hot], axis=-1)
    x = nn.relu(self.dynamics_in(x))
    for block in self.dynamics_blocks:
      x = block(x)
    return normalize_latent(x), self._head(self.reward_head, x)

  def predict(self, latent: chex.Array) -> ModelOutput:
    """Normalized latent -> policy and value logits."""
    x = self.prediction_block(latent)
    return ModelOutput(self._head(self.policy_head, x), self._head(self.value_head, x))

  def project(self, latent: chex.Array, *, with_predictor: bool) -> chex.Array:
    """The consistency loss's embedding of a latent (SimSiam: the predictor only on the online
    branch, the target branch is projected and stopped)."""
    x = self._head(self.projection, latent)
    if with_predictor:
      x = self.projection_predictor[1](nn.relu(self.projection_predictor[0](x)))
    return x

  def __call__(self, observation: chex.Array, action: chex.Array):
    """Touches every parameter (used by `init`)."""
    latent = self.represent(observation)
    next_latent, reward_logits = self.dynamics(latent, action)
    prediction = self.predict(next_latent)
    return prediction, reward_logits, self.project(next_latent, with_predictor=True)
