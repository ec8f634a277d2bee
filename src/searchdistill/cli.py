"""Command line: parse -> config -> run. No logic of its own beyond wiring."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import re
import sys

from searchdistill.config import ConfigError, load_config, make_config, override, parse_overrides

# Flags that are shorthands for config keys. Their argparse default is None, meaning "not
# given", so a flag never replaces a value the user set another way.
FLAG_KEYS = {
  "env": "env",
  "seed": "seed",
  "num_simulations": "num_simulations",
  "minutes": "minutes",
  "algo": "algo",
}


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="searchdistill", description=__doc__)
  commands = parser.add_subparsers(dest="command", required=True)

  train = commands.add_parser("train", help="train an agent")
  train.add_argument(
    "--env",
    help="environment id: BinPack-v2 (Jumanji), Breakout-MinAtar, ALE/Breakout-v5, "
    "MPE_simple_spread_v3 (multi-agent, JaxMARL)",
  )
  train.add_argument("--algo", help="algorithm: distill (default), ppo, or muzero (learned model)")
  train.add_argument(
    "--preset",
    default="cpu",
    help="cpu (default), paper, tiny; atari-cpu or atari100k for muzero on ALE ids",
  )
  train.add_argument("--out", help="run directory (default: runs/<env>_<algo>_s<seed>_<time>)")
  train.add_argument("--seed", type=int)
  train.add_argument("--num-simulations", type=int, dest="num_simulations")
  train.add_argument("--minutes", type=float, help="wall-clock budget")
  train.add_argument("--resume", metavar="RUN", help="continue RUN from its latest checkpoint")
  train.add_argument("--no-progress", action="store_true", help="no progress bar")
  train.add_argument("overrides", nargs="*", metavar="key=value")

  evaluate = commands.add_parser("eval", help="evaluate a run or checkpoint")
  evaluate.add_argument("path", metavar="RUN_DIR_OR_CHECKPOINT")
  evaluate.add_argument("--episodes", type=int, default=128)
  evaluate.add_argument("--simulations", type=int, default=0, help="0: network only")
  evaluate.add_argument("--json", action="store_true", help="print one JSON object")

  render = commands.add_parser("render", help="write a GIF of one episode")
  render.add_argument("path", metavar="RUN_OR_CHECKPOINT")
  render.add_argument("--out", default="episode.gif")
  render.add_argument("--simulations", type=int, default=0, help="0: network only")
  render.add_argument("--seed", type=int, default=0, help="which held-out instance")

  compare = commands.add_parser("compare", help="train algorithms side by side and report")
  compare.add_argument("--env", default="BinPack-v2")
  compare.add_argument("--algos", nargs="+", default=["distill", "ppo"])
  compare.add_argument(
    "--variants",
    nargs="+",
    metavar="KEY=VALUE[,KEY=VALUE]",
    help="one run per variant for each algorithm and seed, e.g. planner=independent "
    "planner=joint planner=joint,num_actors=2",
  )
  compare.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
  compare.add_argument("--minutes", type=float, default=60.0, help="budget per run")
  compare.add_argument("--preset", default="cpu")
  compare.add_argument("--out", required=True)
  compare.add_argument("--no-progress", action="store_true")
  compare.add_argument("overrides", nargs="*", metavar="key=value")

  plot = commands.add_parser("plot", help="plot learning curves of runs")
  plot.add_argument("runs", nargs="+", metavar="RUN")
  plot.add_argument("--out", default="curves.png")
  return parser


def _train_config(args):
  overrides = parse_overrides(args.overrides)
  for flag, key in FLAG_KEYS.items():
    value = getattr(args, flag)
    if value is not None:
      if key in overrides:
        raise ConfigError(f"{key} given twice (--{flag.replace('_', '-')} and {key}=)")
      overrides[key] = value
  if args.resume:
    if args.preset != "cpu" or args.out:
      raise ConfigError("--resume takes its preset and directory from the run")
    saved = load_config(pathlib.Path(args.resume) / "config.yaml")
    return override(saved, overrides), pathlib.Path(args.resume)
  config = make_config(args.preset, overrides)
  if args.out:
    out = pathlib.Path(args.out)
  else:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    env_name = re.sub(r"[^A-Za-z0-9._-]", "-", config.run.env)
    name = f"{env_name}_{config.run.algo}_s{config.run.seed}_{stamp}"
    out = pathlib.Path("runs") / name
  return config, out


def _run_train(args) -> int:
  config, out = _train_config(args)
  _use_all_cores([config])
  from searchdistill.runner import train  # Heavy imports only once the input is valid.

  summary = train(config, out, resume=bool(args.resume), show_progress=not args.no_progress)
  print(json.dumps({"run": str(out), **summary}))
  return 0


def _run_eval(args) -> int:
  if args.episodes < 1:
    raise ConfigError(f"--episodes must be >= 1, got {args.episodes}")
  if args.simulations < 0:
    raise ConfigError(f"--simulations must be >= 0, got {args.simulations}")
  from searchdistill.runs.directory import find_run_config

  run_config = find_run_config(args.path)
  if run_config is not None:
    _use_all_cores([run_config])  # The episodes are split over the devices, as in training.
  from searchdistill.runner.evaluate import evaluate_checkpoint

  result = evaluate_checkpoint(args.path, episodes=args.episodes, simulations=args.simulations)
  if args.json:
    print(json.dumps(result))
  else:
    mode = f"search ({args.simulations} simulations)" if args.simulations else "greedy"
    print(
      f"{result['env']} {mode}: {result['mean']:.4f} +- {result['stderr']:.4f} "
      f"over {result['episodes']} held-out episodes (iteration {result['iteration']})"
    )
  return 0


def _use_all_cores(configs) -> None:
  """Splits the CPU into one XLA device per core for distill and PPO runs, unless the user
  set `XLA_FLAGS` themselves.

  XLA:CPU runs one device's operations on one thread pool, and the search's many small
  operations leave a second core mostly idle; one device per core, with the batch split over
  them (`training/sharding.py`), measured 1.3-1.5x the decisions per second of distill and
  1.2x of PPO on a 2-core machine (`python benchmarks/iteration_throughput.py`). The count is
  the largest that divides every batch (a batch must split evenly over the devices) and no
  more than the cores this process may use. MuZero keeps one device (its learner does not
  split batches). Must run before JAX starts its backend; accelerators are unaffected (the
  flag counts host devices).
  """
  if "XLA_FLAGS" in os.environ or any(c.run.algo not in ("distill", "ppo") for c in configs):
    return
  cores = len(os.sched_getaffinity(0)) if sys.platform == "linux" else (os.cpu_count() or 1)
  batches = [
    b
    for c in configs
    for b in (c.train.rollout_batch_size, c.train.training_batch_size, c.eval.eval_batch_size)
  ]
  devices = max(d for d in range(1, cores + 1) if all(b % d == 0 for b in batches))
  os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"


def _enable_compilation_cache() -> None:
  """Reuses XLA compilations across processes (a search step takes 10-40 s to compile),
  unless this process chose its cache already (a program calling `main`, the tests)."""
  import jax

  if jax.config.jax_compilation_cache_dir:
    return
  cache = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(
    os.path.expanduser("~"), ".cache", "searchdistill", "xla"
  )
  jax.config.update("jax_compilation_cache_dir", cache)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def _run_render(args) -> int:
  if args.simulations < 0:
    raise ConfigError(f"--simulations must be >= 0, got {args.simulations}")
  from searchdistill.loop.evaluation import eval_keys
  from searchdistill.runner.evaluate import load_trained
  from searchdistill.viz import play_episode, write_gif

  parts, state, _ = load_trained(args.path)
  key = eval_keys(args.seed + 1)[args.seed]
  episode = play_episode(parts, state.params, key=key, simulations=args.simulations)
  write_gif(parts, episode, args.out)
  print(f"wrote {args.out}: {episode.steps} steps, return {episode.total:.4f}")
  return 0


def _run_plot(args) -> int:
  for run in args.runs:
    if not (pathlib.Path(run) / "metrics.jsonl").exists():
      raise ConfigError(f"{run}: no metrics.jsonl (not a run directory)")
  from searchdistill.viz import plot_runs

  plot_runs(args.runs, args.out)
  print(f"wrote {args.out}")
  return 0


def _run_compare(args) -> int:
  if args.minutes <= 0:
    raise ConfigError(f"--minutes must be > 0, got {args.minutes}")
  overrides = parse_overrides(args.overrides)
  from searchdistill.runner.compare import (
    check_runs,
    plan_configs,
    reference_scores,
    run_comparison,
  )
  from searchdistill.viz.plot import plot_comparison
  from searchdistill.viz.report import write_report

  out = pathlib.Path(args.out)
  configs = plan_configs(
    env=args.env,
    algos=args.algos,
    seeds=args.seeds,
    minutes=args.minutes,
    preset=args.preset,
    overrides=overrides,
    out=out,
    variants=args.variants,
  )
  _use_all_cores([config for config, _ in configs])
  runs = check_runs(configs)
  run_comparison(runs, show_progress=not args.no_progress)
  references = reference_scores(runs[0][0])
  report = write_report(
    [d for _, d in runs], out / "report.md", minutes=args.minutes, references=references
  )
  plot_comparison([d for _, d in runs], out / "curves.png", references=references)
  print(report)
  return 0


def _parse(argv) -> argparse.Namespace:
  """Parses `argv`, taking `key=value` overrides on either side of the options (argparse alone
  rejects `train a=1 --out R b=2`, whose second override follows an option)."""
  parser = _parser()
  args, rest = parser.parse_known_args(argv)
  overrides = [token for token in rest if "=" in token and not token.startswith("-")]
  unknown = [token for token in rest if token not in overrides]
  if unknown or (overrides and "overrides" not in vars(args)):
    parser.error(f"unrecognized arguments: {' '.join(unknown or overrides)}")
  if overrides:
    args.overrides = args.overrides + overrides
  return args


def main(argv=None) -> int:
  args = _parse(argv)
  _enable_compilation_cache()
  from searchdistill.envs.capabilities import EnvError
  from searchdistill.loop.run import NonFiniteError
  from searchdistill.runs.checkpoint import CheckpointError

  try:
    commands = {
      "train": _run_train,
      "eval": _run_eval,
      "render": _run_render,
      "plot": _run_plot,
      "compare": _run_compare,
    }
    return commands[args.command](args)
  except (ConfigError, EnvError, CheckpointError, NonFiniteError, RuntimeError) as e:
    print(f"searchdistill: error: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
  sys.exit(main())
