"""Reference policies for multi-agent evaluation: uniform random and a scripted spread policy.

Both act for one unbatched joint state and return one joint action (callers `vmap`).
"""

from __future__ import annotations

import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np

# simple_spread's discrete actions (JaxMARL MPE): no-op, -x, +x, -y, +y.
_MOVES = jnp.array([[0.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])


def random_joint_action(key: chex.PRNGKey, action_mask: chex.Array) -> chex.Array:
  """A uniformly random valid action for each agent; `action_mask` is `[N, A]`."""
  chex.assert_rank(action_mask, 2)
  logits = jnp.where(action_mask, 0.0, -jnp.inf)
  return jax.random.categorical(key, logits).astype(jnp.int32)


def scripted_spread_action(
  observation: chex.Array, *, num_landmarks: int, velocity_gain: float = 0.5
) -> chex.Array:
  """The assignment policy for MPE simple_spread: agents are matched to landmarks by the
  permutation with the least total distance, then each moves toward its own landmark.

  Args:
    observation: `[N, obs_dim]`, rows laid out as simple_spread's: own velocity (2), own
      position (2), landmark positions relative to the agent (2 x num_landmarks), ...
    num_landmarks: number of landmarks (N for simple_spread).
    velocity_gain: the move aims at `offset - velocity_gain x velocity`, damping overshoot.

  Returns:
    int32 `[N]`, the move that best aligns with each agent's corrected offset (no-op only
    when that offset is exactly zero).
  """
  chex.assert_rank(observation, 2)
  num_agents = observation.shape[0]
  velocity = observation[:, 0:2]
  offsets = observation[:, 4 : 4 + 2 * num_landmarks].reshape(num_agents, num_landmarks, 2)
  distances = jnp.linalg.norm(offsets, axis=-1)  # [agent, landmark]
  permutations = jnp.asarray(
    np.array(list(itertools.permutations(range(num_landmarks), num_agents)))
  )  # [P, N]
  costs = jnp.sum(distances[jnp.arange(num_agents), permutations], axis=-1)
  assignment = permutations[jnp.argmin(costs)]
  target = offsets[jnp.arange(num_agents), assignment] - velocity_gain * velocity
  scores = target @ _MOVES.T  # [N, 5]
  return jnp.argmax(scores, axis=-1).astype(jnp.int32)


def reference_policies(capabilities) -> dict:
  """The reference policies for a multi-agent environment with `capabilities`
  (`envs.Capabilities`), as `choose(params, key, observations [B, N, D], action_mask
  [B, N, A]) -> actions [B, N]` (params unused): random everywhere, scripted on
  simple_spread."""

  def random_policy(params, key, observations, action_mask):
    del params, observations
    keys = jax.random.split(key, action_mask.shape[0])
    return jax.vmap(random_joint_action)(keys, action_mask)

  policies = {"random": random_policy}
  num_agents = capabilities.num_agents
  if capabilities.scripted_reference == "simple_spread":

    def scripted_policy(params, key, observations, action_mask):
      del params, key, action_mask
      return jax.vmap(lambda o: scripted_spread_action(o, num_landmarks=num_agents))(observations)

    policies["scripted"] = scripted_policy
  return policies
