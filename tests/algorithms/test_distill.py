import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms import distill


def _samples(binpack, key, n):
  states = jax.jit(jax.vmap(binpack.reset))(jax.random.split(key, n))
  mask = states.action_mask
  target = jnp.where(mask, jax.random.uniform(key, mask.shape), 0.0)
  target = target / target.sum(-1, keepdims=True)
  return distill.Samples(
    states.observation,
    mask,
    target,
    jax.random.uniform(jax.random.fold_in(key, 1), (n,)),
    jnp.ones(n),
  )


def test_loss__padded_samples_do_not_count(binpack, tiny_network, tiny_params):
  real = _samples(binpack, jax.random.key(0), 3)
  junk = _samples(binpack, jax.random.key(1), 2)
  junk = junk._replace(value_target=junk.value_target + 100.0, weight=jnp.zeros(2))
  mixed = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), real, junk)
  loss = jax.jit(lambda s: distill.loss_fn(tiny_params, tiny_network, s, value_loss_weight=0.5))
  (total_real, aux_real), (total_mixed, aux_mixed) = loss(real), loss(mixed)
  np.testing.assert_allclose(total_mixed, total_real, rtol=1e-5)
  np.testing.assert_allclose(aux_mixed["value_loss"], aux_real["value_loss"], rtol=1e-5)
  # And the padding would have mattered had it counted.
  counted = loss(mixed._replace(weight=jnp.ones(5)))[0]
  assert float(counted) > float(total_real) + 1.0


def test_loss__cross_entropy_is_minimised_by_the_target(binpack, tiny_network, tiny_params):
  samples = _samples(binpack, jax.random.key(2), 2)
  loss = jax.jit(lambda s: distill.loss_fn(tiny_params, tiny_network, s, value_loss_weight=0.0))
  total, aux = loss(samples)
  target = samples.policy_target
  entropy = -jnp.sum(jnp.where(target > 0, target * jnp.log(target), 0.0), -1).mean()
  assert float(aux["policy_loss"]) >= float(entropy) - 1e-4
  np.testing.assert_allclose(total, aux["policy_loss"], rtol=1e-6)


def test_collect__every_slot_searches_a_live_state_and_targets_wait_for_the_episode_end(
  binpack, tiny_network, tiny_params
):
  from searchdistill.algorithms import streams
  from searchdistill.algorithms.targets import monte_carlo_returns
  from searchdistill.search import make_search

  search = make_search(
    binpack,
    tiny_network,
    num_simulations=2,
    max_num_considered_actions=2,
    gumbel_scale=1.0,
    discount=1.0,
  )
  batch, steps = 3, binpack.max_episode_steps
  start = jax.vmap(lambda k: streams.start(binpack, k))(jax.random.split(jax.random.key(0), batch))
  collect = jax.jit(
    lambda keys, s: distill.collect(binpack, search, tiny_params, keys, s, num_steps=steps)
  )
  history = distill.empty_history(binpack, num_streams=batch, length=2 * steps)
  stream_state, seen = start, []
  for i in range(2):
    keys = jax.random.split(jax.random.key(10 + i), batch)
    trajectory, rollout, stream_state = collect(keys, stream_state)
    assert bool(jnp.all(trajectory.valid)), "no finished state was searched"
    samples, history = distill.make_samples(history, trajectory, discount=1.0)
    seen.append((samples, history))
  samples, history = seen[-1]
  weight = np.asarray(samples.weight).reshape(2 * steps, batch)
  rewards, last = np.asarray(history.reward), np.asarray(history.last)
  targets = np.asarray(samples.value_target).reshape(2 * steps, batch)
  for b in range(batch):
    ends = np.flatnonzero(last[:, b])
    assert len(ends) >= 1
    # Steps after the last episode end wait; steps of ended episodes are samples.
    assert not weight[ends[-1] + 1 :, b].any()
    assert weight[: ends[-1] + 1, b].all()
    # Each ended episode's targets are its own Monte-Carlo returns (the streams started with
    # the history, so its first episode is whole).
    starts = np.concatenate([[0], ends[:-1] + 1])
    for s, e in zip(starts, ends):
      expected = monte_carlo_returns(
        jnp.asarray(rewards[s : e + 1, b]), jnp.ones(e + 1 - s, bool), 1.0
      )
      np.testing.assert_allclose(targets[s : e + 1, b], expected, rtol=1e-5)
      # The rollout reports each episode that ended in the last iteration with its return.
      if e >= steps:
        np.testing.assert_allclose(
          rollout.episode_return[e - steps, b], rewards[s : e + 1, b].sum(), rtol=1e-5
        )
        assert int(rollout.episode_length[e - steps, b]) == e + 1 - s
