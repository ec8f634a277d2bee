import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms import generalized_advantages, ppo
from searchdistill.networks import MLPNetwork


def test_generalized_advantages__matches_hand_computed_with_an_episode_end():
  rewards = jnp.array([1.0, 0.0, 2.0, 5.0])
  values = jnp.array([0.5, 0.4, 0.3, 9.0])
  valid = jnp.array([True, True, True, False])  # The episode ends after step 2.
  gamma, lam = 0.9, 0.8
  d2 = 2.0 + gamma * 0.0 - 0.3  # No value after the last real step.
  d1 = 0.0 + gamma * 0.3 - 0.4
  d0 = 1.0 + gamma * 0.4 - 0.5
  a2 = d2
  a1 = d1 + gamma * lam * a2
  a0 = d0 + gamma * lam * a1
  np.testing.assert_allclose(
    generalized_advantages(rewards, values, valid, gamma, lam), [a0, a1, a2, 0.0], rtol=1e-6
  )


def test_generalized_advantages__lambda_one_gives_return_minus_value():
  rewards = jnp.array([0.2, 0.3, 0.1])
  values = jnp.array([0.1, 0.6, 0.05])
  valid = jnp.ones(3, bool)
  returns = np.array([0.6, 0.4, 0.1])
  np.testing.assert_allclose(
    generalized_advantages(rewards, values, valid, 1.0, 1.0),
    returns - np.asarray(values),
    rtol=1e-6,
  )


def test_normalize__ignores_padded_steps():
  values = jnp.array([1.0, 2.0, 3.0, 100.0, -50.0])
  weight = jnp.array([1.0, 1.0, 1.0, 0.0, 0.0])
  out = np.asarray(ppo.normalize(values, weight))
  np.testing.assert_allclose(out[:3], (np.array([1, 2, 3]) - 2) / np.std([1, 2, 3]), rtol=1e-5)
  np.testing.assert_array_equal(out[3:], 0.0)


@pytest.fixture(scope="module")
def bandit_setup():
  network = MLPNetwork(num_actions=4, hidden_sizes=(8,))
  observation = jnp.ones((5, 3))
  params = network.init(jax.random.key(0), observation)
  out = network.apply(params, observation)
  mask = jnp.array([[True, True, False, True]] * 5)
  log_policy = jax.nn.log_softmax(jnp.where(mask, out.logits, -1e30))
  action = jnp.array([0, 1, 3, 0, 1])
  log_prob = jnp.take_along_axis(log_policy, action[:, None], -1)[:, 0]
  samples = ppo.Samples(
    observation,
    mask,
    action,
    log_prob,
    out.value,
    advantage=jnp.array([1.0, -1.0, 0.5, 2.0, 0.0]),
    value_target=out.value + 0.1,
    weight=jnp.array([1.0, 1, 1, 1, 0]),
  )
  return network, params, samples, log_policy


def _loss(network, params, samples, **overrides):
  kwargs = dict(clip_eps=0.2, value_clip_eps=0.2, value_coef=0.5, entropy_coef=0.01)
  kwargs.update(overrides)
  return ppo.loss_fn(params, network, samples, **kwargs)


def test_ppo_loss__terms_at_the_behaviour_policy(bandit_setup):
  network, params, samples, log_policy = bandit_setup
  total, aux = _loss(network, params, samples)
  real = np.asarray(samples.weight) > 0
  # Ratio 1: the surrogate is the mean advantage over real steps; KL and clipping are zero.
  np.testing.assert_allclose(
    aux["policy_loss"], -np.mean(np.asarray(samples.advantage)[real]), rtol=1e-5
  )
  np.testing.assert_allclose(aux["approx_kl"], 0.0, atol=1e-6)
  assert float(aux["clip_fraction"]) == 0.0
  np.testing.assert_allclose(aux["value_loss"], 0.5 * 0.1**2, rtol=1e-4)
  policy = np.exp(np.asarray(log_policy))
  entropy = -np.sum(
    np.where(np.asarray(samples.action_mask), policy * np.asarray(log_policy), 0), -1
  )
  np.testing.assert_allclose(aux["entropy"], entropy[real].mean(), rtol=1e-5)
  np.testing.assert_allclose(
    total, aux["policy_loss"] + 0.5 * aux["value_loss"] - 0.01 * aux["entropy"], rtol=1e-5
  )


