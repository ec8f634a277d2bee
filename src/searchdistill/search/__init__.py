"""Search over the true environment (exported here), over a learned model and over
multi-agent models (`learned_model`, `multi_agent`)."""

from searchdistill.search.output import SearchOutput
from searchdistill.search.true_model import (
  evaluate_states,
  greedy_action,
  make_search,
)

__all__ = ["SearchOutput", "evaluate_states", "greedy_action", "make_search"]
