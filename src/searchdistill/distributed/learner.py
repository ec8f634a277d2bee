"""The asynchronous MuZero actor-learner on Ray, with the synchronous loop's learner.

`num_actors` CPU actors (`actors.CollectingActor`) collect with the learned-model search
while this process learns: every learner iteration makes `updates_per_iteration` updates, each
on a batch drawn from the replay actor with the priorities the previous one returned, with the
synchronous loop's SGD step, target refresh and metrics (`muzero_learner.update`), then
publishes the parameters, which the actors pick up after every `broadcast_every` episodes.
The run's state is the synchronous loop's `MuZeroState` with a sharded replay (one shard per
actor), so the training loop checkpoints, evaluates, logs and resumes it unchanged; a resumed
run restores the learner and the replay and starts new episodes.

Ray starts locally (`num_cpus` = the actors, no dashboard) unless `ray_address` names an
existing cluster, where the actors may live on other machines; the learner stays here.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.distributed.actors import CollectingActor, ParameterStore, ReplayServer
from searchdistill.loop import muzero_learner
from searchdistill.loop.muzero_learner import MuZeroState
from searchdistill.loop.stage import START

# Object store for the local instance: the replay lives in an actor's heap, and the store only
# carries parameter and sample messages.
_LOCAL_OBJECT_STORE_BYTES = 200 << 20


def connect(config) -> bool:
  """Joins the Ray cluster at `ray_address`, or starts a local instance with a CPU per actor;
  returns whether it started one (which the caller then shuts down). Actor processes compute
  on the CPU and share this process's compilation cache."""
  import ray

  if ray.is_initialized():
    return False
  os.environ.setdefault("RAY_AUTH_MODE", "disabled")
  env_vars = {"JAX_PLATFORMS": "cpu", "RAY_AUTH_MODE": "disabled"}
  if "JAX_COMPILATION_CACHE_DIR" in os.environ:
    env_vars["JAX_COMPILATION_CACHE_DIR"] = os.environ["JAX_COMPILATION_CACHE_DIR"]
  if config.distributed.ray_address:
    ray.init(
      address=config.distributed.ray_address,
      runtime_env={"env_vars": env_vars},
      log_to_driver=False,
    )
  else:
    ray.init(
      num_cpus=config.distributed.num_actors,
      include_dashboard=False,
      object_store_memory=_LOCAL_OBJECT_STORE_BYTES,
      runtime_env={"env_vars": env_vars},
      log_to_driver=False,
    )
  return True


