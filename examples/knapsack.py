"""Your own environment: a knapsack written in pure JAX, trained with search distillation and
with PPO.

Each instance has `num_items` items with random weights and values and a bag that holds 40% of
their total weight. A step puts one item that still fits into the bag (the action mask says
which); the episode ends when none fits. The reward is the item's share of the instance's
total value, so a return of 1 would pack everything.

  python examples/knapsack.py                  # both algorithms, 2 minutes each
  searchdistill train --env examples.knapsack:make_env minutes=2   # the same through the CLI

See docs/own_environment.md.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import NamedTuple

import jax
import jax.numpy as jnp

from searchdistill import EnvState, make_config, train


class Bag(NamedTuple):
  weights: jax.Array  # float32 [N]
  values: jax.Array  # float32 [N]
  capacity: jax.Array  # float32 scalar
  packed: jax.Array  # bool [N]


class Knapsack:
  """The `Environment` protocol: `num_actions`, `max_episode_steps`, and pure `reset` and
  `step` on one unbatched instance (the library vmaps and jits them)."""

  def __init__(self, num_items: int = 10):
    self.num_actions = num_items
    self.max_episode_steps = num_items  # every step packs one item

  def reset(self, key: jax.Array) -> EnvState:
    weight_key, value_key = jax.random.split(key)
    weights = jax.random.uniform(weight_key, (self.num_actions,), minval=0.1, maxval=1.0)
    values = jax.random.uniform(value_key, (self.num_actions,), minval=0.1, maxval=1.0)
    bag = Bag(weights, values, 0.4 * jnp.sum(weights), jnp.zeros(self.num_actions, bool))
    return self._observe(bag, ended=jnp.array(False))

  def step(self, state: EnvState, action: jax.Array) -> tuple[EnvState, jax.Array]:
    # An invalid action, or any action once the episode is over, changes nothing and ends it.
    valid = state.action_mask[action] & ~state.done
    bag = state.inner._replace(
      packed=state.inner.packed.at[action].set(state.inner.packed[action] | valid)
    )
    reward = jnp.where(valid, bag.values[action] / jnp.sum(bag.values), 0.0)
    return self._observe(bag, ended=~valid), reward.astype(jnp.float32)

  def _observe(self, bag: Bag, ended: jax.Array) -> EnvState:
    room = bag.capacity - jnp.sum(jnp.where(bag.packed, bag.weights, 0.0))
    fits = ~bag.packed & (bag.weights <= room)
    done = ended | ~jnp.any(fits)
    observation = jnp.concatenate(
      [bag.weights, bag.values, bag.packed.astype(jnp.float32), room[None]]
    )
    return EnvState(inner=bag, observation=observation, action_mask=fits & ~done, done=done)


def make_env() -> Knapsack:
  """The factory that `env=examples.knapsack:make_env` names."""
  return Knapsack()


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--minutes", type=float, default=2.0)
  parser.add_argument("--preset", default="cpu")
  args = parser.parse_args()
  for algo in ("distill", "ppo"):
    config = make_config(
      args.preset, {"env": "examples.knapsack:make_env", "algo": algo, "minutes": args.minutes}
    )
    with tempfile.TemporaryDirectory() as out:
      summary = train(config, out, show_progress=False)
    search = summary.get("eval/search/mean")
    print(
      f"{algo}: {summary['iteration']} iterations, greedy return "
      f"{summary['eval/greedy/mean']:.3f}"
      + (
        ""
        if search is None
        else f", with {config.eval.eval_simulations}-simulation search {search:.3f}"
      )
    )


if __name__ == "__main__":
  main()
