"""MuZero SGD updates: a `lax.scan` over the updates against a host loop of one jitted update.

XLA:CPU runs convolution gradients inside a loop body much slower than the same gradients
outside one (jax-ml/jax#12868), which is why `muzero_learner` loops over updates in Python.
This measures both on the real update (replay sampling, reanalyse, unroll targets, loss,
AdamW) of a preset, in one process on the same filled replay, and prints medians and the ratio.

  python benchmarks/scan_updates.py                      # atari-cpu preset (conv torso)
  python benchmarks/scan_updates.py --preset cpu --env Breakout-MinAtar --updates 8
  python benchmarks/scan_updates.py --preset cpu --env Breakout-MinAtar model_torso=resnet
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from common import filled_replay, median_seconds

from searchdistill.config import make_config, parse_overrides
from searchdistill.loop import muzero_learner
from searchdistill.loop.components import build


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--preset", default="atari-cpu")
  parser.add_argument("--env", default=None)
  parser.add_argument("--updates", type=int, default=4, help="SGD updates per measurement")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("overrides", nargs="*", help="key=value config overrides")
  args = parser.parse_args()
  overrides = parse_overrides(args.overrides)
  if args.env:
    overrides["env"] = args.env
  config = make_config(args.preset, {"algo": "muzero", **overrides})
  components = build(config)
  state = components.init_state()
  buffer = filled_replay(state, components.env, config, np.random.default_rng(0))
  update = muzero_learner.make_update(
    config,
    components.network,
    components.learned_search(training=True),
    components.optimizer,
    components.support,
  )
  keys = jax.random.split(jax.random.key(1), args.updates)
  beta = jnp.float32(config.muzero.priority_beta)

  jitted = jax.jit(update)

  def host_loop(params, opt_state):
    for key in keys:
      params, opt_state, *_ = jitted(params, opt_state, buffer, state.target_params, beta, key)
    jax.block_until_ready(params)

  @jax.jit
  def scanned(params, opt_state):
    def body(carry, key):
      params, opt_state = carry
      params, opt_state, *_ = update(params, opt_state, buffer, state.target_params, beta, key, 1.0)
      return (params, opt_state), None

    return jax.lax.scan(body, (params, opt_state), keys)[0]

  def scan_loop(params, opt_state):
    jax.block_until_ready(scanned(params, opt_state))

  host = median_seconds(host_loop, state.params, state.opt_state, repeats=args.repeats)
  scan = median_seconds(scan_loop, state.params, state.opt_state, repeats=args.repeats)
  print(
    f"preset={args.preset} env={config.run.env} torso={config.network.model_torso} "
    f"batch={config.train.training_batch_size} updates={args.updates} "
    f"repeats={args.repeats} (medians)"
  )
  print(f"host loop of jitted update : {host:8.3f} s  ({host / args.updates * 1e3:.0f} ms/update)")
  print(f"lax.scan of updates        : {scan:8.3f} s  ({scan / args.updates * 1e3:.0f} ms/update)")
  print(f"scan / host loop           : {scan / host:8.2f}x")


if __name__ == "__main__":
  main()
