"""tools/watch.py, the one tool that watches a run: the return and behaviour it prints (a walker's
torso height and angle), --sample, the reset seeds, --env-kwargs overrides and what it says of them,
video and GIF of a MuJoCo model headless, one episode filmed by default, the GIF's folder, a model
saved by a renamed copy of a script, an edited copy preferred, MUJOCO_GL kept, filming that follows
the body, a bug in one's own env module or copy of a script shown as its traceback, a setting the
env refuses or a missing env module shown as the error of the env or of Python, and each bad input
to the tool itself in one line."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import ROOT, SCRIPTS, run_main, small, tiny, watch

HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL")}


class PictureEnv(gym.Env):
    """Purpose-built: a 16 x 16 picture to film, episodes of 4 steps, reward 1 a step; keeps
    the seed of every reset in `seeds`."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}
    seeds = []

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.render_mode = render_mode

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        PictureEnv.seeds.append(seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), 1.0, self.t >= 4, False, {}

    def render(self):
        return np.full((16, 16, 3), 40 * self.t, np.uint8)


gym.register("TestPicture-v0", entry_point=PictureEnv)


def run_watch(args, cwd=ROOT, env=None):
    """As a user types it: python tools/watch.py ARGS."""
    cmd = [sys.executable, str(ROOT / "tools" / "watch.py"), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def refused(args, capsys, expect):
    """Bad input: exit code 2 and one line on stderr that says `expect`."""
    with pytest.raises(SystemExit) as stop:
        watch(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1 and expect in err, (stop.value.code, err)


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_return_it_prints(name, tmp_path):
    """TestCount-v0 pays 1 a step and ends after `length` steps: a return of 3.0 in every episode
    shows the saved setting length=3 reached the env the tool made, with the script's make_env."""
    rows = run_main(
        name, ["--env", "TestCount-v0", "--env-kwargs", "length=3", "--total-steps", "600"] + small(name), tmp_path
    )
    assert {r["return_mean"] for r in rows if r["return_mean"]} == {"3.0"}
    out = watch([tmp_path, "--episodes", "2"])
    assert out.splitlines()[0] == f"{tmp_path}/model.pt: {name} on TestCount-v0 length=3, 2 episodes of the mean action"
    assert out.splitlines()[1] == "  return 3.0 +- 0.0, length 3 +- 0"


def test_override_and_its_message(tmp_path):
    """--env-kwargs override the saved settings, and the output says which, trained and watched."""
    env = ["--env", "TestCount-v0", "--env-kwargs", "length=3"]
    run_main("ppo", env + ["--total-steps", "256"] + small("ppo"), tmp_path)
    out = watch([tmp_path / "model.pt", "--episodes", "1", "--env-kwargs", "length=5"]).splitlines()
    assert out[1:] == ["  trained with length=3, watched with length=5", "  return 5.0 +- 0.0, length 5 +- 0"]


def test_the_first_line_names_the_settings_played_with(tmp_path):
    """The first line says what the episodes were played in: the override given here, not the
    setting saved in training."""
    env = ["--env", "TestCount-v0", "--env-kwargs", "length=3"]
    run_main("ppo", env + ["--total-steps", "16"] + tiny("ppo"), tmp_path)
    first = watch([tmp_path, "--episodes", "1", "--env-kwargs", "length=5"]).splitlines()[0]
    assert "length=5" in first and "length=3" not in first, first


def test_a_setting_unset_in_training_is_reported(tmp_path):
    """A setting training left at the env's default, given here, is named in the line that
    compares training and watching, as unset in training."""
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "256"] + small("ppo"), tmp_path)
    out = watch([tmp_path, "--episodes", "1", "--env-kwargs", "length=5"]).splitlines()
    assert out[1:] == ["  trained with length unset, watched with length=5", "  return 5.0 +- 0.0, length 5 +- 0"]


def test_sample(tmp_path):
    """The mean action by default; --sample draws actions, the same ones for the same --seed."""
    run_main("ppo", ["--env", "Pendulum-v1", "--total-steps", "256"] + small("ppo"), tmp_path)
    mean = watch([tmp_path, "--episodes", "2"])
    sampled = watch([tmp_path, "--episodes", "2", "--sample"])
    assert mean != sampled and "of sampled actions" in sampled
    assert watch([tmp_path, "--episodes", "2", "--sample"]) == sampled
    assert watch([tmp_path, "--episodes", "2", "--sample", "--seed", "1"]) != sampled


