"""The config's groups, one per component that reads it. Every key has one owner group, and
every key name is unique across groups, so users write keys flat (`num_simulations=8`).

Each group is a frozen dataclass; a field's metadata holds its help text and bounds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

ALGORITHMS = ("distill", "ppo", "muzero")
LOGGERS = ("jsonl", "tensorboard", "wandb")


def field(default: Any, help: str, *, low=None, high=None, choices: tuple | None = None):
  return dataclasses.field(
    default=default, metadata=dict(help=help, low=low, high=high, choices=choices)
  )


frozen = dataclasses.dataclass(frozen=True, kw_only=True)


@frozen
class RunConfig:
  """What runs, and for how long (read by the run loop)."""

  algo: str = field("distill", "Training algorithm.", choices=ALGORITHMS)
  env: str = field("BinPack-v2", "Environment id (a Jumanji id such as BinPack-v2).")
  seed: int = field(0, "Seed of the training RNG stream.", low=0)
  max_num_iters: int = field(1000, "Training iterations (collect + learn).", low=1)
  minutes: float = field(0.0, "Wall-clock budget in minutes; 0 means no limit.", low=0)


@frozen
class TrainConfig:
  """Collection and learning, shared by the algorithms (read by the learners)."""

  rollout_batch_size: int = field(64, "Episodes (streams) collected per iteration.", low=1)
  training_batch_size: int = field(256, "Samples per SGD step.", low=1)
  learning_rate: float = field(1e-3, "Adam learning rate.", low=0, high=1)
  max_grad_norm: float = field(1.0, "Global-norm gradient clipping threshold.", low=0)
  value_loss_weight: float = field(1.0, "Weight of the value loss in the total loss.", low=0)
  discount: float = field(1.0, "Discount of the value targets.", low=0, high=1)
  num_epochs: int = field(2, "Distill and PPO: passes over each iteration's data.", low=1)
  lr_schedule: str = field(
    "constant",
    "Distill and PPO: learning rate 'constant', or 'cosine' decay to lr_final_fraction of "
    "it at the end of the budget (iterations or minutes, whichever ends first).",
    choices=("constant", "cosine"),
  )
  lr_final_fraction: float = field(
    0.0,
    "Distill and PPO with lr_schedule=cosine: the fraction of the learning rate left at "
    "the end of the budget (the cosine decays to it instead of to 0).",
    low=0,
    high=1,
  )
  symmetric_views: bool = field(
    False,
    "Distill and PPO: learn from each sample as a random one of its equivalent "
    "instances where the environment has symmetries (BinPack: the 6 orders of the axes).",
  )


@frozen
class DistillConfig:
  """Search distillation (algo=distill)."""

  replay_iterations: int = field(
    1, "Iterations for which each search target stays in the sample history.", low=1
  )
  early_simulations: int = field(
    0,
    "Simulations per decision for the first `early_fraction` of the budget (then "
    "num_simulations); 0 keeps num_simulations throughout.",
    low=0,
  )
  early_fraction: float = field(
    0.5, "Share of the budget searched with early_simulations.", low=0, high=1
  )


@frozen
class PPOConfig:
  """The PPO baseline (algo=ppo)."""

  gae_lambda: float = field(0.95, "GAE lambda.", low=0, high=1)
  clip_eps: float = field(0.2, "Surrogate clipping threshold.", low=0)
  value_clip_eps: float = field(0.2, "Value clipping threshold.", low=0)
  value_coef: float = field(0.5, "Value loss coefficient.", low=0)
  entropy_coef: float = field(0.01, "Entropy bonus coefficient.", low=0)
  target_kl: float = field(
    0.0, "Stop an iteration's updates once approximate KL exceeds this; 0 disables.", low=0
  )


@frozen
class SearchConfig:
  """The search, in training and in evaluation (read by `search/`)."""

  num_simulations: int = field(16, "Distill and MuZero: simulations per decision.", low=1)
  max_num_considered_actions: int = field(
    16,
    "Actions sampled at the root by Gumbel top-k (every action if the environment has fewer).",
    low=1,
  )
  gumbel_scale: float = field(
    1.0, "Distill and MuZero: scale of the root Gumbel noise while training.", low=0
  )
  value_scale: float = field(
    0.1,
    "c_scale of the completed-Q transform: how far the search's action weights move from "
    "the prior towards the best Q (distill's training and every evaluation search).",
    low=0,
  )
  search_policy: str = field(
    "gumbel", "MuZero: mctx policy over the learned model.", choices=("gumbel", "muzero")
  )
  dirichlet_alpha: float = field(0.3, "MuZero (search_policy=muzero): root noise alpha.", low=0)
  dirichlet_fraction: float = field(
    0.25, "MuZero (search_policy=muzero): root noise weight; 0 disables.", low=0, high=1
  )


@frozen
class NetworkConfig:
  """The policy-value network or world model (read by `networks/`)."""

  num_transformer_layers: int = field(2, "BinPack network: encoder depth.", low=1, high=64)
  transformer_num_heads: int = field(2, "BinPack network: attention heads.", low=1, high=64)
  transformer_key_size: int = field(
    16, "BinPack network: key size; model width = heads x key size.", low=1
  )
  transformer_mlp_ratio: int = field(
    2, "BinPack network: feed-forward width as a multiple of the model width.", low=1
  )
  transformer_norm: str = field(
    "post",
    "BinPack network: where the attention blocks normalize, 'post' (after each "
    "residual sum) or 'pre' (each sublayer's input; needed for 3 or more layers).",
    choices=("pre", "post"),
  )
  model_torso: str = field(
    "auto",
    "MuZero: 'resnet' (conv), 'mlp' (flattened), or 'auto' (resnet for images).",
    choices=("auto", "resnet", "mlp"),
  )
  model_width: int = field(
    64, "MuZero: latent channels (images) or units (vectors); MLP networks: units.", low=1
  )
  model_blocks: int = field(
    2, "MuZero: residual blocks per torso; MLP networks: hidden layers.", low=1
  )
  model_heads: int = field(2, "Multi-agent MuZero: attention heads across agents.", low=1)


@frozen
class EvalConfig:
  """Evaluation on fixed held-out episodes (read by the run loop's evaluator)."""

  eval_batch_size: int = field(128, "Held-out episodes per evaluation.", low=1)
  eval_every: int = field(10, "Evaluate every this many iterations; 0 disables.", low=0)
  eval_max_steps: int = field(
    0,
    "Cut evaluation episodes after this many steps (their return so far counts); 0 means "
    "the environment's own limit.",
    low=0,
  )
  eval_simulations: int = field(
    16, "Simulations of the search evaluation; 0 evaluates the network only.", low=0
  )


@frozen
class OutputConfig:
  """What a run writes (read by run I/O)."""

  checkpoint_every: int = field(10, "Checkpoint every this many iterations.", low=1)
  keep_checkpoints: int = field(3, "Most recent checkpoints to keep.", low=1)
  logger: str = field("jsonl", "Extra logging backend besides metrics.jsonl.", choices=LOGGERS)
