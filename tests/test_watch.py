"""tools/watch.py, the one tool that watches a run: the return and behaviour it prints, --sample,
--env-kwargs overrides and what it says of them, video and GIF of a MuJoCo model headless, a model
saved by a renamed copy of a script, filming that follows the body, and each bad input in one line."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, SCRIPTS, run_main, small, watch

HEADLESS = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL")}


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


def test_bad_input_is_one_line(tmp_path, capsys):
    run_main("ppo", ["--env", "TestCount-v0", "--total-steps", "256"] + small("ppo"), tmp_path / "run")
    refused([tmp_path / "missing.pt"], capsys, f"{tmp_path / 'missing.pt'}: no such file")
    refused([tmp_path], capsys, f"{tmp_path} holds no model.pt (give one run")
    refused([tmp_path / "run" / "progress.csv"], capsys, "progress.csv is not a model.pt of these scripts")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    refused([tmp_path / "other.pt"], capsys, "other.pt is not a model.pt of these scripts (no algo, env")
    refused([tmp_path / "run", "--script", tmp_path / "nope.py"], capsys, "cannot load the script")
    (tmp_path / "deeper.py").write_text(
        (ROOT / "ppo.py").read_text().replace("[obs_dim, hidden, hidden, act_dim]", "[obs_dim, hidden, act_dim]")
    )
    refused([tmp_path / "run", "--script", tmp_path / "deeper.py"], capsys, "deeper.py cannot load")
    refused(
        [tmp_path / "run", "--env-kwargs", "length=abc"], capsys, "watch.py: error: --env-kwargs length takes a int"
    )
    refused([tmp_path / "run", "--episodes", "0"], capsys, "--episodes: must be a positive whole number")
    res = run_watch([tmp_path / "run" / "progress.csv"])  # as a user sees it: no traceback
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.splitlines()) == 1


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
