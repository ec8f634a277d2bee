"""Decisions per second of full training iterations (collect + targets + learn), one XLA
device against one device per core, for each algorithm's cpu preset on BinPack-v2.

Each (algorithm, device count) runs in its own child process, because XLA fixes the number of
host devices when it starts (`XLA_FLAGS=--xla_force_host_platform_device_count=N`). The
children run in turn, so each has the machine to itself; run this on an otherwise idle
machine. A child compiles, runs `--warmup` iterations, then times `--iterations` more and
reports the median of (real environment steps / iteration seconds).

  python benchmarks/iteration_throughput.py
  python benchmarks/iteration_throughput.py --algos distill --iterations 8 num_simulations=16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def child(algo: str, iterations: int, warmup: int, overrides: list[str]) -> None:
  import jax

  from searchdistill.config import is_used, make_config, parse_overrides
  from searchdistill.loop.components import build

  # Overrides go to the algorithms that read them (num_simulations: not PPO).
  own = {k: v for k, v in parse_overrides(overrides).items() if is_used(k, algo, "BinPack-v2")}
  config = make_config("cpu", {**own, "algo": algo})
  parts = build(config)
  state = parts.place(parts.init_state())
  iteration = parts.iteration()
  rates = []
  for i in range(warmup + iterations):
    start = time.perf_counter()
    state, metrics = iteration(state)
    steps = float(jax.device_get(metrics["rollout/env_steps"]))
    if i >= warmup:
      rates.append(steps / (time.perf_counter() - start))
  print(
    json.dumps(
      {"devices": parts.parallel.num_devices, "median": statistics.median(rates), "rates": rates}
    )
  )


def run_child(algo: str, devices: int, args) -> dict:
  env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
  command = [
    sys.executable,
    __file__,
    "--child",
    algo,
    "--iterations",
    str(args.iterations),
    "--warmup",
    str(args.warmup),
    *args.overrides,
  ]
  result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
  return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--algos", nargs="+", default=["distill", "ppo"])
  parser.add_argument(
    "--devices",
    type=int,
    default=os.cpu_count() or 1,
    help="the many-device setting (default: one per core)",
  )
  parser.add_argument("--iterations", type=int, default=6)
  parser.add_argument("--warmup", type=int, default=2)
  parser.add_argument("--child", help=argparse.SUPPRESS)
  parser.add_argument("overrides", nargs="*", metavar="key=value")
  args = parser.parse_args()
  if args.child:
    child(args.child, args.iterations, args.warmup, args.overrides)
    return

  print(f"| algorithm | 1 device, decisions/s | {args.devices} devices, decisions/s | ratio |")
  print("|---|---|---|---|")
  for algo in args.algos:
    one = run_child(algo, 1, args)
    many = run_child(algo, args.devices, args)
    print(
      f"| {algo} | {one['median']:.0f} | {many['median']:.0f} | "
      f"{many['median'] / one['median']:.2f}x |",
      flush=True,
    )


if __name__ == "__main__":
  main()
