"""Evaluating and watching a saved run, the same in every script: --eval-sample, --render,
--capture-video, --tensorboard, and a one-line error when an optional package or a display
is missing."""

import importlib.util

import pytest
from conftest import SCRIPTS, load, run_cli, run_main, small


def eval_out(name, args, capsys):
    load(name).main(args)
    return capsys.readouterr().out


@pytest.mark.parametrize("name", SCRIPTS)
def test_eval_sample_flag(name, tmp_path, capsys):
    """Mean actions by default; --eval-sample draws actions, reproducibly for a given seed."""
    run_main(name, ["--env", "Pendulum-v1", "--total-steps", "300"] + small(name), tmp_path)
    args = ["--eval", str(tmp_path / "model.pt"), "--eval-episodes", "2"]
    mean = eval_out(name, args, capsys)
    sampled = eval_out(name, args + ["--eval-sample"], capsys)
    assert f"eval Pendulum-v1 ({name}): return" in mean and mean != sampled
    assert eval_out(name, args + ["--eval-sample"], capsys) == sampled
    assert eval_out(name, args, capsys) == mean


@pytest.mark.parametrize("name", SCRIPTS)
def test_missing_optional_package(name, monkeypatch, capsys):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n in ("moviepy", "tensorboard") else find_spec(n, *a)
    )
    for flag, package in (("--capture-video", "moviepy"), ("--tensorboard", "tensorboard")):
        with pytest.raises(SystemExit) as stop:
            load(name).main([flag])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and f"{flag} needs the optional package {package}: pip install {package}" in err


def test_render_needs_a_display(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(SystemExit) as stop:
        load("ppo").main(["--render", "--logdir", str(tmp_path)])
    assert stop.value.code == 2 and "--render needs a display" in capsys.readouterr().err
    assert not (tmp_path / "progress.csv").exists()


def test_render_failure_is_one_line(tmp_path, capsys):
    """An env that cannot render (MuJoCo without an OpenGL context): one line, exit 2."""
    pytest.importorskip("moviepy")
    run_main("rtg_pg", ["--env", "TestNoRender-v0", "--total-steps", "100"] + small("rtg_pg"), tmp_path)
    with pytest.raises(SystemExit) as stop:
        load("rtg_pg").main(["--eval", str(tmp_path / "model.pt"), "--capture-video"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot render TestNoRender-v0: no OpenGL context (headless MuJoCo needs MUJOCO_GL=egl)" in err
    assert not (tmp_path / "videos").exists()


def test_tensorboard_and_video_of_a_run(tmp_path):
    """--tensorboard writes progress.csv's columns as curves; --capture-video films one episode
    after training and every --eval episode, into the run directory's videos/."""
    pytest.importorskip("moviepy")
    pytest.importorskip("pygame")  # CartPole draws its frames with pygame
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    rows = run_main(
        "ppo", ["--total-steps", "1024", "--num-steps", "128", "--tensorboard", "--capture-video"], tmp_path
    )
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert {"return_mean", "loss_pi", "kl", "sps"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("loss_pi")] == [int(r["step"]) for r in rows]
    # TensorBoard keeps float32 and the CSV 5 decimals: equal within 1e-4, not to the last digit
    csv_values = [float(r["loss_pi"]) for r in rows]
    assert [e.value for e in acc.Scalars("loss_pi")] == pytest.approx(csv_values, abs=1e-4)
    assert [p.name for p in (tmp_path / "videos").iterdir()] == ["eval-episode-0.mp4"]
    res = run_cli("ppo", ["--eval", str(tmp_path / "model.pt"), "--eval-episodes", "2", "--capture-video"])
    assert res.returncode == 0, res.stderr
    videos = sorted((tmp_path / "videos").iterdir())
    assert [p.name for p in videos] == ["eval-episode-0.mp4", "eval-episode-1.mp4"]
    assert all(p.stat().st_size > 1000 for p in videos)
