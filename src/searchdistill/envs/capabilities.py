"""What an environment is, declared by its adapter, and the error for an unusable one.

A leaf module (no JAX), so that the config can ask the registry about an id cheaply.
"""

from __future__ import annotations

import dataclasses


class EnvError(ValueError):
  """The environment id or its interface is not usable."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Capabilities:
  """What an environment is, so that no caller has to guess from its id or its attributes.

  Attributes:
    family: the registry family ("jumanji", "minatar", "gymnax", "atari", "mpe", "custom");
      config presets are keyed by it.
    multi_agent: True when agents act together: joint actions `[N]`, masks `[N, A]`, the
      multi-agent world model and planners (MPE, whatever its number of agents).
    num_agents: the number of agents (1 for single-agent environments).
    host_side: True when the environment steps outside JAX (ALE): it is collected and
      evaluated by a host loop instead of a jitted scan.
    network: the network family that fits its observations: "binpack" (the EMS/item
      transformer), "multi_agent" (per-agent attention world model) or "generic" (an MLP, or
      for MuZero an MLP or convolutional torso chosen by the observation's rank).
    renderer: how an episode becomes a GIF: "animate" (the environment draws its own states),
      "grid" (observation channels as coloured cells) or "frames" (the environment's screens).
    scripted_reference: the name of a scripted reference policy for comparisons (MPE
      simple_spread: "simple_spread"), or None.
  """

  family: str
  multi_agent: bool = False
  num_agents: int = 1
  host_side: bool = False
  network: str = "generic"
  renderer: str = "grid"
  scripted_reference: str | None = None
