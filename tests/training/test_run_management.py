"""Runs survive: resume, kills, signals, bad checkpoints, NaN guard, logs, GIFs and plots."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from searchdistill.config import make_config
from searchdistill.loop.run import InProcess, NonFiniteError
from searchdistill.runner import train
from searchdistill.runner.evaluate import load_trained
from searchdistill.runs.directory import find_run_config
from searchdistill.runs.metrics import read_metrics
from tests import golden
from tests.helpers import cli

# Timings differ between runs; `devices` starts each process's part of the metrics file.
TIMING_KEYS = {
  "wall_seconds",
  "train_seconds",
  "wall_seconds_after_eval",
  "decisions_per_second",
  "devices",
}


def _comparable(run_dir, ignore=()):
  skip = TIMING_KEYS | set(ignore)
  return [{k: v for k, v in line.items() if k not in skip} for line in read_metrics(run_dir)]


def _params(run_dir):
  return jax.device_get(load_trained(run_dir)[1].params)


DISTILL_RUN = "distill_binpack"  # three iterations of the tiny preset, by the CLI


@pytest.fixture
def uninterrupted(golden_run):
  return golden_run(DISTILL_RUN)


@golden.uses(DISTILL_RUN)
def test_resume__is_bit_identical_to_an_uninterrupted_run(uninterrupted, tmp_path):
  out = tmp_path / "resumed"
  cli("train", "--preset", "tiny", "max_num_iters=2", "--out", out, "--no-progress")
  cli("train", "--resume", out, "max_num_iters=3", "--no-progress")
  # `progress` is the share of each part's own budget, which the resume extended.
  assert _comparable(out, ignore={"progress"}) == _comparable(uninterrupted, ignore={"progress"})
  for a, b in zip(jax.tree.leaves(_params(out)), jax.tree.leaves(_params(uninterrupted))):
    np.testing.assert_array_equal(a, b)


@golden.uses(DISTILL_RUN)
def test_resume__refuses_a_changed_config(uninterrupted, tmp_path):
  out = tmp_path / "copy"
  shutil.copytree(uninterrupted, out)
  before = (out / "metrics.jsonl").read_text()
  result = cli("train", "--resume", out, "transformer_key_size=8", check=False)
  assert result.returncode == 2 and "transformer_key_size" in result.stderr
  assert (out / "metrics.jsonl").read_text() == before


KILL_DURING_SAVE = """
import os, signal, sys
from orbax.checkpoint._src.path import atomicity
original = atomicity.AtomicRenameTemporaryPath.finalize
async def finalize(self, *args, **kwargs):
  target = str(self.get_final())
  if target.endswith(os.sep + os.path.join("checkpoints", "2")):
    os.kill(os.getpid(), signal.SIGKILL)   # Data written, commit not yet done.
  return await original(self, *args, **kwargs)
atomicity.AtomicRenameTemporaryPath.finalize = finalize
from searchdistill.cli import main
sys.exit(main(["train", "--preset", "tiny", "max_num_iters=3", "--out", sys.argv[1],
               "--no-progress"]))
