"""Which adapter serves an environment id, and what the environment is.

Everything outside `envs/` asks here (or reads an environment's `capabilities`) instead of
testing an id's prefix or probing an object. Looking an id up imports no environment package,
so the config can choose its presets from the id alone.

Families, in the order an id is matched:

| family  | ids                          | episodic (distill, PPO) | stream (MuZero) | extra   |
|---------|------------------------------|-------------------------|-----------------|---------|
| custom  | `module:factory`             | yes                     | no              | -       |
| atari   | `ALE/<Game>-v5`              | no                      | host-side       | atari   |
| mpe     | `MPE_<scenario>`             | no                      | multi-agent     | marl    |
| minatar | `<Game>-MinAtar`             | one episode of a stream | yes             | minatar |
| gymnax  | other gymnax ids             | one episode of a stream | yes             | minatar |
| jumanji | every other id               | yes                     | no              | -       |
"""

from __future__ import annotations

import dataclasses

from searchdistill.envs.capabilities import Capabilities, EnvError
from searchdistill.extras import require

_GYMNAX_SUFFIXES = ("-MinAtar", "-bsuite", "-misc")
_GYMNAX_CLASSIC = (
  "CartPole-v1",
  "Pendulum-v1",
  "Acrobot-v1",
  "MountainCar-v0",
  "MountainCarContinuous-v0",
)


@dataclasses.dataclass(frozen=True)
class Family:
  """A family of environment ids.

  Attributes:
    name: the family's name; config presets are keyed by it.
    episodic: whether the episodic protocol (search over the true environment, PPO) exists.
    stream: whether the self-resetting stream protocol (MuZero) exists.
    return_name: what an episode's return measures, for plot labels.
    network: the network family that fits (as `Capabilities.network`).
    symmetric: whether its instances may have equivalent views (`symmetric_views`); an
      environment of your own declares its own (`symmetries`).
    example: an id of the family, for messages.
    user_code: whether the id names the user's own code, which they may change and reload
      within one process (so its environments are made anew each time).
    packages: the optional packages its adapter imports (their extras: `extras`).
  """

  name: str
  episodic: bool
  stream: bool
  return_name: str = "episode return"
  network: str = "generic"
  symmetric: bool = False
  example: str = ""
  user_code: bool = False
  packages: tuple[str, ...] = ()


_CUSTOM = Family("custom", episodic=True, stream=False, symmetric=True, user_code=True)
_ATARI = Family(
  "atari",
  episodic=False,
  stream=True,
  return_name="game score",
  example="ALE/Breakout-v5",
  packages=("ale_py",),
)
_MPE = Family(
  "mpe",
  episodic=False,
  stream=True,
  network="multi_agent",
  example="MPE_simple_spread_v3",
  packages=("jaxmarl",),
)
# gymnax imports six without declaring it.
_MINATAR = Family(
  "minatar", episodic=True, stream=True, example="Breakout-MinAtar", packages=("gymnax", "six")
)
_GYMNAX = Family(
  "gymnax", episodic=True, stream=True, example="CartPole-v1", packages=("gymnax", "six")
)
_BINPACK = Family(
  "jumanji",
  episodic=True,
  stream=False,
  return_name="utilization (return)",
  network="binpack",
  symmetric=True,
)
_JUMANJI = Family("jumanji", episodic=True, stream=False)
# In the order `family` matches ids.
_FAMILIES = (_CUSTOM, _ATARI, _MPE, _MINATAR, _GYMNAX, _BINPACK, _JUMANJI)


def family(env_id: str) -> Family:
  """The family of `env_id`, from its form alone (nothing is imported)."""
  if ":" in env_id:
    return _CUSTOM
  if env_id.startswith("ALE/"):
    return _ATARI
  if env_id.startswith("MPE_"):
    return _MPE
  if env_id.endswith("-MinAtar"):
    return _MINATAR
  if env_id.endswith(_GYMNAX_SUFFIXES) or env_id in _GYMNAX_CLASSIC:
    return _GYMNAX
  return _BINPACK if env_id.startswith("BinPack") else _JUMANJI


def require_packages(env_id: str) -> None:
  """Raises `MissingExtraError` naming the extra to install when a package the family of
  `env_id` needs is missing (nothing is imported)."""
  for package in family(env_id).packages:
    require(package, f"env={env_id}")


def make_environment(env_id: str):
  """The episodic `Environment` for `env_id` (distill, PPO); raises `EnvError` for an id
  without one, an unknown id, or an unusable environment, and `MissingExtraError` when the
  family's extra is not installed."""
  kind = family(env_id)
  if not kind.episodic:
    raise EnvError(
      f"{env_id} is a {kind.name} environment, which only MuZero plays (algo=muzero): "
      "distill and PPO need an environment they can step in-graph episode by episode"
    )
  require_packages(env_id)
  if kind is _CUSTOM:
    from searchdistill.envs.user import load

    return load(env_id)
  if kind in (_MINATAR, _GYMNAX):
    from searchdistill.envs.episodic import EpisodicEnvironment
    from searchdistill.envs.gymnax_env import GymnaxEnvironment

    return EpisodicEnvironment(GymnaxEnvironment(env_id, family=kind.name))
  from searchdistill.envs.jumanji_env import JumanjiEnvironment

  return JumanjiEnvironment(env_id)


def make_stream_environment(env_id: str, *, atari_color: str = "gray"):
  """The self-resetting environment for `env_id` (MuZero): MinAtar and other gymnax ids,
  ALE ids (host-side), MPE ids (multi-agent); raises `EnvError` for other ids."""
  kind = family(env_id)
  if not kind.stream:
    examples = ", ".join(repr(f.example) for f in _FAMILIES if f.stream)
    raise EnvError(f"{env_id!r} is not a stream environment; ids such as {examples} are")
  require_packages(env_id)
  if kind is _ATARI:
    from searchdistill.envs.atari import AtariEnvironment

    return AtariEnvironment(env_id, color=atari_color)
  if kind is _MPE:
    from searchdistill.envs.multi_agent import JaxMARLEnvironment

    return JaxMARLEnvironment(env_id)
  from searchdistill.envs.gymnax_env import GymnaxEnvironment

  return GymnaxEnvironment(env_id, family=kind.name)


__all__ = [
  "Capabilities",
  "EnvError",
  "Family",
  "family",
  "make_environment",
  "make_stream_environment",
  "require_packages",
]
