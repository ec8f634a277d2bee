"""The environment protocol every algorithm is written against.

An environment is a pure-JAX object with flat discrete actions and an action mask. All methods
work on one unbatched instance; callers `vmap` them.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import chex

from searchdistill.envs.capabilities import Capabilities


class EnvState(NamedTuple):
  """One environment instance as the algorithms see it (batched by the caller's `vmap`).

  Attributes:
    inner: the wrapped environment's own state.
    observation: the observation of `inner`, the network's input.
    action_mask: bool `[A]` (`[N, A]` for N agents), the valid flat actions; all False once
      `done`.
    done: scalar bool, True once the episode has ended.
  """

  inner: Any
  observation: Any
  action_mask: chex.Array
  done: chex.Array


class Environment(Protocol):
  """A single-agent environment with flat discrete actions and an action mask.

  Attributes:
    env_id: the id the environment was made from.
    num_actions: number of flat actions.
    max_episode_steps: an upper bound on the length of an episode.
    symmetries: how many equivalent views of an instance `symmetric_view` draws from (1: the
      environment knows none).
    capabilities: what the environment is (`envs.capabilities.Capabilities`).
  """

  env_id: str
  num_actions: int
  max_episode_steps: int
  symmetries: int
  capabilities: Capabilities

  def reset(self, key: chex.PRNGKey) -> EnvState:
    """Samples an instance."""

  def step(self, state: EnvState, action: chex.Array) -> tuple[EnvState, chex.Array]:
    """Applies a flat action; returns the next state and the float32 reward.

    An invalid action (or any action once `done`) is never forwarded to the wrapped
    environment: the state is kept, the reward is 0 and the episode is over.
    """

  def symmetric_view(self, observation: Any, key: chex.PRNGKey) -> Any:
    """The observation of an instance drawn uniformly among the `symmetries` equivalent ones:
    equally likely, every action the same move with the same return to come (the observation
    itself when `symmetries` is 1)."""


class StreamStep(NamedTuple):
  """What one step of a self-resetting environment reports.

  Attributes:
    reward: float32 scalar.
    terminated: scalar bool, the step ended the episode in a terminal state (no bootstrap).
    truncated: scalar bool, the step ended the episode by a time limit.
  """

  reward: chex.Array
  terminated: chex.Array
  truncated: chex.Array


class StreamEnvironment(Protocol):
  """A stochastic environment, single- or multi-agent (see `capabilities`), that resets
  itself when an episode ends.

  Learned-model algorithms (MuZero) consume such endless streams of experience; the state's
  `done` field is always False, and episode ends are reported by `StreamStep`.

  Attributes:
    env_id: the id the environment was made from.
    num_actions: number of discrete actions (per agent).
    max_episode_steps: an upper bound on the length of an episode.
    observation_shape: the shape of an array observation (MuZero's torso follows its rank).
    capabilities: what the environment is (`envs.capabilities.Capabilities`).
  """

  env_id: str
  num_actions: int
  max_episode_steps: int
  observation_shape: tuple[int, ...]
  capabilities: Capabilities

  def reset(self, key: chex.PRNGKey) -> EnvState:
    """Starts a stream."""

  def step(
    self, state: EnvState, action: chex.Array, key: chex.PRNGKey
  ) -> tuple[EnvState, StreamStep]:
    """Applies an action; after an episode's last step the returned state is a fresh start."""
