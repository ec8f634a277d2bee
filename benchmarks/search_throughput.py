"""Decisions per second and search overhead of Gumbel search over the true environment.

For each simulation count, measured side by side in one process on the same states:
  search      one batched search (what collection runs per step)
  step        one batched environment step
  forward     one batched network forward
  tree        the same search with a free recurrent_fn (mctx bookkeeping only)
  mctx-backward  the search with mctx's own backward pass instead of ours
and prints
  decisions/s = batch / search time
  overhead    = search / (simulations x (step + forward)): 1.0 would mean the search costs
                only its model calls; the rest is tree bookkeeping and the root.
Times are medians of --repeats runs after a warm-up (compilation excluded).

  python benchmarks/search_throughput.py --preset cpu --simulations 16 32
  python benchmarks/search_throughput.py --preset paper --batch 64 --simulations 16 32
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import mctx

from searchdistill.config import make_config, parse_overrides
from searchdistill.loop.components import build
from searchdistill.search import evaluate_states


def median_ms(fn, *args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return 1000 * statistics.median(times)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--preset", default="cpu")
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--simulations", type=int, nargs="+", default=[16, 32])
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("overrides", nargs="*", metavar="key=value")
  args = parser.parse_args()

  config = make_config(
    args.preset, {**parse_overrides(args.overrides), "rollout_batch_size": args.batch}
  )
  parts = build(config, jax.local_devices()[:1])
  env, network = parts.env, parts.network
  states = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), args.batch))
  params = parts.init_state().params
  actions = jnp.argmax(states.action_mask, axis=-1)
  keys = jax.random.split(jax.random.key(1), args.batch)

  step_ms = median_ms(jax.jit(jax.vmap(env.step)), states, actions, repeats=args.repeats)
  forward_ms = median_ms(
    jax.jit(lambda p, s: evaluate_states(network, p, s)), params, states, repeats=args.repeats
  )
  width = config.network.transformer_num_heads * config.network.transformer_key_size
  print(
    f"preset={args.preset} batch={args.batch} layers={config.network.num_transformer_layers} "
    f"width={width} devices=1"
  )
  print(f"env step {step_ms:.1f} ms, network forward {forward_ms:.1f} ms (batch {args.batch})")
  print(
    f"{'sims':>5} {'search ms':>10} {'tree ms':>8} {'decisions/s':>12} {'overhead':>9}"
    f" {'mctx-backward ms':>17} {'overhead':>9} {'speedup':>8}"
  )
  for sims in args.simulations:
    search = jax.jit(parts.search(num_simulations=sims))
    search_ms = median_ms(search, params, keys, states, repeats=args.repeats)
    mctx_backward = jax.jit(parts.search(num_simulations=sims, batched_backward=False))
    mctx_ms = median_ms(mctx_backward, params, keys, states, repeats=args.repeats)

    @jax.jit
    def tree_only(params, key, states, sims=sims):
      logits, value = evaluate_states(network, params, states)
      free = lambda p, k, a, e: (
        mctx.RecurrentFnOutput(
          reward=jnp.zeros_like(value),
          discount=jnp.ones_like(value),
          prior_logits=logits,
          value=value,
        ),
        e,
      )
      return mctx.gumbel_muzero_policy(
        params,
        key,
        mctx.RootFnOutput(prior_logits=logits, value=value, embedding=jnp.zeros_like(value)),
        free,
        sims,
        invalid_actions=~states.action_mask,
        max_num_considered_actions=config.search.max_num_considered_actions,
      ).action_weights

    tree_ms = median_ms(tree_only, params, keys[0], states, repeats=args.repeats)
    model_ms = sims * (step_ms + forward_ms)
    print(
      f"{sims:>5} {search_ms:>10.1f} {tree_ms:>8.1f} {args.batch / search_ms * 1000:>12.1f} "
      f"{search_ms / model_ms:>9.2f} {mctx_ms:>17.1f} {mctx_ms / model_ms:>9.2f} "
      f"{mctx_ms / search_ms:>8.2f}"
    )


if __name__ == "__main__":
  main()
