"""Running the CLI: in this process (compiled programs shared, no start-up), or in a child
process where the process boundary is what a test is about (kills, signals)."""

import contextlib
import io
import os
import subprocess
import sys
from typing import NamedTuple


def child_env():
  # Children get one device unless a test needs this process's programs (its parent then
  # waits): two forced host devices exchange collectives inside the search's loops, and more
  # busy JAX processes than cores can starve XLA's in-process rendezvous. An explicit
  # XLA_FLAGS keeps the CLI from splitting the CPU into one device per core.
  return {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}


class CliResult(NamedTuple):
  returncode: int
  stdout: str
  stderr: str


def cli(*args, check=True) -> CliResult:
  """`searchdistill ARGS` run in this process, with its exit code and printed output."""
  from searchdistill.cli import main

  stdout, stderr = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
    try:
      code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
      code = e.code
  result = CliResult(code, stdout.getvalue(), stderr.getvalue())
  if check and code != 0:
    raise AssertionError(result.stderr[-3000:])
  return result


def cli_process(*args, check=True, timeout=900):
  """`searchdistill ARGS` in a child process with one device, as a user would start it."""
  result = subprocess.run(
    [sys.executable, "-m", "searchdistill.cli", *map(str, args)],
    capture_output=True,
    text=True,
    env=child_env(),
    timeout=timeout,
  )
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
