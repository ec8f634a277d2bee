"""One typed configuration schema for every algorithm, with presets and validation.

A run is described by a frozen `Config`. It is built in three layers, later layers winning:
the preset (`cpu` or `paper`), then explicit values (CLI flags and `key=value` overrides).
Nothing is applied after the explicit values, so a default can never replace something the
user asked for.

Every problem in the input is reported as a `ConfigError` with one message naming the
offending key, before any environment is built or any function is compiled.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml

ALGORITHMS = ("distill", "ppo", "muzero")
SEARCH_POLICIES = ("gumbel", "muzero")
LOGGERS = ("jsonl", "tensorboard", "wandb")


class ConfigError(ValueError):
  """A configuration problem, reported to the user as a single line."""


def _field(
  default: Any,
  help: str,
  *,
  low: float | None = None,
  high: float | None = None,
  choices: tuple | None = None,
):
  return dataclasses.field(
    default=default, metadata=dict(help=help, low=low, high=high, choices=choices)
  )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
  """Everything that defines a run. Field names follow the seed project where it has one."""

  # What to run.
  algo: str = _field("distill", "Training algorithm.", choices=ALGORITHMS)
  env: str = _field("BinPack-v2", "Environment id (a Jumanji id such as BinPack-v2).")
  seed: int = _field(0, "Seed of the training RNG stream.", low=0)

  # Budget.
  max_num_iters: int = _field(1000, "Training iterations (collect + learn).", low=1)
  minutes: float = _field(0.0, "Wall-clock budget in minutes; 0 means no limit.", low=0)

  # Collection and learning.
  rollout_batch_size: int = _field(64, "Episodes collected per iteration.", low=1)
  training_batch_size: int = _field(256, "Samples per SGD step.", low=1)
  num_epochs: int = _field(2, "Passes over each iteration's data.", low=1)
  learning_rate: float = _field(1e-3, "Adam learning rate.", low=0, high=1)
  max_grad_norm: float = _field(1.0, "Global-norm gradient clipping threshold.", low=0)
  value_loss_weight: float = _field(1.0, "Weight of the value loss in the total loss.", low=0)
  discount: float = _field(1.0, "Discount of the Monte-Carlo value targets.", low=0, high=1)
  lr_schedule: str = _field(
    "constant",
    "Distill and PPO: learning rate 'constant', or 'cosine' decay to 0 at the end "
    "of the budget (iterations or minutes, whichever ends first).",
    choices=("constant", "cosine"),
  )
  symmetric_views: bool = _field(
    False,
    "Distill and PPO: learn from each sample as a random one of its equivalent "
    "instances where the environment has symmetries (BinPack: the 6 orders of the axes).",
  )
  replay_iterations: int = _field(
    1, "Distill: iterations for which each search target stays in the sample history.", low=1
  )

  # PPO (algo=ppo).
  gae_lambda: float = _field(0.95, "PPO: GAE lambda.", low=0, high=1)
  clip_eps: float = _field(0.2, "PPO: surrogate clipping threshold.", low=0)
  value_clip_eps: float = _field(0.2, "PPO: value clipping threshold.", low=0)
  value_coef: float = _field(0.5, "PPO: value loss coefficient.", low=0)
  entropy_coef: float = _field(0.01, "PPO: entropy bonus coefficient.", low=0)
  target_kl: float = _field(
    0.0, "PPO: stop an iteration's updates once approximate KL exceeds this; 0 disables.", low=0
  )

  # Search.
  num_simulations: int = _field(16, "Search simulations per decision.", low=1)
  max_num_considered_actions: int = _field(
    16,
    "Actions sampled at the root by Gumbel top-k (every action if the environment has fewer).",
    low=1,
  )
  gumbel_scale: float = _field(1.0, "Scale of the root Gumbel noise while training.", low=0)
  early_simulations: int = _field(
    0,
    "Distill: simulations per decision for the first `early_fraction` of the budget "
    "(then num_simulations); 0 keeps num_simulations throughout.",
    low=0,
  )
  early_fraction: float = _field(
    0.5, "Distill: share of the budget searched with early_simulations.", low=0, high=1
  )
  value_scale: float = _field(
    0.1,
    "Distill and evaluation searches: c_scale of the completed-Q transform, how far "
    "the search's action weights move from the prior towards the best Q.",
    low=0,
  )

  # MuZero with a learned model (algo=muzero). `rollout_batch_size` is the number of
  # environments stepped in parallel.
  search_policy: str = _field(
    "gumbel", "MuZero: mctx policy over the learned model.", choices=SEARCH_POLICIES
  )
  dirichlet_alpha: float = _field(0.3, "MuZero (search_policy=muzero): root noise alpha.", low=0)
  dirichlet_fraction: float = _field(
    0.25, "MuZero (search_policy=muzero): root noise weight; 0 disables.", low=0, high=1
  )
  collect_steps: int = _field(16, "MuZero: steps per environment per iteration.", low=1)
  updates_per_iteration: int = _field(
    8,
    "MuZero: SGD updates per iteration (the replay ratio is updates x batch / collected steps).",
    low=1,
  )
  num_unroll_steps: int = _field(5, "MuZero: K, model steps unrolled per sample.", low=1)
  td_steps: int = _field(5, "MuZero: n of the n-step value targets.", low=1)
  replay_capacity: int = _field(4096, "MuZero: stored steps per environment stream.", low=2)
  min_replay_steps: int = _field(64, "MuZero: steps per stream before learning starts.", low=1)
  priority_alpha: float = _field(0.6, "MuZero: prioritization exponent (0 = uniform).", low=0)
  priority_beta: float = _field(
    0.4, "MuZero: initial importance-sampling exponent, annealed to 1.", low=0, high=1
  )
  reanalyse_fraction: float = _field(
    0.0,
    "MuZero: share of each batch whose targets are recomputed by the target network.",
    low=0,
    high=1,
  )
  target_update_interval: int = _field(
    10, "MuZero: iterations between target network updates.", low=1
  )
  warmup_updates: int = _field(200, "MuZero: learning-rate warmup updates.", low=0)
  weight_decay: float = _field(1e-4, "MuZero: AdamW weight decay.", low=0)
  consistency_weight: float = _field(
    0.0, "MuZero: weight of the EfficientZero consistency loss; 0 disables.", low=0
  )
  support_size: int = _field(20, "MuZero: value/reward support is the integers -S..S.", low=1)
  model_torso: str = _field(
    "auto",
    "MuZero: 'resnet' (conv), 'mlp' (flattened), or 'auto' (resnet for images).",
    choices=("auto", "resnet", "mlp"),
  )
  model_width: int = _field(
    64, "MuZero: latent channels (images) or units (vectors); MLP networks: units.", low=1
  )
  model_blocks: int = _field(
    2, "MuZero: residual blocks per torso; MLP networks: hidden layers.", low=1
  )
  atari_color: str = _field(
    "gray", "Atari (ALE ids): frames in grayscale or RGB.", choices=("gray", "rgb")
  )
  planner: str = _field(
    "independent",
    "Multi-agent MuZero (MPE ids): how the agents plan.",
    choices=("independent", "sequential", "joint"),
  )
  num_joint_samples: int = _field(
    16, "Multi-agent MuZero, planner=joint: joint actions sampled at every node.", low=1
  )
  model_heads: int = _field(2, "Multi-agent MuZero: attention heads across agents.", low=1)
  num_actors: int = _field(
    0,
    "MuZero: Ray actors collecting while this process learns (rollout_batch_size "
    "environments each); 0 runs the synchronous loop.",
    low=0,
  )
  broadcast_every: int = _field(
    4, "MuZero with Ray: episodes an actor finishes between parameter refreshes.", low=1
  )
  ray_address: str = _field(
    "", "MuZero with Ray: address of an existing Ray cluster; empty starts a local one."
  )

  # Network.
  num_transformer_layers: int = _field(2, "Encoder depth.", low=1, high=64)
  transformer_num_heads: int = _field(2, "Attention heads.", low=1, high=64)
  transformer_key_size: int = _field(16, "Key size; model width = heads x key size.", low=1)
  transformer_mlp_ratio: int = _field(
    2, "Feed-forward width as a multiple of the model width.", low=1
  )
  transformer_norm: str = _field(
    "post",
    "BinPack network: where the attention blocks normalize, 'post' (after each "
    "residual sum) or 'pre' (each sublayer's input; needed for 3 or more layers).",
    choices=("pre", "post"),
  )

  # Evaluation.
  eval_batch_size: int = _field(128, "Held-out episodes per evaluation.", low=1)
  eval_every: int = _field(10, "Evaluate every this many iterations; 0 disables.", low=0)
  eval_max_steps: int = _field(
    0,
    "Cut evaluation episodes after this many steps (their return so far counts); 0 means "
    "the environment's own limit.",
    low=0,
  )
  eval_simulations: int = _field(
    16, "Simulations of the search evaluation; 0 evaluates the network only.", low=0
  )

  # Outputs.
  checkpoint_every: int = _field(10, "Checkpoint every this many iterations.", low=1)
  keep_checkpoints: int = _field(3, "Most recent checkpoints to keep.", low=1)
  logger: str = _field("jsonl", "Extra logging backend besides metrics.jsonl.", choices=LOGGERS)

  def to_dict(self) -> dict[str, Any]:
    return dataclasses.asdict(self)

  def to_yaml(self) -> str:
    return yaml.safe_dump(self.to_dict(), sort_keys=False)


FIELDS = {f.name: f for f in dataclasses.fields(Config)}

PRESETS: dict[str, dict[str, Any]] = {
  # Chosen by measurement on a 2-core CPU (see README, docs/distill_cpu.md, benchmarks/).
  # 12-minute distill runs, greedy utilization: each search target kept for 4 iterations and
  # learned from 8 times with a cosine learning rate 0.911, against 0.896 for 4 passes over
  # each iteration's own targets at a constant rate; 8 iterations x 16 times 0.893 (learning
  # then takes the time the searches need). The cosine schedule is shared with PPO.
  "cpu": dict(
    minutes=60.0,
    num_simulations=32,
    num_epochs=8,
    replay_iterations=4,
    lr_schedule="cosine",
    eval_every=15,
    eval_simulations=32,
  ),
  # The seed project's table (GPU scale).
  "paper": dict(
    rollout_batch_size=1024,
    training_batch_size=4096,
    learning_rate=1e-3,
    max_num_iters=800,
    num_transformer_layers=4,
    transformer_num_heads=4,
    transformer_key_size=32,
    num_simulations=32,
    num_epochs=1,
    eval_batch_size=1024,
    eval_simulations=32,
  ),
  # Tiny sizes for tests and smoke runs: compiles fast, learns nothing in particular.
  "tiny": dict(
    rollout_batch_size=4,
    training_batch_size=16,
    max_num_iters=2,
    num_epochs=1,
    num_simulations=2,
    max_num_considered_actions=2,
    num_transformer_layers=1,
    transformer_num_heads=1,
    transformer_key_size=4,
    transformer_mlp_ratio=1,
    eval_batch_size=4,
    eval_every=1,
    eval_simulations=2,
    checkpoint_every=1,
  ),
  # Atari 100K at the published scale (EfficientZero's sizes): 8 games x 25 steps x 500
  # iterations = 100k agent steps, 200 updates of 256 windows per iteration (about one
  # update per agent step), 50 simulations. Sized for an accelerator.
  "atari100k": dict(
    algo="muzero",
    env="ALE/Breakout-v5",
    rollout_batch_size=8,
    collect_steps=25,
    max_num_iters=500,
    updates_per_iteration=200,
    training_batch_size=256,
    num_simulations=50,
    max_num_considered_actions=16,
    discount=0.997,
    value_loss_weight=0.25,
    replay_capacity=12_500,
    min_replay_steps=250,
    warmup_updates=1000,
    target_update_interval=2,
    reanalyse_fraction=1.0,
    consistency_weight=2.0,
    model_width=64,
    model_blocks=2,
    learning_rate=2e-4,
    eval_batch_size=32,
    eval_every=100,
    eval_simulations=50,
    support_size=300,
    checkpoint_every=25,
  ),
  # The same protocol cut to what this CPU can show in about 40 minutes: 100k agent steps,
  # 16 updates of 32 windows per 128 agent steps (4 replayed windows per step), the last
  # 32k steps in replay (checkpoints hold it: 1.2 GB, so every 50 iterations); see
  # README and benchmarks/atari_throughput.py (325 steps/s collecting, 132 ms per update).
  "atari-cpu": dict(
    algo="muzero",
    env="ALE/Breakout-v5",
    rollout_batch_size=8,
    collect_steps=16,
    max_num_iters=782,
    updates_per_iteration=16,
    training_batch_size=32,
    num_simulations=8,
    max_num_considered_actions=4,
    discount=0.997,
    value_loss_weight=0.25,
    replay_capacity=4096,
    min_replay_steps=64,
    model_width=32,
    model_blocks=1,
    support_size=20,
    eval_batch_size=8,
    eval_every=100,
    eval_simulations=8,
    eval_max_steps=2000,
    checkpoint_every=50,
  ),
}


# Per-algorithm values, applied on top of the preset and below explicit values.
ALGORITHM_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
  "distill": {
    # 60-minute BinPack runs, seed 0, greedy on 1024 held-out instances: 0.938 with
    # symmetric views, 0.921 without (docs/distill_cpu.md). PPO keeps its views off: 0.919
    # with them (invariance regularizer, half the decisions/s), 0.922 without.
    "cpu": dict(symmetric_views=True),
  },
  "ppo": {
    # Measured on the 2-core CPU (8-minute runs, greedy utilization on the held-out set):
    # 256 episodes per iteration reached 0.909, 64 episodes 0.902.
    "cpu": dict(
      learning_rate=3e-4,
      num_epochs=4,
      rollout_batch_size=256,
      training_batch_size=512,
      eval_every=25,
    ),
    "paper": dict(learning_rate=3e-4, num_epochs=4),
  },
  "muzero": {
    # The flattened MLP torso: on this CPU one iteration (8 updates of 128 windows) takes
    # 0.8 s with it and about 6 s with the conv torso at width 32 (739 ms per update;
    # `python benchmarks/scan_updates.py --preset cpu model_torso=resnet model_width=32`).
    "cpu": dict(
      env="Breakout-MinAtar",
      model_torso="mlp",
      model_width=128,
      rollout_batch_size=16,
      training_batch_size=128,
      num_simulations=8,
      max_num_considered_actions=3,
      discount=0.997,
      value_loss_weight=0.25,
      max_num_iters=5000,
      eval_batch_size=32,
      eval_every=100,
      eval_simulations=8,
    ),
    "paper": dict(
      env="Breakout-MinAtar",
      rollout_batch_size=64,
      training_batch_size=256,
      num_simulations=50,
      search_policy="muzero",
      max_num_considered_actions=3,
      discount=0.997,
      value_loss_weight=0.25,
      replay_capacity=16384,
      updates_per_iteration=16,
      eval_batch_size=64,
      eval_simulations=50,
      model_width=128,
    ),
    "tiny": dict(
      env="Breakout-MinAtar",
      rollout_batch_size=4,
      training_batch_size=8,
      max_num_considered_actions=3,
      collect_steps=4,
      updates_per_iteration=2,
      num_unroll_steps=2,
      td_steps=2,
      replay_capacity=64,
      min_replay_steps=6,
      model_width=8,
      model_blocks=1,
      support_size=5,
      eval_batch_size=4,
    ),
  },
}


# Per-algorithm values for a family of environments, applied on top of the algorithm preset.
ENVIRONMENT_PRESETS: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
  "ppo": {
    # MinAtar's episodes last up to 1000 steps, so fewer episodes per iteration; an MLP as
    # wide as the muzero cpu preset's torso; MinAtar's usual discount. Measured on
    # Breakout-MinAtar (greedy return after about 540k steps): 16 episodes per iteration
    # 5.4 (entropy collapsed to 0.09), 64 episodes 6.0, 64 with entropy 0.03 6.4.
    "minatar": {
      "cpu": dict(
        rollout_batch_size=64,
        training_batch_size=512,
        num_epochs=4,
        learning_rate=5e-4,
        entropy_coef=0.03,
        discount=0.99,
        model_width=128,
        model_blocks=2,
        max_num_iters=100_000,
        eval_every=25,
        eval_batch_size=32,
        eval_simulations=0,
      ),
    },
  },
  "muzero": {
    # MPE simple_spread (26-step episodes, 3 agents x 5 actions): 64 environments for half
    # an episode per iteration, 8 updates of 128 windows, 8 simulations per search, the
    # MLP-attention world model at width 64. Measured on the 2-core CPU: about 1,000
    # decisions/s with the independent planner (see README).
    "mpe": {
      "cpu": dict(
        rollout_batch_size=64,
        collect_steps=13,
        training_batch_size=128,
        updates_per_iteration=8,
        num_simulations=8,
        max_num_considered_actions=8,
        model_width=64,
        discount=0.97,
        replay_capacity=1024,
        min_replay_steps=26,
        max_num_iters=5000,
        eval_every=25,
        eval_batch_size=64,
        eval_simulations=8,
        checkpoint_every=50,
      ),
    },
  },
}


def environment_family(env_id: str) -> str:
  """'minatar' for MinAtar ids, 'atari' for ALE ids, 'mpe' for JaxMARL MPE ids, else
  'jumanji'."""
  if env_id.endswith("-MinAtar"):
    return "minatar"
  if env_id.startswith("MPE_"):
    return "mpe"
  return "atari" if env_id.startswith("ALE/") else "jumanji"


def _suggest(name: str, options) -> str:
  close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
  return f"; did you mean '{close[0]}'?" if close else ""


def _coerce(name: str, value: Any) -> Any:
  """Converts `value` (possibly a string from the command line) to the field's type."""
  hint = typing.get_type_hints(Config)[name]
  if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
    hint = next(a for a in typing.get_args(hint) if a is not type(None))
  if isinstance(value, str) and hint is not str:
    for parse in (int, float) if hint is int else (float,) if hint is float else ():
      try:
        value = parse(value)
        break
      except ValueError:
        pass
    else:
      try:
        value = yaml.safe_load(value)
      except yaml.YAMLError:
        pass
  if hint is bool:
    if isinstance(value, bool):
      return value
  elif hint is int:
    if isinstance(value, int) and not isinstance(value, bool):
      return value
    if isinstance(value, float) and value.is_integer():
      return int(value)
  elif hint is float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value)
  elif hint is str:
    if isinstance(value, str):
      return value
  raise ConfigError(
    f"{name} must be of type {hint.__name__}, got {value!r} ({type(value).__name__})"
  )


