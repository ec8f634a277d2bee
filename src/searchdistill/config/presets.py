"""The presets: named sets of values, in layers (see `config.build.make_config`).

A config is resolved from four layers, each overriding the one before:
  1. the schema's defaults (`config.schema`);
  2. the preset (`PRESETS[preset]`: cpu, paper, tiny, atari100k, atari-cpu);
  3. the algorithm's values for that preset (`ALGORITHM_PRESETS[algo][preset]`), then the
     environment family's values for that algorithm and preset
     (`ENVIRONMENT_PRESETS[algo][family][preset]`, family from `envs.family`);
  4. the explicit values (command-line flags and `key=value` overrides).
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
  # Chosen by measurement on a 2-core CPU (see README, docs/distill_cpu.md, benchmarks/).
  # 12-minute distill runs, greedy utilization: each search target kept for 4 iterations and
  # learned from 8 times with a cosine learning rate 0.911, against 0.896 for 4 passes over
  # each iteration's own targets at a constant rate; 8 iterations x 16 times 0.893 (learning
  # then takes the time the searches need). The cosine schedule is shared with PPO.
  # It decays to half the rate, not to 0: 60-minute distill runs ending at 0 stalled from the
  # 30th minute (0.925-0.931 greedy at 60), while a 120-minute run, its rate still at 0.59 at
  # the 60th minute, reached 0.947 there. With the floor, 60 minutes, seed 0: distill 0.950,
  # PPO 0.923 on 1,024 episodes (docs/distill_cpu.md).
  "cpu": dict(
    minutes=60.0,
    num_simulations=32,
    num_epochs=8,
    replay_iterations=4,
    lr_schedule="cosine",
    lr_final_fraction=0.5,
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
