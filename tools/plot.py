"""Learning curves: mean raw return of the last 100 episodes against environment steps.

Given run directories (progress.csv and config.json, as the scripts write them): one PNG, one
line per run, labelled env, algo, env_kwargs (and any flag that differs between runs of that
algo) and seed; with --average, one line per config (runs that differ only in their seed): the
mean over seeds, shaded from min to max. Without: one PNG per env from
benchmarks/runs/ALGO/ENV/SEED/, one line per algorithm averaged over seeds.
Needs matplotlib (plotting only): pip install matplotlib
Run: python tools/plot.py runs/Walker2d-v4__ppo__1__* runs/Walker2d-v4__ppo__2__* --out a.png
"""

import argparse
import csv
import glob
import importlib.util
import json
import os
import sys
from collections import defaultdict, deque

import numpy as np

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The benchmark grid: its runs, and the PNGs drawn from them without run directories.
HERE = os.path.join(TOP, "benchmarks")
# Flags that do not change what a run learns, only which one it is.
NOT_CONFIG = ("seed", "logdir")


def fail(msg):
    print(f"plot.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def curve(path):
    """(steps, mean raw return of the last 100 episodes) after each row of progress.csv; None
    before any episode ends. A row holds the mean return of the episodes that ended in it and
    their number, so each row counts as that many episodes."""
    steps, means, recent = [], [], deque(maxlen=100)
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["return_mean"]:
                recent.extend([float(r["return_mean"])] * int(r["episodes"]))
            if recent:
                steps.append(int(r["step"]))
                means.append(np.mean(recent))
    return (steps, means) if steps else None


def on_grid(grid, steps, means):
    """A curve read at the grid's steps; NaN outside the steps it covers."""
    return np.interp(grid, steps, means, left=np.nan, right=np.nan)


def figure(lines, title=None):
    """One line per (label, progress.csv paths): a single run as logged, several as their mean
    on a common grid of steps, shaded from min to max. Returns the matplotlib Figure."""
    import matplotlib

    # Headless: files only, no window.
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, paths in lines:
        curves = [c for c in map(curve, paths) if c is not None]
        if len(curves) == 1:
            steps, means = curves[0]
            ax.plot(steps, means, label=label)
        elif curves:
            first = min(steps[0] for steps, _ in curves)
            last = max(steps[-1] for steps, _ in curves)
            grid = np.linspace(first, last, 99)
            c = np.array([on_grid(grid, steps, means) for steps, means in curves])
            mean = np.nanmean(c, 0)
            (line,) = ax.plot(grid, mean, label=f"{label} ({len(curves)} seeds)")
            color = line.get_color()
            ax.fill_between(grid, np.nanmin(c, 0), np.nanmax(c, 0), color=color, alpha=0.2)
    ylabel = "mean return, last 100 episodes"
    ax.set(title=title, xlabel="environment steps", ylabel=ylabel)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def read_config(d):
    """The run directory's config.json; one line and exit 2 where d is not a run directory."""
    if not os.path.isfile(os.path.join(d, "progress.csv")):
        fail(f"{d} is not a run directory: no progress.csv")
    path = os.path.join(d, "config.json")
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read {path}: {e}")


def run_lines(run_dirs, average=False):
    """(label, paths) for each run, or with average for each config (its runs differ only in
    NOT_CONFIG)."""
    configs = [read_config(d) for d in run_dirs]
    lines = defaultdict(list) if average else []
    for d, c in zip(run_dirs, configs):
        same_algo = [other for other in configs if other["algo"] == c["algo"]]
        # Only flags that every run of the algorithm has: a flag that a later version dropped
        # (such as trpo's --lr) does not split its runs.
        shared = set.intersection(*(set(other) for other in same_algo))
        keys = sorted(shared - {"env", "algo", "env_kwargs", *NOT_CONFIG})
        # The flags that tell its runs apart.
        differ = [k for k in keys if len({str(other.get(k)) for other in same_algo}) > 1]
        flags = {**c.get("env_kwargs", {}), **{k: c.get(k) for k in differ}}
        label = " ".join([c["env"], c["algo"]] + [f"{k}={v}" for k, v in flags.items()])
        path = os.path.join(d, "progress.csv")
        if average:
            lines[label].append(path)
        else:
            lines.append((f"{label} seed {c['seed']}", [path]))
    return list(lines.items()) if average else lines


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "run_dirs",
        nargs="*",
        help="run directories (default: one PNG per env of benchmarks/runs)",
    )
    p.add_argument(
        "--out",
        default="curves.png",
        help="the PNG of the run directories (default: curves.png)",
    )
    p.add_argument(
        "--average",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="one line per config, averaged over its seeds (default: off)",
    )
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if importlib.util.find_spec("matplotlib") is None:
        fail("plotting needs the optional package matplotlib: pip install matplotlib")
    if args.run_dirs:
        lines = run_lines(args.run_dirs, args.average)
        envs = {label.split()[0] for label, _ in lines}
        title = envs.pop() if len(envs) == 1 else None
        figure(lines, title=title).savefig(args.out, dpi=100)
        print("wrote", args.out)
        return
    runs = defaultdict(lambda: defaultdict(list))
    pattern = os.path.join(HERE, "runs", "*", "*", "*", "progress.csv")
    for path in sorted(glob.glob(pattern)):
        # A run without summary.json is still running, or was cut off.
        if not os.path.exists(os.path.join(os.path.dirname(path), "summary.json")):
            continue
        algo, env = path.split(os.sep)[-4:-2]
        runs[env][algo].append(path)
    for env, algos in runs.items():
        out = os.path.join(HERE, f"{env}.png")
        figure(sorted(algos.items()), title=env).savefig(out, dpi=100)
        print("wrote", out)


if __name__ == "__main__":
    main()
