"""Agent steps per second of MuZero on Atari, and the projected time of one Atari-100K game.

For each preset, measured in one process:
  act      one batched search over the learned model (jitted), per agent step of all games
  emulate  one step of all the host-side games (ALE, frame skip 4, resize, stack)
  update   one SGD update (replay sample, reanalyse, unroll targets, loss, AdamW)
and prints
  collection steps/s = games / (act + emulate)
  projected 100k     = 100k agent steps of collection + the preset's updates for them
                       (100k / (games x collect_steps) iterations x updates_per_iteration)
Times are medians after a warm-up (compilation excluded). The untrained network is used:
search cost does not depend on the weights.

  python benchmarks/atari_throughput.py                       # atari-cpu and atari100k
  python benchmarks/atari_throughput.py --presets atari-cpu --env ALE/Pong-v5
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from common import filled_replay, median_seconds

from searchdistill.config import make_config
from searchdistill.loop import muzero_learner
from searchdistill.loop.components import build

AGENT_STEPS = 100_000


def measure(preset: str, env_id: str | None, repeats: int) -> dict:
  config = make_config(preset, {"env": env_id} if env_id else {})
  parts = build(config)
  state = parts.init_state()
  env = parts.env
  search = jax.jit(parts.learned_search(training=True))
  vector = env.vector(config.train.rollout_batch_size, seed=0, training=True)
  observation = vector.reset()
  mask = jnp.asarray(vector.action_mask)
  actions = {}

  def act():
    out = search(state.params, jax.random.key(0), jnp.asarray(observation), mask)
    actions["last"] = np.asarray(out.action)

  def emulate():
    vector.step(actions["last"])

  act_s = median_seconds(act, repeats=repeats)
  emulate_s = median_seconds(emulate, repeats=repeats)

  buffer = filled_replay(state, env, config, np.random.default_rng(0))
  update = jax.jit(
    muzero_learner.make_update(
      config, parts.network, parts.learned_search(training=True), parts.optimizer, parts.support
    )
  )
  beta = jnp.float32(config.muzero.priority_beta)

  def one_update():
    jax.block_until_ready(
      update(state.params, state.opt_state, buffer, state.target_params, beta, jax.random.key(1))[0]
    )

  update_s = median_seconds(one_update, repeats=repeats)
  games = config.train.rollout_batch_size
  steps_per_s = games / (act_s + emulate_s)
  iterations = AGENT_STEPS / (games * config.muzero.collect_steps)
  projected = (
    AGENT_STEPS / steps_per_s + iterations * config.muzero.updates_per_iteration * update_s
  )
  return dict(
    preset=preset,
    env=config.run.env,
    games=games,
    sims=config.search.num_simulations,
    batch=config.train.training_batch_size,
    updates=config.muzero.updates_per_iteration,
    act_ms=act_s * 1e3,
    emulate_ms=emulate_s * 1e3,
    update_ms=update_s * 1e3,
    steps_per_s=steps_per_s,
    projected_h=projected / 3600,
    learn_share=1 - AGENT_STEPS / steps_per_s / projected,
  )


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--presets", nargs="+", default=["atari-cpu", "atari100k"])
  parser.add_argument("--env", default=None, help="an ALE id (default: the preset's)")
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  rows = [measure(preset, args.env, args.repeats) for preset in args.presets]
  print(f"medians of {args.repeats}, one device ({jax.devices()[0].device_kind})")
  print(
    "| preset | env | games | sims | act ms | emulate ms | collection steps/s | batch x "
    "updates/iter | update ms | projected 100k steps | learning share |"
  )
  print("|---|---|---|---|---|---|---|---|---|---|---|")
  for r in rows:
    print(
      f"| {r['preset']} | {r['env']} | {r['games']} | {r['sims']} | {r['act_ms']:.0f} | "
      f"{r['emulate_ms']:.0f} | {r['steps_per_s']:.1f} | {r['batch']} x {r['updates']} | "
      f"{r['update_ms']:.0f} | {r['projected_h']:.1f} h | {r['learn_share']:.0%} |"
    )


if __name__ == "__main__":
  main()
