"""Promises a plausible slip would break without a sound: each test here was seen to fail with
the code broken on purpose (tests/README.md lists the breaks). Saving on interrupt and without
a half-written model.pt, refusing zero and a stopped run's directory, seeding the envs,
watching on fresh episodes with the saved, frozen statistics, gradient clipping, annealing, raw
episode returns, whole episodes without a critic, the value loss and value targets; the batch
the update sees (advantages normalized per batch, explained_var, passes over the batch,
minibatches reshuffled every pass), the reward scaling, the loss on the sampled action,
a2c's entropy bonus, ppo's k3 KL estimate (its column and --target-kl), observations clipped at
+-10 after normalization, the logged returns of the batches' episodes (none carried over from a
dropped one, none favoured for its length) and summary.json's return_last100."""

import inspect
import json
import os
from pathlib import Path
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import (
    CRITIC_FREE,
    SCRIPTS,
    WITH_CRITIC,
    FarObsEnv,
    RandomLengthEnv,
    flags,
    load,
    run_main,
    small,
    tiny,
    watch,
)


def refused(name, args, capsys, expect):
    """Bad input: exit code 2 and one line on stderr that says `expect`."""
    with pytest.raises(SystemExit) as stop:
        load(name).main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1 and expect in err, (stop.value.code, err)


def stopped(name, args, expect):
    """Input the script refuses itself: sys.exit(message), exit code 1, the message one line."""
    with pytest.raises(SystemExit) as stop:
        load(name).main(args)
    said = stop.value.code
    assert isinstance(said, str) and len(said.splitlines()) == 1 and expect in said, said


