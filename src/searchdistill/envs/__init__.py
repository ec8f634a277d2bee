"""Environment adapters: flat discrete actions, action masks, unbatched pure-JAX methods."""

from searchdistill.envs.base import (
    Environment, EnvState, StreamEnvironment, StreamStep)
from searchdistill.envs.gymnax_env import GymnaxEnvironment, is_gymnax_id
from searchdistill.envs.jumanji_env import EnvError, JumanjiEnvironment


def make_environment(env_id: str) -> Environment:
  """Builds the adapter for `env_id`; raises `EnvError` for an unknown or unusable id."""
  return JumanjiEnvironment(env_id)


def make_stream_environment(env_id: str) -> StreamEnvironment:
  """A self-resetting environment for learned-model algorithms (gymnax ids such as
  "Breakout-MinAtar"); raises `EnvError` for other ids."""
  if is_gymnax_id(env_id):
    return GymnaxEnvironment(env_id)
  raise EnvError(f"{env_id!r} is not a stream environment; MinAtar ids such as "
                 "'Breakout-MinAtar' are")


__all__ = ["Environment", "EnvState", "EnvError", "GymnaxEnvironment", "JumanjiEnvironment",
           "StreamEnvironment", "StreamStep", "make_environment", "make_stream_environment"]
