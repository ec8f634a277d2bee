"""The whole config: one group per owner, flat key names, and who uses each key.

`Config` holds the groups (`config.search.num_simulations`); each component receives the
groups it reads. Outside the program a config is flat (`num_simulations: 32` in config.yaml,
`num_simulations=32` on the command line): `FIELDS` maps every key to its group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import yaml

from searchdistill.config.groups import (
  DistillConfig,
  EvalConfig,
  NetworkConfig,
  OutputConfig,
  PPOConfig,
  RunConfig,
  SearchConfig,
  TrainConfig,
  frozen,
)
from searchdistill.config.muzero_groups import (
  DistributedConfig,
  EnvironmentConfig,
  MultiAgentConfig,
  MuZeroConfig,
)

GROUPS = {
  "run": RunConfig,
  "train": TrainConfig,
  "distill": DistillConfig,
  "ppo": PPOConfig,
  "search": SearchConfig,
  "network": NetworkConfig,
  "muzero": MuZeroConfig,
  "multi_agent": MultiAgentConfig,
  "distributed": DistributedConfig,
  "environment": EnvironmentConfig,
  "eval": EvalConfig,
  "output": OutputConfig,
}


@frozen
class Config:
  """Everything that defines a run, grouped by the component that reads it."""

  run: RunConfig = dataclasses.field(default_factory=RunConfig)
  train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
  distill: DistillConfig = dataclasses.field(default_factory=DistillConfig)
  ppo: PPOConfig = dataclasses.field(default_factory=PPOConfig)
  search: SearchConfig = dataclasses.field(default_factory=SearchConfig)
  network: NetworkConfig = dataclasses.field(default_factory=NetworkConfig)
  muzero: MuZeroConfig = dataclasses.field(default_factory=MuZeroConfig)
  multi_agent: MultiAgentConfig = dataclasses.field(default_factory=MultiAgentConfig)
  distributed: DistributedConfig = dataclasses.field(default_factory=DistributedConfig)
  environment: EnvironmentConfig = dataclasses.field(default_factory=EnvironmentConfig)
  eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
  output: OutputConfig = dataclasses.field(default_factory=OutputConfig)

  def to_dict(self) -> dict[str, Any]:
    """The flat form: key -> value, in the groups' order."""
    return {k: v for group in GROUPS for k, v in dataclasses.asdict(getattr(self, group)).items()}

  def to_yaml(self) -> str:
    return yaml.safe_dump(self.to_dict(), sort_keys=False)

  def get(self, key: str) -> Any:
    """The value of a flat key."""
    return getattr(getattr(self, FIELDS[key].group), key)


class Key(NamedTuple):
  group: str
  field: dataclasses.Field


FIELDS: dict[str, Key] = {
  f.name: Key(group, f) for group, cls in GROUPS.items() for f in dataclasses.fields(cls)
}


def grouped(flat: dict[str, Any]) -> Config:
  """A `Config` from flat values (missing keys take the groups' defaults)."""
  parts: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
  for key, value in flat.items():
    parts[FIELDS[key].group][key] = value
  return Config(**{group: GROUPS[group](**values) for group, values in parts.items()})


class Use(NamedTuple):
  """Who uses a key: `applies(algo, family)` on an `envs.Family`, and how to say it."""

  applies: Callable[[str, Any], bool]
  who: str


_DISTILL_PPO = Use(lambda algo, fam: algo in ("distill", "ppo"), "algo=distill and algo=ppo")
_SEARCHING = Use(lambda algo, fam: algo in ("distill", "muzero"), "algo=distill and algo=muzero")
_DISTILL = Use(lambda algo, fam: algo == "distill", "algo=distill")
_PPO = Use(lambda algo, fam: algo == "ppo", "algo=ppo")
_MUZERO = Use(lambda algo, fam: algo == "muzero", "algo=muzero")
_MPE = Use(
  lambda algo, fam: algo == "muzero" and fam.network == "multi_agent", "algo=muzero on MPE ids"
)
_SINGLE_AGENT_MUZERO = Use(
  lambda algo, fam: algo == "muzero" and fam.network != "multi_agent",
  "algo=muzero on single-agent environments",
)
_VIEWS = Use(
  lambda algo, fam: algo in ("distill", "ppo") and fam.symmetric,
  "algo=distill and algo=ppo on environments with symmetries (BinPack, your own)",
)
_BINPACK_NETWORK = Use(
  lambda algo, fam: algo != "muzero" and fam.network == "binpack", "the BinPack network"
)
_MLP = Use(
  lambda algo, fam: algo == "muzero" or fam.network == "generic",
  "algo=muzero and the MLP network of environments other than BinPack",
)


def _all(group, use: Use) -> dict[str, Use]:
  return {f.name: use for f in dataclasses.fields(group)}


# Keys that not every run uses; a key set explicitly where it is not used is an error. Keys
# not listed (run, shared training, evaluation, outputs) are used by every run.
USES: dict[str, Use] = {
  "num_epochs": _DISTILL_PPO,
  "lr_schedule": _DISTILL_PPO,
  "lr_final_fraction": _DISTILL_PPO,
  "symmetric_views": _VIEWS,
  "value_scale": _DISTILL_PPO,
  **_all(DistillConfig, _DISTILL),
  **_all(PPOConfig, _PPO),
  "num_simulations": _SEARCHING,
  "gumbel_scale": _SEARCHING,
  "search_policy": _MUZERO,
  "dirichlet_alpha": _MUZERO,
  "dirichlet_fraction": _MUZERO,
  "num_transformer_layers": _BINPACK_NETWORK,
  "transformer_num_heads": _BINPACK_NETWORK,
  "transformer_key_size": _BINPACK_NETWORK,
  "transformer_mlp_ratio": _BINPACK_NETWORK,
  "transformer_norm": _BINPACK_NETWORK,
  "model_torso": _SINGLE_AGENT_MUZERO,
  "model_width": _MLP,
  "model_blocks": _MLP,
  "model_heads": _MPE,
  **_all(MuZeroConfig, _MUZERO),
  **_all(MultiAgentConfig, _MPE),
  **_all(DistributedConfig, _MUZERO),
  "atari_color": Use(lambda algo, fam: fam.name == "atari", "Atari environments (ALE ids)"),
}
