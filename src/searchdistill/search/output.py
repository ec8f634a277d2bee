"""What every search returns, over the true environment or a learned model, for one agent or
many."""

from __future__ import annotations

from typing import Any, NamedTuple

import chex


class SearchOutput(NamedTuple):
  """The result of searching from a batch of `B` states.

  Attributes:
    action: int32 `[B]`, the action to execute (valid whenever one exists); for `N` agents
      planning together, the joint action `[B, N]`.
    action_weights: float32 `[B, A]` (`[B, N, A]` per agent), the policy-improvement target:
      softmax(prior logits + completed Q) for Gumbel search, visit-count proportions for
      MuZero's own policy, zero on invalid actions (all zero for a finished state).
    root_value: float32 `[B]`, the search's value estimate at the root (for the independent
      and sequential multi-agent planners, that of agent 0's search).
    tree: the batched `mctx.Tree` when requested, else None.
  """

  action: chex.Array
  action_weights: chex.Array
  root_value: chex.Array
  tree: Any = None