def _check_field(name: str, value: Any) -> None:
  meta = FIELDS[name].metadata
  if isinstance(value, float) and not math.isfinite(value):
    raise ConfigError(f"{name} must be finite, got {value}")
  if meta["choices"] is not None and value not in meta["choices"]:
    raise ConfigError(
      f"{name} must be one of {', '.join(meta['choices'])}, got {value!r}"
      + _suggest(str(value), meta["choices"])
    )
  if meta["low"] is not None and value < meta["low"]:
    raise ConfigError(f"{name} must be >= {meta['low']}, got {value}")
  if meta["high"] is not None and value > meta["high"]:
    raise ConfigError(f"{name} must be <= {meta['high']}, got {value}")


def make_config(preset: str = "cpu", overrides: Mapping[str, Any] | None = None) -> Config:
  """Builds a validated config: the preset's values, then `overrides` on top.

  Args:
    preset: name of a preset in `PRESETS`.
    overrides: field name -> value; strings are parsed as YAML scalars ("1e-3", "true").

  Raises:
    ConfigError: unknown preset or key, wrong type, value out of range.
  """
  if preset not in PRESETS:
    raise ConfigError(
      f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)}" + _suggest(preset, PRESETS)
    )
  explicit: dict[str, Any] = {}
  for name, value in (overrides or {}).items():
    if name not in FIELDS:
      raise ConfigError(f"unknown config key '{name}'" + _suggest(name, FIELDS))
    explicit[name] = _coerce(name, value)
  algo = explicit.get("algo", PRESETS[preset].get("algo", FIELDS["algo"].default))
  _check_field("algo", algo)
  if PRESETS[preset].get("algo", algo) != algo:
    raise ConfigError(f"preset '{preset}' is for algo={PRESETS[preset]['algo']}, not {algo}")
  values = {**PRESETS[preset], **ALGORITHM_PRESETS.get(algo, {}).get(preset, {})}
  family = environment_family(str(explicit.get("env", values.get("env", FIELDS["env"].default))))
  values.update(ENVIRONMENT_PRESETS.get(algo, {}).get(family, {}).get(preset, {}))
  values.update(explicit)
  config = Config(**values)
  for name in FIELDS:
    _check_field(name, getattr(config, name))
  _check_combinations(config)
  return config


