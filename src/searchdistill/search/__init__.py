"""Search: Gumbel MuZero over a known model (the true environment)."""

from searchdistill.search.output import SearchOutput
from searchdistill.search.true_model import (
  evaluate_states,
  greedy_action,
  make_search,
)

__all__ = ["SearchOutput", "evaluate_states", "greedy_action", "make_search"]
