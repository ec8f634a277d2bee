"""gymnax environments (MinAtar and the classic-control suite) as `StreamEnvironment`s."""

from __future__ import annotations

import jax.numpy as jnp

from searchdistill.envs.base import EnvState, StreamStep
from searchdistill.envs.capabilities import Capabilities, EnvError


class GymnaxEnvironment:
  """A gymnax environment with discrete actions, every action always valid.

  gymnax's `step` resets by itself when an episode ends and reports `terminated` and
  `truncated` separately (gymnax >= 1.0); both are passed on.
  """

  def __init__(self, env_id: str, *, family: str = "minatar"):
    import gymnax

    if env_id not in gymnax.registered_envs:
      raise EnvError(f"unknown gymnax environment {env_id!r}")
    self.env_id = env_id
    self._env, self._params = gymnax.make(env_id)
    space = self._env.action_space(self._params)
    if not hasattr(space, "n"):
      raise EnvError(
        f"{env_id} has a {type(space).__name__} action space; a discrete one is needed"
      )
    self.num_actions = int(space.n)
    self.max_episode_steps = int(self._params.max_steps_in_episode)
    self.observation_shape = tuple(self._env.observation_space(self._params).shape)
    self.capabilities = Capabilities(family=family)

  def _state(self, inner, observation) -> EnvState:
    return EnvState(
      inner, observation.astype(jnp.float32), jnp.ones(self.num_actions, bool), jnp.array(False)
    )

  def reset(self, key) -> EnvState:
    observation, inner = self._env.reset(key, self._params)
    return self._state(inner, observation)

  def step(self, state: EnvState, action, key) -> tuple[EnvState, StreamStep]:
    observation, inner, reward, terminated, truncated, _ = self._env.step(
      key, state.inner, action, self._params
    )
    return self._state(inner, observation), StreamStep(
      jnp.asarray(reward, jnp.float32), jnp.asarray(terminated, bool), jnp.asarray(truncated, bool)
    )
