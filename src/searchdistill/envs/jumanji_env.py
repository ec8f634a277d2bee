"""Adapter from a Jumanji environment with a (multi-)discrete action and an action mask."""

from __future__ import annotations

import difflib
import math
import warnings

import chex
import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.envs import binpack_symmetry
from searchdistill.envs.base import EnvState
from searchdistill.envs.capabilities import Capabilities, EnvError


def _make_jumanji(env_id: str):
  import jumanji  # Imported here: building the CLI must not pay for it.

  known = sorted(jumanji.registered_environments())
  if env_id not in known:
    close = difflib.get_close_matches(env_id, known, n=1, cutoff=0.5)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise EnvError(f"unknown environment id '{env_id}'{hint}")
  if env_id.startswith("BinPack"):
    from jumanji.registration import _REGISTRY

    from searchdistill.envs.binpack_fast import FastBinPack

    return FastBinPack(**_REGISTRY[env_id].kwargs)
  return jumanji.make(env_id)


def _episode_bound(env) -> int:
  generator = getattr(env, "generator", None)
  for owner, name in (
    (env, "time_limit"),
    (generator, "max_num_items"),
    (env, "max_num_items"),
    (generator, "num_items"),
  ):
    value = getattr(owner, name, None)
    if isinstance(value, (int, np.integer)) and value > 0:
      return int(value)
  raise EnvError(f"{type(env).__name__} has no known episode length bound")


def _axes_are_symmetric(env) -> bool:
  """BinPack with random instances in normalized coordinates (`envs.binpack_symmetry`)."""
  from jumanji.environments.packing.bin_pack.env import BinPack
  from jumanji.environments.packing.bin_pack.generator import RandomGenerator

  # Every EMS observed: with a subset, ties in the volume order would pick different EMSs.
  return (
    isinstance(env, BinPack)
    and isinstance(env.generator, RandomGenerator)
    and bool(env.normalize_dimensions)
    and env.obs_num_ems >= env.generator.max_num_ems
  )


class JumanjiEnvironment:
  """Flat-action view of a Jumanji environment (see `envs.base.Environment`).

  A multi-discrete action with `num_values = (n1, ..., nk)` becomes one flat index in
  `[0, n1 * ... * nk)`, row-major, matching a row-major flattening of the observation's
  `action_mask` (for BinPack-v2: `ems * 20 + item`, 800 actions).
  """

  def __init__(self, env_id: str):
    self.env_id = env_id
    self.env = _make_jumanji(env_id)
    spec = self.env.action_spec
    if hasattr(spec, "num_values"):
      self.action_shape = tuple(int(n) for n in np.asarray(spec.num_values).reshape(-1))
    elif hasattr(spec, "num_actions"):
      self.action_shape = (int(spec.num_actions),)
    else:
      raise EnvError(f"{env_id} does not have a discrete action space")
    if "action_mask" not in getattr(self.env.observation_spec, "__dict__", {}) and not hasattr(
      self.env.observation_spec, "action_mask"
    ):
      raise EnvError(f"{env_id} has no action mask in its observation")
    self.num_actions = math.prod(self.action_shape)
    self.max_episode_steps = _episode_bound(self.env)
    binpack = env_id.startswith("BinPack")
    self.capabilities = Capabilities(
      family="jumanji", network="binpack" if binpack else "generic", renderer="animate"
    )
    self._view = binpack_symmetry.random_view if _axes_are_symmetric(self.env) else None
    self.symmetries = len(binpack_symmetry.PERMUTATIONS) if self._view else 1

  def symmetric_view(self, observation, key: chex.PRNGKey):
    """BinPack: a random permutation of the axes (`envs.binpack_symmetry`); otherwise the
    observation itself."""
    return self._view(observation, key) if self._view else observation

  def _mask(self, observation) -> chex.Array:
    return jnp.reshape(observation.action_mask, (self.num_actions,)).astype(bool)

  def _unflatten(self, action: chex.Array) -> chex.Array:
    parts = jnp.unravel_index(action, self.action_shape)
    if len(self.action_shape) == 1:
      return parts[0].astype(jnp.int32)
    return jnp.stack(parts).astype(jnp.int32)

  def reset(self, key: chex.PRNGKey) -> EnvState:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", FutureWarning)
      inner, timestep = self.env.reset(key)
    mask = self._mask(timestep.observation)
    return EnvState(inner, timestep.observation, mask, ~jnp.any(mask))

  def step(self, state: EnvState, action: chex.Array) -> tuple[EnvState, chex.Array]:
    is_valid = state.action_mask[action] & ~state.done
    # The wrapped env only ever sees a valid action; the result of a substituted one is
    # discarded below (under vmap both branches run, so a cond would not save work).
    safe_action = jnp.where(is_valid, action, jnp.argmax(state.action_mask))
    with warnings.catch_warnings():
      warnings.simplefilter("ignore", FutureWarning)
      inner, timestep = self.env.step(state.inner, self._unflatten(safe_action))
    mask = self._mask(timestep.observation)
    stepped = EnvState(inner, timestep.observation, mask, timestep.last() | ~jnp.any(mask))
    ended = state._replace(action_mask=jnp.zeros_like(state.action_mask), done=jnp.array(True))
    next_state = jax.tree.map(lambda a, b: jnp.where(is_valid, a, b), stepped, ended)
    next_state = next_state._replace(action_mask=next_state.action_mask & ~next_state.done)
    reward = jnp.where(is_valid, timestep.reward, 0.0).astype(jnp.float32)
    return next_state, reward

  def animate(self, states, path: str, interval: int = 300) -> None:
    """Writes an animation of a list of unbatched states to `path` (GIF via Pillow)."""
    self.env.animate(states, interval=interval, save_path=path)
