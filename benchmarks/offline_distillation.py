"""Can the student fit its teacher better, given more updates on the same search targets?

Loads a trained distill run, freezes its network as the teacher (the training search over the
true environment, as in the run), collects `--iterations` iterations of search targets from
`rollout_batch_size` streams, keeps one stream in eight as a validation set, then trains the
run's network (`--init run`) or a freshly initialized one (`--init fresh`) on the other
streams' targets for `--epochs` epochs with the run's loss and Adam at a constant learning
rate. After every epoch it prints the KL from the targets to the network on both sets and the
greedy utilization on the held-out evaluation instances.

If more epochs on the same targets raise greedy well above the run's figure, the online loop
under-trains its student; if the validation KL stops falling while the training KL falls, the
student needs more targets; if neither falls, the network or the targets' noise is the limit.

  python benchmarks/offline_distillation.py RUN --iterations 20 --epochs 8

To compare students on the same targets, keep them in a file (`--targets`: written on the
first run, read afterwards) and give each student's network settings (`--student`, which
starts it fresh):

  python benchmarks/offline_distillation.py RUN --targets runs/targets.pkl --epochs 16
  python benchmarks/offline_distillation.py RUN --targets runs/targets.pkl --epochs 16 \
      --student transformer_key_size=32
"""

from __future__ import annotations

import argparse
import os
import pickle
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from searchdistill.algorithms import distill
from searchdistill.algorithms import streams as streams_lib
from searchdistill.config import override, parse_overrides
from searchdistill.loop.evaluation import (
  eval_keys,
  make_episode_evaluator,
  make_policy,
  summarize,
)
from searchdistill.networks import make_network
from searchdistill.runner.evaluate import load_trained


def collect_targets(parts, params, iterations: int, seed: int):
  """`(samples, validation)`: flat distill `Samples` of finished episodes, split by stream."""
  config, env = parts.config, parts.env
  algorithm = parts.algorithm()
  num_streams, steps = config.train.rollout_batch_size, env.max_episode_steps
  keys = jax.random.split(jax.random.key(seed), iterations + 1)
  streams = jax.jit(jax.vmap(lambda k: streams_lib.start(env, k)))(
    jax.random.split(keys[0], num_streams)
  )
  collect = jax.jit(algorithm.collect)
  chunks = []
  for i in range(iterations):
    trajectory, _, streams = collect(params, jax.random.split(keys[i + 1], num_streams), streams)
    chunks.append(jax.device_get(trajectory))
  trajectory = jax.tree.map(lambda *xs: np.concatenate(xs), *chunks)
  history = distill.empty_history(env, num_streams=num_streams, length=iterations * steps)
  samples, _ = distill.make_samples(history, trajectory, discount=config.train.discount)
  stream_of_sample = np.tile(np.arange(num_streams), iterations * steps)
  held_out = stream_of_sample % 8 == 7
  pick = lambda mask: jax.tree.map(lambda x: x[mask][np.asarray(samples.weight)[mask] > 0], samples)
  return pick(~held_out), pick(held_out)


def make_epoch(parts, network, optimizer, batch_size: int):
  loss = lambda params, batch: distill.loss_fn(
    params, network, batch, value_loss_weight=parts.config.train.value_loss_weight
  )

  @jax.jit
  def epoch(params, opt_state, samples, key):
    num = samples.weight.shape[0] // batch_size * batch_size
    order = jax.random.permutation(key, samples.weight.shape[0])[:num].reshape(-1, batch_size)

    def step(carry, idx):
      params, opt_state = carry
      grads, aux = jax.grad(loss, has_aux=True)(params, jax.tree.map(lambda x: x[idx], samples))
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), aux

    (params, opt_state), aux = jax.lax.scan(step, (params, opt_state), order)
    return params, opt_state, jax.tree.map(jnp.mean, aux)

  @jax.jit
  def kl_sums(params, chunk):
    _, aux = loss(params, chunk)
    count = jnp.sum(chunk.weight)
    return (aux["policy_loss"] - aux["target_entropy"]) * count, count

  def kl(params, samples, chunk_size=2048):
    """Mean KL over all samples, in chunks (one pass over 25k would hold GBs of attention)."""
    total, count = 0.0, 0.0
    for begin in range(0, samples.weight.shape[0], chunk_size):
      chunk = jax.tree.map(lambda x: x[begin : begin + chunk_size], samples)
      if chunk.weight.shape[0] < chunk_size:  # Pad so that one compiled shape serves all.
        pad = chunk_size - chunk.weight.shape[0]
        chunk = jax.tree.map(
          lambda x: np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]), chunk
        )
      chunk_total, chunk_count = kl_sums(params, chunk)
      total, count = total + float(chunk_total), count + float(chunk_count)
    return total / max(count, 1.0)

  return epoch, kl


