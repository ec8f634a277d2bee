import jax
import jax.numpy as jnp
import numpy as np
import pytest

from searchdistill.algorithms import generalized_advantages, ppo
from searchdistill.networks import MLPNetwork
from tests import golden


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


@golden.uses("ppo_binpack")  # one worker compiles the programs they share
def test_ppo_training__beats_the_untrained_policy_on_binpack():
  from searchdistill.loop.components import build
  from searchdistill.loop.evaluation import eval_keys

  # The golden PPO run's configuration, so that its compiled programs serve; its iterations
  # are small, so it takes 100 of them (0.61 to 0.74 here).
  config = golden.config("ppo_binpack")
  parts = build(config)
  state = parts.place(parts.init_state())
  iteration = parts.iteration()
  evaluate = parts.evaluator(0)
  # 64 held-out instances in batches of the run's evaluation size.
  batches = eval_keys(64).reshape(-1, config.eval.eval_batch_size)

  def utilization(params):
    # One batch at a time, as the run loop evaluates: many programs in flight, each waiting
    # for both forced host devices, can starve XLA's rendezvous (an abort, seen here).
    return float(np.mean([jax.device_get(evaluate(params, keys)) for keys in batches]))

  untrained = utilization(state.params)
  for _ in range(100):
    state, _ = jax.block_until_ready(iteration(state))
  trained = utilization(state.params)
  # Utilization on 64 held-out instances; its standard error is about 0.01.
  assert trained > untrained + 0.05, (untrained, trained)


def test_collect__bootstraps_from_where_each_stream_stopped(binpack, tiny_network, tiny_params):
  from searchdistill.algorithms import streams

  batch, steps = 3, 7  # Seven steps: every stream stops in the middle of an episode.
  # Each step jitted: op by op, each of their operations compiles on its own (about 190).
  start = jax.jit(jax.vmap(lambda k: streams.start(binpack, k)))(
    jax.random.split(jax.random.key(0), batch)
  )
  keys = jax.random.split(jax.random.key(1), batch)
  trajectory, rollout, end = jax.jit(
    lambda k, s: ppo.collect(binpack, tiny_network, tiny_params, k, s, num_steps=steps)
  )(keys, start)
  assert bool(jnp.all(trajectory.valid))
  expected = jax.jit(tiny_network.apply)(tiny_params, end.state.observation).value
  np.testing.assert_allclose(trajectory.bootstrap_value[0], expected, rtol=1e-5)
  samples = jax.jit(lambda t: ppo.make_samples(t, discount=1.0, gae_lambda=1.0))(trajectory)
  # With lambda 1 and discount 1 the value target of the first step is the rewards to the
  # stream's end plus the bootstrap value (no episode ended in seven steps).
  assert not bool(jnp.any(rollout.last))
  first = samples.value_target.reshape(steps, batch)[0]
  np.testing.assert_allclose(first, trajectory.reward.sum(0) + expected, rtol=1e-5)


def test_reobserve__keeps_the_surrogate_on_the_original_observation(bandit_setup):
  network, params, samples, _ = bandit_setup
  view = samples.observation * jnp.array([[-1.0, 0.5, 2.0]])
  viewed = ppo.reobserve(samples, view)
  np.testing.assert_array_equal(viewed.observation, samples.observation)
  np.testing.assert_array_equal(viewed.view, view)
  _, plain = _loss(network, params, samples)
  _, aux = _loss(network, params, viewed)
  for key in plain:
    np.testing.assert_allclose(aux[key], plain[key], rtol=1e-6, err_msg=key)


def test_ppo_loss__view_terms_vanish_on_an_identical_view(bandit_setup):
  network, params, samples, _ = bandit_setup
  total, _ = _loss(network, params, samples)
  same_total, same = _loss(network, params, ppo.reobserve(samples, samples.observation))
  np.testing.assert_allclose(same["view_policy_kl"], 0.0, atol=1e-6)
  np.testing.assert_allclose(same["view_value_error"], 0.0, atol=1e-10)
  np.testing.assert_allclose(same_total, total, rtol=1e-6)


def test_ppo_loss__view_terms_pull_only_the_view(bandit_setup):
  network, params, samples, _ = bandit_setup
  view = samples.observation * jnp.array([[-1.0, 0.5, 2.0]])
  viewed = ppo.reobserve(samples, view)
  total, aux = _loss(network, params, viewed)
  plain_total, _ = _loss(network, params, samples)
  assert float(aux["view_policy_kl"]) > 0 and float(aux["view_value_error"]) > 0
  np.testing.assert_allclose(
    total - plain_total,
    ppo.VIEW_REGULARIZATION * (aux["view_policy_kl"] + aux["view_value_error"]),
    rtol=1e-4,
  )
  # The regularizer's gradient is the gradient of the view side alone: with the original
  # side's outputs held fixed, the same terms computed by hand give the same gradient.
  fixed = jax.lax.stop_gradient(network.apply(params, samples.observation))
  mask = samples.action_mask
  fixed_log_policy = jax.nn.log_softmax(jnp.where(mask, fixed.logits, -1e30))

  def by_hand(p):
    out = network.apply(p, view)
    log_view = jax.nn.log_softmax(jnp.where(mask, out.logits, -1e30))
    kl = jnp.sum(jnp.where(mask, jnp.exp(fixed_log_policy) * (fixed_log_policy - log_view), 0), -1)
    weight = samples.weight
    mean = lambda x: jnp.sum(weight * x) / jnp.sum(weight)
    return ppo.VIEW_REGULARIZATION * (mean(kl) + mean(jnp.square(out.value - fixed.value)))

  regularizer_grad = jax.grad(
    lambda p: _loss(network, p, viewed)[0] - _loss(network, p, samples)[0]
  )(params)
  expected_grad = jax.grad(by_hand)(params)
  for got, want in zip(jax.tree.leaves(regularizer_grad), jax.tree.leaves(expected_grad)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
