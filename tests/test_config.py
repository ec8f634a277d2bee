import re

import pytest

from searchdistill.config import (
  ConfigError,
  check_runtime,
  from_dict,
  make_config,
  override,
  parse_overrides,
)


def test_make_config__explicit_values_win_over_the_preset():
  config = make_config("paper", {"num_simulations": "8", "learning_rate": "3e-4"})
  assert config.search.num_simulations == 8 and config.train.learning_rate == 3e-4
  assert config.train.rollout_batch_size == 1024  # The rest of the preset is kept.


def test_make_config__unknown_key_names_the_closest():
  with pytest.raises(ConfigError, match="did you mean 'num_simulations'"):
    make_config("cpu", {"num_simulation": 4})


@pytest.mark.parametrize(
  "key, value, message",
  [
    ("num_simulations", "many", "must be of type int"),
    ("learning_rate", "fast", "must be of type float"),
    ("num_simulations", 0, "must be >= 1"),
    ("discount", 1.5, "must be <= 1"),
    ("logger", "tensorbord", "did you mean 'tensorboard'"),
    ("rollout_batch_size", 2.5, "must be of type int"),
  ],
)
def test_make_config__bad_values_are_named(key, value, message):
  with pytest.raises(ConfigError, match=message) as info:
    make_config("cpu", {key: value})
  assert key in str(info.value)


def test_make_config__unknown_preset():
  with pytest.raises(ConfigError, match="unknown preset 'papr'.*did you mean 'paper'"):
    make_config("papr")


def test_parse_overrides__rejects_a_bare_word():
  with pytest.raises(ConfigError, match="expected key=value"):
    parse_overrides(["learning_rate"])


def test_check_runtime__batch_must_divide_over_devices():
  with pytest.raises(ConfigError, match="rollout_batch_size=3 is not divisible by the 2 local"):
    check_runtime(make_config("tiny", {"rollout_batch_size": 3}), num_devices=2)


def test_make_config__preset_for_another_algorithm():
  with pytest.raises(ConfigError, match="preset 'atari-cpu' is for algo=muzero, not ppo"):
    make_config("atari-cpu", {"algo": "ppo"})


def test_make_config__environment_preset_sits_between_algorithm_preset_and_explicit():
  binpack = make_config("cpu", {"algo": "ppo"})
  minatar = make_config("cpu", {"algo": "ppo", "env": "Breakout-MinAtar"})
  explicit = make_config("cpu", {"algo": "ppo", "env": "Breakout-MinAtar", "rollout_batch_size": 8})
  assert binpack.train.rollout_batch_size == 256 and minatar.train.rollout_batch_size == 64
  assert minatar.train.discount == 0.99 and explicit.train.rollout_batch_size == 8
  # The tiny preset stays tiny whatever the environment.
  assert (
    make_config("tiny", {"algo": "ppo", "env": "Breakout-MinAtar"}).train.rollout_batch_size == 4
  )
  mpe = make_config("cpu", {"algo": "muzero", "env": "MPE_simple_spread_v3", "discount": 0.9})
  assert mpe.muzero.collect_steps == 13 and mpe.train.discount == 0.9
  assert make_config("cpu", {"algo": "muzero"}).muzero.collect_steps == 16  # MinAtar keeps its own


@pytest.mark.parametrize(
  "overrides, message",
  [
    (
      {"algo": "ppo", "num_simulations": 8},
      "num_simulations=8 is not used by algo=ppo on BinPack-v2; it is read by algo=distill "
      "and algo=muzero",
    ),
    (
      {"planner": "joint"},
      "planner=joint is not used by algo=distill on BinPack-v2; it is read by algo=muzero on "
      "MPE ids",
    ),
    ({"algo": "ppo", "replay_iterations": 2}, "read by algo=distill"),
    ({"model_width": 32}, "read by algo=muzero and the MLP network"),
    ({"algo": "muzero", "transformer_key_size": 8}, "read by the BinPack network"),
    ({"algo": "muzero", "symmetric_views": True}, "read by algo=distill and algo=ppo"),
    ({"lr_final_fraction": 0.5, "lr_schedule": "constant"}, "read by lr_schedule=cosine"),
    ({"atari_color": "rgb"}, "read by Atari environments"),
    ({"env": "Breakout-MinAtar", "symmetric_views": True}, "on environments with symmetries"),
    (
      {"algo": "muzero", "env": "MPE_simple_spread_v3", "model_torso": "mlp"},
      "read by algo=muzero on single-agent environments",
    ),
    ({"algo": "muzero", "value_scale": 0.2}, "read by algo=distill and algo=ppo"),
  ],
)
def test_make_config__an_explicit_key_the_run_ignores_names_who_reads_it(overrides, message):
  with pytest.raises(ConfigError, match=re.escape(message)):
    make_config("cpu", overrides)


def test_make_config__keys_a_preset_sets_for_others_are_not_errors():
  # The cpu preset sets num_simulations; PPO ignores it without complaint.
  assert make_config("cpu", {"algo": "ppo"}).search.num_simulations == 32


def test_config__groups_hold_the_keys_and_the_flat_form_round_trips():
  config = make_config(
    "tiny", {"algo": "muzero", "env": "MPE_simple_spread_v3", "planner": "joint"}
  )
  assert config.multi_agent.planner == "joint" and config.run.env == "MPE_simple_spread_v3"
  assert from_dict(config.to_dict()) == config
  assert config.get("planner") == "joint"


def test_from_dict__rejects_unknown_keys_and_fills_new_ones_with_their_defaults():
  saved = make_config("cpu").to_dict()
  with pytest.raises(ConfigError, match="unknown config key 'num_simulation'"):
    from_dict({**saved, "num_simulation": 4})
  del saved["transformer_norm"]  # a key added after the run was saved
  assert from_dict(saved).network.transformer_norm == "post"
  # A saved config is not re-layered from a preset: its values stay.
  assert from_dict(saved).train.num_epochs == 8


def test_override__checks_new_explicit_keys_like_make_config():
  saved = make_config("cpu", {"algo": "ppo"})
  assert override(saved, {"minutes": "5"}).run.minutes == 5.0
  with pytest.raises(ConfigError, match="num_simulations=4 is not used by algo=ppo"):
    override(saved, {"num_simulations": 4})


def test_plan_configs__a_shared_override_goes_to_the_algorithms_that_read_it(tmp_path):
  from searchdistill.runner.compare import plan_configs

  runs = plan_configs(
    env="BinPack-v2",
    algos=["distill", "ppo"],
    seeds=[0],
    minutes=1,
    preset="tiny",
    overrides={"num_simulations": "4", "learning_rate": "0.01"},
    out=tmp_path,
  )
  (distill, _), (ppo, _) = runs
  assert distill.search.num_simulations == 4 and distill.train.learning_rate == 0.01
  assert ppo.search.num_simulations == make_config("tiny").search.num_simulations
  assert ppo.train.learning_rate == 0.01
  with pytest.raises(
    ConfigError, match="planner=joint is not used by algo=distill or algo=ppo on BinPack-v2"
  ):
    plan_configs(
      env="BinPack-v2",
      algos=["distill", "ppo"],
      seeds=[0],
      minutes=1,
      preset="tiny",
      overrides={"planner": "joint"},
      out=tmp_path,
    )
