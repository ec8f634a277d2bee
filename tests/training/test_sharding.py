"""One training iteration: the same result on one device and on two; what symmetric views
change."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.config import make_config
from searchdistill.loop.components import build
from searchdistill.loop.sharding import DataParallel


@functools.cache
def _one_iteration(devices, **overrides):
  config = make_config("tiny", overrides)
  parts = build(config, devices)
  state = parts.place(parts.init_state())
  state, metrics = parts.iteration()(state)
  return jax.device_get(state.params), jax.device_get(metrics)


TWO_DEVICES = pytest.mark.skipif(
  len(jax.local_devices()) < 2,
  reason="needs two devices (conftest forces two host devices unless XLA_FLAGS sets a count)",
)


@TWO_DEVICES
def test_iteration__one_and_two_devices_agree():
  devices = jax.local_devices()
  params_1, metrics_1 = _one_iteration(tuple(devices[:1]))
  params_2, metrics_2 = _one_iteration(tuple(devices))
  for key in metrics_1:
    # Rollouts are identical; losses are means over SGD steps whose parameters drift apart
    # by Adam-amplified reduction-order noise (see below), so they agree less tightly.
    rtol = 5e-3 if key.startswith("train/") else 1e-6
    np.testing.assert_allclose(metrics_1[key], metrics_2[key], rtol=rtol, atol=1e-6)
  # Adam turns any gradient into a step of about the learning rate, so in directions where the
  # gradient is analytically zero (a bias feeding a LayerNorm) reduction-order noise moves a
  # weight by up to a step either way, so two runs by up to two steps apart. Bound each weight by
  # that, and the whole update tightly.
  # The gradients themselves are compared tightly in the test below.
  config = make_config("tiny")
  sgd_steps = math.ceil(config.train.rollout_batch_size * 20 / config.train.training_batch_size)
  flat_1 = np.concatenate([np.ravel(a) for a in jax.tree.leaves(params_1)])
  flat_2 = np.concatenate([np.ravel(b) for b in jax.tree.leaves(params_2)])
  np.testing.assert_allclose(
    flat_1, flat_2, rtol=0, atol=2 * sgd_steps * config.train.learning_rate
  )
  assert np.linalg.norm(flat_1 - flat_2) < 2e-3 * np.linalg.norm(flat_1)


def test_learn__symmetric_views_change_what_is_learned_not_how_much(binpack):
  # At the learner, where the iteration applies views (collection never sees them): the
  # iteration's learning step on one set of samples, with views and without. A whole
  # iteration with views would compile its search again for this (35 s on 2 cores).
  from searchdistill.algorithms import distill
  from searchdistill.loop.learner import _make_learn, _symmetric_views

  config = make_config("tiny", {"symmetric_views": True})
  parts = build(config, tuple(jax.local_devices()[:1]))
  state = parts.init_state()
  states = jax.vmap(binpack.reset)(jax.random.split(jax.random.key(5), 8))
  mask = states.action_mask
  samples = distill.Samples(
    states.observation, mask, mask / mask.sum(-1, keepdims=True), jnp.linspace(0, 1, 8), jnp.ones(8)
  )
  batch_size, algorithm = config.train.training_batch_size, parts.algorithm()

  def learn(views):
    step = _make_learn(config, algorithm, parts.optimizer, parts.parallel, 2, views)
    return jax.jit(step)(state.params, state.opt_state, samples, jax.random.key(6), 1.0)

  params, _, losses, steps = learn(None)
  viewed_params, _, viewed_losses, viewed_steps = learn(_symmetric_views(parts.env, batch_size))
  assert int(viewed_steps) == int(steps) == 1  # the second minibatch holds no real sample
  assert float(viewed_losses["policy_loss"]) != float(losses["policy_loss"])
  # Item embeddings see permuted lengths; the learned weights move differently.
  assert not np.allclose(
    viewed_params["params"]["item_embed"]["kernel"], params["params"]["item_embed"]["kernel"]
  )


@TWO_DEVICES
def test_loss_gradient__sharded_batch_matches_unsharded(binpack, tiny_network, tiny_params):
  from searchdistill.algorithms import distill
  from searchdistill.loop.sharding import DataParallel

  states = jax.vmap(binpack.reset)(jax.random.split(jax.random.key(5), 8))
  target = states.action_mask / states.action_mask.sum(-1, keepdims=True)
  samples = distill.Samples(
    states.observation, states.action_mask, target, jax.numpy.linspace(0, 1, 8), jax.numpy.ones(8)
  )
  grad = jax.jit(
    jax.grad(lambda p, s: distill.loss_fn(p, tiny_network, s, value_loss_weight=1.0)[0])
  )
  parallel = DataParallel()
  sharded = jax.device_put(samples, parallel.batch)
  single = jax.device_put(samples, jax.local_devices()[0])
  for a, b in zip(
    jax.tree.leaves(grad(tiny_params, sharded)), jax.tree.leaves(grad(tiny_params, single))
  ):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_learning_rate_scale__cosine_follows_the_budget_and_constant_stays():
  from searchdistill.loop.learner import learning_rate_scale

  cosine = make_config("tiny", {"lr_schedule": "cosine"})
  scales = [float(learning_rate_scale(cosine, p)) for p in (0.0, 0.5, 1.0, 1.5)]
  np.testing.assert_allclose(scales, [1.0, 0.5, 0.0, 0.0], atol=1e-6)
  assert float(learning_rate_scale(make_config("tiny"), 0.9)) == 1.0
  floored = make_config("tiny", {"lr_schedule": "cosine", "lr_final_fraction": 0.5})
  scales = [float(learning_rate_scale(floored, p)) for p in (0.0, 0.5, 1.0, 1.5)]
  np.testing.assert_allclose(scales, [1.0, 0.75, 0.5, 0.5], atol=1e-6)


@TWO_DEVICES
def test_per_shard_rows__matches_the_unsplit_function_for_any_row_count():
  def evaluate(scale, keys):
    return jax.vmap(lambda key: scale * jax.random.uniform(key))(keys)

  split = DataParallel(jax.local_devices()).per_shard_rows(evaluate)
  for rows in (1, 4, 5):  # Fewer rows than devices, an even split, an odd one.
    keys = jax.random.split(jax.random.key(0), rows)
    np.testing.assert_array_equal(split(2.0, keys), evaluate(2.0, keys))
