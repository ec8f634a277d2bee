"""Environment adapters: flat discrete actions, action masks, unbatched pure-JAX methods."""

from searchdistill.envs.base import Environment, EnvState
from searchdistill.envs.jumanji_env import EnvError, JumanjiEnvironment


def make_environment(env_id: str) -> Environment:
  """Builds the adapter for `env_id`; raises `EnvError` for an unknown or unusable id."""
  return JumanjiEnvironment(env_id)


__all__ = ["Environment", "EnvState", "EnvError", "JumanjiEnvironment", "make_environment"]