def test_behaviour_of_a_walker(tmp_path):
    run_main("ppo", ["--env", "Walker2d-v4", "--total-steps", "300"] + small("ppo"), tmp_path)
    numbers = watch([tmp_path, "--episodes", "2"]).splitlines()[2]
    assert "n/a" not in numbers
    for quantity in ("forward velocity", "torso height", "torso angle", "on its back (turned > 2 rad)"):
        assert quantity in numbers


def test_torso_height_and_angle_of_an_upright_walker():
    """The forward walker walks upright: its torso's height is about 1.2 m (1.25 m standing)
    and its angle near 0 rad (about 1.17 m and +0.27 rad seen)."""
    out = watch([ROOT / "models" / "walker-forward", "--episodes", "1"]).splitlines()
    words = out[2].replace(",", "").split()
    height = float(words[words.index("height") + 1])
    angle = float(words[words.index("angle") + 1])
    assert 1.0 < height < 1.4 and abs(angle) < 0.5, out[2]


def test_no_behaviour_line_without_a_body(tmp_path):
    run_main("ppo", ["--env", "CartPole-v1", "--total-steps", "256"] + small("ppo"), tmp_path)
    assert len(watch([tmp_path, "--episodes", "1"]).splitlines()) == 2


def test_video_and_gif_of_a_mujoco_model_headless(tmp_path):
    """No display and no MUJOCO_GL: the tool picks EGL itself, films the body, and writes an mp4
    per episode and a GIF of every --every-th frame."""
    pytest.importorskip("moviepy")
    pytest.importorskip("PIL")
    from PIL import Image

    run_main("ppo", ["--env", "Walker2d-v5", "--total-steps", "300"] + small("ppo"), tmp_path)
    res = run_watch([tmp_path, "--video", "--episodes", "2"], env=HEADLESS)
    assert res.returncode == 0, res.stderr
    videos = sorted((tmp_path / "videos").iterdir())
    assert [p.name for p in videos] == ["watch-episode-0.mp4", "watch-episode-1.mp4"]
    assert all(p.stat().st_size > 1000 for p in videos)
    res = run_watch([tmp_path, "--gif", "--steps", "12", "--every", "4", "--out", tmp_path / "w.gif"], env=HEADLESS)
    assert res.returncode == 0, res.stderr
    image = Image.open(tmp_path / "w.gif")
    assert image.n_frames == 4 and image.size == (240, 180)  # the reset's frame and steps 4, 8, 12


@pytest.fixture
def picture_model(tmp_path):
    """A ppo model of TestPicture-v0, in tmp_path / "run"."""
    run_main("ppo", ["--env", "TestPicture-v0", "--total-steps", "16"] + tiny("ppo"), tmp_path / "run")
    return tmp_path / "run"


def test_filming_plays_one_episode_by_default(picture_model):
    """Five episodes to print, one to film (a GIF or a video), unless --episodes says."""
    pytest.importorskip("moviepy")
    pytest.importorskip("PIL")
    assert ", 5 episodes of the mean action" in watch([picture_model]).splitlines()[0]
    assert ", 1 episode of the mean action" in watch([picture_model, "--gif"]).splitlines()[0]
    assert ", 1 episode of the mean action" in watch([picture_model, "--video"]).splitlines()[0]
    assert [p.name for p in (picture_model / "videos").iterdir()] == ["watch-episode-0.mp4"]


def test_reset_seeds_follow_seed(picture_model, monkeypatch):
    """The episodes are reset with seeds --seed, --seed + 1, ... (0, 1, ... by default)."""
    monkeypatch.setattr(PictureEnv, "seeds", [])
    watch([picture_model, "--episodes", "3", "--seed", "7"])
    assert PictureEnv.seeds[-3:] == [7, 8, 9]
    watch([picture_model, "--episodes", "2"])
    assert PictureEnv.seeds[-2:] == [0, 1]


def test_gif_into_a_folder_not_there(picture_model, tmp_path, capsys):
    """--gif --out makes the GIF's folder, as --video makes its own; a folder given as the GIF
    is refused in one line before any filming."""
    pytest.importorskip("PIL")
    out = watch([picture_model, "--gif", "--every", "1", "--out", tmp_path / "new" / "deeper" / "w.gif"])
    assert f"wrote {tmp_path}/new/deeper/w.gif: 5 frames" in out
    refused([picture_model, "--gif", "--out", tmp_path / "new"], capsys, f"--out {tmp_path / 'new'} is a folder")


