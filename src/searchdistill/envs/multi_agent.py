"""JaxMARL discrete-action environments as self-resetting multi-agent streams.

The agents' observations are stacked into one `[num_agents, obs_dim]` array, their actions come
as one `[num_agents]` array, and the team reward is the mean of the agents' rewards (on
simple_spread every agent already gets the shared coverage term plus half its own collisions).

Where the environment counts its steps (MPE does), every agent's observation ends with the
elapsed fraction of the episode, `step / max_steps`. MPE episodes stop at a fixed step, so
without it the observation does not determine the return still to come: a value network
trained on simple_spread without this feature predicted the same return at the first step
and the last (correlation 0.26 with the true returns), and search over it learned nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from searchdistill.envs.base import EnvState, StreamStep
from searchdistill.envs.capabilities import Capabilities, EnvError


def is_jaxmarl_id(env_id: str) -> bool:
  return env_id.startswith("MPE_")


class JaxMARLEnvironment:
  """A JaxMARL environment whose agents share one discrete action space.

  Attributes:
    env_id: the JaxMARL id, e.g. "MPE_simple_spread_v3".
    num_agents: N.
    num_actions: actions per agent (A).
    observation_shape: `(N, obs_dim)`, the elapsed-fraction feature included.
    max_episode_steps: steps in an episode (MPE: its `max_steps` + 1).

  `EnvState.action_mask` is `[N, A]`: the environment's available actions where it defines
  them (`get_avail_actions`), else all True. `EnvState.done` is always False: JaxMARL resets by
  itself, and `step` reports the episode's end in its `StreamStep`.
  """

  def __init__(self, env_id: str, **kwargs):
    if not is_jaxmarl_id(env_id):
      raise EnvError(
        f"{env_id!r} is not a supported JaxMARL id (MPE ids such as 'MPE_simple_spread_v3' are)"
      )
    import jaxmarl  # Imported here: building the CLI must not pay for it.

    try:
      self._env = jaxmarl.make(env_id, **kwargs)
    except (ValueError, KeyError) as e:
      raise EnvError(f"unknown JaxMARL environment {env_id!r}: {e}") from None
    self.env_id = env_id
    self.agents = list(self._env.agents)
    self.num_agents = len(self.agents)
    spaces = [self._env.action_space(agent) for agent in self.agents]
    if not all(hasattr(space, "n") for space in spaces):
      raise EnvError(f"{env_id} has continuous actions; a discrete action type is needed")
    if len({int(space.n) for space in spaces}) != 1:
      raise EnvError(f"{env_id}: agents have different numbers of actions")
    self.num_actions = int(spaces[0].n)
    dims = {self._env.observation_space(agent).shape for agent in self.agents}
    if len(dims) != 1:
      raise EnvError(f"{env_id}: agents have different observation shapes {sorted(dims)}")
    _, probe = self._env.reset(jax.random.key(0))
    self._time_feature = hasattr(probe, "step")
    (obs_dim,) = dims.pop()
    self.observation_shape = (self.num_agents, obs_dim + int(self._time_feature))
    # MPE reports the end on the step after its counter reaches max_steps: episodes of
    # max_steps = 25 last 26 steps.
    self.max_episode_steps = int(self._env.max_steps) + 1
    self.capabilities = Capabilities(
      family="mpe",
      multi_agent=True,
      num_agents=self.num_agents,
      network="multi_agent",
      scripted_reference="simple_spread" if env_id.startswith("MPE_simple_spread") else None,
    )
    try:
      self._env.get_avail_actions(probe)
      self._has_masks = True
    except NotImplementedError:
      self._has_masks = False

  def _state(self, inner, observations) -> EnvState:
    observation = jnp.stack([observations[agent] for agent in self.agents]).astype(jnp.float32)
    if self._time_feature:
      elapsed = jnp.asarray(inner.step, jnp.float32) / self._env.max_steps
      observation = jnp.concatenate([observation, jnp.full((self.num_agents, 1), elapsed)], axis=-1)
    if self._has_masks:
      available = self._env.get_avail_actions(inner)
      mask = jnp.stack([available[agent] for agent in self.agents]).astype(bool)
    else:
      mask = jnp.ones((self.num_agents, self.num_actions), bool)
    return EnvState(inner, observation, mask, jnp.array(False))

  def reset(self, key) -> EnvState:
    observations, inner = self._env.reset(key)
    return self._state(inner, observations)

  def step(self, state: EnvState, actions, key) -> tuple[EnvState, StreamStep]:
    """Applies the joint action `[N]`; after an episode's last step the state is a new start."""
    joint = {agent: actions[i] for i, agent in enumerate(self.agents)}
    observations, inner, rewards, dones, _ = self._env.step(key, state.inner, joint)
    reward = jnp.mean(jnp.stack([rewards[agent] for agent in self.agents]))
    ended = jnp.asarray(dones["__all__"], bool)
    # MPE episodes end only at their time limit: a truncation, never a terminal state.
    return self._state(inner, observations), StreamStep(
      reward.astype(jnp.float32), jnp.zeros_like(ended), ended
    )
