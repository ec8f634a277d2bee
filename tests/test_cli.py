"""The command line: clear errors before any work, and a tiny run whose checkpoint evaluates."""

import json
import shutil

import jax
import pytest

from searchdistill.cli import _parse, main
from tests import golden
from tests.helpers import cli


@pytest.mark.parametrize(
  "argv, message",
  [
    (["train", "num_simulation=4"], "unknown config key 'num_simulation'; did you mean"),
    (["train", "--num-simulations", "x"], "invalid int value"),
    (["train", "learning_rate=abc"], "learning_rate must be of type float"),
    (["train", "--preset", "tiny", "--env", "BinPak-v2"], "unknown environment id 'BinPak-v2'"),
    (
      ["train", "--preset", "atari-cpu", "--algo", "ppo"],
      "preset 'atari-cpu' is for algo=muzero, not ppo",
    ),
    (["train", "--num-simulations", "4", "num_simulations=8"], "given twice"),
    (["eval", "no/such/run"], "no/such/run: no such run or checkpoint"),
  ],
)
def test_cli__bad_input_gets_one_clear_message(tmp_path, capsys, argv, message):
  out = tmp_path / "run"
  if argv[0] == "train":
    argv = argv + ["--out", str(out)]
  try:
    code = main(argv)
  except SystemExit as e:  # argparse's own type errors
    code = e.code
  err = capsys.readouterr().err
  assert code == 2
  assert message in err
  assert "Traceback" not in err
  assert not out.exists()  # Nothing was created for a rejected run.


def test_cli__overrides_are_taken_on_either_side_of_the_options():
  args = _parse(["train", "num_actors=2", "--out", "r=1", "minutes=0.5", "--seed", "3"])
  assert args.overrides == ["num_actors=2", "minutes=0.5"]
  assert (args.out, args.seed) == ("r=1", 3)


@pytest.mark.parametrize(
  "argv, rejected",
  [(["eval", "run", "seed=1"], "seed=1"), (["train", "a=1", "--bogus", "b=2"], "--bogus")],
)
def test_cli__a_token_no_command_takes_is_rejected(capsys, argv, rejected):
  with pytest.raises(SystemExit) as exit_info:
    _parse(argv)
  assert exit_info.value.code == 2
  assert f"unrecognized arguments: {rejected}" in capsys.readouterr().err


_cli = cli
DISTILL_RUN = "distill_binpack"  # three iterations of the tiny preset, run by this CLI


@pytest.fixture
def tiny_run(golden_run):
  return golden_run(DISTILL_RUN)


@golden.uses(DISTILL_RUN)
def test_cli__tiny_run_writes_config_metrics_and_checkpoints(tiny_run):
  lines = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
  assert [line["iteration"] for line in lines] == [1, 2, 3]
  assert lines[0]["devices"] == jax.device_count() and "devices" not in lines[1]
  for key in (
    "wall_seconds",
    "env_steps",
    "decisions_per_second",
    "rollout/avg_return",
    "train/policy_loss",
    "train/value_loss",
    "eval/greedy/mean",
    "eval/search/mean",
  ):
    assert key in lines[-1]
  assert "rollout_batch_size: 4" in (tiny_run / "config.yaml").read_text()
  assert (tiny_run / "checkpoints" / "3").is_dir()


@golden.uses(DISTILL_RUN)
def test_cli__eval_loads_the_checkpoint(tiny_run):
  result = json.loads(_cli("eval", str(tiny_run), "--episodes", "4", "--json").stdout)
  assert result["episodes"] == 4 and result["iteration"] == 3
  # The run evaluated its last parameters on the same 4 held-out episodes.
  last = json.loads((tiny_run / "metrics.jsonl").read_text().splitlines()[-1])
  assert result["mean"] == last["eval/greedy/mean"]
  assert result["stderr"] == last["eval/greedy/stderr"]


@golden.uses(DISTILL_RUN)
def test_cli__existing_run_is_not_overwritten(tiny_run):
  before = (tiny_run / "metrics.jsonl").read_text()
  result = _cli("train", "--preset", "tiny", "--out", str(tiny_run), check=False)
  assert result.returncode == 2 and "already holds a run" in result.stderr
  assert (tiny_run / "metrics.jsonl").read_text() == before


