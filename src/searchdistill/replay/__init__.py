"""Experience replay: functional buffers whose every operation can run under `jit`."""

from searchdistill.replay.trajectory import (
  ReplayState,
  Sample,
  add,
  add_to_shard,
  init,
  init_sharded,
  sample,
  sampling_probabilities,
  size,
  update_priorities,
  valid_starts,
)

__all__ = [
  "ReplayState",
  "Sample",
  "add",
  "add_to_shard",
  "init",
  "init_sharded",
  "sample",
  "sampling_probabilities",
  "size",
  "update_priorities",
  "valid_starts",
]
