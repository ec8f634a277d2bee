"""The config groups of MuZero with a learned model: its learner, multi-agent planning, Ray
collection, and the options of the environments only MuZero plays."""

from __future__ import annotations

from searchdistill.config.groups import field, frozen


@frozen
class MuZeroConfig:
  """MuZero's learner and replay (algo=muzero). `rollout_batch_size` is the number of
  environments stepped in parallel."""

  collect_steps: int = field(16, "Steps per environment per iteration.", low=1)
  updates_per_iteration: int = field(
    8,
    "SGD updates per iteration (the replay ratio is updates x batch / collected steps).",
    low=1,
  )
  num_unroll_steps: int = field(5, "K, model steps unrolled per sample.", low=1)
  td_steps: int = field(5, "n of the n-step value targets.", low=1)
  replay_capacity: int = field(4096, "Stored steps per environment stream.", low=2)
  min_replay_steps: int = field(64, "Steps per stream before learning starts.", low=1)
  priority_alpha: float = field(0.6, "Prioritization exponent (0 = uniform).", low=0)
  priority_beta: float = field(
    0.4, "Initial importance-sampling exponent, annealed to 1.", low=0, high=1
  )
  reanalyse_fraction: float = field(
    0.0, "Share of each batch whose targets are recomputed by the target network.", low=0, high=1
  )
  target_update_interval: int = field(10, "Iterations between target network updates.", low=1)
  warmup_updates: int = field(200, "Learning-rate warmup updates.", low=0)
  weight_decay: float = field(1e-4, "AdamW weight decay.", low=0)
  consistency_weight: float = field(
    0.0, "Weight of the EfficientZero consistency loss; 0 disables.", low=0
  )
  support_size: int = field(20, "Value/reward support is the integers -S..S.", low=1)


@frozen
class MultiAgentConfig:
  """Multi-agent MuZero (MPE environments)."""

  planner: str = field(
    "independent", "How the agents plan.", choices=("independent", "sequential", "joint")
  )
  num_joint_samples: int = field(16, "planner=joint: joint actions sampled at every node.", low=1)


@frozen
class DistributedConfig:
  """MuZero's Ray actor-learner."""

  num_actors: int = field(
    0,
    "Ray actors collecting while this process learns (rollout_batch_size environments "
    "each); 0 runs the synchronous loop.",
    low=0,
  )
  broadcast_every: int = field(4, "Episodes an actor finishes between parameter refreshes.", low=1)
  ray_address: str = field("", "Address of an existing Ray cluster; empty starts a local one.")


@frozen
class EnvironmentConfig:
  """Options of particular environment families."""

  atari_color: str = field(
    "gray", "Atari (ALE ids): frames in grayscale or RGB.", choices=("gray", "rgb")
  )
