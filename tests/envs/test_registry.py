"""The registry: an id's family from its form alone, and the capabilities adapters declare."""

import subprocess
import sys

import pytest

from searchdistill.envs import EnvError, family, make_environment, make_stream_environment
from tests.helpers import child_env


@pytest.mark.parametrize(
  "env_id, name, episodic, stream",
  [
    ("BinPack-v2", "jumanji", True, False),
    ("Snake-v1", "jumanji", True, False),
    ("Breakout-MinAtar", "minatar", True, True),
    ("CartPole-v1", "gymnax", True, True),
    ("ALE/Pong-v5", "atari", False, True),
    ("MPE_simple_spread_v3", "mpe", False, True),
    ("mypkg.envs:make_env", "custom", True, False),
  ],
)
def test_family__from_the_id_alone(env_id, name, episodic, stream):
  kind = family(env_id)
  assert (kind.name, kind.episodic, kind.stream) == (name, episodic, stream)


def test_family__imports_no_environment_package():
  script = (
    "import sys; from searchdistill.envs import family; family('Breakout-MinAtar');"
    "heavy = {'jax', 'jumanji', 'gymnax', 'jaxmarl', 'ale_py'} & set(sys.modules);"
    "print(sorted(heavy))"
  )
  result = subprocess.run(
    [sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), timeout=120
  )
  assert result.stdout.strip() == "[]", result.stderr[-2000:]


def test_capabilities__declared_by_each_adapter(binpack):
  assert binpack.capabilities.network == "binpack"
  assert binpack.capabilities.renderer == "animate" and not binpack.capabilities.multi_agent
  minatar = make_environment("Breakout-MinAtar")
  assert minatar.capabilities.family == "minatar" and minatar.capabilities.network == "generic"
  spread = make_stream_environment("MPE_simple_spread_v3")
  assert spread.capabilities.num_agents == 3 and spread.capabilities.multi_agent
  assert spread.capabilities.scripted_reference == "simple_spread"


@pytest.mark.parametrize(
  "make, env_id, message",
  [
    (make_environment, "MPE_simple_spread_v3", "which only MuZero plays"),
    (make_environment, "ALE/Pong-v5", "which only MuZero plays"),
    (make_stream_environment, "BinPack-v2", "is not a stream environment"),
  ],
)
def test_registry__says_which_algorithms_an_environment_serves(make, env_id, message):
  with pytest.raises(EnvError, match=message):
    make(env_id)