def test_ppo_loss__ratio_is_clipped(bandit_setup):
  network, params, samples, _ = bandit_setup
  # Pretend the behaviour policy was much less likely to pick the actions: ratio = e >> 1.2.
  shifted = samples._replace(log_prob=samples.log_prob - 1.0)
  _, aux = _loss(network, params, shifted)
  adv = np.asarray(samples.advantage)[:4]
  expected = -np.mean(np.minimum(np.e * adv, 1.2 * adv))
  np.testing.assert_allclose(aux["policy_loss"], expected, rtol=1e-5)
  assert float(aux["clip_fraction"]) == 1.0


def test_ppo_loss__value_is_clipped(bandit_setup):
  network, params, samples, _ = bandit_setup
  # Old values far below: the clipped prediction is old + 0.2, farther from the target.
  moved = samples._replace(value=samples.value - 1.0, value_target=samples.value + 0.5)
  _, aux = _loss(network, params, moved)
  unclipped = 0.5**2
  clipped = (samples.value - 1.0 + 0.2 - samples.value - 0.5) ** 2
  expected = 0.5 * np.maximum(unclipped, np.asarray(clipped))[:4].mean()
  np.testing.assert_allclose(aux["value_loss"], expected, rtol=1e-5)


def test_ppo_training__beats_the_untrained_policy_on_binpack():
  from searchdistill.config import make_config
  from searchdistill.loop.components import build
  from searchdistill.loop.evaluation import eval_keys
  from searchdistill.loop.learner import make_iteration

  config = make_config(
    "tiny",
    {
      "algo": "ppo",
      "rollout_batch_size": 32,
      "training_batch_size": 64,
      "num_epochs": 4,
      "learning_rate": 1e-3,
      "transformer_num_heads": 2,
      "transformer_key_size": 8,
    },
  )
  parts = build(config)
  state = parts.place(parts.init_state())
  iteration = make_iteration(config, parts.algorithm(), parts.env, parts.optimizer, parts.parallel)
  evaluate = parts.evaluator(0)
  keys = eval_keys(64)
  untrained = float(np.mean(evaluate(state.params, keys)))
  for _ in range(12):
    state, _ = iteration(state)
  trained = float(np.mean(evaluate(state.params, keys)))
  # Utilization on 64 held-out instances; its standard error is about 0.01.
  assert trained > untrained + 0.05, (untrained, trained)


def test_collect__bootstraps_from_where_each_stream_stopped(binpack, tiny_network, tiny_params):
  from searchdistill.algorithms import streams

  batch, steps = 3, 7  # Seven steps: every stream stops in the middle of an episode.
  start = jax.vmap(lambda k: streams.start(binpack, k))(jax.random.split(jax.random.key(0), batch))
  keys = jax.random.split(jax.random.key(1), batch)
  trajectory, rollout, end = jax.jit(
    lambda k, s: ppo.collect(binpack, tiny_network, tiny_params, k, s, steps)
  )(keys, start)
  assert bool(jnp.all(trajectory.valid))
  expected = tiny_network.apply(tiny_params, end.state.observation).value
  np.testing.assert_allclose(trajectory.bootstrap_value[0], expected, rtol=1e-5)
  samples = ppo.make_samples(trajectory, discount=1.0, gae_lambda=1.0)
  # With lambda 1 and discount 1 the value target of the first step is the rewards to the
  # stream's end plus the bootstrap value (no episode ended in seven steps).
  assert not bool(jnp.any(rollout.last))
  first = samples.value_target.reshape(steps, batch)[0]
  np.testing.assert_allclose(first, trajectory.reward.sum(0) + expected, rtol=1e-5)


def test_reobserve__recomputes_the_old_policy_on_the_view(bandit_setup):
  network, params, samples, _ = bandit_setup
  # The same observation: what was recorded comes back (padding keeps value 0).
  same = ppo.reobserve(network, params, samples, samples.observation)
  np.testing.assert_allclose(same.log_prob, samples.log_prob, rtol=1e-6)
  np.testing.assert_allclose(same.value[:4], samples.value[:4], rtol=1e-6)
  assert same.value[4] == 0.0
  # Another observation: the log-probabilities and values are those of the old policy there,
  # so the ratio starts at 1 and the first loss has no clipping.
  view = samples.observation * jnp.array([[-1.0, 0.5, 2.0]])
  viewed = ppo.reobserve(network, params, samples, view)
  assert not np.allclose(viewed.log_prob, samples.log_prob)
  _, aux = _loss(network, params, viewed)
  assert float(aux["clip_fraction"]) == 0.0 and abs(float(aux["approx_kl"])) < 1e-6
  np.testing.assert_array_equal(viewed.advantage, samples.advantage)
