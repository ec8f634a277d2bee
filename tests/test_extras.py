"""Optional dependencies: a feature whose extra is missing stops with one line naming it."""

import importlib.util
import subprocess
import sys

import pytest

from searchdistill import extras
from searchdistill.cli import main
from tests.helpers import child_env


@pytest.fixture
def hide(monkeypatch):
  """`hide(*modules)`: from now on the modules look uninstalled to `extras`."""
  hidden = set()
  find_spec = importlib.util.find_spec
  monkeypatch.setattr(
    importlib.util,
    "find_spec",
    lambda name, *a, **k: None if name in hidden else find_spec(name, *a, **k),
  )
  return lambda *modules: hidden.update(modules)


def test_require__names_the_extra_and_the_install_command(hide):
  hide("ale_py")
  with pytest.raises(extras.MissingExtraError) as error:
    extras.require("ale_py", "env=ALE/Pong-v5")
  assert str(error.value) == (
    "env=ALE/Pong-v5 needs the 'atari' extra (ale_py is not installed): "
    "pip install 'searchdistill[atari]'"
  )


def test_require__passes_when_installed():
  assert extras.require("wandb", "logger=wandb") is None


def test_extra_of_module__every_extra_is_declared_in_pyproject():
  import pathlib
  import tomllib

  pyproject = tomllib.loads((pathlib.Path(__file__).parents[1] / "pyproject.toml").read_text())
  declared = pyproject["project"]["optional-dependencies"]
  assert set(extras.EXTRA_OF_MODULE.values()) <= set(declared)
  assert set(declared["all"][0].split("[")[1].rstrip("]").split(",")) == (
    set(declared) - {"all", "test"}
  )


@pytest.mark.parametrize(
  "argv, module, message",
  [
    (
      ["--preset", "tiny", "--algo", "muzero", "--env", "Breakout-MinAtar"],
      "gymnax",
      "env=Breakout-MinAtar needs the 'minatar' extra",
    ),
    (
      ["--preset", "tiny", "--algo", "muzero", "--env", "MPE_simple_spread_v3"],
      "jaxmarl",
      "env=MPE_simple_spread_v3 needs the 'marl' extra",
    ),
    (
      ["--preset", "tiny", "--algo", "muzero", "--env", "ALE/Pong-v5"],
      "ale_py",
      "env=ALE/Pong-v5 needs the 'atari' extra",
    ),
    (
      ["--preset", "tiny", "--algo", "muzero", "num_actors=1"],
      "ray",
      "num_actors=1 needs the 'ray' extra",
    ),
    (["--preset", "tiny", "logger=wandb"], "wandb", "logger=wandb needs the 'wandb' extra"),
    (
      ["--preset", "tiny", "logger=tensorboard"],
      "tensorboardX",
      "logger=tensorboard needs the 'tensorboard' extra",
    ),
  ],
)
def test_cli__missing_extra_gets_one_line_before_anything_is_written(
  tmp_path, capsys, hide, argv, module, message
):
  hide(module)
  out = tmp_path / "run"
  assert main(["train", *argv, "--out", str(out), "--no-progress"]) == 2
  err = capsys.readouterr().err
  assert message in err and "pip install 'searchdistill[" in err
  assert "Traceback" not in err and len(err.strip().splitlines()) == 1
  assert not out.exists()


CORE_ONLY = """
import importlib.abc, sys
# (six is left importable: a core install can hold it through other packages.)
OPTIONAL = {"gymnax", "ale_py", "jaxmarl", "ray", "tensorboardX", "wandb"}

class Uninstalled(importlib.abc.MetaPathFinder):
  def find_spec(self, name, path=None, target=None):
    if name.split(".")[0] in OPTIONAL:
      raise ImportError(f"{name} is not installed")

sys.meta_path.insert(0, Uninstalled())
from searchdistill.cli import main
from searchdistill.config import make_config
from searchdistill.runner import train
from searchdistill.loop.components import build
for algo in ("distill", "ppo"):
  parts = build(make_config("tiny", {"algo": algo}))
  assert parts.env.num_actions == 800 and parts.network is not None
print("ok")
"""


def test_core_install__distill_and_ppo_on_binpack_import_no_extra():
  # A child process in which the optional packages cannot be imported, as in a core install.
  result = subprocess.run(
    [sys.executable, "-c", CORE_ONLY], capture_output=True, text=True, env=child_env(), timeout=600
  )
  assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
