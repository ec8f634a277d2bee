"""Flax policy-value networks."""

from searchdistill.networks.binpack import BinPackNetwork
from searchdistill.networks.heads import PolicyValue, mask_logits
from searchdistill.networks.mlp import MLPNetwork


def make_network(config, env):
  """The network for `env`: the EMS/item transformer for BinPack, an MLP otherwise."""
  if env.env_id.startswith("BinPack"):
    return BinPackNetwork(
        num_layers=config.num_transformer_layers, num_heads=config.transformer_num_heads,
        key_size=config.transformer_key_size, mlp_ratio=config.transformer_mlp_ratio)
  width = config.transformer_num_heads * config.transformer_key_size * config.transformer_mlp_ratio
  return MLPNetwork(num_actions=env.num_actions, hidden_sizes=(width, width))


__all__ = ["BinPackNetwork", "MLPNetwork", "PolicyValue", "make_network", "mask_logits"]
