"""Edges of the promises, each seen to fail with its break (tests/README.md): tools/keep_models.py's
copies and its --every; the shared plumbing (a SyntaxError in one's own env module, the NaN stop's
row, a '/' in the run directory's name, a boolean setting given as a word, a setting that fails only
at the env's first step, a --logdir that is a file, a run with no episode ended); the
algorithms (ppo's ratio clip and clip_frac, a2c's value loss, the critic-free batch full at
--batch-steps and ended by truncations too); tools/watch.py's "on its back" after a full turn.
(trpo's full step first is in test_theory.py; watch's first line, GIF and camera in test_watch.py;
plot's averaged curve in test_tools.py.)"""

import json
import math
import re
import subprocess
import sys
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import CRITIC_FREE, ROOT, SCRIPTS, CountEnv, load, read_csv, run_cli, run_main, tiny, watch


# ------------------------------ purpose-built envs ------------------------------
class LabelEnv(CountEnv):
    """Purpose-built: CountEnv (episodes of `length` steps) with settings that change nothing:
    a string, and three whose defaults are falsy (False, 0, 0.0)."""

    def __init__(self, length=7, label="plain", flag=False, count=0, scale=0.0, render_mode=None):
        super().__init__(length=length)


class WeightedEnv(CountEnv):
    """Purpose-built: CountEnv whose reward is 1.0 * `weight`. A weight typed as a word makes and
    resets the env without a complaint, and fails at its first step (as MuJoCo's
    forward_reward_weight=minus1 does)."""

    def __init__(self, weight=1.0, render_mode=None):
        super().__init__()
        self.weight = weight

    def step(self, action):
        obs, rew, term, trunc, info = super().step(action)
        return obs, rew * self.weight, term, trunc, info


class Walker2dEnv(gym.Env):
    """Purpose-built, named as gymnasium's walker (tools/watch.py reads the body from the env's
    class name): a torso at height 1.2 m and a fixed `angle` in qpos = (x, z, angle); reward 1,
    truncated after 5 steps."""

    def __init__(self, angle=0.0, render_mode=None):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.data = SimpleNamespace(qpos=np.array([0.0, 1.2, angle]))

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(2, np.float32), 1.0, False, self.t >= 5, {}


gym.register("edges/TestLabel-v0", entry_point=LabelEnv)
gym.register("TestLabel-v0", entry_point=LabelEnv)
gym.register("TestPosedWalker-v0", entry_point=Walker2dEnv)
gym.register("TestWeighted-v0", entry_point=WeightedEnv)


def quiet_main(name, args, capsys=None):
    """The script's main in this process; returns what it printed (stdout) or raises its SystemExit."""
    load(name).main([str(a) for a in args])
    return capsys.readouterr().out if capsys is not None else None


