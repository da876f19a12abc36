"""The rollouts, end to end on purpose-built envs (see conftest.py): no gymnasium autoreset
transition reaches a loss, final observations are the real ones, and value targets bootstrap
on truncation and not on termination."""

import numpy as np
import pytest
import torch
from conftest import CRITIC_FREE, WITH_CRITIC, load, run_main, small


def capture_weights(monkeypatch, mod):
    """Wrap the script's weights_fn to keep its inputs and outputs of every update."""
    calls, real = [], mod.weights_fn

    def spy(*args):
        out = real(*args)
        calls.append(([np.array(a) if not isinstance(a, float) else a for a in args], np.array(out)))
        return out

    monkeypatch.setattr(mod, "weights_fn", spy)
    return calls


class ObsCritic(torch.nn.Module):
    """Stands in for the critic: V(s) = the (normalized) observation itself, so the values the
    script feeds weights_fn show which observations it bootstraps from."""

    def __init__(self, obs_dim, hidden):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, obs):
        return obs[..., 0] + 0 * self.w


@pytest.mark.parametrize("name", CRITIC_FREE)
def test_whole_episode_batches_hold_no_reset_transition(name, tmp_path, monkeypatch):
    """CountEnv gives reward 1 at every step and ends every episode after 7 steps. A reset
    transition from NEXT_STEP autoreset would show as a reward-0 step and an 8-step period."""
    mod = load(name)
    calls, sizes, real_update = capture_weights(monkeypatch, mod), [], mod.update_policy
    monkeypatch.setattr(
        mod,
        "update_policy",
        lambda actor, opt, b_obs, *rest: sizes.append(len(b_obs)) or real_update(actor, opt, b_obs, *rest),
    )
    run_main(name, ["--env", "TestCount-v0", "--total-steps", "2000", "--batch-steps", "100"], tmp_path)
    assert sizes and all(n >= 100 and n % 7 == 0 for n in sizes), sizes  # whole 7-step episodes only
    for (rew, done, _), _ in calls:
        assert np.all(rew > 0)
        t = np.arange(len(done))[:, None]
        assert np.array_equal(done > 0, np.broadcast_to((t + 1) % 7 == 0, done.shape))


@pytest.mark.parametrize("name", WITH_CRITIC)
@pytest.mark.parametrize("env", ["TestCount-v0", "TestCountTrunc-v0"])
def test_fixed_rollouts_hold_no_reset_transition_and_real_final_obs(name, env, tmp_path, monkeypatch):
    """The observation counts the steps of an episode, which ends after 7 steps by termination
    (TestCount-v0) or by truncation (TestCountTrunc-v0). Either way, where an episode ends the
    critic is given its real final observation (the largest), not the next episode's first: a
    truncation bootstraps from where the episode was cut."""
    mod = load(name)
    calls = capture_weights(monkeypatch, mod)
    monkeypatch.setattr(mod, "Critic", ObsCritic)
    run_main(name, ["--env", env, "--total-steps", "2000", "--num-steps", "50"], tmp_path)
    period = []
    for (rew, v, v_next, term, done, *_), _ in calls:
        assert np.all(rew > 0) and np.array_equal(term, done if env == "TestCount-v0" else 0 * done)
        for n in range(done.shape[1]):
            ends = np.flatnonzero(done[:, n])
            period += list(np.diff(ends))
            # after an end, the obs bootstrapped from is the final one (the largest), not the reset one
            assert np.all(v_next[ends, n] > v[:, n].max())
        inside = done[:-1] == 0
        np.testing.assert_allclose(v_next[:-1][inside], v[1:][inside], atol=0.05)  # s_{t+1} is obs[t+1]
    assert period and set(period) == {7}


@pytest.mark.parametrize("name", WITH_CRITIC)
@pytest.mark.parametrize("env,low,high", [("TestTruncOnly-v0", 8.5, 11.0), ("TestTermOnly-v0", 4.0, 7.5)])
def test_value_targets_bootstrap_on_truncation_only(name, env, low, high, tmp_path, monkeypatch):
    """Constant observation, reward 1, episodes of 20 steps, gamma 0.9. Truncated episodes are
    cut, not over: the value targets reach 1/(1 - gamma) = 10 rewards. Terminated ones are over:
    the targets stay near the horizon-limited mean, about 6 rewards."""
    mod = load(name)
    calls = capture_weights(monkeypatch, mod)
    steps = "40000" if name == "a2c" else "20000"  # a2c's rate anneals to 0: its critic needs the longer run
    run_main(name, ["--env", env, "--total-steps", steps, "--gamma", "0.9"] + small(name), tmp_path)
    (rew, v, *_), adv = calls[-1]
    targets = adv + v  # what the critic is regressed on
    assert low < targets.mean() / rew.mean() < high, targets.mean() / rew.mean()
