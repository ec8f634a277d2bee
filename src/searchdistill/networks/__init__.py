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
  if config.algo == "muzero" and capabilities.multi_agent:
    return MultiAgentMuZeroNetwork(
      num_actions=env.num_actions,
      num_atoms=2 * config.support_size + 1,
      width=config.model_width,
      num_heads=config.model_heads,
      num_blocks=config.model_blocks,
    )
  if config.algo == "muzero":
    image = len(env.observation_shape) == 3
    torso = config.model_torso if config.model_torso != "auto" else ("resnet" if image else "mlp")
    return MuZeroNetwork(
      num_actions=env.num_actions,
      num_atoms=2 * config.support_size + 1,
      torso=torso,
      width=config.model_width,
      num_blocks=config.model_blocks,
      downsample=torso == "resnet" and env.observation_shape[0] > 32,
    )
  if capabilities.network == "binpack":
    return BinPackNetwork(
      num_layers=config.num_transformer_layers,
      num_heads=config.transformer_num_heads,
      key_size=config.transformer_key_size,
      mlp_ratio=config.transformer_mlp_ratio,
      norm=config.transformer_norm,
    )
  return MLPNetwork(
    num_actions=env.num_actions, hidden_sizes=(config.model_width,) * config.model_blocks
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
