"""One episode of a self-resetting environment, as the episodic `Environment` protocol."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from searchdistill.envs.base import EnvState, StreamEnvironment


class EpisodicEnvironment:
  """Plays a single episode of a `StreamEnvironment`, then stays frozen in its last state.

  Episodic algorithms (search distillation, PPO) step environments without an RNG key, so the
  stream's key travels inside the state: `inner` is `(stream_inner, key)`, and a step is a
  deterministic function of the state and the action (which is also what search over the true
  environment needs). The stream's automatic reset at an episode's end is discarded: the
  returned state keeps the last real state with `done` set and an all-False mask. A time-limit
  truncation ends the episode like a termination.
  """

  def __init__(self, stream: StreamEnvironment):
    self.stream = stream
    self.env_id = stream.env_id
    self.num_actions = stream.num_actions
    self.max_episode_steps = stream.max_episode_steps
    self.observation_shape = stream.observation_shape
    self.capabilities = stream.capabilities
    self.symmetries = 1

  def symmetric_view(self, observation, key):
    del key
    return observation

  def reset(self, key) -> EnvState:
    reset_key, step_key = jax.random.split(key)
    start = self.stream.reset(reset_key)
    return start._replace(inner=(start.inner, step_key), done=jnp.array(False))

  def step(self, state: EnvState, action) -> tuple[EnvState, jax.Array]:
    inner, key = state.inner
    key, step_key = jax.random.split(key)
    is_valid = state.action_mask[action] & ~state.done
    safe_action = jnp.where(is_valid, action, jnp.argmax(state.action_mask))
    stepped, result = self.stream.step(state._replace(inner=inner), safe_action, step_key)
    ended = result.terminated | result.truncated
    running = stepped._replace(inner=(stepped.inner, key), done=jnp.array(False))
    frozen = state._replace(action_mask=jnp.zeros_like(state.action_mask), done=jnp.array(True))
    next_state = jax.tree.map(lambda a, b: jnp.where(is_valid & ~ended, a, b), running, frozen)
    return next_state, jnp.where(is_valid, result.reward, 0.0).astype(jnp.float32)