class RayLearner:
  """`iteration(state) -> (state, metrics)` for `MuZeroState` with the collection on Ray.

  The actors start on the first call (from the parameters and replay of that state) and
  stop on `close()`. `checkpoint_state(state)` fills in the replay actor's current buffer.

  Args:
    config: the run's `Config` (`num_actors > 0`).
    network, search, optimizer, support: as for `muzero_learner.make_muzero_iteration`.
  """

  def __init__(self, config, network, search, optimizer, support):
    self._config = config
    self._sgd_step = jax.jit(
      muzero_learner.make_sgd_step(config, network, search, optimizer, support),
      donate_argnums=(0, 1),
    )
    self._split = jax.jit(
      lambda key: jax.random.split(key, 1 + config.muzero.updates_per_iteration)
    )
    self._ray = None
    self._started_ray = False
    self._actors, self._runs = [], []

  # Starting and stopping.

  def _start(self, state: MuZeroState) -> None:
    import ray

    c = self._config
    self._started_ray = connect(c)
    self._ray = ray
    config = c.to_dict()
    self._store = (
      ray.remote(ParameterStore)
      .options(num_cpus=0)
      .remote(jax.device_get(state.params), int(state.iteration))
    )
    self._replay = (
      ray.remote(ReplayServer).options(num_cpus=0).remote(config, jax.device_get(state.replay))
    )
    actor_class = ray.remote(CollectingActor).options(num_cpus=1)
    self._actors = [
      actor_class.remote(config, index, self._store, self._replay)
      for index in range(c.distributed.num_actors)
    ]
    self._runs = [actor.run.remote() for actor in self._actors]

  def _check_actors(self) -> None:
    """Raises the error of an actor that stopped on its own (it only stops when told)."""
    finished, _ = self._ray.wait(self._runs, num_returns=len(self._runs), timeout=0)
    for ref in finished:
      self._ray.get(ref)
      raise RuntimeError("a collecting actor stopped before the learner asked it to")

  def close(self) -> list[dict]:
    """Stops the actors (letting each deliver its last block), then Ray if it started it.

    Returns each actor's report (blocks sent, parameter refreshes, last version seen)."""
    if self._ray is None:
      return []
    ray, reports = self._ray, []
    try:
      self._store.stop.remote()
      ready, _ = ray.wait(self._runs, num_returns=len(self._runs), timeout=120)
      reports = [ray.get(ref) for ref in ready]
    finally:
      for actor in [*self._actors, self._replay, self._store]:
        ray.kill(actor)
      if self._started_ray:
        ray.shutdown()
      self._ray, self._actors, self._runs = None, [], []
    return reports

  # The learner.

  def checkpoint_state(self, state: MuZeroState) -> MuZeroState:
    if self._ray is None:
      return state
    return state._replace(replay=self._ray.get(self._replay.snapshot.remote()))

  def replayed_updates(self, replay, state: MuZeroState, keys, *, beta, lr_scale):
    """One SGD step per key, each on a batch that `replay` (a `ReplayServer` handle) draws.

    The same steps as the in-process learner's (`muzero_learner.make_update`) with the same
    keys: each key splits into the draw's and the reanalysis's, and Ray runs one caller's
    calls to an actor in order, so every batch is drawn with the priorities the previous one
    returned. Returns `(params, opt_state, losses, pending)`, `pending` the priority updates
    in flight.
    """
    import ray

    params, opt_state, losses, pending = state.params, state.opt_state, [], []
    for key in keys:
      sample_key, update_key = jax.random.split(key)
      drawn = replay.sample.remote(np.asarray(jax.random.key_data(sample_key[None])), beta)
      batch = ray.get(drawn)
      windows = jax.tree.map(lambda x: x[0], batch.data)
      params, opt_state, priority, aux = self._sgd_step(
        params, opt_state, state.target_params, windows, batch.weight[0], update_key, lr_scale
      )
      pending.append(
        replay.update_priorities.remote(
          batch.stream.reshape(-1), batch.slot.reshape(-1), np.asarray(jax.device_get(priority))
        )
      )
      losses.append(aux)
    return params, opt_state, losses, pending

  def __call__(self, state: MuZeroState, stage=START) -> tuple[MuZeroState, dict]:
    c = self._config
    if self._ray is None:
      self._start(state)
    ray = self._ray
    while not ray.get(self._replay.ready.remote()):
      self._check_actors()
      time.sleep(0.2)
    key, *batch_keys = self._split(state.key)
    beta = float(muzero_learner.importance_beta(c, stage.end))
    lr_scale = muzero_learner.learning_rate_decay(stage.start)
    params, opt_state, losses, pending = self.replayed_updates(
      self._replay, state, batch_keys, beta=beta, lr_scale=lr_scale
    )
    iteration = int(state.iteration) + 1
    pending.append(self._store.publish.remote(jax.device_get(params), iteration))
    ray.get(pending)  # so that an error in an update reaches this process
    stats = ray.get(self._replay.drain_stats.remote())
    self._check_actors()
    metrics = muzero_learner.iteration_metrics(
      losses,
      returns_sum=jnp.float32(stats["returns"]),
      episodes=jnp.int32(stats["episodes"]),
      env_steps=stats["env_steps"],
      learning_rate=c.train.learning_rate * lr_scale,
      beta=beta,
    )
    return state._replace(
      params=params,
      target_params=muzero_learner.refreshed_target(c, iteration, params, state.target_params),
      opt_state=opt_state,
      key=key,
      iteration=jnp.int32(iteration),
      env_steps=state.env_steps + jnp.float32(stats["env_steps"]),
    ), metrics