def track(monkeypatch, mod, cls):
    """Swap mod.Actor or mod.Critic for a subclass that keeps every instance made, with a copy
    of its first parameters."""
    made, base = [], getattr(mod, cls)

    class Tracked(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append((self, {k: v.clone() for k, v in self.state_dict().items()}))

    monkeypatch.setattr(mod, cls, Tracked)
    return made


def spy_adam(monkeypatch):
    """At every Adam step: the optimizer, its learning rate, and the norm of the whole
    gradient it is about to apply."""
    steps, real = [], torch.optim.Adam.step

    def step(self, *args, **kwargs):
        grads = [p.grad.flatten() for g in self.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.cat(grads).norm().item() if grads else 0.0
        steps.append((self, self.param_groups[0]["lr"], norm))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    return steps


def holds(opt, module):
    """Does this optimizer step any of the module's parameters?"""
    ids = {id(p) for p in module.parameters()}
    return any(id(p) in ids for g in opt.param_groups for p in g["params"])


# ------------------------------- saving -------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_interrupt_before_the_first_update_saves_the_model(name, tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM) before any update has finished: a loadable model.pt is still
    written, and the stopped run's directory is not reused by the next run."""
    mod = load(name)

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(mod, "weights_fn", interrupt)
    run_main(name, ["--total-steps", "1000"] + tiny(name), tmp_path)
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert ckpt["algo"] == name and ckpt["obs_mean"].shape == (4,) and ckpt["actor"]
    before = (tmp_path / "progress.csv").read_text()
    again = ["--logdir", str(tmp_path), "--total-steps", "16"] + tiny(name)
    stopped(name, again, f"{name}: {tmp_path} already holds a run; choose another --logdir")
    assert (tmp_path / "progress.csv").read_text() == before


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_failed_save_keeps_the_previous_model(name, tmp_path, monkeypatch):
    """A save that dies halfway (disk full, a kill) leaves the last model.pt whole: the new one
    is written to a temporary file and renamed over it."""
    first, real_save = [], torch.save

    def save(obj, f, *args, **kwargs):
        """The first save works; the next one writes a few bytes, then the disk is full."""
        path = f if isinstance(f, (str, os.PathLike)) else None
        if not first:
            real_save(obj, f, *args, **kwargs)
            first.append(Path(path).read_bytes() if path else None)
            return
        if path:
            Path(path).write_bytes(b"PK\x03\x04 half a checkpoint")
        else:
            f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises((OSError, SystemExit)):
        run_main(name, ["--total-steps", "1000"] + tiny(name), tmp_path)
    assert first, "the first update saved nothing"
    assert torch.load(tmp_path / "model.pt", weights_only=True)["algo"] == name
    if first[0] is not None:
        assert (tmp_path / "model.pt").read_bytes() == first[0]


# ----------------------------- bad input -----------------------------
# Flags whose 0 makes no run (no steps, no envs, no network, no step length, no iterations).
POSITIVE = [
    "total-steps",
    "num-envs",
    "lr",
    "hidden",
    "eval-episodes",
    "batch-steps",
    "num-steps",
    "vf-lr",
    "vf-iters",
    "num-minibatches",
    "update-epochs",
    "clip-ratio",
    "max-grad-norm",
    "delta",
    "cg-iters",
    "damping",
    "backtrack-iters",
    "gamma",
]


class Accepted(BaseException):
    """Raised where an accepted run would make its first env, so that no 0 can start a run."""


ZERO_CASES = [(n, f) for n in SCRIPTS for f in POSITIVE if f in flags(n)]


@pytest.mark.parametrize("name,flag", ZERO_CASES)
def test_zero_is_refused(name, flag, tmp_path, monkeypatch, capsys):
    """0 is not a positive value: one line, exit code 2, and no run directory."""

    def make(env_id, *args, **kwargs):
        raise Accepted(f"--{flag} 0 was accepted")

    monkeypatch.setattr(gym, "make", make)
    refused(name, [f"--{flag}", "0", "--logdir", str(tmp_path / "run")], capsys, f"--{flag}")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_stopped_run_is_never_overwritten(name, tmp_path):
    """A run stopped by a NaN in its first update (only the first model.pt, no summary.json) still
    holds a run: the next one with the same --logdir is refused and changes nothing."""
    nan = ["--batch-steps", "500"] if name in CRITIC_FREE else ["--num-steps", "128"]
    with pytest.raises(SystemExit) as stop:
        run_main(name, ["--env", "TestNan-v0", "--total-steps", "3000", "--hidden", "8"] + nan, tmp_path)
    assert "non-finite loss" in str(stop.value.code)  # sys.exit(message): exit code 1
    before = (tmp_path / "progress.csv").read_text()
    assert len(before.splitlines()) == 2  # header and the update that stopped
    again = ["--logdir", str(tmp_path), "--total-steps", "16"] + tiny(name)
    stopped(name, again, f"{name}: {tmp_path} already holds a run; choose another --logdir")
    assert (tmp_path / "progress.csv").read_text() == before


# ------------------------------- seeding -------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_seed_seeds_the_envs(name, tmp_path, monkeypatch):
    """--seed seeds the envs: the first episodes begin alike with the same seed and differently
    with another."""
    firsts = []
    for i, seed in enumerate([3, 3, 4]):
        monkeypatch.setattr(RandomLengthEnv, "starts", [])
        run_main(
            name,
            ["--env", "TestRandomLength-v0", "--seed", str(seed), "--total-steps", "16"] + tiny(name),
            tmp_path / str(i),
        )
        firsts.append(RandomLengthEnv.starts[:4])  # the first episode of each of the 4 envs
    assert firsts[0] == firsts[1] and firsts[0] != firsts[2], firsts


# ------------------------------ evaluation ------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_watched_episodes_differ(name, tmp_path, monkeypatch):
    """tools/watch.py plays --episodes different episodes, not one episode again and again."""
    run_main(name, ["--env", "TestFarObs-v0", "--total-steps", "16"] + tiny(name), tmp_path)
    monkeypatch.setattr(FarObsEnv, "episodes", [])
    assert "TestFarObs-v0, 3 episodes" in watch([tmp_path, "--episodes", "3"])
    firsts = [tuple(ep[0]) for ep in FarObsEnv.episodes[-3:]]  # before them, the env check's own step
    assert len(firsts) == 3 and len(set(firsts)) == 3, firsts


@pytest.mark.parametrize("name", SCRIPTS)
def test_watch_normalizes_with_the_saved_frozen_statistics(name, tmp_path, monkeypatch):
    """Observation statistics are part of the model: tools/watch.py feeds the actor exactly
    (obs - mean) / std with model.pt's mean and variance, frozen. The env's observations sit
    near 100, so defaults (mean 0, var 1) or statistics that move while watching show."""
    run_main(name, ["--env", "TestFarObs-v0", "--total-steps", "16"] + tiny(name), tmp_path)
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    mean, var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()
    assert np.all(np.abs(mean - 100) < 10) and np.all(var > 10), (mean, var)  # trained on this env
    monkeypatch.setattr(FarObsEnv, "episodes", [])
    inputs = []

    def hook(module, args):  # the actor's first layer is the only Linear that takes the 3-dim obs
        if isinstance(module, torch.nn.Linear) and module.in_features == 3:
            inputs.append(args[0].detach().cpu().numpy().reshape(-1, 3))

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        watch([tmp_path, "--episodes", "2"])
    finally:
        handle.remove()
    episodes = FarObsEnv.episodes[-2:]  # before them, the env check's own step
    fed = np.concatenate([np.array(ep[:-1]) for ep in episodes])  # the last obs is not acted on
    expected = np.clip((fed - mean) / np.sqrt(var + 1e-8), -10, 10)
    assert len(fed) == 20
    np.testing.assert_allclose(np.concatenate(inputs), expected, atol=1e-5)


# ---------------------------- observations ----------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_normalized_observations_are_clipped_at_10(name, tmp_path, monkeypatch):
    """The actor sees (obs - mean) / std clipped to [-10, 10]: RunningNorm keeps 7.5 and clips
    100 to 10; and in a run on TestSpike-v0, whose 300th observation of an episode lies some 17
    standard deviations out, the largest input the actor gets is exactly 10, in all 3 dimensions."""
    mod = load(name)
    norm = mod.RunningNorm(3)
    np.testing.assert_allclose(norm(np.array([[100.0, -100.0, 7.5]])), [[10, -10, 7.5]], rtol=1e-6)
    inputs, base = [], mod.Actor

    class Seen(base):
        """An actor that keeps every input of its first layer (the only one that takes 3 numbers)."""

        def __init__(self, obs_dim, *args):
            super().__init__(obs_dim, *args)
            for m in self.modules():
                if isinstance(m, torch.nn.Linear) and m.in_features == obs_dim:
                    m.register_forward_pre_hook(lambda m, x: inputs.append(x[0].detach().reshape(-1, 3).clone()))

    monkeypatch.setattr(mod, "Actor", Seen)
    spikes = ["--env", "TestSpike-v0", "--total-steps", "1300", "--num-envs", "4", "--hidden", "8"]
    run_main(name, spikes + small(name), tmp_path)
    fed = torch.cat(inputs)
    assert fed.abs().max().item() == pytest.approx(10), fed.abs().max()
    assert fed.max(0).values.tolist() == pytest.approx([10, 10, 10])


# ------------------------------- updates -------------------------------
@pytest.mark.parametrize("name", ["a2c", "ppo"])
def test_policy_gradient_norm_is_clipped(name, tmp_path, monkeypatch):
    """Every Adam step on the actor's parameters applies a gradient of norm <= --max-grad-norm
    (a2c: the joint actor-critic gradient; ppo: the policy's)."""
    mod = load(name)
    actors, steps = track(monkeypatch, mod, "Actor"), spy_adam(monkeypatch)
    epochs = ["--update-epochs", "2"] if name == "ppo" else []
    run_main(name, ["--total-steps", "512", "--max-grad-norm", "0.01"] + epochs + small(name), tmp_path)
    norms = [norm for opt, _, norm in steps if holds(opt, actors[0][0])]
    assert norms and max(norms) <= 0.01 * (1 + 1e-4), norms


def falls_to_zero_from(base, values, updates):
    """One value per update: base at the first, lower at every next one, above 0 at the last."""
    per_update = [x for i, x in enumerate(values) if i == 0 or x != values[i - 1]]
    assert len(per_update) == updates, per_update
    assert per_update[0] == pytest.approx(base) and all(np.diff(per_update) < 0) and per_update[-1] > 0, per_update


@pytest.mark.parametrize("name", ["a2c", "trpo", "ppo"])
def test_annealed_rates_fall_to_zero(name, tmp_path, monkeypatch):
    """Annealed rates start at their flag's value at the first update, fall at every update,
    and stay above 0 to the end: a2c's --lr, ppo's --lr and --vf-lr, trpo's --vf-lr and --delta."""
    mod = load(name)
    actors, critics, steps = track(monkeypatch, mod, "Actor"), track(monkeypatch, mod, "Critic"), spy_adam(monkeypatch)
    deltas, real_update = [], getattr(mod, "update_policy", None)
    if name == "trpo":  # update_policy(actor, b_obs, b_act, b_weights, b_logp_old, delta, args)

        def update(*args, **kwargs):
            deltas.append(args[5] if len(args) > 5 else kwargs["delta"])
            return real_update(*args, **kwargs)

        monkeypatch.setattr(mod, "update_policy", update)
    argv = ["--total-steps", "1024"] + {
        "a2c": ["--lr", "0.001"],
        "trpo": ["--vf-lr", "0.002", "--delta", "0.05"],
        "ppo": ["--vf-lr", "0.002", "--lr", "0.001"],
    }[name]
    rows = run_main(name, argv + small(name), tmp_path)
    assert len(rows) == 4
    if name != "a2c":
        falls_to_zero_from(0.002, [lr for opt, lr, _ in steps if holds(opt, critics[0][0])], len(rows))
    if name == "trpo":
        falls_to_zero_from(0.05, deltas, len(rows))
    else:
        falls_to_zero_from(0.001, [lr for opt, lr, _ in steps if holds(opt, actors[0][0])], len(rows))


def test_ppo_kl_column_is_the_k3_estimator(tmp_path, monkeypatch):
    """progress.csv's kl is the mean over the batch of r - 1 - log r, r = pi(a|s) / pi_old(a|s)
    with the policy the update leaves (the k3 estimator of KL(pi_old || pi)), not the mean of
    -log r (k1): the two differ on these batches by far more than the column's rounding."""
    mod = load("ppo")
    seen, real = [], mod.update_policy

    def update(actor, opt, b_obs, b_act, b_weights, b_logp_old, args):
        stats = real(actor, opt, b_obs, b_act, b_weights, b_logp_old, args)
        with torch.no_grad():
            log_r = actor.dist(b_obs).log_prob(b_act) - b_logp_old
        seen.append(((log_r.exp() - 1 - log_r).mean().item(), (-log_r).mean().item()))
        return stats

    monkeypatch.setattr(mod, "update_policy", update)
    rows = run_main("ppo", ["--env", "Pendulum-v1", "--total-steps", "768", "--lr", "0.01"] + small("ppo"), tmp_path)
    assert len(rows) == len(seen) == 3
    for row, (k3, k1) in zip(rows, seen):
        assert abs(k3 - k1) > 1e-4 and float(row["kl"]) == pytest.approx(k3, abs=1e-5), (row["kl"], k3, k1)


def test_ppo_target_kl_stops_on_the_k3_estimate():
    """--target-kl ends the passes over the batch after the first pass whose k3 estimate of the
    KL exceeds it. The target is set where k1 would stop at another pass than k3."""
    mod = load("ppo")
    obs, adv = torch.randn(256, 3), torch.randn(256)
    first = mod.Actor(3, gym.spaces.Box(-1, 1, (2,), np.float32), 16)
    with torch.no_grad():
        act = first.dist(obs).sample()
        logp_old = first.dist(obs).log_prob(act)

    def update(epochs, target_kl):
        actor = mod.Actor(3, gym.spaces.Box(-1, 1, (2,), np.float32), 16)
        actor.load_state_dict(first.state_dict())
        torch.manual_seed(1)  # the same minibatches in every call
        args = SimpleNamespace(
            update_epochs=epochs, num_minibatches=4, clip_ratio=0.2, target_kl=target_kl, max_grad_norm=0.5
        )
        stats = mod.update_policy(actor, torch.optim.Adam(actor.parameters(), 0.003), obs, act, adv, logp_old, args)
        with torch.no_grad():
            log_r = actor.dist(obs).log_prob(act) - logp_old
        return stats, (log_r.exp() - 1 - log_r).mean().item(), (-log_r).mean().item()

    after = [update(e, None)[1:] for e in range(1, 9)]  # (k3, k1) after e passes

    def stop(target, k):
        return next((e + 1 for e, kl in enumerate(after) if kl[k] > target), len(after))

    values = sorted(kl for pair in after for kl in pair)
    targets = [(a + b) / 2 for a, b in zip(values, values[1:]) if stop((a + b) / 2, 0) != stop((a + b) / 2, 1)]
    assert targets, after
    for target in targets:
        stats = update(8, target)[0]
        assert stats["epochs"] == stop(target, 0), (target, stats, after)
        assert stats["kl"] == pytest.approx(after[stats["epochs"] - 1][0]), (target, stats, after)


def test_a2c_value_loss_moves_the_critic(tmp_path, monkeypatch):
    """a2c's one joint step includes the value loss: at every step the critic's parameters all
    carry a gradient, and after the run they have moved."""
    mod = load("a2c")
    critics, grads = track(monkeypatch, mod, "Critic"), []
    real_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        grads.append([p.grad is not None and p.grad.abs().sum().item() > 0 for p in critics[0][0].parameters()])
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    run_main("a2c", ["--total-steps", "512"] + small("a2c"), tmp_path)
    critic, first = critics[0]
    assert len(grads) == 2 and all(all(g) for g in grads), grads
    assert all(not torch.equal(first[k], v) for k, v in critic.state_dict().items())


@pytest.mark.parametrize("name", ["vpg", "trpo", "ppo"])
def test_value_targets_are_advantage_plus_v(name, tmp_path, monkeypatch):
    """The critic is regressed on ret = A + V (lambda-returns), built from the advantages
    before they are normalized for the policy step."""
    mod = load(name)
    seen, targets = [], []
    real_weights, real_value = mod.weights_fn, mod.update_value

    def weights(rew, v, *rest):
        adv = real_weights(rew, v, *rest)
        seen.append((adv + v).flatten().clone())
        return adv

    def value(critic, vf_opt, b_obs, b_ret, *rest):
        targets.append(b_ret.clone())
        return real_value(critic, vf_opt, b_obs, b_ret, *rest)

    monkeypatch.setattr(mod, "weights_fn", weights)
    monkeypatch.setattr(mod, "update_value", value)
    run_main(name, ["--total-steps", "512"] + small(name), tmp_path)
    assert len(targets) == len(seen) == 2
    for want, got in zip(seen, targets):
        torch.testing.assert_close(got, want)


# ------------------------------- returns -------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_return_mean_is_the_raw_episode_return(name, tmp_path):
    """CountEnv: reward 1 at every step, every episode exactly 7 steps. Every row's
    return_mean is 7.0: raw rewards (not scaled ones), summed from each episode's start."""
    rows = run_main(name, ["--env", "TestCount-v0", "--total-steps", "600"] + small(name), tmp_path)
    assert rows and all(r["return_mean"] == "7.0" and int(r["episodes"]) > 0 for r in rows), rows


def spy_episodes(monkeypatch):
    """The raw return of every episode that ends in a vector env, summed from the rewards its
    step() gives, with the step since the vector env's reset() at which it began; a reset() drops
    the episodes under way, whose returns so far go to `dropped`. Returns the lists (ended,
    dropped), in the order the episodes end; ended holds (return, first step) pairs."""
    ended, dropped, sums, firsts, steps = [], [], {}, {}, {}
    real_reset, real_step = gym.vector.SyncVectorEnv.reset, gym.vector.SyncVectorEnv.step

    def reset(self, *args, **kwargs):
        out = real_reset(self, *args, **kwargs)
        dropped.extend(x for x in sums.get(id(self), []) if x != 0)
        sums[id(self)] = np.zeros(self.num_envs)
        firsts[id(self)] = np.zeros(self.num_envs, int)
        steps[id(self)] = 0
        return out

    def step(self, actions):
        out = real_step(self, actions)
        _, rew, term, trunc, _ = out
        done = term | trunc
        sums[id(self)] += rew
        steps[id(self)] += 1
        ended.extend(zip(sums[id(self)][done], firsts[id(self)][done]))
        sums[id(self)][done] = 0.0
        firsts[id(self)][done] = steps[id(self)]
        return out

    monkeypatch.setattr(gym.vector.SyncVectorEnv, "reset", reset)
    monkeypatch.setattr(gym.vector.SyncVectorEnv, "step", step)
    return ended, dropped


def batch_returns(name, args, ended):
    """The returns of the episodes of the batches, of ended's (return, first step) pairs: with a
    critic every one that ended; without one those begun before --batch-steps steps were stored
    (its N envs store N a step until then). The envs out of a full batch play on until the last
    episode in it ends, and the episodes they end in that time are not the batch's."""
    if name not in CRITIC_FREE:
        return [ret for ret, _ in ended]
    a = load(name).parse_args(args)
    return [ret for ret, first in ended if first * a.num_envs < a.batch_steps]


@pytest.mark.parametrize("name", SCRIPTS)
def test_logged_returns_are_those_of_the_episodes_of_the_batches(name, tmp_path, monkeypatch):
    """progress.csv's episodes and return_mean are those of the episodes of the batches, each
    summed from its own first step. TestRandomLength-v0's episodes end at different steps in
    different envs, so simple_pg and rtg_pg have envs that end episodes out of the batch, and
    drop episodes under way at a batch's end: neither is logged, and none of a dropped episode's
    return is carried into the next batch's first episodes."""
    ended, dropped = spy_episodes(monkeypatch)
    args = ["--env", "TestRandomLength-v0", "--total-steps", "400"] + tiny(name)
    rows = run_main(name, args, tmp_path)
    batch = batch_returns(name, args, ended)
    episodes = sum(int(r["episodes"]) for r in rows)
    logged = sum(float(r["return_mean"]) * int(r["episodes"]) for r in rows if r["return_mean"])
    assert episodes == len(batch) > 20 and logged == pytest.approx(sum(batch), abs=0.005 * episodes)
    assert (len(dropped) > 5 and len(ended) > len(batch)) or name not in CRITIC_FREE, (dropped, len(ended))


@pytest.mark.parametrize("name", CRITIC_FREE)
def test_logged_returns_favour_neither_short_nor_long_episodes(name, tmp_path):
    """TestShortOrLong-v0: episodes of 5 or 100 steps with equal odds, reward 1, so the mean
    return is 52.5 whatever the policy (std 47.5). The log counts the batch's episodes alone, each
    in it or not before it is played, so their mean over n episodes lies within 3 standard errors,
    3 * 47.5 / sqrt(n): 5.4 for the 700 or so of 40,000 steps. Logging every episode that ended,
    those of the envs out of a full batch too, which play on only until the batch's last episode
    ends and so end more short ones than long, gave 45.2 (--batch-steps 400, 4 envs)."""
    args = ["--env", "TestShortOrLong-v0", "--total-steps", "40000", "--batch-steps", "400", "--hidden", "8"]
    rows = run_main(name, args, tmp_path, row_steps=None)
    episodes = sum(int(r["episodes"]) for r in rows)
    mean = sum(float(r["return_mean"]) * int(r["episodes"]) for r in rows if r["return_mean"]) / episodes
    assert episodes > 500 and abs(mean - 52.5) < 3 * 47.5 / episodes**0.5, (episodes, mean)


@pytest.mark.parametrize("name", SCRIPTS)
def test_return_last100_is_the_mean_of_the_last_100_episodes(name, tmp_path, monkeypatch):
    """summary.json's return_last100 is the mean raw return of the last 100 episodes of the batches
    (TestRandomLength-v0: returns 1 to 12, so the first 100 have another mean)."""
    ended, _ = spy_episodes(monkeypatch)
    args = ["--env", "TestRandomLength-v0", "--total-steps", "1500", "--hidden", "8"] + small(name)
    run_main(name, args, tmp_path)
    batch = batch_returns(name, args, ended)
    summary = json.loads((tmp_path / "summary.json").read_text())
    last, first = np.mean(batch[-100:]), np.mean(batch[:100])
    assert len(batch) > 200 and abs(last - first) > 0.05, (len(batch), first, last)
    assert summary["return_last100"] == pytest.approx(last, abs=0.005), (summary, first, last)


@pytest.mark.parametrize("name", CRITIC_FREE)
def test_whole_episodes_with_random_lengths(name, tmp_path, monkeypatch):
    """Without a critic the batch holds whole episodes only. Episodes of random length end at
    different steps in different envs; with the observation normalization made the identity,
    each (L, x) in the batch shows all of its steps t = 0 .. L-1, once each."""
    mod = load(name)

    class Identity(mod.RunningNorm):
        def update(self, x):
            pass

        def __call__(self, x):
            return np.asarray(x, dtype=np.float32)

    monkeypatch.setattr(mod, "RunningNorm", Identity)
    batches, real_update = [], mod.update_policy
    monkeypatch.setattr(
        mod,
        "update_policy",
        lambda actor, opt, b_obs, *rest: batches.append(b_obs.numpy().copy()) or real_update(actor, opt, b_obs, *rest),
    )
    run_main(
        name, ["--env", "TestRandomLength-v0", "--total-steps", "400", "--batch-steps", "50", "--hidden", "8"], tmp_path
    )
    assert len(batches) >= 3
    for b in batches:
        assert len(b) >= 50
        episodes = {}
        for t, length, x in b:
            episodes.setdefault((length, x), []).append(t)
        for (length, x), ts in episodes.items():
            assert sorted(ts) == list(range(int(length))), (length, sorted(ts))


# ------------------------- the batch the update sees -------------------------
UPDATE = {"a2c": "update_actor_critic"}  # the function that takes the policy's batch; the others: update_policy


def spy_calls(monkeypatch, mod, fn_name):
    """Wrap mod.<fn_name> to keep, at every call, its arguments by name and its result (tensors copied)."""
    calls, real = [], getattr(mod, fn_name)
    signature = inspect.signature(real)

    def copy(x):
        return x.detach().clone() if isinstance(x, torch.Tensor) else x

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(({k: copy(v) for k, v in signature.bind(*args, **kwargs).arguments.items()}, copy(out)))
        return out

    monkeypatch.setattr(mod, fn_name, spy)
    return calls


def two_updates(name):
    """Two updates of a few steps each (one or two for simple_pg and rtg_pg: episodes are whole)."""
    return ["--total-steps", "128" if name == "a2c" else "32"] + tiny(name)


@pytest.mark.parametrize("name", WITH_CRITIC)
def test_advantages_are_normalized_per_batch(name, tmp_path, monkeypatch):
    """Phi_t = the GAE advantage normalized per batch: the policy's update gets exactly
    (A - mean A) / (std A + 1e-8) of weights_fn's A, centred (mean 0) and scaled (std 1)."""
    mod = load(name)
    weights, updates = (
        spy_calls(monkeypatch, mod, "weights_fn"),
        spy_calls(monkeypatch, mod, UPDATE.get(name, "update_policy")),
    )
    run_main(name, two_updates(name), tmp_path)
    assert len(weights) == len(updates) == 2
    for (_, adv), (args, _) in zip(weights, updates):
        a, got = adv.flatten(), args["b_weights"]
        torch.testing.assert_close(got, (a - a.mean()) / (a.std() + 1e-8))
        assert abs(got.mean().item()) < 1e-6 and got.std().item() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("name", WITH_CRITIC)
def test_explained_var_is_that_of_the_critic(name, tmp_path, monkeypatch):
    """progress.csv's explained_var is 1 - Var[ret - V] / Var[ret] of the batch, with ret = A + V the
    value targets and V the critic's values the advantages were built from (before its fit)."""
    mod = load(name)
    weights = spy_calls(monkeypatch, mod, "weights_fn")
    rows = run_main(name, two_updates(name), tmp_path)
    assert len(rows) == len(weights) == 2
    for row, (args, adv) in zip(rows, weights):
        ret = (adv + args["v"]).flatten()
        want = 1 - ((ret - args["v"].flatten()).var() / (ret.var() + 1e-8)).item()
        assert float(row["explained_var"]) == pytest.approx(want, abs=2e-5), (row["explained_var"], want)


@pytest.mark.parametrize("name", ["vpg", "trpo", "ppo"])
def test_passes_over_the_batch(name, tmp_path, monkeypatch):
    """--vf-iters passes of --num-minibatches critic steps per update; ppo's policy takes
    --update-epochs passes of --num-minibatches steps (no --target-kl), vpg's one step."""
    mod = load(name)
    actors, critics, steps = track(monkeypatch, mod, "Actor"), track(monkeypatch, mod, "Critic"), spy_adam(monkeypatch)
    args = ["--vf-iters", "3", "--num-minibatches", "2"] + (["--update-epochs", "5"] if name == "ppo" else [])
    rows = run_main(name, ["--total-steps", "32", "--num-steps", "4", "--hidden", "8"] + args, tmp_path)
    assert len(rows) == 2
    assert sum(holds(opt, critics[0][0]) for opt, _, _ in steps) == 2 * 3 * 2
    assert sum(holds(opt, actors[0][0]) for opt, _, _ in steps) == {"vpg": 2, "trpo": 0, "ppo": 2 * 5 * 2}[name]


def rows_seen(calls, b_obs):
    """The rows of b_obs that each call's batch held, as lists of indices."""
    return [[int((b_obs == row).all(-1).nonzero()[0, 0]) for row in obs] for obs in calls]


def passes(calls, n, k):
    """Group minibatches (row indices) into passes of k; each pass must hold every row once."""
    out = [sum(calls[i : i + k], []) for i in range(0, len(calls), k)]
    assert all(sorted(p) == list(range(n)) for p in out), out
    return out


@pytest.mark.parametrize(
    "name,fn", [("ppo", "update_policy"), ("vpg", "update_value"), ("trpo", "update_value"), ("ppo", "update_value")]
)
def test_minibatches_are_reshuffled_every_pass(name, fn):
    """Each pass over the batch draws new minibatches: every row once per pass, in an order
    (and so a split into minibatches) that changes from pass to pass."""
    mod, n, k = load(name), 64, 4
    obs = torch.randn(n, 3)
    seen = []
    if fn == "update_policy":
        actor = mod.Actor(3, gym.spaces.Discrete(2), 8)
        with torch.no_grad():
            act = actor.dist(obs).sample()
            logp_old = actor.dist(obs).log_prob(act)
        real_dist = actor.dist
        actor.dist = lambda x: seen.append(x.clone()) or real_dist(x)
        args = SimpleNamespace(update_epochs=3, num_minibatches=k, clip_ratio=0.2, target_kl=None, max_grad_norm=0.5)
        stats = mod.update_policy(
            actor, torch.optim.Adam(actor.parameters(), 1e-3), obs, act, torch.randn(n), logp_old, args
        )
        assert stats["epochs"] == 3
    else:
        critic = mod.Critic(3, 8)
        real_forward = critic.forward
        critic.forward = lambda x: seen.append(x.clone()) or real_forward(x)
        mod.update_value(critic, torch.optim.Adam(critic.parameters(), 1e-3), obs, torch.randn(n), 3, k)
    minibatches = [s for s in seen if len(s) < n]  # not the full-batch KL of each epoch
    assert len(minibatches) == 3 * k and all(len(s) == n // k for s in minibatches)
    orders = passes(rows_seen(minibatches, obs), n, k)
    assert len({tuple(o) for o in orders}) == 3 and orders[0] != list(range(n)), orders


# ------------------------------- rewards -------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
@pytest.mark.parametrize("env", ["TestTruncOnly-v0", "TestRandomLength-v0"])
def test_rewards_are_scaled_by_the_std_of_the_discounted_return(name, env, tmp_path, monkeypatch):
    """Reward scaling as gymnasium's NormalizeReward: each reward divided by the running std of
    the discounted return sum (its quirk: a termination starts a new sum from the terminal reward;
    every episode's end clears it), clipped to +-10. Both envs pay 1 a step, so the sums follow
    from where the episodes end: TestTruncOnly-v0 only truncates (every 20 steps),
    TestRandomLength-v0 only terminates. Without a critic, each batch begins with fresh episodes."""
    mod = load(name)
    weights = spy_calls(monkeypatch, mod, "weights_fn")
    gamma = 0.9
    batch = ["--batch-steps", "40"] if name in CRITIC_FREE else ["--num-steps", "30"]
    run_main(
        name,
        ["--env", env, "--gamma", str(gamma), "--num-envs", "4", "--total-steps", "240", "--hidden", "8"] + batch,
        tmp_path,
    )
    assert len(weights) >= 2
    sums, count, total, squares = np.zeros(4), 1e-4, 0.0, 1e-4  # the statistics start at mean 0, var 1
    for args, _ in weights:
        if name in CRITIC_FREE:
            sums[:] = 0.0
        want, by_var = np.zeros(args["rew"].shape), np.zeros(args["rew"].shape)
        for t, done in enumerate(args["done"].numpy()):
            term = done if env == "TestRandomLength-v0" else np.zeros(4)
            sums = sums * gamma * (1 - term) + 1.0
            count, total, squares = count + 4, total + sums.sum(), squares + (sums**2).sum()
            var = squares / count - (total / count) ** 2
            want[t], by_var[t] = np.clip(1.0 / np.sqrt(var + 1e-8), -10, 10), np.clip(1.0 / (var + 1e-8), -10, 10)
            sums[done > 0] = 0.0
        assert np.abs(want - by_var).mean() > 0.1  # the batch tells the std from the variance
        np.testing.assert_allclose(args["rew"].numpy(), want, rtol=1e-5)


# ------------------------------- actions -------------------------------
@pytest.mark.parametrize("name", SCRIPTS)
def test_the_loss_keeps_the_sample(name, tmp_path, monkeypatch):
    """The env gets the sampled action clipped to its bounds; the loss keeps the sample. With
    --log-std-init 0.5 most Gaussian samples fall outside TestCount-v0's [-1, 1]: the actions
    the update gets are the samples the actor drew, out-of-bounds ones included."""
    mod = load(name)
    samples, base = [], mod.Actor

    class Sampler(base):
        """An actor whose distributions keep every sample drawn from them."""

        def dist(self, obs):
            dist = super().dist(obs)
            draw = dist.sample

            def sample(*args, **kwargs):
                act = draw(*args, **kwargs)
                samples.append(act.clone())
                return act

            dist.sample = sample
            return dist

    monkeypatch.setattr(mod, "Actor", Sampler)
    updates = spy_calls(monkeypatch, mod, UPDATE.get(name, "update_policy"))
    run_main(name, ["--env", "TestCount-v0", "--log-std-init", "0.5"] + two_updates(name), tmp_path)
    drawn = set(torch.cat(samples).flatten().tolist())
    for args, _ in updates:
        acts = args["b_act"].flatten()
        assert acts.abs().max() > 1 and set(acts.tolist()) <= drawn


def test_a2c_entropy_bonus_raises_the_entropy(tmp_path):
    """a2c's joint loss subtracts --ent-coef x entropy: on TestCount-v0, where no action changes
    the reward, the Gaussian's entropy (progress.csv's ent) rises at every update with
    --ent-coef 1 and ends above the run without the bonus (the default, 0)."""
    base = ["--env", "TestCount-v0", "--total-steps", "1280", "--num-steps", "4", "--hidden", "8"]
    bonus = [float(r["ent"]) for r in run_main("a2c", base + ["--ent-coef", "1"], tmp_path / "bonus")]
    plain = [float(r["ent"]) for r in run_main("a2c", base, tmp_path / "plain")]
    assert len(bonus) == 20 and all(np.diff(bonus) > 0) and bonus[-1] > plain[-1], (bonus, plain)
