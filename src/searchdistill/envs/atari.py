"""Atari 2600 games through the Arcade Learning Environment, stepped on the host.

ALE is a C++ emulator, so these environments cannot run inside `jit`: a `AtariVector` steps
`num_envs` games in a Python loop and hands the algorithm numpy batches. The preprocessing is the
Atari-100K protocol (as in SPR, EfficientZero and seed 004):

  * no sticky actions, the game's minimal action set;
  * up to 30 no-op actions at the start of every game;
  * each agent step repeats its action for 4 frames and observes the pixel-wise maximum of the
    last two (ALE renders some sprites on alternate frames);
  * grayscale (or RGB) frames resized to 96x96, the last 4 stacked on the channel axis (uint8);
  * a game lasts at most 108,000 frames (27,000 agent steps), then is truncated;
  * for training only: rewards clipped to their sign, and the loss of a life ends the value
    bootstrapping (`terminated`) without restarting the game;
  * with `fire_reset` (on by default), games whose action set has FIRE get it pressed after
    every reset and lost life, so a deterministic policy cannot stall before the game starts
    (Breakout waits for FIRE to serve the ball).

Evaluation vectors (`training=False`) report raw scores and whole games.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from searchdistill.envs.capabilities import Capabilities, EnvError

# The 26 games of Atari 100K, with the random-policy and human scores that define the
# human-normalized score (score - random) / (human - random) (DQN / Rainbow conventions).
ATARI_100K_SCORES = {
  "Alien": (227.8, 7127.7),
  "Amidar": (5.8, 1719.5),
  "Assault": (222.4, 742.0),
  "Asterix": (210.0, 8503.3),
  "BankHeist": (14.2, 753.1),
  "BattleZone": (2360.0, 37187.5),
  "Boxing": (0.1, 12.1),
  "Breakout": (1.7, 30.5),
  "ChopperCommand": (811.0, 7387.8),
  "CrazyClimber": (10780.5, 35829.4),
  "DemonAttack": (152.1, 1971.0),
  "Freeway": (0.0, 29.6),
  "Frostbite": (65.2, 4334.7),
  "Gopher": (257.6, 2412.5),
  "Hero": (1027.0, 30826.4),
  "Jamesbond": (29.0, 302.8),
  "Kangaroo": (52.0, 3035.0),
  "Krull": (1598.0, 2665.5),
  "KungFuMaster": (258.5, 22736.3),
  "MsPacman": (307.3, 6951.6),
  "Pong": (-20.7, 14.6),
  "PrivateEye": (24.9, 69571.3),
  "Qbert": (163.9, 13455.0),
  "RoadRunner": (11.5, 7845.0),
  "Seaquest": (68.4, 42054.7),
  "UpNDown": (533.4, 11693.2),
}

_ID = re.compile(r"^ALE/([A-Za-z]+)-v5$")


def _rom_name(game: str) -> str:
  """ "KungFuMaster" -> "kung_fu_master", "UpNDown" -> "up_n_down"."""
  return re.sub(r"(?<!^)([A-Z])", r"_\1", game).lower()


def human_normalized(env_id: str, score: float) -> float | None:
  """The human-normalized score of `score`, or None for games outside Atari 100K."""
  match = _ID.match(env_id)
  if not match or match.group(1) not in ATARI_100K_SCORES:
    return None
  random_score, human_score = ATARI_100K_SCORES[match.group(1)]
  return (score - random_score) / (human_score - random_score)


class AtariStep(NamedTuple):
  """What one step of an `AtariVector` reports, numpy arrays `[E]`.

  Attributes:
    reward: float32, clipped to its sign when training.
    terminated: bool, no bootstrapping past this step (game over, or a lost life in training).
    truncated: bool, the 108k-frame limit ended the game.
    game_over: bool, a whole game ended (its raw score is in `scores`).
    scores: float32, the raw score of each game that ended at this step (0 elsewhere).
  """

  reward: np.ndarray
  terminated: np.ndarray
  truncated: np.ndarray
  game_over: np.ndarray
  scores: np.ndarray


class AtariEnvironment:
  """An Atari game under the Atari-100K protocol; `vector` makes the games to step.

  Attributes:
    env_id: "ALE/<Game>-v5".
    num_actions: size of the game's minimal action set.
    observation_shape: `(96, 96, 4)` grayscale, `(96, 96, 12)` RGB.
    max_episode_steps: agent steps in the longest game (108,000 frames / frame skip).
    capabilities: host-side (not jittable: stepped through `vector`), rendered from frames.
  """

  def __init__(
    self,
    env_id: str,
    *,
    color: str = "gray",
    frame_skip: int = 4,
    noop_max: int = 30,
    screen_size: int = 96,
    frame_stack: int = 4,
    max_episode_frames: int = 108_000,
    fire_reset: bool = True,
  ):
    from ale_py import roms

    match = _ID.match(env_id)
    if not match:
      raise EnvError(f"{env_id!r} is not an ALE id; they look like 'ALE/Breakout-v5'")
    rom = _rom_name(match.group(1))
    if rom not in roms.get_all_rom_ids():
      raise EnvError(f"unknown Atari game {match.group(1)!r} in {env_id!r}")
    if color not in ("gray", "rgb"):
      raise EnvError(f"color must be 'gray' or 'rgb', got {color!r}")
    self.env_id = env_id
    self.rom_path = roms.get_rom_path(rom)
    self.color = color
    self.frame_skip = frame_skip
    self.noop_max = noop_max
    self.screen_size = screen_size
    self.frame_stack = frame_stack
    self.max_episode_frames = max_episode_frames
    self.fire_reset = fire_reset
    self.max_episode_steps = max_episode_frames // frame_skip
    channels = 1 if color == "gray" else 3
    self.observation_shape = (screen_size, screen_size, channels * frame_stack)
    self.num_actions = len(self._interface(seed=0).getMinimalActionSet())
    self.capabilities = Capabilities(family="atari", host_side=True, renderer="frames")

  def _interface(self, seed: int):
    from ale_py import ALEInterface, LoggerMode

    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", int(seed) % (2**31 - 1))
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.setInt("max_num_frames_per_episode", self.max_episode_frames)
    ale.loadROM(self.rom_path)
    return ale

  def vector(self, num_envs: int, seed: int, *, training: bool) -> AtariVector:
    """`num_envs` games seeded from `seed`; `training` turns on reward clipping and
    life-loss terminals."""
    return AtariVector(self, num_envs, seed, training=training)


class _Game:
  """One emulator with the protocol's frame processing."""

  def __init__(self, spec: AtariEnvironment, seed: int, training: bool):
    self.spec = spec
    self.training = training
    self.ale = spec._interface(seed)
    self.actions = self.ale.getMinimalActionSet()
    self.rng = np.random.default_rng(seed)
    height, width = self.ale.getScreenDims()
    shape = (height, width) if spec.color == "gray" else (height, width, 3)
    self.frames = [np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)]
    per_frame = 1 if spec.color == "gray" else 3
    self.stack = np.zeros(spec.observation_shape, np.uint8)
    self.per_frame = per_frame
    self.score = 0.0
    from ale_py import Action

    self.fire = Action.FIRE if spec.fire_reset and Action.FIRE in list(self.actions) else None

  def _press_fire(self) -> None:
    """Serves the ball (or whatever FIRE starts); its reward counts towards the score."""
    if self.fire is not None and not self.ale.game_over():
      self.score += self.ale.act(self.fire)

  def _grab(self, index: int) -> None:
    if self.spec.color == "gray":
      self.ale.getScreenGrayscale(self.frames[index])
    else:
      self.ale.getScreenRGB(self.frames[index])

  def _push(self) -> None:
    from PIL import Image

    frame = np.maximum(self.frames[0], self.frames[1])
    size = (self.spec.screen_size, self.spec.screen_size)
    small = np.asarray(Image.fromarray(frame).resize(size, Image.BILINEAR), np.uint8)
    small = small.reshape(size + (self.per_frame,))
    self.stack = np.concatenate([self.stack[..., self.per_frame :], small], axis=-1)

  def reset(self) -> np.ndarray:
    self.ale.reset_game()
    for _ in range(int(self.rng.integers(0, self.spec.noop_max + 1))):
      self.ale.act(self.actions[0])
      if self.ale.game_over():
        self.ale.reset_game()
    self.score = 0.0
    self._press_fire()
    self._grab(0)
    self._grab(1)
    self.stack[:] = 0
    for _ in range(self.spec.frame_stack):
      self._push()
    return self.stack

  def step(self, action: int):
    """Returns (observation, reward, terminated, truncated, game_over, score)."""
    lives = self.ale.lives()
    reward = 0.0
    for repeat in range(self.spec.frame_skip):
      reward += self.ale.act(self.actions[action])
      if repeat >= self.spec.frame_skip - 2:
        self._grab(repeat - (self.spec.frame_skip - 2))
      if self.ale.game_over():
        break
    self.score += reward
    lost_life = self.ale.lives() < lives
    if lost_life:
      self._press_fire()
    self._push()
    game_over = self.ale.game_over()
    truncated = game_over and self.ale.game_truncated()
    terminated = game_over and not truncated
    if self.training:
      reward = float(np.sign(reward))
      terminated = terminated or (not game_over and lost_life)
    return self.stack, reward, terminated, truncated, game_over, self.score