"""


@golden.uses(DISTILL_RUN)
def test_kill_during_save__leaves_the_last_complete_checkpoint(uninterrupted, tmp_path):
  out = tmp_path / "killed"
  # The child gets this process's two devices, so that its run continues here bit for bit
  # (this process waits meanwhile; another test worker may slow it, never change it).
  result = subprocess.run(
    [sys.executable, "-c", KILL_DURING_SAVE, str(out)],
    capture_output=True,
    text=True,
    env=dict(os.environ),
    timeout=900,
  )
  assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
  assert not (out / "checkpoints" / "2").exists()
  # As many episodes as the run evaluates: its evaluation program serves.
  evaluation = json.loads(cli("eval", out, "--episodes", "4", "--json").stdout)
  assert evaluation["iteration"] == 1
  # And the run resumes from there to the same end as an uninterrupted one.
  cli("train", "--resume", out, "--no-progress")
  assert _comparable(out) == _comparable(uninterrupted)


@golden.uses(DISTILL_RUN)
def test_sigterm__checkpoints_then_exits_cleanly(uninterrupted, tmp_path):
  # The golden run compiled the same programs for this process's devices, so the child (given
  # them too) loads them from the compilation cache instead of compiling for a minute.
  out = tmp_path / "terminated"
  process = subprocess.Popen(
    [
      sys.executable,
      "-m",
      "searchdistill.cli",
      "train",
      "--preset",
      "tiny",
      "max_num_iters=100000",
      "checkpoint_every=100000",
      "eval_every=0",
      "--out",
      str(out),
      "--no-progress",
    ],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
    env=dict(os.environ),
  )
  try:
    deadline = time.time() + 600
    while not read_metrics(out) and time.time() < deadline:
      time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=600)
  finally:
    process.kill()
  assert process.returncode == 0, stderr[-2000:]
  assert json.loads(stdout.strip().splitlines()[-1])["stopped_by"] == "SIGTERM"
  done = len(read_metrics(out))
  assert (out / "checkpoints" / str(done)).is_dir()


@golden.uses(DISTILL_RUN)
def test_bad_checkpoints__get_one_clear_message(uninterrupted, tmp_path):
  corrupt = tmp_path / "corrupt"
  shutil.copytree(uninterrupted, corrupt)
  latest = corrupt / "checkpoints" / "3"
  for path in (latest / "state").rglob("*"):
    if path.is_file() and path.stat().st_size > 0:
      path.write_bytes(b"\\x00garbage")
  result = cli("eval", corrupt, "--episodes", "2", check=False)
  assert result.returncode == 2
  assert str(latest) in result.stderr and "cannot restore" in result.stderr
  assert "Traceback" not in result.stderr
  saved = {p: p.read_bytes() for p in corrupt.rglob("*") if p.is_file()}
  result = cli("train", "--resume", corrupt, "max_num_iters=5", check=False)
  assert result.returncode == 2 and "cannot restore" in result.stderr
  assert {p: p.read_bytes() for p in corrupt.rglob("*") if p.is_file()} == saved

  future = tmp_path / "future"
  shutil.copytree(uninterrupted, future)
  meta_file = future / "checkpoints" / "3" / "meta" / "metadata"
  meta = json.loads(meta_file.read_text())
  meta["format_version"] = 99
  meta_file.write_text(json.dumps(meta))
  result = cli("eval", future, check=False)
  assert result.returncode == 2 and "format 99 is not supported" in result.stderr

  empty = tmp_path / "empty"
  (empty / "checkpoints").mkdir(parents=True)
  result = cli("eval", empty, check=False)
  assert result.returncode == 2 and "contains no complete checkpoint" in result.stderr


def _poisoned_at(iteration_number, poison):
  """`iteration_of` for `train`: the run's own iteration, whose state and metrics `poison`
  spoils after iteration `iteration_number`."""

  def iteration_of(parts):
    iteration = parts.iteration()

    def step(state, stage):
      state, metrics = iteration(state, stage)
      if int(state.iteration) == iteration_number:
        state, metrics = poison(state, metrics)
      return state, metrics

    return InProcess(step)

  return iteration_of


POISONS = {
  "train/policy_loss became nan": lambda s, m: (s, {**m, "train/policy_loss": np.nan}),
  r"parameter \['params'\].* is not finite": lambda s, m: (
    s._replace(params=jax.tree.map(lambda x: x * np.inf, s.params)),
    m,
  ),
}


@golden.uses(DISTILL_RUN)  # the golden run's configuration: its programs
@pytest.mark.parametrize("message", POISONS)
def test_nan_guard__stops_with_the_bad_quantity_and_keeps_good_checkpoints(tmp_path, message):
  out = tmp_path / "nan"
  config = make_config("tiny", {"checkpoint_every": 1})
  with pytest.raises(NonFiniteError, match=message):
    train(config, out, show_progress=False, iteration_of=_poisoned_at(2, POISONS[message]))
  assert (out / "checkpoints" / "1").is_dir() and not (out / "checkpoints" / "2").exists()
  assert [record["iteration"] for record in read_metrics(out)] == [1]


def _tensorboard_scalars(log_dir) -> dict:
  """{step: {tag: value}} read back from TensorBoard event files (TFRecord framing: length,
  its CRC, an `Event` proto, its CRC)."""
  import struct

  from tensorboardX.proto import event_pb2

  scalars: dict = {}
  for path in sorted(log_dir.rglob("events.out.tfevents*")):
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
      (length,) = struct.unpack("<Q", data[offset : offset + 8])
      event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
      offset += 12 + length + 4
      for value in event.summary.value:
        scalars.setdefault(event.step, {})[value.tag] = value.simple_value
  return scalars


@golden.uses(DISTILL_RUN)
def test_metrics_log__tensorboard_holds_the_scalars_of_metrics_jsonl(uninterrupted, tmp_path):
  from searchdistill.runs.metrics import MetricsLog

  records = read_metrics(uninterrupted)
  log = MetricsLog(tmp_path, "tensorboard")
  for record in records:
    log.write(record)
  log.close()
  assert read_metrics(tmp_path) == records
  scalars = _tensorboard_scalars(tmp_path / "tensorboard")
  expected = {
    int(r["iteration"]): {k: v for k, v in r.items() if k != "iteration"} for r in records
  }
  assert scalars.keys() == expected.keys()
  for step, values in expected.items():
    assert scalars[step].keys() == values.keys()
    np.testing.assert_allclose([scalars[step][k] for k in values], list(values.values()), rtol=1e-6)


@pytest.mark.parametrize(
  "environ, netrc, settings, mode",
  [
    ({"WANDB_MODE": "online"}, "", "", "online"),
    ({"WANDB_API_KEY": "k"}, "", "", None),
    ({}, "machine api.wandb.ai\n  login user\n  password k\n", "", None),
    (
      {"WANDB_BASE_URL": "https://wandb.example.org"},
      "machine wandb.example.org login u\n",
      "",
      None,
    ),
    ({"WANDB_BASE_URL": "https://wandb.example.org"}, "machine api.wandb.ai\n", "", "offline"),
    ({}, "", "[default]\nmode = disabled\n", None),
    ({}, "machine example.org\n", "[default]\nentity = me\n", "offline"),
    ({}, None, None, "offline"),
  ],
)
def test_wandb_mode__follows_the_users_setup(tmp_path, environ, netrc, settings, mode):
  from searchdistill.runs.metrics import wandb_mode

  netrc_path, settings_path = tmp_path / "netrc", tmp_path / "settings"
  if netrc is not None:
    netrc_path.write_text(netrc)
  if settings is not None:
    settings_path.write_text(settings)
  assert (
    wandb_mode(
      {"HOME": str(tmp_path), **environ}, netrc_path=netrc_path, settings_paths=[settings_path]
    )
    == mode
  )


def test_metrics_log__wandb_offline_writes_an_offline_run(tmp_path, monkeypatch):
  from searchdistill.runs.metrics import MetricsLog

  monkeypatch.setenv("WANDB_MODE", "offline")
  monkeypatch.delenv("WANDB_DIR", raising=False)
  log = MetricsLog(tmp_path, "wandb", {"algo": "distill"})
  log.write({"iteration": 1, "wall_seconds": 1.0, "rollout/avg_return": 0.5})
  log.close()
  assert any("offline-run" in p.name for p in tmp_path.rglob("*"))
  assert len(read_metrics(tmp_path)) == 1


@golden.uses(DISTILL_RUN)
def test_render_and_plot__write_files(uninterrupted, tmp_path):
  gif = tmp_path / "episode.gif"
  result = cli("render", uninterrupted, "--out", gif, "--seed", "1")
  assert gif.stat().st_size > 1000 and "return" in result.stdout
  from PIL import Image

  assert Image.open(gif).n_frames >= 2
  png = tmp_path / "curves.png"
  cli("plot", uninterrupted, uninterrupted, "--out", png)
  assert Image.open(png).size[0] > 500


def test_find_run_config__from_the_run_its_checkpoints_or_a_step(tmp_path):
  config = make_config("tiny", {"seed": 3})
  run = tmp_path / "run"
  (run / "checkpoints" / "7").mkdir(parents=True)
  (run / "config.yaml").write_text(config.to_yaml())
  for path in (run, run / "checkpoints", run / "checkpoints" / "7"):
    assert find_run_config(path) == config
  assert find_run_config(tmp_path) is None
