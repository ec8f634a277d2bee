"""Self-resetting streams of episodes over an episodic environment.

Collecting whole episodes side by side keeps a batch slot idle from the end of its episode
until the longest one ends: on BinPack-v2 (episodes of 15-20 steps, bound 20) about 15% of
the searched slots were finished states. A stream starts the next episode in its slot as soon
as one ends, so every slot of every step acts in a live state. Episodes then cross iteration
boundaries; the algorithms deal with that (distillation keeps a history of steps until their
episode has ended, PPO bootstraps).

Pure functions for one stream; the caller `vmap`s them.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp

from searchdistill.envs.base import Environment, EnvState


class Stream(NamedTuple):
  """One slot's current episode.

  Attributes:
    state: the `EnvState` of the running episode (never `done` between steps).
    episode_return: float32 scalar, undiscounted return so far.
    episode_length: int32 scalar, steps so far.
  """

  state: EnvState
  episode_return: chex.Array
  episode_length: chex.Array


class StreamTransition(NamedTuple):
  """What one step of a stream produced.

  Attributes:
    reward: float32 scalar.
    first: bool scalar, the step was taken from a fresh episode start.
    last: bool scalar, the step ended its episode (the stream has reset since).
    episode_return: float32 scalar, the finished episode's return where `last`, else 0.
    episode_length: int32 scalar, the finished episode's length where `last`, else 0.
  """

  reward: chex.Array
  first: chex.Array
  last: chex.Array
  episode_return: chex.Array
  episode_length: chex.Array


def start(env: Environment, key: chex.PRNGKey) -> Stream:
  """A stream at the start of a fresh episode."""
  return Stream(env.reset(key), jnp.float32(0.0), jnp.int32(0))


def advance(
  env: Environment, stream: Stream, action: chex.Array, key: chex.PRNGKey
) -> tuple[Stream, StreamTransition]:
  """Steps the episode; if it ends, the stream restarts from `env.reset(key)`.

  An episode also ends when its state has no valid action left (the adapter marks it done).
  """
  next_state, reward = env.step(stream.state, action)
  total = stream.episode_return + reward
  length = stream.episode_length + 1
  last = next_state.done
  fresh = env.reset(key)
  state = jax.tree.map(lambda a, b: jnp.where(last, a, b), fresh, next_state)
  step = StreamTransition(
    reward=reward,
    first=stream.episode_length == 0,
    last=last,
    episode_return=jnp.where(last, total, 0.0),
    episode_length=jnp.where(last, length, 0).astype(jnp.int32),
  )
  next_stream = Stream(
    state,
    jnp.where(last, 0.0, total).astype(jnp.float32),
    jnp.where(last, 0, length).astype(jnp.int32),
  )
  return next_stream, step


def reset_key(key: chex.PRNGKey) -> chex.PRNGKey:
  """The key a stream restarts from after a step drawn with `key` (independent of `key`'s
  other uses, which split or fold it with small integers)."""
  return jax.random.fold_in(key, 0x5EED)
