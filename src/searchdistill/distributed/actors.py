"""The processes of the Ray actor-learner: collecting actors, the replay, the parameter store.

Each class here is a plain Python class that `distributed.learner` wraps with `ray.remote`,
so this module imports neither Ray nor JAX: every actor process imports JAX itself, when
Ray builds the actor there, and the driver never ships device arrays, only NumPy pytrees.

  * `ParameterStore` holds the latest parameters the learner published and the stop flag.
  * `ReplayServer` owns a sharded prioritized trajectory replay (one shard per actor, so each
    actor's streams stay in lockstep while the actors run at their own pace), hands the
    learner batches of windows, takes back their new priorities, and counts what the actors
    delivered (environment steps and finished episodes) for the learner's log.
  * `CollectingActor` steps its own self-resetting environments with the learned-model
    search, sends every `collect_steps` block to the replay (one block in flight at a time,
    so a slow replay slows the actor instead of piling up), and refreshes its parameters
    after every `broadcast_every` episodes it finishes.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ParameterStore:
  """The learner's latest parameters (a NumPy pytree) with their version, and a stop flag."""

  def __init__(self, params: Any, version: int):
    self._params, self._version, self._stopped = params, version, False

  def publish(self, params: Any, version: int) -> None:
    self._params, self._version = params, version

  def latest(self) -> tuple[Any, int]:
    return self._params, self._version

  def stop(self) -> None:
    self._stopped = True

  def stopped(self) -> bool:
    return self._stopped


class ReplayServer:
  """A sharded `replay.ReplayState` behind a Ray actor; see the module docstring.

  Args:
    config: the run's config as a dict.
    buffer: the initial sharded buffer (NumPy pytree): empty, or restored from a checkpoint.
  """

  def __init__(self, config: dict, buffer: Any):
    import jax

    from searchdistill import replay
    from searchdistill.config import from_dict
    from searchdistill.loop.muzero_learner import draw, window_length

    c = from_dict(config)
    self._window = window_length(c)
    self._min_steps = max(c.muzero.min_replay_steps, self._window)
    self._buffer = jax.tree.map(jax.numpy.asarray, buffer)
    self._add = jax.jit(replay.add_to_shard, donate_argnums=0)
    self._update = jax.jit(replay.update_priorities, donate_argnums=0)
    self._size = jax.jit(replay.size)

    def sample_many(buffer, keys, beta):
      return jax.vmap(lambda key: draw(c, buffer, key, beta))(keys)

    self._sample = jax.jit(sample_many)
    self._reset_stats()

  def _reset_stats(self):
    self._env_steps, self._returns, self._episodes = 0, 0.0, 0

  def add(self, shard: int, steps: Any, returns: np.ndarray, ended: np.ndarray) -> None:
    """Appends one actor's block `steps` (leaves `[E, L, ...]`) to its shard."""
    self._buffer = self._add(self._buffer, shard, steps)
    self._env_steps += int(np.prod(np.shape(ended)))
    self._returns += float(np.sum(returns))
    self._episodes += int(np.sum(ended))

  def ready(self) -> bool:
    """Whether some shard holds enough steps per stream to start learning."""
    return bool(np.max(np.asarray(self._size(self._buffer))) >= self._min_steps)

  def sample(self, key_data: np.ndarray, beta: float):
    """One batch per key of `key_data` (raw key data `[N, ...]`), drawn with the current
    priorities as the in-process learner draws them (`muzero_learner.draw`): a `replay.Sample`
    whose leaves have a leading `[N]` axis (NumPy)."""
    import jax

    return jax.device_get(self._sample(self._buffer, jax.random.wrap_key_data(key_data), beta))

  def update_priorities(self, stream: np.ndarray, slot: np.ndarray, priority: np.ndarray) -> None:
    self._buffer = self._update(self._buffer, stream, slot, priority)

  def drain_stats(self) -> dict:
    """Environment steps, summed returns and finished episodes delivered since the last call."""
    stats = dict(env_steps=self._env_steps, returns=self._returns, episodes=self._episodes)
    self._reset_stats()
    return stats

  def snapshot(self) -> Any:
    """The whole buffer as NumPy, for a checkpoint."""
    import jax

    return jax.device_get(self._buffer)


class CollectingActor:
  """Collects experience with the learned-model search; see the module docstring.

  Args:
    config: the run's config as a dict.
    index: this actor's number: its replay shard and its seed offset.
    store: the `ParameterStore` handle.
    replay: the `ReplayServer` handle.
  """

  def __init__(self, config: dict, index: int, store, replay):
    import jax

    from searchdistill.config import from_dict
    from searchdistill.loop.components import build
    from searchdistill.loop.muzero_learner import make_collect

    c = from_dict(config)
    parts = build(c)
    self._config, self._index = c, index
    self._store, self._replay = store, replay
    self._collect = jax.jit(make_collect(c, parts.env, parts.learned_search(training=True)))
    key = jax.random.fold_in(jax.random.key(c.run.seed), 10_000 + index)
    self._key, env_key = jax.random.split(key)
    self._env_states = jax.vmap(parts.env.reset)(
      jax.random.split(env_key, c.train.rollout_batch_size)
    )
    self._episode_return = jax.numpy.zeros(c.train.rollout_batch_size)

  def collect_block(self, params: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """Steps this actor's environments `collect_steps` times with `params`: the block
    `(steps, returns, ended)` for `ReplayServer.add` (NumPy)."""
    import jax

    self._key, collect_key = jax.random.split(self._key)
    self._env_states, self._episode_return, steps, (returns, ended) = self._collect(
      params, collect_key, self._env_states, self._episode_return
    )
    return jax.device_get((steps, returns, ended))

  def run(self) -> dict:
    """Collects until the store's stop flag is set; returns what this actor did."""
    import ray

    params, version = ray.get(self._store.latest.remote())
    refreshes, blocks, since_refresh, pending = 0, 0, 0, None
    while not ray.get(self._store.stopped.remote()):
      steps, returns, ended = self.collect_block(params)
      if pending is not None:
        ray.get(pending)
      pending = self._replay.add.remote(self._index, steps, returns, ended)
      blocks += 1
      since_refresh += int(np.sum(ended))
      if since_refresh >= self._config.distributed.broadcast_every:
        params, version = ray.get(self._store.latest.remote())
        since_refresh, refreshes = 0, refreshes + 1
    if pending is not None:
      ray.get(pending)
    return dict(index=self._index, blocks=blocks, refreshes=refreshes, version=version)