def targets(parts, teacher, args):
  """The training and validation targets: read from `args.targets` if it holds targets of
  the same run, iterations and seed, else collected with the teacher (and written there
  when a path is given). Targets of another collection are refused, never reused."""
  source = dict(run=os.path.abspath(args.run), iterations=args.iterations, seed=args.seed)
  if args.targets and os.path.exists(args.targets):
    with open(args.targets, "rb") as f:
      saved = pickle.load(f)
    if saved.get("source") != source:
      raise SystemExit(f"{args.targets} holds targets of {saved.get('source')}, not {source}")
    return saved["targets"]
  start = time.perf_counter()
  collected = collect_targets(parts, teacher, args.iterations, args.seed)
  print(f"collected in {time.perf_counter() - start:.0f} s")
  if args.targets:
    with open(args.targets, "wb") as f:
      pickle.dump({"source": source, "targets": jax.device_get(collected)}, f)
  return collected


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("run", help="a distill run directory or checkpoint")
  parser.add_argument("--iterations", type=int, default=20)
  parser.add_argument("--epochs", type=int, default=8)
  parser.add_argument("--init", choices=("run", "fresh"), default="run")
  parser.add_argument("--learning-rate", type=float, default=None)
  parser.add_argument("--batch-size", type=int, default=None)
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--targets", help="file of collected targets, reused when it exists")
  parser.add_argument(
    "--student",
    nargs="*",
    default=[],
    metavar="key=value",
    help="network settings of a fresh student (implies --init fresh)",
  )
  parser.add_argument("--eval-episodes", type=int, default=256)
  args = parser.parse_args()
  parts, state, _ = load_trained(args.run)
  teacher = state.params
  samples, validation = targets(parts, teacher, args)
  print(f"{samples.weight.shape[0]} training and {validation.weight.shape[0]} validation targets")
  config = override(parts.config, parse_overrides(args.student))
  network, params = parts.network, teacher
  if args.init == "fresh" or args.student:
    network = make_network(config, parts.env)
    example = jax.tree.map(lambda x: x[:1], samples.observation)
    params = network.init(jax.random.key(args.seed), example)
  # Constant learning rate: the question is what more updates on fixed targets can reach.
  optimizer = optax.chain(
    optax.clip_by_global_norm(config.train.max_grad_norm),
    optax.adam(args.learning_rate or config.train.learning_rate),
  )
  opt_state = optimizer.init(params)
  epoch, kl = make_epoch(
    parts, network, optimizer, args.batch_size or config.train.training_batch_size
  )
  policy = make_policy(parts.env, network, num_simulations=0, config=config)
  greedy = make_episode_evaluator(parts.env, policy, max_steps=parts.env.max_episode_steps)
  keys = eval_keys(args.eval_episodes)
  report = lambda e, seconds: print(
    f"epoch {e}: train KL {float(kl(params, samples)):.3f}  validation KL "
    f"{float(kl(params, validation)):.3f}  greedy "
    f"{summarize(jax.device_get(greedy(params, keys)))['mean']:.4f}  ({seconds:.0f} s)",
    flush=True,
  )
  report(0, 0.0)
  for e in range(1, args.epochs + 1):
    start = time.perf_counter()
    params, opt_state, _ = epoch(params, opt_state, samples, jax.random.key(100 + e))
    jax.block_until_ready(params)
    report(e, time.perf_counter() - start)


if __name__ == "__main__":
  main()
