"""MuZero's Ray actor-learner: collecting actors, the replay actor and the parameter store
(`actors`), and the learner that drives them (`learner`)."""

from searchdistill.distributed.learner import RayLearner


def ray_iteration(parts) -> RayLearner:
  """The iteration of a run whose experience comes from Ray actors (`num_actors > 0`), for
  `loop.run.train(iteration_of=...)`."""
  return RayLearner(
    parts.config, parts.network, parts.learned_search(training=True), parts.optimizer, parts.support
  )


__all__ = ["RayLearner", "ray_iteration"]
