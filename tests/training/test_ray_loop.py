"""The Ray actor-learner: two actors on a local Ray instance, checkpoints, resume, shutdown."""

import concurrent.futures
import time

import jax
import numpy as np
import pytest
import ray

from searchdistill.config import ConfigError, make_config
from searchdistill.distributed import ray_iteration
from searchdistill.distributed.actors import CollectingActor, ParameterStore, ReplayServer
from searchdistill.distributed.learner import connect
from searchdistill.loop.components import build
from searchdistill.loop.muzero_learner import make_update
from searchdistill.runner import train
from searchdistill.runs import checkpoint as ckpt
from searchdistill.runs.metrics import read_metrics
from tests import golden

DEVICE = jax.local_devices()[:1]
# One local Ray instance at a time: these tests share a pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("ray")


def _config(**overrides):
  return make_config(
    "tiny",
    {
      "algo": "muzero",
      "env": "MPE_simple_spread_v3",
      "num_actors": 2,
      "broadcast_every": 1,
      "max_num_iters": 3,
      "eval_every": 0,
      "checkpoint_every": 2,
      **overrides,
    },
  )


def _wait_until(condition, timeout=300.0):
  deadline = time.monotonic() + timeout
  while not condition():
    assert time.monotonic() < deadline, "timed out"
    time.sleep(0.1)


# Before the two-actor run: its actor processes then load the collection program this test
# compiles from the shared compilation cache.
def test_collecting_actor__switches_to_the_parameters_the_learner_publishes():
  # The actor's loop runs here (in a thread, as a Ray worker runs it) against the store and
  # replay actors on Ray. With broadcast_every=1, after sending a block in which episodes
  # ended, it fetches the store's latest parameters. It keeps at most one block in flight, so
  # of the blocks the replay receives after a publication only the first can have been sent
  # before it; MPE episodes (26 steps) end at most once per stream in a block, so once twice
  # the streams' episodes have arrived, the actor has fetched after the publication.
  config = _config()  # the two-actor run's: its programs serve that run; actor 0 runs here
  parts = build(config, DEVICE)
  state = jax.device_get(parts.init_state())
  started = connect(config)
  try:
    store = ray.remote(ParameterStore).options(num_cpus=0).remote(state.params, 0)
    replay = ray.remote(ReplayServer).options(num_cpus=0).remote(config.to_dict(), state.replay)
    actor = CollectingActor(config.to_dict(), 0, store, replay)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
      run = pool.submit(actor.run)
      try:
        published = jax.tree.map(lambda x: x * 0.5, state.params)
        ray.get(store.publish.remote(published, 7))
        ray.get(replay.drain_stats.remote())
        episodes = [0]

        def arrived(count):
          assert not run.done(), run.exception()
          episodes[0] += ray.get(replay.drain_stats.remote())["episodes"]
          return episodes[0] >= count

        _wait_until(lambda: arrived(2 * config.train.rollout_batch_size))
      finally:
        store.stop.remote()  # also on a failure, so that the pool's thread ends
      report = run.result(timeout=300)
  finally:
    if started:
      ray.shutdown()
  assert report["index"] == 0 and report["blocks"] >= 2
  assert report["version"] == 7 and report["refreshes"] >= 1


@pytest.fixture(scope="module")
def ray_run(tmp_path_factory):
  """Three iterations: two, stopped after the checkpoint of the second, then resumed for the
  third (each part starts and stops its own Ray instance). Returns the run directory, the
  first part's summary and the resumed part's."""
  out = tmp_path_factory.mktemp("ray_run")
  first = train(_config(), out, devices=DEVICE, show_progress=False, stop_after=2)
  resumed = train(_config(), out, resume=True, devices=DEVICE, show_progress=False)
  return out, first, resumed


def test_ray_learner__learns_from_two_actors_and_shuts_down_cleanly(ray_run):
  out, _, summary = ray_run
  assert summary["iteration"] == 3
  records = read_metrics(out)
  assert [r["iteration"] for r in records] == [1, 2, 3]
  config = _config()
  for record in records:
    assert record["train/sgd_steps"] == config.muzero.updates_per_iteration
    assert np.isfinite(record["train/policy_loss"])
  assert records[-1]["env_steps"] > 0
  assert not ray.is_initialized()  # the run started Ray, so it stopped it too


def test_ray_learner__reports_what_each_actor_did(ray_run):
  _, first, resumed = ray_run
  # The resumed part's one iteration can learn from the restored replay before any new block.
  assert sum(r["blocks"] for r in first["actors"]) > 0
  for summary in (first, resumed):
    reports = summary["actors"]
    assert sorted(r["index"] for r in reports) == [0, 1]
    assert all(0 <= r["version"] <= summary["iteration"] for r in reports)


