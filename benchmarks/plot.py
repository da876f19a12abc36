"""Learning curves from benchmarks/runs/ALGO/ENV/SEED/progress.csv: one PNG per env, one line
per algorithm (mean over seeds of the last-100-episode return; shaded: min to max over seeds).
Needs matplotlib (plotting only): pip install matplotlib
"""
import csv
import glob
import json
import os
from collections import defaultdict, deque

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def curve(path, grid):
    """Mean raw return of the last 100 episodes, after each update, on a grid of steps."""
    steps, means, recent = [], [], deque(maxlen=100)
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["return_mean"]:
                recent.extend([float(r["return_mean"])] * int(r["episodes"]))
            if recent:
                steps.append(int(r["step"]))
                means.append(np.mean(recent))
    return np.interp(grid, steps, means, left=np.nan, right=np.nan) if steps else None


def main():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = defaultdict(lambda: defaultdict(list))
    for path in sorted(glob.glob(os.path.join(HERE, "runs", "*", "*", "*", "progress.csv"))):
        if not os.path.exists(os.path.join(os.path.dirname(path), "summary.json")):
            continue  # still running, or cut off
        algo, env = path.split(os.sep)[-4:-2]
        runs[env][algo].append(path)
    for env, algos in runs.items():
        last = max(json.load(open(os.path.join(os.path.dirname(p), "summary.json")))["steps"]
                   for paths in algos.values() for p in paths)
        grid = np.linspace(last / 50, last, 99)  # from 2%: every run has finished episodes by then
        fig, ax = plt.subplots(figsize=(6, 4))
        for algo, paths in sorted(algos.items()):
            curves = [c for c in (curve(p, grid) for p in paths) if c is not None]
            if not curves:
                continue
            c = np.array(curves)
            ax.plot(grid, np.nanmean(c, 0), label=f"{algo} ({len(curves)} seed{'s' * (len(curves) > 1)})")
            ax.fill_between(grid, np.nanmin(c, 0), np.nanmax(c, 0), alpha=0.2)
        ax.set(title=env, xlabel="environment steps", ylabel="mean return, last 100 episodes")
        ax.legend()
        fig.tight_layout()
        out = os.path.join(HERE, f"{env}.png")
        fig.savefig(out, dpi=100)
        print("wrote", out)


if __name__ == "__main__":
    main()
