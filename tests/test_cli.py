"""The command-line and output contract, for every script: smoke runs, run directory, the
console (its time left in minutes), determinism, TensorBoard, bad input (a flag's: argparse's one
line and exit code 2, abbreviated flags and a batch of one too; an env that cannot run: its own
error, exit code 1, and no run directory), an existing run refused, and the closed ends of a range
accepted."""

import json
import math
import re
import sys
import time

import gymnasium as gym
import pytest
import torch
from conftest import SCRIPTS, WITH_CRITIC, flags, load, read_csv, run_cli, run_main, small, tiny, watch

TIMING = ("sps", "time")


@pytest.mark.parametrize("env", ["CartPole-v1", "Pendulum-v1"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_smoke_run_directory(name, env, tmp_path):
    rows = run_main(name, ["--env", env, "--total-steps", "600"] + small(name), tmp_path)
    assert len(rows) >= 1 and int(rows[-1]["step"]) >= 600
    assert {"update", "step", "return_mean", "sps"} <= set(rows[0])
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["env"] == env and config["algo"] == name and "torch" in config
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)  # no pickle execution needed
    assert ckpt["algo"] == name and ckpt["env"] == env and ckpt["obs_mean"].shape == ckpt["obs_var"].shape
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == int(rows[-1]["step"])


@pytest.mark.parametrize("name", ["rtg_pg", "ppo"])
def test_mujoco_smoke(name, tmp_path):
    rows = run_main(name, ["--env", "Walker2d-v4", "--total-steps", "400"] + small(name), tmp_path)
    assert int(rows[-1]["step"]) >= 400


@pytest.mark.parametrize("name", SCRIPTS)
def test_same_seed_same_progress(name, tmp_path):
    args = ["--env", "CartPole-v1", "--total-steps", "1500", "--seed", "7"] + small(name)
    a, b = run_main(name, args, tmp_path / "a"), run_main(name, args, tmp_path / "b")
    strip = [{k: v for k, v in r.items() if k not in TIMING} for r in a]
    assert strip == [{k: v for k, v in r.items() if k not in TIMING} for r in b]
    c = run_main(name, args[: -len(small(name)) - 2] + ["--seed", "8"] + small(name), tmp_path / "c")
    assert [r["loss_v" if "loss_v" in r else "ent"] for r in c] != [r["loss_v" if "loss_v" in r else "ent"] for r in a]


def test_cli_train_then_watch(tmp_path):
    """As a user types it: the console says what runs and where, one short line a row (step of
    total, percent, return, steps/s, time left), the summary; then the tool watches the model."""
    run = tmp_path / "run"
    res = run_cli("ppo", ["--total-steps", "4096", "--num-steps", "256", "--logdir", str(run)])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"ppo on CartPole-v1, 4,096 steps, run directory {run} (Ctrl-C stops and keeps it)"
    assert len(lines) == 4 and all(len(line) < 100 for line in lines[1:])
    assert re.fullmatch(r"2,048 of 4,096 steps \(50%\) \| return [0-9.]+ \| [0-9,]+ steps/s \| \d+ min left", lines[1])
    assert lines[2].startswith("4,096 of 4,096 steps (100%) | return ") and lines[2].endswith("| 0 min left")
    assert re.fullmatch(r"done at step 4,096; mean return of the last 100 episodes [0-9.]+", lines[3])
    assert "return" in watch([run, "--episodes", "2"])


def bad(name, args, expect):
    """A flag's bad value: argparse's one line, exit code 2."""
    res = run_cli(name, args)
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and expect in res.stderr, res.stderr


def stopped(name, args, expect):
    """Input the script itself refuses (a space it cannot take, an existing run): one line, exit code 1."""
    res = run_cli(name, args)
    assert res.returncode == 1 and "Traceback" not in res.stderr, (res.returncode, res.stdout, res.stderr)
    assert res.stderr.strip().splitlines() == [expect], res.stderr


def crashed(name, args, expect, logdir):
    """An env that cannot run: the env's (or gymnasium's) own error, its traceback and exit code 1,
    its message last; and before anything is written, so no run directory."""
    res = run_cli(name, args + ["--logdir", str(logdir)])
    assert res.returncode == 1 and "Traceback" in res.stderr, (res.returncode, res.stdout, res.stderr)
    assert expect in res.stderr.strip().splitlines()[-1], res.stderr
    assert not logdir.exists() and not res.stdout, res.stdout


@pytest.mark.parametrize("name", SCRIPTS)
def test_bad_env_and_budget(name, tmp_path):
    crashed(name, ["--env", "NoSuchEnv-v9"], "NameNotFound: Environment `NoSuchEnv` doesn't exist", tmp_path / "a")
    bad(name, ["--total-steps", "-5"], f"{name}.py: error: argument --total-steps: must be a whole number > 0, got -5")


def test_bad_input_cases(tmp_path):
    blackjack = ["--env", "Blackjack-v1", "--logdir", str(tmp_path / "a")]
    stopped(
        "rtg_pg",
        blackjack,
        "rtg_pg: unsupported observation space Tuple(Discrete(32), Discrete(11), Discrete(2)) (only a 1-D Box)",
    )
    frozen = ["--env", "FrozenLake-v1", "--logdir", str(tmp_path / "b")]
    stopped("a2c", frozen, "a2c: unsupported observation space Discrete(16) (only a 1-D Box)")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    try:
        import Box2D  # noqa: F401  (an optional extra: only when it is missing can the error be shown)
    except ImportError:
        crashed("trpo", ["--env", "LunarLander-v3"], "DependencyNotInstalled: Box2D is not installed", tmp_path / "d")
    bad("vpg", ["--gamma", "1.5"], "vpg.py: error: argument --gamma: must be in (0, 1], got 1.5")
    bad("ppo", ["--num-minibatches", "5000", "--num-steps", "16"], "--num-minibatches")
    if not torch.cuda.is_available():
        bad("ppo", ["--device", "cuda", "--logdir", str(tmp_path / "c")], "argument --device: invalid choice: 'cuda'")


@pytest.mark.parametrize("name", WITH_CRITIC)
def test_a_batch_of_one_is_refused(name, tmp_path, capsys):
    """The advantages are normalized by their std over the batch, which one sample has not (NaN,
    and the run stopped at its first update): --num-steps 1 --num-envs 1 is refused in one line,
    exit code 2, before any run directory; a batch of two runs."""
    minibatches = ["--num-minibatches", "1"] if "num-minibatches" in flags(name) else []
    one = ["--num-steps", "1", "--num-envs", "1", "--total-steps", "8", "--hidden", "8"] + minibatches
    with pytest.raises(SystemExit) as stop:
        load(name).main(one + ["--logdir", str(tmp_path / "one")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--num-steps x --num-envs must be at least 2" in err and not (tmp_path / "one").exists(), err
    rows = run_main(name, one + ["--num-envs", "2"], tmp_path / "two")
    assert rows[-1]["step"] == "8" and all(math.isfinite(float(v)) for r in rows for v in r.values() if v), rows


def test_mistakes_a_student_makes(tmp_path):
    """A typo of a flag is an error (no abbreviations); 1e6 is a whole number; a boolean setting
    given as a word (no, Off) is refused by argparse; a setting the env lacks is named by gymnasium,
    and a number typed as a word fails at the env's first step: either before any run directory."""
    bad("ppo", ["--total-step", "100"], "unrecognized arguments: --total-step")
    bad("ppo", ["--env-kwarg", "length=3"], "unrecognized arguments: --env-kwarg")
    walker = ["--env", "Walker2d-v5", "--env-kwargs"]
    for word in ("no", "Off"):
        pair = f"terminate_when_unhealthy={word}"
        # a short run, if it were accepted
        short = ["--total-steps", "16", "--num-steps", "16", "--num-minibatches", "2", "--logdir", str(tmp_path / "w")]
        bad("ppo", walker + [pair] + short, f"a boolean True or False: {pair}")
    assert not (tmp_path / "w").exists()
    minus1 = walker + ["forward_reward_weight=minus1"]
    crashed("ppo", minus1, "TypeError: can't multiply sequence by non-int", tmp_path / "w")
    unknown = walker + ["forward_weight=1"]
    crashed("ppo", unknown, "got an unexpected keyword argument 'forward_weight'", tmp_path / "w")
    rows = run_main("ppo", ["--total-steps", "1e3", "--num-steps", "64"], tmp_path / "e")
    assert json.loads((tmp_path / "e" / "config.json").read_text())["total_steps"] == 1000 and rows
    bad("ppo", ["--total-steps", "1e-3"], "argument --total-steps: must be a whole number > 0, got 1e-3")


class Accepted(BaseException):
    """Raised where an accepted run would make its first env."""


def make_nothing(env_id, *args, **kwargs):
    raise Accepted(f"the run was accepted and made {env_id}")


@pytest.mark.parametrize("name", SCRIPTS)
def test_abbreviated_flags_are_refused(name, tmp_path, monkeypatch, capsys):
    """A typo that argparse would read as an abbreviation (--total-step for --total-steps) is an
    error in every script: one line, exit code 2, and no run."""
    monkeypatch.setattr(gym, "make", make_nothing)
    for typo in (["--total-step", "10"], ["--num-env", "2"]):
        with pytest.raises(SystemExit) as stop:
            load(name).main(typo + ["--logdir", str(tmp_path / "run")])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"unrecognized arguments: {typo[0]} {typo[1]}" in err, err
    assert not (tmp_path / "run").exists()


CLOSED_ENDS = [(n, f) for n in SCRIPTS for f in ("lam", "ent-coef", "vf-coef") if f in flags(n)]


@pytest.mark.parametrize("name,flag", CLOSED_ENDS)
def test_closed_ends_of_a_range_are_accepted(name, flag, tmp_path):
    """--lam, --ent-coef and --vf-coef take any value in [0, 1]: 0 and 1 run."""
    for value in ("0", "1"):
        rows = run_main(name, [f"--{flag}", value, "--total-steps", "32"] + tiny(name), tmp_path / value)
        config = json.loads((tmp_path / value / "config.json").read_text())
        assert rows and config[flag.replace("-", "_")] == float(value)


def test_time_left_is_in_minutes(tmp_path, monkeypatch, capsys):
    """Each console row ends in "N min left": the steps to go at the pace so far, in minutes,
    from the steps and the elapsed time (progress.csv's time) of the same row. A clock that
    jumps 90 s at every reading makes the run take minutes."""
    real, readings = time.time, []

    def clock():
        readings.append(None)
        return real() + 90 * len(readings)

    monkeypatch.setattr(time, "time", clock)
    fast = ["--num-minibatches", "1", "--update-epochs", "1", "--vf-iters", "1", "--hidden", "8"]
    load("ppo").main(["--total-steps", "6144", "--num-steps", "512", "--logdir", str(tmp_path)] + fast)
    printed = re.findall(r"([\d,]+) of 6,144 steps .* (\d+) min left", capsys.readouterr().out)
    rows = read_csv(tmp_path / "progress.csv")
    assert len(printed) == len(rows) == 3
    for (step, left), row in zip(printed, rows):
        assert int(step.replace(",", "")) == int(row["step"])
        want = (6144 - int(row["step"])) * float(row["time"]) / int(row["step"]) / 60
        assert abs(int(left) - want) <= 0.51, (left, want, row)
    assert int(printed[0][1]) >= 3


def test_existing_logdir(tmp_path):
    run_main("vpg", ["--total-steps", "300", "--num-steps", "64"], tmp_path)
    before = (tmp_path / "progress.csv").read_text()
    stopped("vpg", ["--logdir", str(tmp_path)], f"vpg: {tmp_path} already holds a run; choose another --logdir")
    assert (tmp_path / "progress.csv").read_text() == before


def test_sigterm_keeps_the_run(tmp_path):
    """SIGTERM (or Ctrl-C) mid-run: a clean exit, progress.csv and a loadable model.pt stay."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "vpg.py"), "--num-steps", "64", "--logdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    # model.pt is there from the start: wait for a row of progress.csv, then stop the run
    progress = tmp_path / "progress.csv"
    while not (progress.exists() and len(progress.read_text().splitlines()) >= 2) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted at step" in out and str(tmp_path) in out
    assert len((tmp_path / "progress.csv").read_text().splitlines()) >= 2
    assert torch.load(tmp_path / "model.pt", weights_only=True)["algo"] == "vpg"


@pytest.mark.parametrize("name", ["rtg_pg", "ppo"])
def test_nan_stops_with_last_good_model(name, tmp_path, capsys):
    """A NaN reward poisons the loss: the run stops with a message naming the update and keeps
    the model of the last good update."""
    with pytest.raises(SystemExit) as stop:
        load(name).main(["--env", "TestNan-v0", "--total-steps", "3000", "--logdir", str(tmp_path)] + small(name))
    # sys.exit(message): exit code 1
    assert re.fullmatch(rf"{name}: stopped: non-finite loss at update \d+; model.pt is the last", stop.value.code)
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in ckpt["actor"].values())


def test_nan_in_the_first_update_still_leaves_a_model(tmp_path):
    """The reward is NaN within the first update: the message names update 1, and model.pt is
    there (the policy as it started), whole."""
    with pytest.raises(SystemExit) as stop:
        load("ppo").main(
            ["--env", "TestNan-v0", "--num-steps", "128", "--num-minibatches", "4", "--logdir", str(tmp_path)]
        )
    said = str(stop.value.code)
    assert said == "ppo: stopped: non-finite loss at update 1; model.pt is the last", said
    ckpt = torch.load(tmp_path / "model.pt", weights_only=True)
    assert ckpt["algo"] == "ppo" and all(torch.isfinite(v).all() for v in ckpt["actor"].values())


@pytest.mark.parametrize("name", SCRIPTS)
def test_log_std_init(name, tmp_path):
    """--log-std-init (shared) sets where the Gaussian's log-std starts; one small update barely moves it."""
    for value in (0.0, -1.0):
        run_main(
            name,
            ["--env", "Pendulum-v1", "--total-steps", "256", "--log-std-init", str(value)] + small(name),
            tmp_path / str(value),
        )
        log_std = torch.load(tmp_path / str(value) / "model.pt", weights_only=True)["actor"]["log_std"]
        assert (log_std - value).abs().max() < 0.3, log_std  # one update moves it < 0.2; the default would be 0.5 off


def test_short_updates_share_a_row(tmp_path):
    """a2c's 80-step updates: a row once ROW_STEPS steps have passed and one at the end, holding
    every episode that ended since the row before (the same episodes as one row per update)."""
    args = ["--total-steps", "20000", "--seed", "1"]
    every = run_main("a2c", args, tmp_path / "every")
    rows = run_main("a2c", args, tmp_path / "rows", row_steps=None)
    steps = [int(r["step"]) for r in rows]
    assert steps[-1] == int(every[-1]["step"]) and len(rows) < len(every) / 20
    assert all(b - a >= load("a2c").ROW_STEPS for a, b in zip([0] + steps[:-2], steps[:-1]))

    def episodes(rs):
        return sum(int(r["episodes"]) for r in rs), sum(float(r["return_mean"] or 0) * int(r["episodes"]) for r in rs)

    assert episodes(rows)[0] == episodes(every)[0] > 100
    assert episodes(rows)[1] == pytest.approx(episodes(every)[1], rel=1e-3)


@pytest.mark.parametrize("name", SCRIPTS)
def test_missing_tensorboard(name, tmp_path, monkeypatch):
    """--tensorboard without the package: torch's ImportError, before anything is written."""
    # as if tensorboard were not installed: torch.utils.tensorboard imports it afresh, and fails
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.delitem(sys.modules, "torch.utils.tensorboard", raising=False)
    with pytest.raises(ImportError, match="tensorboard"):
        load(name).main(["--tensorboard", "--total-steps", "16", "--logdir", str(tmp_path / "run")] + tiny(name))
    assert not (tmp_path / "run").exists()


def test_tensorboard(tmp_path):
    """--tensorboard writes progress.csv's columns as curves, at the same steps."""
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    rows = run_main("ppo", ["--total-steps", "1024", "--num-steps", "128", "--tensorboard"], tmp_path)
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert {"return_mean", "loss_pi", "kl", "sps"} <= set(acc.Tags()["scalars"])
    assert [e.step for e in acc.Scalars("loss_pi")] == [int(r["step"]) for r in rows]
    # TensorBoard keeps float32 and the CSV 5 decimals: equal within 1e-4, not to the last digit
    csv_values = [float(r["loss_pi"]) for r in rows]
    assert [e.value for e in acc.Scalars("loss_pi")] == pytest.approx(csv_values, abs=1e-4)


# ------------------------- paths a student takes -------------------------
def test_a_logdir_that_holds_other_files_is_refused(tmp_path):
    """--logdir runs, the folder of all runs: refused in one line, and nothing in it touched."""
    (tmp_path / "other_run").mkdir()
    (tmp_path / "notes.txt").write_text("mine")
    args = ["--logdir", str(tmp_path), "--total-steps", "64", "--num-steps", "16"]
    stopped("vpg", args, f"vpg: {tmp_path} already holds a run; choose another --logdir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "other_run"]
    assert (tmp_path / "notes.txt").read_text() == "mine" and not any((tmp_path / "other_run").iterdir())


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_interrupt_mid_update_keeps_the_last_whole_update(name, tmp_path, monkeypatch, capsys):
    """Ctrl-C (or SIGTERM) in the middle of an update: the run directory agrees with itself on
    the last whole update. summary.json's steps, the console's, progress.csv's last row and
    model.pt all belong to it, not to the update that was cut."""
    mod = load(name)
    fn = "update_actor_critic" if name == "a2c" else "update_policy"
    real, whole = getattr(mod, fn), []

    def cut_on_the_third(actor, *args):
        out = real(actor, *args)
        if len(whole) == 2:
            # the policy has moved, but the update has not ended
            raise KeyboardInterrupt
        whole.append({k: v.clone() for k, v in actor.state_dict().items()})
        return out

    monkeypatch.setattr(mod, fn, cut_on_the_third)
    mod.main(["--total-steps", "100000", "--logdir", str(tmp_path)] + tiny(name))
    out = capsys.readouterr().out
    rows = read_csv(tmp_path / "progress.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert rows[-1]["update"] == "2" and summary["steps"] == int(rows[-1]["step"])
    assert f"interrupted at step {summary['steps']:,};" in out
    saved = torch.load(tmp_path / "model.pt", weights_only=True)["actor"]
    assert all(torch.equal(saved[k], whole[1][k]) for k in saved)


def test_the_run_directory_names_the_settings_given(tmp_path, monkeypatch):
    """Three homework runs (forward, backward, still) are three directories one can tell apart:
    the default run directory and the first console line name the env settings given, and
    config.json stores the directory used."""
    monkeypatch.chdir(tmp_path)
    mod = load("vpg")
    out = io_of(mod, ["--env", "Pendulum-v1", "--env-kwargs", "g=9.0", "--total-steps", "64", "--num-steps", "16"])
    (run,) = (tmp_path / "runs").iterdir()
    assert re.fullmatch(r"Pendulum-v1-g=9\.0__vpg__1__\d+", run.name), run.name
    assert out.splitlines()[0] == (
        f"vpg on Pendulum-v1-g=9.0, 64 steps, run directory {run.relative_to(tmp_path)} (Ctrl-C stops and keeps it)"
    )
    assert json.loads((run / "config.json").read_text())["logdir"] == str(run.relative_to(tmp_path))


def io_of(mod, args):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        mod.main(args)
    return out.getvalue()


def test_a_negative_value_and_a_missing_equals_sign(tmp_path):
    """--lr -3e-4 reads as a flag: argparse's error names the flag left without its value;
    --env-kwargs KEY VALUE (a space for the =): the KEY alone is refused. No run directory."""
    bad("ppo", ["--lr", "-3e-4"], "ppo.py: error: argument --lr: expected one argument")
    bad("ppo", ["--lr=-3e-4"], "argument --lr: must be positive, got -3e-4")
    walker = ["--env", "Walker2d-v5", "--logdir", str(tmp_path / "w"), "--env-kwargs"]
    bad(
        "ppo",
        walker + ["forward_reward_weight", "-1"],
        "argument --env-kwargs: must be KEY=VALUE, a boolean True or False: forward_reward_weight",
    )
    assert not (tmp_path / "w").exists()
