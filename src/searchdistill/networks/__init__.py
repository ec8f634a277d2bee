"""Flax policy-value networks."""

from searchdistill.networks.binpack import BinPackNetwork
from searchdistill.networks.heads import PolicyValue, mask_logits
from searchdistill.networks.mlp import MLPNetwork
from searchdistill.networks.multi_agent_muzero import MultiAgentMuZeroNetwork
from searchdistill.networks.muzero import MuZeroNetwork


def make_network(config, env):
  """The network for `env`: MuZero's learned model for algo=muzero (the multi-agent world model
  for multi-agent environments, a residual conv torso for image observations, an MLP torso
  otherwise), the EMS/item transformer for BinPack, an MLP of
  `model_blocks` layers of `model_width` units otherwise."""
  capabilities = env.capabilities
  if config.run.algo == "muzero" and capabilities.multi_agent:
    return MultiAgentMuZeroNetwork(
      num_actions=env.num_actions,
      num_atoms=2 * config.muzero.support_size + 1,
      width=config.network.model_width,
      num_heads=config.network.model_heads,
      num_blocks=config.network.model_blocks,
    )
  if config.run.algo == "muzero":
    image = len(env.observation_shape) == 3
    torso = (
      config.network.model_torso
      if config.network.model_torso != "auto"
      else ("resnet" if image else "mlp")
    )
    return MuZeroNetwork(
      num_actions=env.num_actions,
      num_atoms=2 * config.muzero.support_size + 1,
      torso=torso,
      width=config.network.model_width,
      num_blocks=config.network.model_blocks,
      downsample=torso == "resnet" and env.observation_shape[0] > 32,
    )
  if capabilities.network == "binpack":
    return BinPackNetwork(
      num_layers=config.network.num_transformer_layers,
      num_heads=config.network.transformer_num_heads,
      key_size=config.network.transformer_key_size,
      mlp_ratio=config.network.transformer_mlp_ratio,
      norm=config.network.transformer_norm,
    )
  return MLPNetwork(
    num_actions=env.num_actions,
    hidden_sizes=(config.network.model_width,) * config.network.model_blocks,
  )


__all__ = [
  "BinPackNetwork",
  "MLPNetwork",
  "MultiAgentMuZeroNetwork",
  "MuZeroNetwork",
  "PolicyValue",
  "make_network",
  "mask_logits",
]
