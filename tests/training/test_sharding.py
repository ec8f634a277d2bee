"""One iteration gives the same result on one device and on two."""

import jax
import numpy as np

from searchdistill.config import make_config
from searchdistill.training.components import build
from searchdistill.training.learner import make_iteration


def _one_iteration(devices):
  config = make_config("tiny")
  parts = build(config, devices)
  state = parts.parallel.replicate(parts.init_state())
  iteration = make_iteration(config, parts.env, parts.network, parts.optimizer, parts.search(),
                             parts.parallel)
  state, metrics = iteration(state)
  return jax.device_get(state.params), jax.device_get(metrics)


def test_iteration__one_and_two_devices_agree():
  devices = jax.local_devices()
  assert len(devices) == 2, "tests run with two forced host devices (see conftest.py)"
  params_1, metrics_1 = _one_iteration(devices[:1])
  params_2, metrics_2 = _one_iteration(devices)
  assert metrics_1["rollout/avg_return"] == metrics_2["rollout/avg_return"]
  for key in metrics_1:
    np.testing.assert_allclose(metrics_1[key], metrics_2[key], rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree.leaves(params_1), jax.tree.leaves(params_2)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