def _first_blocks(config, state, blocks=2):
  """`state`'s sharded replay once each actor has delivered its first `blocks` blocks collected
  with `state.params`: what the actors deliver, without their timing (NumPy)."""
  server = ReplayServer(config.to_dict(), jax.device_get(state.replay))
  for index in range(config.distributed.num_actors):
    actor = CollectingActor(config.to_dict(), index, store=None, replay=None)
    for _ in range(blocks):
      server.add(index, *actor.collect_block(state.params))
  return server.snapshot()


def test_ray_learner__updates_as_the_in_process_learner_and_as_recorded():
  # The deterministic part of the Ray loop: the learner's updates on batches drawn by the
  # replay actor. On the same replay with the same keys they are the in-process learner's
  # updates (pinned by the golden MuZero runs), bit for bit, and they are recorded as a golden.
  config = _config()
  parts = build(config, DEVICE)
  state = parts.init_state()
  buffer = _first_blocks(config, state)
  keys = jax.random.split(jax.random.key(3), config.muzero.updates_per_iteration)
  beta, lr_scale = 0.7, 0.5
  search = parts.learned_search(training=True)
  update = jax.jit(make_update(config, parts.network, search, parts.optimizer, parts.support))
  params, opt_state, replayed, losses = state.params, state.opt_state, buffer, []
  for key in keys:
    params, opt_state, priority, max_priority, aux = update(
      params, opt_state, replayed, state.target_params, beta, key, lr_scale
    )
    replayed = replayed._replace(priority=priority, max_priority=max_priority)
    losses.append(aux)

  learner = ray_iteration(parts)
  started = connect(config)
  try:
    server = ray.remote(ReplayServer).options(num_cpus=0).remote(config.to_dict(), buffer)
    # Placed as the two-actor run placed its state, so that run's programs serve.
    ray_params, _, ray_losses, pending = learner.replayed_updates(
      server, parts.place(state), keys, beta=beta, lr_scale=lr_scale
    )
    ray.get(pending)
    ray_priority = ray.get(server.snapshot.remote()).priority
  finally:
    if started:
      ray.shutdown()
  for ours, theirs in zip(jax.tree.leaves(ray_params), jax.tree.leaves(params)):
    np.testing.assert_array_equal(ours, theirs)
  np.testing.assert_array_equal(ray_priority, replayed.priority)
  assert jax.device_get(ray_losses) == jax.device_get(losses)
  golden.check_recorded(
    "ray_learner_updates",
    {
      "losses": [{name: float(value) for name, value in aux.items()} for aux in ray_losses],
      "params": golden.leaf_sums(ray_params),
      "priority_sum": float(np.sum(ray_priority, dtype=np.float64)),
    },
  )


def test_ray_learner__checkpoints_the_replay_actors_buffer(ray_run):
  out, _, _ = ray_run
  parts = build(_config(), DEVICE)
  state, meta = ckpt.restore(out, parts.init_state())
  assert meta["iteration"] == 3
  written = np.asarray(state.replay.written)
  assert written.shape == (2,) and written.max() > 0  # one shard per actor, data arrived
  for shard in np.flatnonzero(written):
    stored = np.asarray(state.replay.data.policy[shard, :, : min(written[shard], 64)])
    np.testing.assert_allclose(stored.sum(-1), 1.0, rtol=1e-5)


def test_ray_learner__resumes_from_its_checkpoint(ray_run):
  out, first, resumed = ray_run
  assert first["iteration"] == 2 and first["stopped_by"] == "stop_after"
  assert resumed["iteration"] == 3 and resumed["stopped_by"] == "budget"
  assert [r["iteration"] for r in read_metrics(out)] == [1, 2, 3]


@pytest.mark.parametrize(
  "overrides, message",
  [
    ({"algo": "ppo"}, "num_actors=2 needs algo=muzero"),
    ({"num_actors": 0, "ray_address": "auto"}, "ray_address is set but num_actors=0"),
  ],
)
def test_ray_config__rejects_impossible_combinations(overrides, message):
  with pytest.raises(ConfigError, match=message):
    _config(**overrides)


def test_ray_config__rejects_host_side_games_before_starting_ray():
  message = "the Ray actors step environments written in JAX, not host-side games such as ALE/"
  with pytest.raises(ConfigError, match=message):
    build(_config(env="ALE/Pong-v5"), DEVICE)
