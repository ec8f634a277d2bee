"""Running the CLI in a separate process, as a user would."""

import os
import subprocess
import sys


def cli(*args, check=True, timeout=900):
  result = subprocess.run([sys.executable, "-m", "searchdistill.cli", *map(str, args)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=timeout)
  if check and result.returncode != 0:
    raise AssertionError(result.stderr[-3000:])
  return result


def python(code: str, *, check=False, timeout=900):
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env=dict(os.environ), timeout=timeout)
