"""Shared test setup: two host devices, a persistent compilation cache and tiny shared pieces.

The suite runs in-process on two forced CPU devices so data parallelism is exercised on every
run. CLI tests run in this process (`tests.helpers.cli`); the two that need a process of
their own (a kill, a signal) give their child this process's devices, so that it loads the
programs the golden run compiled; other children get one device (`tests.helpers.child_env`).

pytest-xdist runs the tests in one worker per core (`-n auto --dist loadgroup` in
pyproject.toml; `-n 0` runs them here). The runs tests read are the golden runs
(`tests/golden`), each trained once per worker: the tests of one run share a group.
"""

import os

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
  os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
  ).strip()
# Outside the repository, so compiled programs are never committed.
os.environ.setdefault(
  "JAX_COMPILATION_CACHE_DIR",
  os.path.join(os.path.expanduser("~"), ".cache", "searchdistill", "xla"),
)

# Every program, however quick to compile: the tests of one configuration, and the child
# processes of the subprocess and Ray tests (which read it from the environment), then load
# what the first of them compiled.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])


def pytest_configure(config):
  """Refuses pytest >= 9.2 with pytest-xdist <= 3.8 under `--dist loadgroup`: the pair
  ignores the groups silently (pytest-xdist#1386), so every worker would train every golden
  run it meets, and the Ray tests could start two local instances at once."""
  if config.getoption("dist", "no") != "loadgroup":
    return
  import xdist

  version = lambda text: tuple(int(part) for part in text.split(".")[:2] if part.isdigit())
  if version(pytest.__version__) >= (9, 2) and version(xdist.__version__) <= (3, 8):
    raise pytest.UsageError(
      f"pytest {pytest.__version__} with pytest-xdist {xdist.__version__} does not group "
      "tests (pytest-xdist#1386): install the versions of constraints.txt"
    )


# CPU seconds of the longest groups, cold and with coverage (measured 2026-11-29). They start first,
# longest first, so that no long group starts last and runs alone on one worker while the
# other idles (pyproject.toml turns off pytest-xdist's own order, by number of tests).
LONG_GROUPS = {
  "distill_binpack": 420,
  "ray": 240,
  "tests.search.test_true_model": 220,
  "tests.training.test_sharding": 140,
  "tests.algorithms.test_ppo": 135,
  "tests.training.test_muzero_loop": 130,
  "muzero_minatar": 130,
  "tests.test_cli": 125,
  "tests.search.test_multi_agent_planners": 120,
  "tests.algorithms.test_distill": 95,
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist turns the groups into node ids
def pytest_collection_modifyitems(items):
  """A test in no group joins its module's: a module's tests share its compiled fixtures,
  which a second worker would compile again (each search program: 10-30 s). Then the long
  groups move to the front (`LONG_GROUPS`)."""
  for item in items:
    if item.get_closest_marker("xdist_group") is None:
      item.add_marker(pytest.mark.xdist_group(item.module.__name__))
  group = lambda item: item.get_closest_marker("xdist_group").args[0]
  items.sort(key=lambda item: -LONG_GROUPS.get(group(item), 0))


@pytest.fixture(scope="session")
def binpack():
  from searchdistill.envs import make_environment

  return make_environment("BinPack-v2")


@pytest.fixture(scope="session")
def tiny_network():
  from searchdistill.networks import BinPackNetwork

  return BinPackNetwork(num_layers=1, num_heads=1, key_size=4, mlp_ratio=1)


@pytest.fixture(scope="session")
def tiny_params(binpack, tiny_network):
  # Jitted: op by op, the environment and the transformer compile each operation on its own.
  state = jax.jit(binpack.reset)(jax.random.key(0))
  observation = jax.tree.map(lambda x: x[None], state.observation)
  return jax.jit(tiny_network.init)(jax.random.key(1), observation)


@pytest.fixture(scope="session")
def golden_run(tmp_path_factory):
  """`golden_run(name)`: the directory of golden run `name` (tests/golden), trained on first
  use in this process. Read it; copy it to change it."""
  from tests import golden

  trained = {}

  def get(name):
    if name not in trained:
      trained[name] = golden.train_run(name, tmp_path_factory.mktemp("golden") / name)
    return trained[name]

  return get