def parse_overrides(items: list[str]) -> dict[str, str]:
  """Parses `key=value` strings, rejecting anything that is not one."""
  overrides = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise ConfigError(f"expected key=value, got '{item}'")
    overrides[key.strip().replace("-", "_")] = value.strip()
  return overrides


def load_config(path) -> Config:
  """Reads a `config.yaml` written by a run; raises `ConfigError` naming the file on failure."""
  try:
    with open(path) as f:
      raw = yaml.safe_load(f)
  except FileNotFoundError:
    raise ConfigError(f"{path}: no such file") from None
  except (OSError, yaml.YAMLError) as e:
    raise ConfigError(f"{path}: cannot read config ({e.__class__.__name__})") from None
  if not isinstance(raw, dict):
    raise ConfigError(f"{path}: not a config mapping")
  try:
    return make_config("cpu", raw)
  except ConfigError as e:
    raise ConfigError(f"{path}: {e}") from None


def _check_combinations(config: Config) -> None:
  if config.num_actors and config.algo != "muzero":
    raise ConfigError(
      f"num_actors={config.num_actors} needs algo=muzero (the Ray "
      f"actor-learner), not algo={config.algo}"
    )
  if config.symmetric_views and config.algo == "muzero":
    raise ConfigError("symmetric_views=true is for algo=distill and algo=ppo, not muzero")
  if config.ray_address and not config.num_actors:
    raise ConfigError("ray_address is set but num_actors=0; set num_actors to use Ray")


def check_runtime(config: Config, *, num_devices: int) -> None:
  """Checks the combinations that depend on the machine."""
  for name in ("rollout_batch_size", "training_batch_size", "eval_batch_size"):
    value = getattr(config, name)
    if value % num_devices:
      raise ConfigError(f"{name}={value} is not divisible by the {num_devices} local devices")
