import pytest

from searchdistill.config import ConfigError, check_runtime, make_config, parse_overrides


def test_make_config__explicit_values_win_over_the_preset():
  config = make_config("paper", {"num_simulations": "8", "learning_rate": "3e-4"})
  assert config.num_simulations == 8 and config.learning_rate == 3e-4
  assert config.rollout_batch_size == 1024  # The rest of the preset is kept.


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
  assert binpack.rollout_batch_size == 256 and minatar.rollout_batch_size == 64
  assert minatar.discount == 0.99 and explicit.rollout_batch_size == 8
  # The tiny preset stays tiny whatever the environment.
  assert make_config("tiny", {"algo": "ppo", "env": "Breakout-MinAtar"}).rollout_batch_size == 4
  mpe = make_config("cpu", {"algo": "muzero", "env": "MPE_simple_spread_v3", "discount": 0.9})
  assert mpe.collect_steps == 13 and mpe.discount == 0.9
  assert make_config("cpu", {"algo": "muzero"}).collect_steps == 16  # MinAtar keeps its own
