"""The env a run is made of: --env-kwargs reach every env a script makes and are saved with the
model; a value is a Python literal, else a string (a list stays a list), and an env made by a
**kwargs function takes any; a setting the env refuses stops the run with the env's own error
before anything is written, a missing '=' or a word for a boolean is argparse's one line; MuJoCo
v5 runs; --env module:id imports a user's own env, and the shipped example module's reward
reaches training and watching."""

import argparse
import json
import subprocess
import sys

import gymnasium as gym
import pytest
import torch
from conftest import ROOT, SCRIPTS, load, run_main, small, tiny, watch


@pytest.mark.parametrize("name", SCRIPTS)
def test_env_kwargs_reach_training_and_are_saved(name, tmp_path):
    """TestCount-v0 ends every episode after `length` steps with reward 1 a step, so the return
    is the length: 3 in training shows the envs got length=3 (test_watch: the watched env too)."""
    rows = run_main(
        name, ["--env", "TestCount-v0", "--env-kwargs", "length=3", "--total-steps", "600"] + small(name), tmp_path
    )
    assert {r["return_mean"] for r in rows if r["return_mean"]} == {"3.0"}
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"length": 3}
    assert torch.load(tmp_path / "model.pt", weights_only=True)["env_kwargs"] == {"length": 3}


