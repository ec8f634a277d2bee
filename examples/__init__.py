"""Runnable examples (importable, so `env=examples.knapsack:make_env` works from the repository
root)."""
