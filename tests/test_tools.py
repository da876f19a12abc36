"""tools/plot.py's curves of run directories on tiny real runs, and its one-line errors; benchmarks/generalize.py's
table marks and benchmarks/table.py's verdicts on the goals. (tools/watch.py has test_watch.py.)"""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT, run_main, small

sys.path.insert(0, str(ROOT / "benchmarks"))
TINY = ["--total-steps", "600"] + small("ppo")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three CartPole-v1 runs of ppo: seeds 1 and 2 of one config, and seed 1 of another (--lr)."""
    root = tmp_path_factory.mktemp("runs")
    for name, flags in (("s1", ["--seed", "1"]), ("s2", ["--seed", "2"]), ("lr", ["--seed", "1", "--lr", "1e-3"])):
        run_main("ppo", ["--env", "CartPole-v1"] + TINY + flags, root / name)
    return [str(root / name) for name in ("s1", "s2", "lr")]


def test_plot_one_line_per_run(runs, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import plot

    plot.main(runs + ["--out", str(tmp_path / "curves.png")])
    assert (tmp_path / "curves.png").stat().st_size > 0
    labels = [line.get_label() for line in plot.figure(plot.run_lines(runs)).axes[0].get_lines()]
    assert labels == [
        "CartPole-v1 ppo lr=0.0003 seed 1",
        "CartPole-v1 ppo lr=0.0003 seed 2",
        "CartPole-v1 ppo lr=0.001 seed 1",
    ]
    average = plot.figure(plot.run_lines(runs, average=True)).axes[0].get_lines()
    assert [line.get_label() for line in average] == ["CartPole-v1 ppo lr=0.0003 (2 seeds)", "CartPole-v1 ppo lr=0.001"]
    with pytest.raises(SystemExit) as stop:
        plot.main([runs[0], str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err == f"plot.py: error: {tmp_path} is not a run directory: no progress.csv\n"


def test_plot_curve_is_the_mean_of_the_last_100_episodes(tmp_path):
    """A row of progress.csv holds the mean return of the episodes that ended in it and their
    number: the curve weighs each row by its episodes and keeps the last 100 episodes, not the
    last 100 rows (a mean of rows would read 10, 15, 26.67, 26.67)."""
    import plot

    rows = ["step,return_mean,episodes", "100,,0", "200,10.0,10", "300,20.0,90", "400,50.0,20", "500,,0"]
    (tmp_path / "progress.csv").write_text("\n".join(rows) + "\n")
    steps, means = plot.curve(tmp_path / "progress.csv")
    assert steps == [200, 300, 400, 500]
    # (10 x 10 + 90 x 20) / 100; then the last 100: 80 of the 20s and the 20 of 50
    assert means == pytest.approx([10.0, 19.0, 26.0, 26.0])


def test_an_averaged_curve_stops_where_a_seeds_run_stops(tmp_path):
    """--average: beyond the end of a shorter seed's run, the mean and the band are those of the
    seeds still running; the short run's last value is not carried on flat."""
    pytest.importorskip("matplotlib")
    import plot

    config = {"env": "TestCount-v0", "algo": "ppo", "env_kwargs": {}, "lr": 0.1, "logdir": ""}
    ends = {1: 1000, 2: 500}
    for seed, end in ends.items():
        d = tmp_path / str(seed)
        d.mkdir()
        (d / "config.json").write_text(json.dumps(dict(config, seed=seed)))
        rows = [f"{step},{seed * 10}.0,100" for step in range(100, end + 1, 100)]
        (d / "progress.csv").write_text("\n".join(["step,return_mean,episodes"] + rows) + "\n")
    (line,) = plot.figure(plot.run_lines([str(tmp_path / "1"), str(tmp_path / "2")], average=True)).axes[0].get_lines()
    steps, means = line.get_data()
    assert means[steps <= 500] == pytest.approx(15.0) and means[steps > 510] == pytest.approx(10.0), (steps, means)
    (band,) = line.axes.collections
    # the band runs on to the end of the longer run, where its one seed is both min and max
    beyond = [y for path in band.get_paths() for x, y in path.vertices if 510 < x <= 1000]
    assert len(beyond) > 10 and beyond == pytest.approx([10.0] * len(beyond)), beyond


def test_plot_without_matplotlib(runs, tmp_path):
    """Without matplotlib (hidden from the import system): one line, exit 2, no PNG, as watch.py
    and --tensorboard say it of theirs."""
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n")
    out = tmp_path / "curves.png"
    cmd = [sys.executable, str(ROOT / "tools" / "plot.py"), runs[0], "--out", str(out)]
    res = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=60
    )
    want = "plot.py: error: plotting needs the optional package matplotlib: pip install matplotlib\n"
    assert (res.returncode, res.stderr) == (2, want)
    assert not out.exists()


def test_generalize_table_marks():
    """generalize.py's judgement: kept = end >= 0.9 of the best in every seed (over random), learns = a
    quarter of ppo's margin; with a before label each cell reads before -> after."""
    import generalize

    def row(label, algo, seed, end, best):
        return dict(label=label, algo=algo, env="CartPole-v1", seed=seed, end=end, best=best, random=0)

    rows = [row("before", "ppo", 1, 400, 400), row("before", "a2c", 1, 50, 60)]
    rows += [row("after", "a2c", 1, 200, 210), row("after", "a2c", 2, 150, 200), row("after", "vpg", 1, 120, 120)]
    lines = generalize.table(rows, "after", "before").splitlines()
    assert lines[0] == "| task | budget | random | vpg | a2c | ppo |"
    vpg, a2c, ppo = lines[2].split(" | ")[3:]
    assert vpg == "- → 120 (y, y) n=1"  # 120 >= 0.25 x 400; one seed of two
    assert a2c == "50.0 (**n** 0.83, **n**) n=1 → 175 (**n** 0.75, y)"  # seed 2 kept 150 of its best 200
    assert ppo == "400 (y, y) n=1 → - |"


def test_benchmark_table_judges_goals_from_three_seeds(tmp_path, monkeypatch, capsys):
    """benchmarks/table.py: a goal is met or NOT met over 3 seeds or more; with fewer, the mean is
    above or below it so far. The cell: mean ± std over seeds (n=seeds, the verdict)."""
    import table

    rows = ["algo,env,seed,steps,return,sps,wall_s,commit"]
    # ppo Walker2d-v4 (goal 3,700): 3 seeds, mean 3,800; trpo (goal 3,500): 3 seeds, mean 3,400;
    # a2c (goal 1,100): 2 seeds, mean 1,200; vpg (goal 2,000): 4 seeds, mean 2,100
    returns = {
        "ppo": [3700, 3800, 3900],
        "trpo": [3300, 3400, 3500],
        "a2c": [1100, 1300],
        "vpg": [2000] * 2 + [2200] * 2,
    }
    for algo, values in returns.items():
        rows += [f"{algo},Walker2d-v4,{seed},1000000,{v},1000,1000,abc" for seed, v in enumerate(values, 1)]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(table, "HERE", str(tmp_path))
    table.main()
    cells = {line.split(" | ")[0]: line.split(" | ")[1] for line in capsys.readouterr().out.splitlines()[2:6]}
    assert cells == {
        "| vpg": "2,100 ± 100 (n=4, goal 2,000: met) |",
        "| a2c": "1,200 ± 100 (n=2, goal 1,100: above it so far) |",
        "| trpo": "3,400 ± 82 (n=3, goal 3,500: NOT met) |",
        "| ppo": "3,800 ± 82 (n=3, goal 3,700: met) |",
    }
