"""tools/plot.py's curves of run directories on tiny real runs, and its one-line error; benchmarks/generalize.py's
table marks. (tools/watch.py has test_watch.py.)"""

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