def test_the_gif_steps_count_all_filmed_episodes_together(picture_model):
    """--steps caps the GIF at the first N steps of all the episodes played, not N of each: three
    episodes of 4 steps and --steps 6 film the reset's frame and steps 1 to 6."""
    pytest.importorskip("PIL")
    out = watch([picture_model, "--gif", "--episodes", "3", "--steps", "6", "--every", "1"])
    assert re.search(r"wrote \S+: 7 frames", out), out


def test_a_camera_chosen_by_camera_id_is_kept(tmp_path, monkeypatch):
    """A camera given as camera_id is the one filmed: no camera_name="track" is added beside it
    (MuJoCo refuses the two together)."""
    pytest.importorskip("PIL")
    monkeypatch.chdir(ROOT)
    env = ["--env", "examples.backward_walker:BackwardWalker-v5", "--total-steps", "16"]
    run_main("ppo", env + tiny("ppo"), tmp_path)
    args = [tmp_path, "--gif", "--steps", "1", "--env-kwargs", "camera_id=0", "--out", tmp_path / "w.gif"]
    res = run_watch(args, env=HEADLESS)
    assert res.returncode == 0 and "wrote" in res.stdout, res.stderr
    assert "camera_id=0" in res.stdout.splitlines()[0]


def test_filming_follows_the_body(tmp_path):
    """The picture of a walker 8 m from where it started changes when its torso leans: the
    camera followed it (gymnasium's default camera stays at the start: the picture is floor)."""
    film = f"""
import sys
import numpy as np
sys.path.insert(0, {str(ROOT / "tools")!r})
import watch
spec = watch.importlib.util.spec_from_file_location("ppo", {str(ROOT / "ppo.py")!r})
script = watch.importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
env = watch.render_env(script, "Walker2d-v5", {{}}, "rgb_array", {{}})
env.reset(seed=0)
qpos, qvel = env.unwrapped.data.qpos.copy(), env.unwrapped.data.qvel.copy()
qpos[0] += 8  # the walker 8 m down the track
env.unwrapped.set_state(qpos, qvel)
before = env.render().astype(int)
qpos[2] += 1  # lean its torso
env.unwrapped.set_state(qpos, qvel)
print(np.abs(env.render() - before).mean())
"""
    (tmp_path / "film.py").write_text(film)
    res = subprocess.run(
        [sys.executable, str(tmp_path / "film.py")],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, MUJOCO_GL="egl"),
    )
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split()[-1]) > 5, res.stdout  # mean pixel change, 0-255 (about 36 seen)