def refused_in_one_line(name, args, capsys):
    with pytest.raises(SystemExit) as stop:
        quiet_main(name, args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1, (stop.value.code, err)
    return err


# ------------------------------ tools/keep_models.py ------------------------------
def test_keep_models_copy_at_a_step_holds_the_policy_that_reached_it(tmp_path, capsys):
    """models/STEP.pt is the policy saved after the update that reached STEP, not the one before:
    the last copy is the run's final model.pt, and every copy differs from the one before it."""
    import keep_models

    run = tmp_path / "run"
    argv = ["--every", "1", str(ROOT / "rtg_pg.py"), "--env", "TestCount-v0", "--env-kwargs", "length=4"]
    keep_models.main(argv + ["--num-envs", "2", "--batch-steps", "8", "--total-steps", "32", "--logdir", str(run)])
    steps = sorted(int(p.stem) for p in (run / "models").glob("*.pt"))
    # whole episodes of 4 steps in 2 envs: every update 8 steps
    assert steps == [8, 16, 24, 32], steps
    actors = [torch.load(run / "models" / f"{s}.pt", weights_only=True)["actor"] for s in steps]
    final = torch.load(run / "model.pt", weights_only=True)["actor"]
    assert all(torch.equal(actors[-1][k], final[k]) for k in final)
    for before, after in zip(actors, actors[1:]):
        assert any(not torch.equal(before[k], after[k]) for k in after)


def test_keep_models_every_0_is_refused_in_one_line(tmp_path, capsys):
    import keep_models

    with pytest.raises(SystemExit) as stop:
        keep_models.main(["--every", "0", str(ROOT / "rtg_pg.py"), "--logdir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1 and "--every" in err, err
    assert not (tmp_path / "run").exists()


# ------------------------------ the shared plumbing ------------------------------
def test_a_syntax_error_in_ones_own_env_module_shows_its_traceback(tmp_path):
    """A SyntaxError in one's own env module is a bug in it, as any other: its traceback names
    the module's file and line, not a one-line 'cannot make env'."""
    (tmp_path / "edge_envs.py").write_text("import gymnasium\n\ndef broken(:\n    pass\n")
    res = subprocess.run(
        [sys.executable, str(ROOT / "vpg.py"), "--env", "edge_envs:Edge-v0", "--logdir", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1 and "SyntaxError" in res.stderr, res.stderr
    assert 'edge_envs.py", line 3' in res.stderr and "cannot make env" not in res.stderr, res.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_nan_stop_writes_the_row_of_the_update_that_stopped(name, tmp_path):
    """No row is due (ROW_STEPS out of reach), yet the update that met the NaN reward has its row,
    the last of progress.csv: the NaN shows in the file, not only on the console."""
    small = {"simple_pg": ["--batch-steps", "100"], "rtg_pg": ["--batch-steps", "100"]}
    args = ["--env", "TestNan-v0", "--total-steps", "100000"] + small.get(name, ["--num-steps", "32"])
    with pytest.raises(SystemExit) as stop:
        run_main(name, args + ["--hidden", "8"], tmp_path, row_steps=10**9)
    assert stop.value.code not in (0, 2, None)
    rows = read_csv(tmp_path / "progress.csv")
    assert len(rows) == 1, rows
    assert any(math.isnan(float(v)) for k, v in rows[0].items() if k.startswith("loss")), rows[0]


@pytest.mark.parametrize("env,settings", [("edges/TestLabel-v0", []), ("TestLabel-v0", ["label=a/b"])])
def test_a_slash_in_the_env_id_or_a_setting_does_not_nest_the_run_directory(env, settings, tmp_path, monkeypatch):
    """The default run directory is one folder right under runs/, whatever '/' the env id (a
    namespace) or a setting's value holds."""
    monkeypatch.chdir(tmp_path)
    given = ["--env-kwargs", *settings] if settings else []
    load("vpg").main(["--env", env, *given, "--total-steps", "16"] + tiny("vpg"))
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "config.json").is_file() and (run / "summary.json").is_file(), sorted(run.rglob("*"))


@pytest.mark.parametrize("word", ["no", "off", "false", "yes", "On", "TRUE"])
def test_a_boolean_setting_given_as_a_word_is_refused(word, tmp_path, capsys):
    """no, off, false (in any case) would reach the env as a string, which is truthy, and turn the
    setting on: these words, and yes, on, true with them, are refused by argparse (one line, exit 2)
    before anything is written; a boolean is True or False."""
    setting = ["--env", "TestLabel-v0", "--env-kwargs", f"flag={word}"]
    args = setting + ["--total-steps", "16", "--logdir", tmp_path / "run"]
    err = refused_in_one_line("vpg", args + tiny("vpg"), capsys)
    assert f"error: argument --env-kwargs: must be KEY=VALUE, a boolean True or False: flag={word}" in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_setting_that_fails_at_the_first_step_writes_no_run_directory(name, tmp_path):
    """--env-kwargs weight=minus1: the env is made and reset, then its first step raises. The check
    steps one env before anything is written: the env's own error, raised in its step, and no run
    directory."""
    args = ["--env", "TestWeighted-v0", "--env-kwargs", "weight=minus1", "--total-steps", "16"]
    with pytest.raises(TypeError, match="can't multiply sequence") as error:
        quiet_main(name, args + ["--logdir", tmp_path / "run"] + tiny(name))
    # raised in WeightedEnv.step, here
    assert error.traceback[-1].name == "step" and str(error.traceback[-1].path) == __file__, error.traceback
    assert not (tmp_path / "run").exists()


def test_a_logdir_that_is_a_file_is_refused_and_left_as_it_was(tmp_path):
    """--logdir naming a file: the OS's own error (a file is in the way), and the file left as it was."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="notes.txt"):
        quiet_main("vpg", ["--logdir", tmp_path / "notes.txt", "--total-steps", "16"] + tiny("vpg"))
    assert (tmp_path / "notes.txt").read_text() == "mine" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_run_with_no_episode_ended_says_so(tmp_path, capsys):
    """No episode ended (episodes of 1,000 steps, 32 steps run): summary.json's return_last100 is
    null, not NaN (which is not JSON), and the console's last line shows no nan."""
    args = ["--env", "TestLabel-v0", "--env-kwargs", "length=1000", "--total-steps", "32", "--logdir", tmp_path]
    out = quiet_main("vpg", args + tiny("vpg"), capsys)
    text = (tmp_path / "summary.json").read_text()
    assert json.loads(text)["return_last100"] is None and "NaN" not in text, text
    assert not re.search(r"\bnan\b", out.strip().splitlines()[-1], re.IGNORECASE), out


# ------------------------------ the algorithms ------------------------------
def ratio_batch(ratios, adv, seed=0):
    """An actor of ppo.py, a batch and logp_old set so that pi / pi_old is `ratios` exactly."""
    mod = load("ppo")
    torch.manual_seed(seed)
    actor = mod.Actor(3, gym.spaces.Discrete(2), 4)
    obs = torch.randn(len(ratios), 3)
    with torch.no_grad():
        act = actor.dist(obs).sample()
        logp_old = actor.dist(obs).log_prob(act) - torch.tensor(ratios).log()
    return mod, actor, obs, act, torch.tensor(adv), logp_old


def ppo_update(mod, actor, obs, act, adv, logp_old):
    args = SimpleNamespace(update_epochs=1, num_minibatches=1, clip_ratio=0.2, target_kl=None, max_grad_norm=1e9)
    opt = torch.optim.SGD(actor.parameters(), lr=0.0)
    return mod.update_policy(actor, opt, obs, act, adv, logp_old, args)


def test_ppo_clips_the_ratio_itself():
    """clip(ratio, 0.8, 1.2), not clip(log ratio, -0.2, 0.2) (the band [0.819, 1.221]): 1.21 with
    A > 0 is clipped to 1.2, and 0.81 with A < 0 is left at 0.81."""
    ratios = [1.21, 0.81, 1.21, 0.81]
    adv = [1.0, -1.0, 2.0, -2.0]
    stats = ppo_update(*ratio_batch(ratios, adv))
    clipped = [1.2, 0.81, 1.2, 0.81]
    expected = -np.mean([min(r * a, c * a) for r, c, a in zip(ratios, clipped, adv)])
    assert stats["loss_pi"] == pytest.approx(expected, abs=1e-5)


def test_ppo_clip_frac_counts_exactly_the_clipped_ratios():
    """clip_frac is the share of ratios outside [1 - eps, 1 + eps]: here 1.21 twice and 0.79 of
    six (0.81, inside, is outside the log-space band; 1.19 and 0.85 are inside both)."""
    ratios = [1.21, 1.21, 0.81, 0.79, 1.19, 0.85]
    stats = ppo_update(*ratio_batch(ratios, [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]))
    assert stats["clip_frac"] == pytest.approx(3 / 6, abs=1e-6)


def test_a2c_value_loss_is_vf_coef_times_the_plain_mse():
    """The joint loss adds vf_coef * mean((V(s) - ret)^2): with no policy signal (Phi = 0, no
    entropy bonus) one SGD step of rate 1 moves the critic by vf_coef times the MSE's gradient,
    and the loss_v it reports is the MSE itself (not halved, not times vf_coef)."""
    mod = load("a2c")
    torch.manual_seed(0)
    actor = mod.Actor(3, gym.spaces.Discrete(2), 4)
    critic = mod.Critic(3, 4)
    obs = torch.randn(32, 3)
    ret = torch.randn(32)
    with torch.no_grad():
        act = actor.dist(obs).sample()
    mse = ((critic(obs) - ret) ** 2).mean()
    grads = torch.autograd.grad(mse, list(critic.parameters()))
    before = [p.detach().clone() for p in critic.parameters()]
    opt = torch.optim.SGD(list(actor.parameters()) + list(critic.parameters()), lr=1.0)
    args = SimpleNamespace(vf_coef=0.3, ent_coef=0.0, max_grad_norm=1e9)
    stats = mod.update_actor_critic(actor, critic, opt, obs, act, torch.zeros(32), ret, args)
    assert stats["loss_v"] == pytest.approx(mse.item(), rel=1e-6)
    for p, b, g in zip(critic.parameters(), before, grads):
        assert torch.allclose(b - p.detach(), 0.3 * g, atol=1e-6)


def test_a2c_progress_loss_v_is_the_plain_mse(tmp_path, monkeypatch):
    """progress.csv's loss_v is mean((V(s) - ret)^2) of the batch the update saw, as logged."""
    mod = load("a2c")
    real = mod.update_actor_critic
    mses = []

    def spy(actor, critic, opt, b_obs, b_act, b_weights, b_ret, *rest):
        with torch.no_grad():
            mses.append(((critic(b_obs) - b_ret) ** 2).mean().item())
        return real(actor, critic, opt, b_obs, b_act, b_weights, b_ret, *rest)

    monkeypatch.setattr(mod, "update_actor_critic", spy)
    rows = run_main("a2c", ["--total-steps", "192", "--vf-coef", "0.3"] + tiny("a2c"), tmp_path)
    assert len(rows) == len(mses) > 1
    assert [float(r["loss_v"]) for r in rows] == pytest.approx(mses, abs=2e-5)


@pytest.mark.parametrize("name", CRITIC_FREE)
def test_the_critic_free_batch_is_full_once_batch_steps_are_stored(name, tmp_path, monkeypatch):
    """Episodes of exactly 5 steps in 4 envs: after 5 steps 20 are stored, which is
    --batch-steps, and every env's episode ends there. The batch is full (>=, not >): none of the
    episodes begun in the step after joins it."""
    mod = load(name)
    real = mod.update_policy
    sizes = []

    def spy(actor, opt, b_obs, *rest):
        sizes.append(len(b_obs))
        return real(actor, opt, b_obs, *rest)

    monkeypatch.setattr(mod, "update_policy", spy)
    args = ["--env", "TestCount-v0", "--env-kwargs", "length=5", "--num-envs", "4", "--batch-steps", "20"]
    rows = run_main(name, args + ["--total-steps", "20", "--hidden", "8"], tmp_path)
    assert sizes == [20] and rows[-1]["step"] == "20" and rows[-1]["episodes"] == "4", (sizes, rows)


class GuardedTruncEnv(CountEnv):
    """Purpose-built: CountEnv's episodes of 5 steps, each ended by truncation; more than 100 steps
    in one env is an error (a rollout that never stops would otherwise hang)."""

    def __init__(self, render_mode=None):
        super().__init__(length=5, trunc=True)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        assert self.steps <= 100, "the rollout did not stop"
        return super().step(action)


gym.register("TestGuardedTrunc-v0", entry_point=GuardedTruncEnv)


@pytest.mark.parametrize("name", CRITIC_FREE)
def test_a_truncation_ends_an_episode_of_the_critic_free_batch(name, tmp_path):
    """Once the batch is full, an env stops storing where its episode ends, by truncation too:
    episodes of 5 steps ended by truncation, 2 envs, --batch-steps 20: 10 steps each."""
    args = ["--env", "TestGuardedTrunc-v0", "--num-envs", "2", "--batch-steps", "20", "--total-steps", "20"]
    rows = run_main(name, args + ["--hidden", "8"], tmp_path)
    assert rows[-1]["step"] == "20" and rows[-1]["episodes"] == "4", rows


# ------------------------------ tools/watch.py ------------------------------
TURNS = [(2 * math.pi - 0.1, "0%"), (-2 * math.pi + 0.1, "0%"), (math.pi, "100%"), (1.8, "0%"), (-2.2, "100%")]


@pytest.mark.parametrize("angle,share", TURNS)
def test_on_its_back_follows_where_the_torso_points(angle, share, tmp_path):
    """A torso turned all the way round (2 pi - 0.1 rad) points up: upright, not on its back;
    at pi it is on its back. The line is drawn at 2 rad either way, not at a right angle."""
    run_main("ppo", ["--env", "TestPosedWalker-v0", "--total-steps", "16"] + tiny("ppo"), tmp_path)
    out = watch([tmp_path, "--episodes", "1", "--env-kwargs", f"angle={angle}"])
    assert re.search(r"on its back \(turned > 2 rad\) (\d+%) of steps", out).group(1) == share, out


@pytest.mark.parametrize("value", ["nan", "-inf"])
def test_a_non_finite_log_std_start_is_refused_before_a_run_is_written(value, tmp_path):
    """--log-std-init takes any finite number; nan or inf would make every loss NaN after the run
    directory is written: argparse refuses it, exit 2."""
    args = [f"--log-std-init={value}", "--env", "Pendulum-v1", "--total-steps", "2048"]
    res = run_cli("ppo", args + ["--logdir", str(tmp_path / "run")])
    assert res.returncode == 2 and "must be finite" in res.stderr, res.stderr
    assert not (tmp_path / "run").exists()
