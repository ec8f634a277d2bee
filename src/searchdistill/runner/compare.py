"""Trains several algorithms or variants under the same wall-clock budget and seeds, one after
another, and scores the reference policies of multi-agent environments on the same episodes."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Sequence

import jax

from searchdistill.config import (
  FIELDS,
  ConfigError,
  check_used,
  is_used,
  load_config,
  make_config,
  parse_overrides,
)
from searchdistill.loop.components import build
from searchdistill.loop.evaluation import eval_keys, summarize
from searchdistill.runner.train import train
from searchdistill.runs.directory import changed_keys


def parse_variant(text: str) -> tuple[str, dict]:
  """`"planner=joint,num_actors=2"` -> (`"planner-joint_num_actors-2"`, overrides)."""
  items = [item for item in text.split(",") if item]
  if not items:
    raise ConfigError(f"empty variant {text!r}; write key=value[,key=value...]")
  overrides = parse_overrides(items)
  label = "_".join(f"{k}-{v}" for k, v in overrides.items())
  return label, overrides


def plan_configs(
  *,
  env: str,
  algos,
  seeds,
  minutes: float,
  preset: str,
  overrides: dict,
  out,
  variants: Sequence[str] | None = None,
):
  """`(config, run_dir)` pairs, every config checked on its own (nothing touches devices).

  Each variant (comma-separated `key=value` overrides) is one more run per algorithm and
  seed, in `<algo>_<variant>_s<seed>`; without variants the runs are `<algo>_s<seed>`."""
  parsed = [parse_variant(v) for v in variants] if variants else [("", {})]
  _check_shared(overrides, algos, env)
  runs = []
  # Seed-major order: an interrupted comparison still has every algorithm for the seeds done.
  for seed in seeds:
    for algo in algos:
      # A shared override goes to the algorithms that read it (num_simulations: not PPO).
      own = {key: value for key, value in overrides.items() if is_used(key, algo, env)}
      for label, variant in parsed:
        config = make_config(
          preset,
          {
            **own,
            **variant,
            "env": env,
            "algo": algo,
            "seed": seed,
            "minutes": minutes,
            "max_num_iters": 1_000_000,
          },
        )
        name = f"{algo}_{label}_s{seed}" if label else f"{algo}_s{seed}"
        runs.append((config, pathlib.Path(out) / name))
  return runs


def _check_shared(overrides: dict, algos, env: str) -> None:
  """A shared override that none of the compared algorithms reads is an error."""
  for key, value in overrides.items():
    if key in FIELDS:
      check_used(key, value, algos, env)


def check_runs(configs):
  """Checks what depends on the machine (environment id, devices) for the planned runs."""
  build(configs[0][0])
  return configs


def finished(config, run_dir: pathlib.Path) -> bool:
  """Whether `run_dir`'s metrics record the end of `config`'s budget (iterations or minutes).

  Runs measured in earlier sessions are kept as `config.yaml` and `metrics.jsonl` only (their
  checkpoints stay behind), and a comparison must not train them again."""
  metrics = run_dir / "metrics.jsonl"
  if not (run_dir / "config.yaml").exists() or not metrics.exists():
    return False
  changed = changed_keys(load_config(run_dir / "config.yaml"), config)
  if changed:
    raise ConfigError(
      f"{run_dir} holds a run with other settings ({', '.join(changed)}) "
      "than this comparison's; use another --out"
    )
  lines = metrics.read_text().splitlines()
  if not lines:
    return False
  last = json.loads(lines[-1])
  # `progress` 1: the run loop ended it as planned (possibly just before the time budget).
  return (
    last.get("progress", 0.0) >= 1.0
    or last["iteration"] >= config.run.max_num_iters
    or (config.run.minutes > 0 and last["train_seconds"] >= config.run.minutes * 60)
  )


def run_comparison(runs, *, show_progress: bool = True) -> None:
  """Trains each planned run in turn; a run that already finished is skipped, and one with a
  checkpoint is resumed."""
  done = [finished(config, run_dir) for config, run_dir in runs]  # Checks all before training.
  for (config, run_dir), skip in zip(runs, done):
    if skip:
      continue
    resume = (run_dir / "checkpoints").exists()
    train(config, run_dir, resume=resume, show_progress=show_progress)


def reference_scores(config) -> dict[str, dict]:
  """Mean +- stderr of the environment's reference policies (multi-agent environments: random
  and, on simple_spread, scripted) on the runs' evaluation episodes; empty otherwise."""
  from searchdistill.algorithms.reference_policies import reference_policies
  from searchdistill.envs import make_stream_environment
  from searchdistill.loop.evaluation import make_episode_evaluator, observation_policy

  if config.run.algo != "muzero":
    return {}
  env = make_stream_environment(config.run.env)
  if not env.capabilities.multi_agent:
    return {}
  keys = eval_keys(config.eval.eval_batch_size)
  scores = {}
  for name, choose in reference_policies(env.capabilities).items():
    evaluate = make_episode_evaluator(
      env, observation_policy(choose), max_steps=env.max_episode_steps, stream=True
    )
    scores[name] = summarize(jax.device_get(evaluate(None, keys)))
  return scores
