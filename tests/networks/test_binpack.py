"""The BinPack transformer: output contract and indifference to padded tokens, both norms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.networks import BinPackNetwork


def _batch(binpack, size=3):
  states = jax.vmap(binpack.reset)(jax.random.split(jax.random.key(7), size))
  return states.observation, states.action_mask


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_binpack_network__policy_per_action_and_value_in_unit_interval(binpack, norm):
  network = BinPackNetwork(num_layers=2, num_heads=1, key_size=4, mlp_ratio=1, norm=norm)
  observation, _ = _batch(binpack)
  params = network.init(jax.random.key(0), observation)
  out = network.apply(params, observation)
  assert out.logits.shape == (3, binpack.num_actions)
  assert out.value.shape == (3,)
  assert np.all(np.isfinite(out.logits))
  assert np.all((out.value > 0) & (out.value < 1))


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_binpack_network__ignores_padded_ems_tokens(binpack, norm):
  network = BinPackNetwork(num_layers=2, num_heads=1, key_size=4, mlp_ratio=1, norm=norm)
  observation, action_mask = _batch(binpack)
  params = network.init(jax.random.key(0), observation)
  padded = ~observation.ems_mask
  assert np.any(padded), "the test needs instances with padded EMS slots"
  noise = lambda x: jnp.where(padded, x + 0.37, x)
  ems = observation.ems
  changed = observation._replace(
    ems=type(ems)(
      **{name: noise(getattr(ems, name)) for name in ("x1", "x2", "y1", "y2", "z1", "z2")}
    )
  )
  before, after = network.apply(params, observation), network.apply(params, changed)
  np.testing.assert_allclose(after.value, before.value, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(
    np.where(action_mask, after.logits, 0.0),
    np.where(action_mask, before.logits, 0.0),
    rtol=1e-5,
    atol=1e-5,
  )


@pytest.mark.parametrize(
  "norm, self_block, cross_block, final_norms",
  [
    # Post-norm: a norm after each of the two residual sums (the parameters of the original
    # network, so its checkpoints and runs stay as they were).
    (
      "post",
      ["Dense_0", "Dense_1", "LayerNorm_0", "LayerNorm_1", "MultiHeadDotProductAttention_0"],
      None,
      False,
    ),
    # Pre-norm: a norm on each sublayer's input (queries and keys apart in cross-attention),
    # and one final norm per token stream.
    (
      "pre",
      ["Dense_0", "Dense_1", "LayerNorm_0", "LayerNorm_1", "MultiHeadDotProductAttention_0"],
      [
        "Dense_0",
        "Dense_1",
        "LayerNorm_0",
        "LayerNorm_1",
        "LayerNorm_2",
        "MultiHeadDotProductAttention_0",
      ],
      True,
    ),
  ],
)
def test_binpack_network__parameters_of_each_norm_placement(
  binpack, norm, self_block, cross_block, final_norms
):
  network = BinPackNetwork(num_layers=1, num_heads=1, key_size=4, mlp_ratio=1, norm=norm)
  observation, _ = _batch(binpack, size=1)
  # Their shapes only: nothing to compute, so nothing to compile.
  params = jax.eval_shape(network.init, jax.random.key(0), observation)["params"]
  assert sorted(params["ems_self_0"]) == self_block
  assert sorted(params["ems_cross_0"]) == (cross_block or self_block)
  assert ("ems_final_norm" in params and "item_final_norm" in params) == final_norms
