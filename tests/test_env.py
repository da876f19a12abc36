"""The env a run is made of: --env-kwargs reach every env a script makes (training and
--eval) and are saved with the model; a bad one is one line and no run directory; MuJoCo v5
runs; --env module:id imports a user's own env; filming follows the body."""

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SCRIPTS, load, run_cli, run_main, small


@pytest.mark.parametrize("name", SCRIPTS)
def test_env_kwargs_reach_training_and_eval(name, tmp_path, capsys):
    """TestCount-v0 ends every episode after `length` steps with reward 1 a step, so the return
    is the length: 3 in training and in --eval shows that both envs got length=3."""
    rows = run_main(
        name, ["--env", "TestCount-v0", "--env-kwargs", "length=3", "--total-steps", "600"] + small(name), tmp_path
    )
    assert {r["return_mean"] for r in rows if r["return_mean"]} == {"3.0"}
    assert json.loads((tmp_path / "config.json").read_text())["env_kwargs"] == {"length": 3}
    assert torch.load(tmp_path / "model.pt", weights_only=True)["env_kwargs"] == {"length": 3}
    load(name).main(["--eval", str(tmp_path / "model.pt"), "--eval-episodes", "2"])
    assert "eval TestCount-v0 (%s): return 3.0 +- 0.0 over 2 episodes" % name in capsys.readouterr().out


def bad_env(name, args, expect, logdir):
    res = run_cli(name, args + ["--logdir", str(logdir)])
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and expect in res.stderr, res.stderr


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_env_kwargs_are_one_line_and_write_nothing(name, tmp_path):
    env = ["--env", "Pendulum-v1", "--env-kwargs"]
    bad_env(name, env + ["colour=3"], "unexpected keyword argument 'colour'", tmp_path / "a")
    if name == "ppo":  # the same shared code in every file
        bad_env(name, env + ["g"], "--env-kwargs takes KEY=VALUE, got 'g'", tmp_path / "b")
        bad_env(name, env + ["g=abc"], "cannot make env 'Pendulum-v1' with {'g': 'abc'}", tmp_path / "c")
    assert not any(tmp_path.iterdir())  # no run directory was written


def test_bad_env_kwargs_keep_an_existing_run(tmp_path):
    run_main("vpg", ["--env", "Pendulum-v1", "--total-steps", "300", "--num-steps", "64"], tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad_env("vpg", ["--env", "Pendulum-v1", "--env-kwargs", "colour=3"], "unexpected keyword", tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_literal_values():
    key_value = load("ppo").key_value
    assert key_value("forward_reward_weight=-1") == ("forward_reward_weight", -1)
    assert key_value("healthy_z_range=(0.5,2)") == ("healthy_z_range", (0.5, 2))
    assert key_value("terminate_when_unhealthy=False") == ("terminate_when_unhealthy", False)
    assert key_value("xml_file=my.xml") == ("xml_file", "my.xml")  # a bare word stays a string


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
    in --eval; a module that cannot be imported is one line."""
    (tmp_path / "my_envs.py").write_text(MODULE)
    cli = [sys.executable, str(ROOT / "ppo.py")]
    res = subprocess.run(
        cli + ["--env", "my_envs:Drift-v0", "--total-steps", "256", "--num-steps", "64", "--logdir", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0 and "done: 256 steps" in res.stdout, res.stderr
    res = subprocess.run(
        cli + ["--eval", "run/model.pt", "--eval-episodes", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "eval my_envs:Drift-v0 (ppo): return 5.0" in res.stdout, res.stderr
    res = subprocess.run(cli + ["--env", "no_such_module:Drift-v0"], cwd=tmp_path, capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "No module named 'no_such_module'" in res.stderr


FILM = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("script", sys.argv[1])
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
env = script.watch_env("Walker2d-v5", {}, "rgb_array")
env.reset(seed=0)
qpos, qvel = env.unwrapped.data.qpos.copy(), env.unwrapped.data.qvel.copy()
qpos[0] += 8  # the walker 8 m down the track
env.unwrapped.set_state(qpos, qvel)
before = env.render().astype(int)
qpos[2] += 1  # lean its torso
env.unwrapped.set_state(qpos, qvel)
print(np.abs(env.render() - before).mean())
"""


def test_filming_follows_the_body(tmp_path):
    """The picture of a walker 8 m from where it started changes when its torso leans: the
    camera followed it (gymnasium's default camera stays at the start: the picture is floor)."""
    (tmp_path / "film.py").write_text(FILM)
    res = subprocess.run(
        [sys.executable, str(tmp_path / "film.py"), str(ROOT / "ppo.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, MUJOCO_GL="egl"),
    )
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split()[-1]) > 5, res.stdout  # mean pixel change, 0-255 (about 36 seen)
