"""How far a distilled network (the student) is from its search (the teacher), on the
held-out evaluation instances of a trained run.

For each search setting `SIMULATIONS:VALUE_SCALE:CONSIDERED` it plays the held-out episodes
twice, acting with the search's own choice and with the argmax of its action weights (the
distillation target), and reports, averaged over the visited states:
  agree      share of states where the network's argmax is the target's argmax
  kl         KL(target || network policy) in nats
  H(target)  entropy of the target;  H(net)  entropy of the network's policy
Greedy (the network alone) is played once. If the target's argmax scores like the search and
far above greedy, the targets are good and the student does not fit them.

  python benchmarks/teacher_student_gap.py RUN --settings 32:0.1:16 16:0.1:8
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from searchdistill.algorithms.base import per_step_keys
from searchdistill.loop.evaluation import eval_keys, summarize
from searchdistill.runner.evaluate import load_trained
from searchdistill.search import evaluate_states, greedy_action, make_search

STATS = ("agree", "kl", "target_entropy", "network_entropy")


def entropy(p):
  return -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0), -1)


def play(env, choose, params, keys):
  """Returns per-episode returns and the statistics averaged over live states."""

  @jax.jit
  def run(params, keys):
    states = jax.vmap(env.reset)(keys)

    def act(carry, step):
      states, returns, totals = carry
      action, stats = choose(params, states, per_step_keys(keys, step))
      next_states, reward = jax.vmap(env.step)(states, action)
      live = (~states.done).astype(jnp.float32)
      totals = {k: totals[k] + jnp.sum(stats[k] * live) for k in totals}
      return (next_states, returns + reward, totals), jnp.sum(live)

    zeros = {k: jnp.float32(0.0) for k in STATS}
    (_, returns, totals), live = jax.lax.scan(
      act, (states, jnp.zeros(keys.shape[0]), zeros), jnp.arange(env.max_episode_steps)
    )
    return returns, {k: v / jnp.sum(live) for k, v in totals.items()}

  return run(params, keys)


def searched(env, network, simulations, value_scale, considered, use_target_argmax):
  search = make_search(
    env,
    network,
    num_simulations=simulations,
    max_num_considered_actions=considered,
    gumbel_scale=0.0,
    discount=1.0,
    value_scale=value_scale,
  )

  def choose(params, states, keys):
    out = search(params, keys, states)
    logits, _ = evaluate_states(network, params, states)
    log_policy = jax.nn.log_softmax(logits)
    target = out.action_weights
    cross_entropy = -jnp.sum(jnp.where(target > 0, target * log_policy, 0.0), -1)
    stats = dict(
      agree=(jnp.argmax(target, -1) == jnp.argmax(logits, -1)).astype(jnp.float32),
      kl=cross_entropy - entropy(target),
      target_entropy=entropy(target),
      network_entropy=entropy(jnp.exp(log_policy)),
    )
    action = jnp.argmax(target, -1).astype(jnp.int32) if use_target_argmax else out.action
    return action, stats

  return choose


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("run", help="a run directory or checkpoint")
  parser.add_argument("--episodes", type=int, default=128)
  parser.add_argument(
    "--settings", nargs="+", default=["32:0.1:16"], metavar="SIMULATIONS:VALUE_SCALE:CONSIDERED"
  )
  args = parser.parse_args()
  parts, state, _ = load_trained(args.run)
  env, network, params = parts.env, parts.network, state.params
  keys = eval_keys(args.episodes)

  returns, _ = play(
    env,
    lambda p, s, k: (
      greedy_action(network, p, s),
      {name: jnp.zeros(s.done.shape) for name in STATS},
    ),
    params,
    keys,
  )
  print(f"greedy: {summarize(returns)['mean']:.4f}")
  print(
    "| sims | value scale | considered | acting with | return | agree | kl | H(target) | H(net) |"
  )
  print("|---|---|---|---|---|---|---|---|---|")
  for setting in args.settings:
    sims, scale, considered = setting.split(":")
    for use_target in (False, True):
      choose = searched(env, network, int(sims), float(scale), int(considered), use_target)
      returns, stats = play(env, choose, params, keys)
      print(
        f"| {sims} | {scale} | {considered} | "
        f"{'target argmax' if use_target else 'search action'} | "
        f"{summarize(returns)['mean']:.4f} | {float(stats['agree']):.3f} | "
        f"{float(stats['kl']):.3f} | {float(stats['target_entropy']):.3f} | "
        f"{float(stats['network_entropy']):.3f} |",
        flush=True,
      )


if __name__ == "__main__":
  main()
