"""Learning curves: mean raw return of the last 100 episodes against environment steps.

Given run directories (progress.csv and config.json, as the scripts write them): one PNG, one line per run,
labelled env, algo, env_kwargs (and any flag that differs between runs of that algo) and seed; with --average, one
line per config (runs that differ only in their seed): the mean over seeds, shaded from min to max.
Without: one PNG per env from benchmarks/runs/ALGO/ENV/SEED/, one line per algorithm averaged over seeds.
Needs matplotlib (plotting only): pip install matplotlib
Run: python tools/plot.py runs/Walker2d-v4__ppo__1__* runs/Walker2d-v4__ppo__2__* --out walker.png
"""

import argparse
import csv
import glob
import json
import os
import sys
from collections import defaultdict, deque

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")  # the grid
NOT_CONFIG = ("seed", "logdir")  # flags that do not change what a run learns, only which one it is


def fail(msg):
    print(f"plot.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def curve(path):
    """(steps, mean raw return of the last 100 episodes) after each update; None before any episode ends."""
    steps, means, recent = [], [], deque(maxlen=100)
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["return_mean"]:
                recent.extend([float(r["return_mean"])] * int(r["episodes"]))
            if recent:
                steps.append(int(r["step"]))
                means.append(np.mean(recent))
    return (steps, means) if steps else None


def figure(lines, title=None):
    """One line per (label, progress.csv paths): a single run as logged, several as their mean on a common
    grid of steps, shaded from min to max. Returns the matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")  # headless: files only, no window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, paths in lines:
        curves = [c for c in map(curve, paths) if c is not None]
        if len(curves) == 1:
            ax.plot(*curves[0], label=label)
        elif curves:
            first, last = min(steps[0] for steps, _ in curves), max(steps[-1] for steps, _ in curves)
            grid = np.linspace(first, last, 99)
            c = np.array([np.interp(grid, steps, means, left=np.nan, right=np.nan) for steps, means in curves])
            (line,) = ax.plot(grid, np.nanmean(c, 0), label=f"{label} ({len(curves)} seeds)")
            ax.fill_between(grid, np.nanmin(c, 0), np.nanmax(c, 0), color=line.get_color(), alpha=0.2)
    ax.set(title=title, xlabel="environment steps", ylabel="mean return, last 100 episodes")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def run_lines(run_dirs, average=False):
    """(label, paths) for each run, or with average for each config (its runs differ only in NOT_CONFIG)."""
    configs = []
    for d in run_dirs:
        if not os.path.isfile(os.path.join(d, "progress.csv")):
            fail(f"{d} is not a run directory: no progress.csv")
        try:
            with open(os.path.join(d, "config.json")) as f:
                configs.append(json.load(f))
        except (OSError, ValueError) as e:
            fail(f"cannot read {os.path.join(d, 'config.json')}: {e}")
    lines = defaultdict(list) if average else []
    for d, c in zip(run_dirs, configs):
        same_algo = [other for other in configs if other["algo"] == c["algo"]]
        # flags every run of the algorithm has (a flag that a later version dropped, such as trpo's --lr, is no split)
        keys = sorted(
            set.intersection(*(set(other) for other in same_algo)) - {"env", "algo", "env_kwargs", *NOT_CONFIG}
        )
        differ = [k for k in keys if len({str(other.get(k)) for other in same_algo}) > 1]  # flags that tell apart
        flags = {**c.get("env_kwargs", {}), **{k: c.get(k) for k in differ}}
        label = " ".join([c["env"], c["algo"]] + [f"{k}={v}" for k, v in flags.items()])
        path = os.path.join(d, "progress.csv")
        if average:
            lines[label].append(path)
        else:
            lines.append((f"{label} seed {c['seed']}", [path]))
    return list(lines.items()) if average else lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run_dirs", nargs="*", help="run directories (default: one PNG per env of benchmarks/runs)")
    p.add_argument("--out", default="curves.png", help="the PNG of the run directories (default: curves.png)")
    p.add_argument(
        "--average",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="one line per config, averaged over its seeds (default: off)",
    )
    args = p.parse_args(argv)
    if args.run_dirs:
        lines = run_lines(args.run_dirs, args.average)
        envs = {label.split()[0] for label, _ in lines}
        figure(lines, title=envs.pop() if len(envs) == 1 else None).savefig(args.out, dpi=100)
        print("wrote", args.out)
        return
    runs = defaultdict(lambda: defaultdict(list))
    for path in sorted(glob.glob(os.path.join(HERE, "runs", "*", "*", "*", "progress.csv"))):
        if not os.path.exists(os.path.join(os.path.dirname(path), "summary.json")):
            continue  # still running, or cut off
        algo, env = path.split(os.sep)[-4:-2]
        runs[env][algo].append(path)
    for env, algos in runs.items():
        out = os.path.join(HERE, f"{env}.png")
        figure(sorted(algos.items()), title=env).savefig(out, dpi=100)
        print("wrote", out)


if __name__ == "__main__":
    main()