class AtariVector:
  """`num_envs` Atari games stepped in lockstep on the host; a finished game restarts at once.

  Game `i` is seeded from `(seed, i)`, so two vectors made with the same arguments play the
  same games for the same actions.
  """

  def __init__(self, spec: AtariEnvironment, num_envs: int, seed: int, *, training: bool):
    seeds = np.random.SeedSequence(int(seed)).generate_state(num_envs)
    self.spec = spec
    self.training = training
    self.games = [_Game(spec, int(s), training) for s in seeds]
    self.action_mask = np.ones((num_envs, spec.num_actions), bool)

  @property
  def num_envs(self) -> int:
    return len(self.games)

  def reset(self) -> np.ndarray:
    """Restarts every game; returns the stacked observations `[E, 96, 96, C]` uint8."""
    return np.stack([game.reset() for game in self.games])

  def step(self, actions) -> tuple[np.ndarray, AtariStep]:
    """Applies `actions [E]`; games that ended are restarted, and their first observation is
    returned in place of the last one."""
    actions = np.asarray(actions)
    if actions.shape != (self.num_envs,):
      raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
    observations, rewards, terminated, truncated, over, scores = [], [], [], [], [], []
    for game, action in zip(self.games, actions):
      observation, reward, term, trunc, game_over, score = game.step(int(action))
      if game_over:
        observation = game.reset()
      observations.append(observation.copy())
      rewards.append(reward)
      terminated.append(term)
      truncated.append(trunc)
      over.append(game_over)
      scores.append(score if game_over else 0.0)
    return np.stack(observations), AtariStep(
      np.asarray(rewards, np.float32),
      np.asarray(terminated),
      np.asarray(truncated),
      np.asarray(over),
      np.asarray(scores, np.float32),
    )

  def frames(self) -> list[np.ndarray]:
    """The current full-resolution RGB screen of every game (for GIFs)."""
    screens = []
    for game in self.games:
      height, width = game.ale.getScreenDims()
      screen = np.zeros((height, width, 3), np.uint8)
      game.ale.getScreenRGB(screen)
      screens.append(screen)
    return screens