def run_script(name, args, logdir):
    """python NAME.py ARGS --logdir LOGDIR, as a user runs it."""
    cmd = [sys.executable, str(ROOT / f"{name}.py"), *args, "--logdir", str(logdir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def envs_own_error(name, args, expect, logdir):
    """A setting the env refuses: the error of gymnasium or of the env itself, with its traceback
    (exit code 1), raised by the check before the run's first console line."""
    res = run_script(name, args, logdir)
    assert res.returncode == 1 and "Traceback" in res.stderr and expect in res.stderr, res.stderr
    assert res.stdout == "", res.stdout
    return res.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_unknown_setting_is_gymnasiums_error_and_writes_nothing(name, tmp_path):
    """colour is no setting of Pendulum-v1: gymnasium's own error names it; no run directory."""
    args = ["--env", "Pendulum-v1", "--env-kwargs", "colour=3"]
    envs_own_error(name, args, "unexpected keyword argument 'colour'", tmp_path / "run")
    assert not any(tmp_path.iterdir())


def test_a_value_of_the_wrong_type_is_the_envs_own_error_at_its_first_step(tmp_path):
    """g=abc reaches Pendulum-v1 as the string 'abc' (the scripts check no setting's type): the
    env's own TypeError, raised in its step, which the check takes before anything is written."""
    args = ["--env", "Pendulum-v1", "--env-kwargs", "g=abc"]
    said = envs_own_error("ppo", args, "TypeError", tmp_path / "run")
    assert "pendulum.py" in said and "in step" in said, said
    assert not any(tmp_path.iterdir())


def test_a_missing_equals_sign_or_a_word_for_a_boolean_is_refused_in_one_line(tmp_path):
    """argparse refuses them in one line, exit code 2: KEY alone, and no, off, false, yes, on or
    true in any case, which would reach the env as a string, truthy even where it says false."""
    for setting in ["healthy_reward", "terminate_when_unhealthy=no"]:
        # a tiny run: one that took the setting would end soon
        argv = ["--env", "Walker2d-v5", "--env-kwargs", setting, "--total-steps", "16"] + tiny("ppo")
        res = run_script("ppo", argv, tmp_path / "run")
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert res.stderr.startswith("ppo.py: error: argument --env-kwargs: ") and setting in res.stderr, res.stderr
    assert not any(tmp_path.iterdir())
    env_setting = load("ppo").env_setting
    for word in ["no", "NO", "Off", "false", "FALSE", "yes", "On", "true", "TRUE"]:
        with pytest.raises(argparse.ArgumentTypeError):
            env_setting(f"terminate_when_unhealthy={word}")
    assert env_setting("terminate_when_unhealthy=False") == ("terminate_when_unhealthy", False)
    assert env_setting("terminate_when_unhealthy=True") == ("terminate_when_unhealthy", True)


def test_a_bad_setting_keeps_an_existing_run(tmp_path):
    run_main("vpg", ["--env", "Pendulum-v1", "--total-steps", "300", "--num-steps", "64"], tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    args = ["--env", "Pendulum-v1", "--env-kwargs", "colour=3"]
    envs_own_error("vpg", args, "unexpected keyword argument 'colour'", tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_setting_that_reaches_the_env_through_kwargs_is_taken(monkeypatch):
    """Walker2d-v5 takes camera_id through its maker's **kwargs (MujocoEnv's own setting): the
    check makes the env with it and passes, so tools/watch.py can film with a camera of one's own."""
    made = spy_make(monkeypatch)
    load("ppo").check_env("Walker2d-v5", {"camera_id": 0})
    assert made and made[-1][0] == "Walker2d-v5" and made[-1][1].get("camera_id") == 0, made


def test_literal_values(tmp_path):
    """A value is a Python literal, else a string, and reaches the env as it is: no type of the
    scripts' own (an int stays an int, a list a list); a key given twice keeps its last value."""
    env_setting = load("ppo").env_setting
    assert [env_setting(s) for s in ["forward_reward_weight=-1", "healthy_z_range=(0.5,2)"]] == [
        ("forward_reward_weight", -1),
        ("healthy_z_range", (0.5, 2)),
    ]
    assert env_setting("healthy_z_range=[0.5,2]") == ("healthy_z_range", [0.5, 2])
    assert env_setting("terminate_when_unhealthy=1") == ("terminate_when_unhealthy", 1)
    assert env_setting("render_mode=rgb_array") == ("render_mode", "rgb_array")
    given = ["--env-kwargs", "length=3", "--env-kwargs", "length=5"]
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "16"] + given + tiny("ppo"), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"length": 5}


def spy_make(monkeypatch):
    """Every gym.make(id, **kwargs) call, as (id, kwargs)."""
    made, real = [], gym.make

    def make(env_id, *args, **kwargs):
        made.append((env_id, kwargs))
        return real(env_id, *args, **kwargs)

    monkeypatch.setattr(gym, "make", make)
    return made


@pytest.mark.parametrize("name,env", [(n, "Walker2d-v5") for n in SCRIPTS] + [("ppo", "Hopper-v5")])
def test_a_list_for_a_tuple_setting(name, env, tmp_path, monkeypatch):
    """healthy_z_range's default is a tuple; a list, as a student types it, is accepted too,
    and reaches the env."""
    made = spy_make(monkeypatch)
    argv = ["--env", env, "--env-kwargs", "healthy_z_range=[0.5,2]", "--total-steps", "32"]
    assert run_main(name, argv + tiny(name), tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"healthy_z_range": [0.5, 2]}
    assert made and all(kwargs.get("healthy_z_range") == [0.5, 2] for _, kwargs in made)


@pytest.mark.parametrize("name", SCRIPTS)
def test_env_kwargs_for_an_env_made_by_a_kwargs_function(name, tmp_path, monkeypatch):
    """examples/backward_walker.py makes its env with make_backward_walker(**kwargs), which
    names no setting: --env-kwargs go through to Walker2d-v5 (a wrong one fails there)."""
    monkeypatch.chdir(ROOT)  # --env module:id imports the module from the working directory
    made = spy_make(monkeypatch)
    argv = ["--env", "examples.backward_walker:BackwardWalker-v5", "--total-steps", "32"]
    assert run_main(name, argv + ["--env-kwargs", "healthy_reward=2.5"] + tiny(name), tmp_path)
    walkers = [kwargs for env_id, kwargs in made if env_id == "Walker2d-v5"]
    assert walkers and all(kwargs.get("healthy_reward") == 2.5 for kwargs in walkers), made
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"healthy_reward": 2.5}


@pytest.mark.parametrize(
    "name,env", [(n, "Walker2d-v5") for n in SCRIPTS] + [("ppo", "Hopper-v5"), ("ppo", "HalfCheetah-v5")]
)
def test_mujoco_v5(name, env, tmp_path):
    rows = run_main(name, ["--env", env, "--total-steps", "300"] + small(name), tmp_path)
    assert int(rows[-1]["step"]) >= 300


MODULE = '''
import gymnasium as gym
import numpy as np


class Drift(gym.Env):
    """One number that the action pushes; reward 1 a step; 5 steps an episode."""
    observation_space = gym.spaces.Box(-10, 10, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.x = 0, np.zeros(1, np.float32)
        return self.x, {}

    def step(self, action):
        self.t, self.x = self.t + 1, self.x + np.float32(action[0])
        return self.x, 1.0, self.t >= 5, False, {}


gym.register("Drift-v0", entry_point=Drift)
'''


def test_own_env_module(tmp_path):
    """--env my_module:Drift-v0 imports my_module from the working directory, in training and
    in tools/watch.py; a module that is not there: Python's error, which names it, and no run."""
    (tmp_path / "my_envs.py").write_text(MODULE)
    cli = [sys.executable, str(ROOT / "ppo.py")]
    res = subprocess.run(
        cli + ["--env", "my_envs:Drift-v0", "--total-steps", "256", "--num-steps", "64", "--logdir", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0 and "done at step 256" in res.stdout, res.stderr
    res = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "watch.py"), "run", "--episodes", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "ppo on my_envs:Drift-v0, 1 episode of the mean action\n  return 5.0 +- 0.0" in res.stdout, res.stderr
    res = subprocess.run(cli + ["--env", "no_such_module:Drift-v0"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 1 and "ModuleNotFoundError: No module named 'no_such_module'" in res.stderr, res.stderr
    assert not (tmp_path / "runs").exists()  # the default run directory's folder


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bug_in_ones_own_env_module_shows_its_traceback(name, tmp_path):
    """A bug in one's own env module (a KeyError in its step) shows its traceback: its type, the
    module's file and line, raised by the check's step before the run directory is written."""
    buggy = MODULE.replace(
        "return self.x, 1.0, self.t >= 5, False, {}", 'return self.x, {}["z_velocity"], False, False, {}'
    )
    (tmp_path / "my_walker.py").write_text(buggy)
    line = buggy.splitlines().index('        return self.x, {}["z_velocity"], False, False, {}') + 1
    res = subprocess.run(
        [sys.executable, str(ROOT / f"{name}.py"), "--env", "my_walker:Drift-v0", "--logdir", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 1 and "Traceback" in res.stderr, res.stderr
    assert f'my_walker.py", line {line}, in step' in res.stderr and "KeyError: 'z_velocity'" in res.stderr
    assert not (tmp_path / "run").exists()


def test_example_reward_module(tmp_path, monkeypatch):
    """examples/backward_walker.py registers Walker2d-v5 with a reward of its own: that reward, not
    the env's, is what the episode returns of training sum, and tools/watch.py plays the same env."""
    monkeypatch.chdir(ROOT)  # --env module:id imports the module from the working directory
    backward = pytest.importorskip("examples.backward_walker")
    paid, real = [], backward.Backward.step

    def step(self, action):
        obs, rew, term, trunc, info = real(self, action)
        paid.append((rew, term or trunc, info["x_velocity"]))
        return obs, rew, term, trunc, info

    monkeypatch.setattr(backward.Backward, "step", step)
    env = ["--env", "examples.backward_walker:BackwardWalker-v5", "--num-envs", "1"]
    rows = run_main("ppo", env + ["--total-steps", "600", "--num-steps", "300", "--num-minibatches", "4"], tmp_path)
    ended, ret = [], 0.0
    for rew, done, _ in paid[1:]:  # the first step is the env check's
        ret += rew
        if done:
            ended.append(ret)
            ret = 0.0
    assert len(ended) >= 2 and any(v != 0 for _, _, v in paid)
    logged = sum(float(r["return_mean"]) * int(r["episodes"]) for r in rows if r["return_mean"])
    episodes = sum(int(r["episodes"]) for r in rows)  # each row's mean is rounded to 0.01
    assert episodes == len(ended) and logged == pytest.approx(sum(ended), abs=0.005 * episodes)
    paid.clear()
    out = watch([tmp_path, "--episodes", "1"])
    assert "ppo on examples.backward_walker:BackwardWalker-v5, 1 episode" in out and paid
    watched = float(out.splitlines()[1].split()[1].replace(",", ""))
    length = int(out.splitlines()[1].split()[5].replace(",", ""))
    # the episode's steps are the last ones: before them, the tool's checks take a step or two
    assert watched == pytest.approx(sum(rew for rew, _, _ in paid[-length:]), abs=0.1)


def test_backward_walker_pays_for_walking_backward():
    """examples/backward_walker.py pays -x_velocity where Walker2d-v5 pays +x_velocity: the same
    actions from the same state earn its reward = the env's - 2 x_velocity, where x_velocity is
    the torso's own, its x position's change over a step's time (positive: forward)."""
    import importlib

    import gymnasium as gym
    import numpy as np

    # registers BackwardWalker-v5
    importlib.import_module("examples.backward_walker")
    walker, plain = gym.make("BackwardWalker-v5"), gym.make("Walker2d-v5")
    walker.reset(seed=0)
    plain.reset(seed=0)
    x = walker.unwrapped.data.qpos[0]
    rng = np.random.default_rng(0)
    speeds = []
    for _ in range(40):
        act = rng.uniform(-1, 1, 6)
        _, rew, term, trunc, info = walker.step(act)
        _, plain_rew, _, _, plain_info = plain.step(act)
        speed = (info["x_position"] - x) / walker.unwrapped.dt
        x = info["x_position"]
        assert info["x_velocity"] == pytest.approx(speed) and info["x_velocity"] == plain_info["x_velocity"]
        assert rew == pytest.approx(info["reward_survive"] + info["reward_ctrl"] - speed)
        assert rew == pytest.approx(plain_rew - 2 * speed)
        speeds.append(speed)
        if term or trunc:
            break
    assert min(speeds) < -0.1 and max(speeds) > 0.1
