import jax
import jax.numpy as jnp
import numpy as np

from searchdistill.algorithms import streams


def test_advance__restarts_after_an_episode_and_reports_its_return(binpack):
  advance = jax.jit(lambda s, a, k: streams.advance(binpack, s, a, k))
  stream = streams.start(binpack, jax.random.key(0))
  total, length, ended_at = 0.0, 0, None
  for t in range(binpack.max_episode_steps + 1):
    stream, step = advance(stream, jnp.argmax(stream.state.action_mask), jax.random.key(t))
    assert not bool(stream.state.done), "a stream never waits in a finished state"
    total, length = total + float(step.reward), length + 1
    assert bool(step.first) == (t == 0 or ended_at == t - 1)
    if bool(step.last):
      np.testing.assert_allclose(float(step.episode_return), total, rtol=1e-6)
      assert int(step.episode_length) == length
      assert int(stream.episode_length) == 0 and float(stream.episode_return) == 0.0
      ended_at, total, length = t, 0.0, 0
    else:
      assert float(step.episode_return) == 0.0
  assert ended_at is not None
