"""Scalars as categorical distributions over a fixed support, through an invertible squash.

MuZero predicts values and rewards as distributions over integers on a squashed scale:
`h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x` compresses large returns, a scalar target becomes
a "two-hot" distribution over the support, and a prediction becomes a scalar again as
`h^-1(E[support])`. Every function works elementwise over any leading axes (`[...]` scalars,
`[..., num_atoms]` distributions), so batches need no `vmap`.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

EPSILON = 1e-3


def squash(x: chex.Array, eps: float = EPSILON) -> chex.Array:
  """h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x, elementwise, odd and strictly increasing."""
  return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + eps * x


def unsquash(y: chex.Array, eps: float = EPSILON) -> chex.Array:
  """The exact inverse of `squash`, for negative values too.

  h is odd, so h^-1(y) = sign(y) g(|y|) where g inverts h on x >= 0. With u = sqrt(x + 1) - 1
  (so x = u (u + 2)), |y| = u + eps u (u + 2) is a quadratic in u; its positive root is written
  as 2|y| / (b + sqrt(b^2 + 4 eps |y|)), b = 1 + 2 eps, which has no cancellation in float32.
  """
  magnitude = jnp.abs(y)
  b = 1.0 + 2.0 * eps
  u = 2.0 * magnitude / (b + jnp.sqrt(b * b + 4.0 * eps * magnitude))
  return jnp.sign(y) * u * (u + 2.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Support:
  """Evenly spaced atoms `low, low + step, ..., high` on the squashed scale.

  Attributes:
    low: the smallest atom (for example -300 for Atari values).
    high: the largest atom.
    num_atoms: number of atoms; `high - low` divided by `num_atoms - 1` is the spacing.
  """

  low: float
  high: float
  num_atoms: int

  def __post_init__(self):
    if self.num_atoms < 2 or not self.high > self.low:
      raise ValueError(f"a support needs num_atoms >= 2 and high > low, got {self}")

  @property
  def atoms(self) -> chex.Array:
    return jnp.linspace(self.low, self.high, self.num_atoms)

  @classmethod
  def symmetric(cls, size: int) -> Support:
    """Integers -size..size (MuZero's Atari support is size 300)."""
    return cls(low=-float(size), high=float(size), num_atoms=2 * size + 1)


def to_two_hot(x: chex.Array, support: Support) -> chex.Array:
  """Probabilities `[..., num_atoms]` whose mean is `x` (clipped to the support): all mass on the
  two atoms around x, split linearly."""
  step = (support.high - support.low) / (support.num_atoms - 1)
  position = (jnp.clip(x, support.low, support.high) - support.low) / step
  lower = jnp.clip(jnp.floor(position), 0, support.num_atoms - 2)
  upper_weight = position - lower
  lower = lower.astype(jnp.int32)
  atoms = jnp.arange(support.num_atoms)
  return (
    jax.nn.one_hot(lower, support.num_atoms) * (1.0 - upper_weight)[..., None]
    + (atoms == lower[..., None] + 1) * upper_weight[..., None]
  )


def from_probs(probs: chex.Array, support: Support) -> chex.Array:
  """The mean of a distribution `[..., num_atoms]` over the support."""
  return jnp.sum(probs * support.atoms, axis=-1)


def scalar_to_target(x: chex.Array, support: Support, eps: float = EPSILON) -> chex.Array:
  """A raw value or reward as a training distribution: two-hot of `squash(x)`."""
  return to_two_hot(squash(x, eps), support)


def logits_to_scalar(logits: chex.Array, support: Support, eps: float = EPSILON) -> chex.Array:
  """A predicted distribution (logits `[..., num_atoms]`) as a raw scalar."""
  return unsquash(from_probs(jax.nn.softmax(logits), support), eps)