def test_a_renamed_copy_of_a_script(tmp_path):
    """model.pt names the file that saved it: my_ppo.py is found in the working directory, or
    named with --script; elsewhere the tool says to name it."""
    shutil.copy(ROOT / "ppo.py", tmp_path / "my_ppo.py")
    cmd = [sys.executable, "my_ppo.py", "--total-steps", "256", "--num-steps", "64", "--logdir", "run"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert torch.load(tmp_path / "run" / "model.pt", weights_only=True)["algo"] == "my_ppo"
    res = run_watch(["run", "--episodes", "1"], cwd=tmp_path)
    assert res.returncode == 0 and "run/model.pt: my_ppo on CartPole-v1" in res.stdout, res.stderr
    res = run_watch([tmp_path / "run", "--episodes", "1"])
    assert res.returncode == 2 and "saved by my_ppo.py" in res.stderr and "--script" in res.stderr
    res = run_watch([tmp_path / "run", "--episodes", "1", "--script", tmp_path / "my_ppo.py"])
    assert res.returncode == 0, res.stderr


def test_an_edited_copy_in_the_working_directory_is_used(tmp_path, monkeypatch):
    """ppo.py in the working directory (a copy the user edited: here its make_env doubles the
    rewards) plays a model saved by ppo, not the repository's ppo.py."""
    env = ["--env", "TestCount-v0", "--env-kwargs", "length=3"]
    run_main("ppo", env + ["--total-steps", "256"] + small("ppo"), tmp_path / "run")
    edit = """
import gymnasium

make_env_of_the_repo = make_env


def make_env(env_id, env_kwargs):
    env = make_env_of_the_repo(env_id, env_kwargs)
    return gymnasium.wrappers.TransformReward(env, lambda rew: 2 * rew)
"""
    (tmp_path / "ppo.py").write_text((ROOT / "ppo.py").read_text() + edit)
    monkeypatch.chdir(tmp_path)
    out = watch(["run", "--episodes", "1"]).splitlines()
    assert out == [
        "run/model.pt: ppo on TestCount-v0 length=3, 1 episode of the mean action",
        "  return 6.0 +- 0.0, length 3 +- 0",
    ]


def test_a_bug_in_ones_own_copy_of_a_script_shows_its_traceback(tmp_path, monkeypatch):
    """An edited copy of the script that raises as it loads (here a name it never defines) is a
    bug in it, not bad input: it leaves the tool with its traceback, the copy's file and line."""
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "256"] + small("ppo"), tmp_path / "run")
    source = (ROOT / "ppo.py").read_text() + "\nmake_env = make_env_edited\n"
    (tmp_path / "ppo.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NameError, match="make_env_edited") as raised:
        watch(["run", "--episodes", "1"])
    # pytest counts lines from 0
    where = raised.traceback[-1]
    assert (str(where.path), where.lineno) == (str(tmp_path / "ppo.py"), len(source.splitlines()) - 1)


@pytest.mark.parametrize("mujoco_gl,kept", [("osmesa", "osmesa"), (None, "egl")])
def test_a_users_own_mujoco_gl_is_kept(mujoco_gl, kept, tmp_path, monkeypatch):
    """Headless, the tool renders MuJoCo with EGL unless MUJOCO_GL names another backend."""
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "256"] + small("ppo"), tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    if mujoco_gl is None:
        monkeypatch.delenv("MUJOCO_GL", raising=False)
    else:
        monkeypatch.setenv("MUJOCO_GL", mujoco_gl)
    watch([tmp_path, "--episodes", "1"])
    assert os.environ["MUJOCO_GL"] == kept


BUGGY_MODULE = """
import gymnasium as gym
import numpy as np

# The step at which step() reads a key its info does not have.
BUG_AT = 99


class Buggy(gym.Env):
    observation_space = gym.spaces.Box(-10, 10, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        info = {}
        if self.t >= BUG_AT:
            info["speed"] = info["z_velocity"]
        return np.zeros(1, np.float32), 1.0, self.t >= 5, False, info


gym.register("ENV_ID", entry_point=Buggy)
"""


