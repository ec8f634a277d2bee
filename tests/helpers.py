"""Running the CLI in a separate process, as a user would."""

import os
import subprocess
import sys


def child_env():
  # CLI runs in child processes use one device: two forced host devices exchange collectives
  # inside the search's loops, and two JAX processes on a 2-core machine can starve XLA's
  # in-process rendezvous. Sharding itself is tested in-process (tests/training/test_sharding.py).
  # An explicit XLA_FLAGS keeps the CLI from splitting the CPU into one device per core.
  return {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}


def cli(*args, check=True, timeout=900):
  result = subprocess.run([sys.executable, "-m", "searchdistill.cli", *map(str, args)],
                          capture_output=True, text=True, env=child_env(), timeout=timeout)
  if check and result.returncode != 0:
    raise AssertionError(result.stderr[-3000:])
  return result



def assert_step_compiles_once(env, num_steps=3):
  """Steps `env` with the first valid action `num_steps` times under one jitted function that
  fails if traced twice."""
  import chex
  import jax
  import jax.numpy as jnp

  @jax.jit
  @chex.assert_max_traces(n=1)
  def step(state, action):
    return env.step(state, action)

  state = env.reset(jax.random.key(0))
  for _ in range(num_steps):
    state, _ = step(state, jnp.argmax(state.action_mask))
