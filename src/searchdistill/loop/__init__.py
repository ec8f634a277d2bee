"""The run loop and what it drives: the components of a run (`components`), the learners
(`learner` for distill and PPO, `muzero_learner`), evaluation and device sharding."""
