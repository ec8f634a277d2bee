"""Environment adapters: flat discrete actions, action masks, unbatched pure-JAX methods."""

from searchdistill.envs.atari import AtariEnvironment, is_atari_id
from searchdistill.envs.base import Environment, EnvState, StreamEnvironment, StreamStep
from searchdistill.envs.episodic import EpisodicEnvironment
from searchdistill.envs.gymnax_env import GymnaxEnvironment, is_gymnax_id
from searchdistill.envs.jumanji_env import EnvError, JumanjiEnvironment
from searchdistill.envs.multi_agent import JaxMARLEnvironment, is_jaxmarl_id
from searchdistill.envs.user import UserEnvironment, is_import_path
from searchdistill.envs.user import load as load_user_environment


def make_environment(env_id: str) -> Environment:
  """The episodic adapter for `env_id`: a `JumanjiEnvironment` for Jumanji ids, one episode
  of a `GymnaxEnvironment` for gymnax ids such as "Breakout-MinAtar", a user's environment for
  an import path such as "mypkg.module:make_env"; raises `EnvError` for an unknown or unusable
  id."""
  if is_import_path(env_id):
    return load_user_environment(env_id)
  if is_gymnax_id(env_id):
    return EpisodicEnvironment(GymnaxEnvironment(env_id))
  return JumanjiEnvironment(env_id)


def make_stream_environment(env_id: str, *, atari_color: str = "gray"):
  """A self-resetting environment for learned-model algorithms: a `GymnaxEnvironment` for
  gymnax ids such as "Breakout-MinAtar", a host-side `AtariEnvironment` for ALE ids such as
  "ALE/Breakout-v5", a multi-agent `JaxMARLEnvironment` for MPE ids such as
  "MPE_simple_spread_v3"; raises `EnvError` for other ids."""
  if is_atari_id(env_id):
    return AtariEnvironment(env_id, color=atari_color)
  if is_jaxmarl_id(env_id):
    return JaxMARLEnvironment(env_id)
  if is_gymnax_id(env_id):
    return GymnaxEnvironment(env_id)
  raise EnvError(
    f"{env_id!r} is not a stream environment; MinAtar ids such as "
    "'Breakout-MinAtar', ALE ids such as 'ALE/Breakout-v5' and MPE ids such as "
    "'MPE_simple_spread_v3' are"
  )


__all__ = [
  "AtariEnvironment",
  "EnvError",
  "EnvState",
  "Environment",
  "EpisodicEnvironment",
  "GymnaxEnvironment",
  "JaxMARLEnvironment",
  "JumanjiEnvironment",
  "StreamEnvironment",
  "StreamStep",
  "UserEnvironment",
  "make_environment",
  "make_stream_environment",
]