def train_on_a_module(name, tmp_path, monkeypatch):
    """A ppo model of BUGGY_MODULE as the module `name` (its bug not reached) in tmp_path, the
    working directory, which the script's check puts on sys.path: a copy of it, undone after."""
    (tmp_path / f"{name}.py").write_text(BUGGY_MODULE.replace("ENV_ID", f"{name}-v0"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    env = ["--env", f"{name}:{name}-v0"]
    run_main("ppo", env + ["--total-steps", "16"] + tiny("ppo"), tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.parametrize("bug_at", [1, 3])
def test_a_bug_in_ones_own_env_module_shows_its_traceback(bug_at, tmp_path, monkeypatch):
    """An error raised in one's own env module (--env module:id) is a bug in it, not bad input:
    it leaves the tool with its traceback (its type, the module's file and line), whether at the
    first step (which the script's check of the settings also takes) or later."""
    name = f"watch_buggy_envs_{bug_at}"
    run = train_on_a_module(name, tmp_path, monkeypatch)
    monkeypatch.setattr(sys.modules[name], "BUG_AT", bug_at)
    with pytest.raises(KeyError, match="z_velocity") as raised:
        watch([run, "--episodes", "1"])
    # pytest counts lines from 0, as index() does
    where = raised.traceback[-1]
    line = BUGGY_MODULE.splitlines().index('            info["speed"] = info["z_velocity"]')
    assert (str(where.path), where.lineno) == (str(tmp_path / f"{name}.py"), line)


def test_a_missing_env_module_is_named(tmp_path, monkeypatch):
    """A model of an env module that is not in the working directory: Python's error, raised as
    gymnasium imports the module, names it."""
    path_before = list(sys.path)
    run = train_on_a_module("watch_gone_envs", tmp_path, monkeypatch)
    monkeypatch.delitem(sys.modules, "watch_gone_envs")
    monkeypatch.setattr(sys, "path", path_before)
    monkeypatch.chdir(ROOT)
    with pytest.raises(ModuleNotFoundError, match="No module named 'watch_gone_envs'"):
        watch([run, "--episodes", "1"])


def test_bad_input_is_one_line(tmp_path, capsys):
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "256"] + small("ppo"), tmp_path / "run")
    refused([tmp_path / "missing.pt"], capsys, f"{tmp_path / 'missing.pt'}: no such file")
    refused([tmp_path], capsys, f"{tmp_path} holds no model.pt (give one run")
    refused([tmp_path / "run" / "progress.csv"], capsys, "progress.csv is not a model.pt of these scripts")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    refused([tmp_path / "other.pt"], capsys, "other.pt is not a model.pt of these scripts (no algo, env")
    refused([tmp_path / "run", "--script", tmp_path / "nope.py"], capsys, "cannot load the script")
    (tmp_path / "other.py").write_text("x = 1\n")
    refused(
        [tmp_path / "run", "--script", tmp_path / "other.py"],
        capsys,
        "other.py: it has no Actor, RunningNorm, make_env, env_setting, check_env",
    )
    (tmp_path / "deeper.py").write_text(
        (ROOT / "ppo.py").read_text().replace("[obs_dim, hidden, hidden, act_dim]", "[obs_dim, hidden, act_dim]")
    )
    refused([tmp_path / "run", "--script", tmp_path / "deeper.py"], capsys, "deeper.py cannot load")
    # a setting read as the script reads its own: KEY=VALUE, a boolean True or False
    refused([tmp_path / "run", "--env-kwargs", "length"], capsys, "watch.py: error: --env-kwargs must be KEY=VALUE")
    refused([tmp_path / "run", "--env-kwargs", "length=no"], capsys, "watch.py: error: --env-kwargs must be KEY=VALUE")
    refused([tmp_path / "run", "--episodes", "0"], capsys, "--episodes: must be a positive whole number")
    res = run_watch([tmp_path / "run" / "progress.csv"])  # as a user sees it: no traceback
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 1


def test_a_bad_setting_is_the_envs_own_error(tmp_path):
    """A setting the env refuses, given when watching, stops with the env's own error, as in
    training: colour is no setting of TestCount-v0 (gymnasium's error names it), and length=abc
    reaches it as the string 'abc', which its step, taken by the script's check, cannot compare."""
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "16"] + tiny("ppo"), tmp_path)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        watch([tmp_path, "--episodes", "1", "--env-kwargs", "colour=3"])
    with pytest.raises(TypeError, match="'>=' not supported") as raised:
        watch([tmp_path, "--episodes", "1", "--env-kwargs", "length=abc"])
    where = raised.traceback[-1]
    assert (where.path.name, where.name) == ("conftest.py", "step"), where


def test_render_needs_a_display(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    refused([tmp_path, "--render"], capsys, "--render needs a display; without one, use --video or --gif")


def test_render_failure_is_one_line(tmp_path, capsys):
    """An env that cannot render (MuJoCo without an OpenGL context): one line, exit 2, no video."""
    pytest.importorskip("moviepy")
    run_main("rtg_pg", ["--env", "TestNoRender-v0", "--total-steps", "100"] + small("rtg_pg"), tmp_path)
    refused([tmp_path, "--video"], capsys, "cannot render TestNoRender-v0: no OpenGL context")
    assert not (tmp_path / "videos").exists()


@pytest.mark.parametrize("flag,package,pip", [("--video", "moviepy", "moviepy"), ("--gif", "PIL", "pillow")])
def test_missing_optional_package(flag, package, pip, tmp_path, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == package else find_spec(n, *a))
    refused([tmp_path, flag], capsys, f"{flag} needs the optional package {pip}: pip install {pip}")


def test_a_shipped_model_plays():
    """models/ holds trained policies: the forward walker, watched for one episode, walks forward
    for the whole episode (about 4,960 and 4 m/s, seen)."""
    out = watch([ROOT / "models" / "walker-forward", "--episodes", "1"]).splitlines()
    ret, length = out[1].split()[1], out[1].split()[5]
    assert float(ret.replace(",", "")) > 4000 and length == "1,000", out
    assert float(out[2].split()[2]) > 3, out  # forward velocity, m/s
