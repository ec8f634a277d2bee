"""Seconds per evaluation of the held-out episodes (cpu preset, BinPack-v2, an untrained
network), in three placements on one process with one XLA device per core:

- *one device*: the parameters on the first device only (what `eval` did before);
- *replicated*: the parameters on every device, so that each device played every episode
  (what the training loop did before);
- *split*: each device plays its slice of the episodes (what `train`, `compare` and `eval` do).

Each placement compiles once, then runs `--repeats` times; the medians, the ratios to one
device and the largest difference in any episode's return are printed. Run it on an
otherwise idle machine.

  python benchmarks/evaluation_throughput.py
  python benchmarks/evaluation_throughput.py --episodes 1024 --simulations 0 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

if "XLA_FLAGS" not in os.environ:  # Before JAX starts: one host device per core.
  os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={os.cpu_count() or 1}"


def _timed(evaluate, params, keys, repeats: int):
  import jax

  returns = jax.device_get(evaluate(params, keys))  # Compiles.
  seconds = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(evaluate(params, keys))
    seconds.append(time.perf_counter() - start)
  return statistics.median(seconds), returns


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--episodes", type=int, default=128)
  parser.add_argument("--simulations", type=int, nargs="+", default=[0, 32])
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args()

  import jax
  import numpy as np

  from searchdistill.config import make_config
  from searchdistill.loop.components import build
  from searchdistill.loop.evaluation import eval_keys, make_episode_evaluator

  parts = build(make_config("cpu"))
  params = parts.init_state().params
  keys = eval_keys(args.episodes)
  first = jax.device_put(params, parts.parallel.devices[0])
  replicated = parts.parallel.replicate(params)
  devices = parts.parallel.num_devices
  print(f"{args.episodes} episodes, {devices} devices, medians of {args.repeats}")
  print("| simulations | one device, s | replicated, s | split, s | split vs one | max diff |")
  print("|---|---|---|---|---|---|")
  max_steps = parts.config.eval.eval_max_steps or parts.env.max_episode_steps
  for simulations in args.simulations:
    unsplit = make_episode_evaluator(parts.env, parts.policy(simulations), max_steps=max_steps)
    one, one_returns = _timed(unsplit, first, keys, args.repeats)
    copies, copies_returns = _timed(unsplit, replicated, keys, args.repeats)
    split, split_returns = _timed(parts.evaluator(simulations), replicated, keys, args.repeats)
    diff = max(
      np.abs(one_returns - copies_returns).max(), np.abs(one_returns - split_returns).max()
    )
    print(
      f"| {simulations} | {one:.2f} | {copies:.2f} | {split:.2f} | {one / split:.2f}x "
      f"| {diff:.1e} |",
      flush=True,
    )


if __name__ == "__main__":
  main()