# With the golden distill run, on its worker: its distill runs then load that run's programs.
@golden.uses(DISTILL_RUN)
def test_cli__compare_writes_a_report_and_curves(tmp_path, capsys):
  out = tmp_path / "compare"
  result = cli(
    "compare",
    "--preset",
    "tiny",
    "--minutes",
    "0.05",
    "--seeds",
    "0",
    "--algos",
    "distill",
    "ppo",
    "--out",
    out,
    "--no-progress",
  )
  report = (out / "report.md").read_text()
  assert "| distill (2 sims) | 1 |" in report and "| ppo | 1 |" in report
  assert (out / "curves.png").stat().st_size > 1000
  assert "greedy" in result.stdout
  # Runs kept from an earlier session hold only config.yaml and metrics.jsonl: a comparison
  # over them rebuilds the report without training again.
  before = {}
  for run in ("distill_s0", "ppo_s0"):
    shutil.rmtree(out / run / "checkpoints")
    shutil.rmtree(out / run / "best", ignore_errors=True)
    before[run] = (out / run / "metrics.jsonl").read_text()
  (out / "report.md").unlink()
  args = [
    "compare",
    "--preset",
    "tiny",
    "--minutes",
    "0.05",
    "--seeds",
    "0",
    "--out",
    str(out),
    "--no-progress",
  ]
  assert main(args + ["--algos", "distill", "ppo"]) == 0
  assert (out / "report.md").read_text() == report
  assert {run: (out / run / "metrics.jsonl").read_text() for run in before} == before
  assert not (out / "distill_s0" / "checkpoints").exists()
  # Other settings into the same folder would mix runs: refused, nothing touched.
  capsys.readouterr()
  assert main(args + ["learning_rate=0.5", "--algos", "distill"]) == 2
  assert "other settings (learning_rate)" in capsys.readouterr().err
  assert (out / "distill_s0" / "metrics.jsonl").read_text() == before["distill_s0"]


def test_cli__compare_runs_variants_against_the_reference_policies(tmp_path):
  out = tmp_path / "planners"
  cli(
    "compare",
    "--preset",
    "tiny",
    "--minutes",
    "0.05",
    "--seeds",
    "0",
    "--algos",
    "muzero",
    "--env",
    "MPE_simple_spread_v3",
    "--variants",
    "planner=independent",
    "planner=joint,num_joint_samples=4",
    "--out",
    out,
    "--no-progress",
    "eval_batch_size=2",  # as in the golden MPE runs
  )
  report = (out / "report.md").read_text()
  assert "| muzero_planner-independent | 1 |" in report
  assert "| muzero_planner-joint_num_joint_samples-4 | 1 |" in report
  assert "| random |" in report and "| scripted |" in report
  assert (out / "muzero_planner-joint_num_joint_samples-4_s0" / "metrics.jsonl").exists()


def test_cli__compare_rejects_a_bad_variant_before_training(tmp_path):
  result = _cli(
    "compare",
    "--preset",
    "tiny",
    "--algos",
    "muzero",
    "--out",
    str(tmp_path / "x"),
    "--variants",
    "planer=joint",
    check=False,
  )
  assert result.returncode == 2 and "unknown config key 'planer'" in result.stderr
  assert not (tmp_path / "x").exists()


def test_use_all_cores__one_device_per_core_unless_the_user_set_xla_flags(monkeypatch):
  import os

  from searchdistill.cli import _use_all_cores
  from searchdistill.config import make_config

  monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
  tiny = make_config("tiny")  # Batches of 4, 16 and 4 split over at most 4 devices.
  monkeypatch.delenv("XLA_FLAGS", raising=False)
  _use_all_cores([make_config("cpu", {"algo": "ppo"}), tiny])
  assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=4"
  monkeypatch.delenv("XLA_FLAGS")
  _use_all_cores([make_config("cpu", {"algo": "muzero"})])
  assert "XLA_FLAGS" not in os.environ
  monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
  _use_all_cores([tiny])
  assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=1"
