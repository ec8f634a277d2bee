"""Where MuZero's in-process experience comes from: a jitted scan over JAX environments, or a
Python loop over host-side games. Both give the learner the same blocks of steps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms import muzero
from searchdistill.loop.muzero_learner.state import MuZeroState


def make_collect(config, env, search):
  """Builds `collect(params, key, env_states [E], episode_return [E]) -> (env_states,
  episode_return, steps, (returns, ended))`: `collect_steps` steps of `E` self-resetting
  JAX environments acting with `search`. `steps` are stream-major `muzero.Step`s `[E, L]`;
  `returns` and `ended` `[L, E]` report the episodes that finished (returns 0 elsewhere).
  Traceable: the caller jits it."""

  def collect(params, key, env_states, episode_return):
    def act(carry, step):
      states, running = carry
      search_key, env_key = jax.random.split(jax.random.fold_in(key, step))
      out = search(params, search_key, states.observation, states.action_mask)
      env_keys = jax.random.split(env_key, states.action_mask.shape[0])
      next_states, result = jax.vmap(env.step)(states, out.action, env_keys)
      boundary = result.terminated | result.truncated
      running = running + result.reward
      record = muzero.Step(
        states.observation,
        states.action_mask,
        out.action,
        result.reward,
        result.terminated,
        boundary,
        out.action_weights,
        out.root_value,
      )
      finished = (jnp.where(boundary, running, 0.0), boundary)
      return (next_states, jnp.where(boundary, 0.0, running)), (record, finished)

    (env_states, episode_return), (steps, finished) = jax.lax.scan(
      act, (env_states, episode_return), jnp.arange(config.muzero.collect_steps)
    )
    # Time-major [L, E] -> stream-major [E, L] for the buffer.
    return (
      env_states,
      episode_return,
      jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), steps),
      finished,
    )

  return collect


def jit_collector(config, env, search):
  """`collect(state) -> (state, learn_key, steps, returns, ended)` for JAX environments: one
  jitted call advances every stream `collect_steps` steps (see `make_collect`)."""
  collect = make_collect(config, env, search)

  @jax.jit
  def collect_iteration(params, rng, env_states, episode_return):
    key, collect_key, learn_key = jax.random.split(rng, 3)
    return key, learn_key, *collect(params, collect_key, env_states, episode_return)

  def collect_state(state: MuZeroState):
    key, learn_key, env_states, episode_return, steps, (returns, ended) = collect_iteration(
      state.params, state.key, state.env_states, state.episode_return
    )
    state = state._replace(key=key, env_states=env_states, episode_return=episode_return)
    return state, learn_key, steps, returns, ended

  return collect_state


def host_collector(config, env, search):
  """`collect(state) -> (state, learn_key, steps, returns, ended)` for host-side games: a
  Python loop of jitted searches over `env.vector` games, which live here, not in the state."""

  @jax.jit
  def act(params, key, step, observations, action_mask):
    out = search(params, jax.random.fold_in(key, step), observations, action_mask)
    return out.action, out.action_weights, out.root_value

  split = jax.jit(lambda key: jax.random.split(key, 3))
  games = {}

  def collect_state(state: MuZeroState):
    if "vector" not in games:
      # Seeded by the iteration too, so a resumed run does not replay the first games.
      games["vector"] = env.vector(
        config.train.rollout_batch_size,
        seed=config.run.seed * 1_000_003 + int(state.iteration),
        training=True,
      )
      games["observation"] = games["vector"].reset()
    vector = games["vector"]
    key, collect_key, learn_key = split(state.key)
    mask = vector.action_mask
    records, returns, ended = [], [], []
    for step in range(config.muzero.collect_steps):
      observation = games["observation"]
      action, weights, root_value = jax.device_get(
        act(state.params, collect_key, step, observation, mask)
      )
      games["observation"], result = vector.step(action)
      records.append(
        muzero.Step(
          observation,
          mask,
          action.astype(np.int32),
          result.reward,
          result.terminated,
          result.terminated | result.truncated,
          weights,
          root_value,
        )
      )
      returns.append(result.scores)
      ended.append(result.game_over)
    steps = jax.tree.map(lambda *xs: np.stack(xs, axis=1), *records)
    state = state._replace(
      key=key, env_states=state.env_states._replace(observation=games["observation"])
    )
    return state, learn_key, steps, np.stack(returns), np.stack(ended)

  return collect_state
