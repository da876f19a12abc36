"""Markdown tables from results.csv and throughput.csv, for benchmarks/README.md.

Run: python benchmarks/table.py
"""

import csv
import os
from collections import defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ALGOS = ["simple_pg", "rtg_pg", "vpg", "a2c", "trpo", "ppo"]
# Goals: mean over seeds at 1M steps, default flags.
GOALS = {  # set 2026-11-25; TUNING.md gives the earlier ones
    ("ppo", "Walker2d-v4"): 3700,
    ("ppo", "Hopper-v4"): 3100,
    ("ppo", "HalfCheetah-v4"): 5100,
    ("trpo", "Walker2d-v4"): 3500,
    ("trpo", "Hopper-v4"): 3000,
    ("trpo", "HalfCheetah-v4"): 3000,
    ("vpg", "Walker2d-v4"): 2000,
    ("vpg", "Hopper-v4"): 2000,
    ("vpg", "HalfCheetah-v4"): 2500,
    ("a2c", "Walker2d-v4"): 1100,
    ("a2c", "Hopper-v4"): 1300,
    ("a2c", "HalfCheetah-v4"): 1900,
}


def read(name):
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    cells, envs = defaultdict(list), []
    for r in read("results.csv"):
        cells[(r["algo"], r["env"])].append(float(r["return"]))
        envs += [r["env"]] if r["env"] not in envs else []
    mujoco = ["Walker2d-v4", "Hopper-v4", "HalfCheetah-v4"]  # the goals' envs first, then the rest
    envs = [e for e in mujoco if e in envs] + [e for e in envs if e not in mujoco]
    print("| algo | " + " | ".join(envs) + " |")
    print("|---|" + "---|" * len(envs))
    for algo in ALGOS:
        row = []
        for env in envs:
            v = cells.get((algo, env))
            verdict = ""
            if v and (algo, env) in GOALS:
                goal = GOALS[(algo, env)]
                if len(v) >= 3:  # a goal counts over 3 seeds or more
                    verdict = f", goal {goal:,}: {'met' if np.mean(v) >= goal else 'NOT met'}"
                else:
                    verdict = f", goal {goal:,}: {'above' if np.mean(v) >= goal else 'below'} it so far"
            row.append(f"{np.mean(v):,.0f} ± {np.std(v):,.0f} (n={len(v)}{verdict})" if v else "")
        if any(row):
            print(f"| {algo} | " + " | ".join(row) + " |")
    print()
    print("| env | algo | steps | steps/s | raw env steps/s | ratio | commit |")
    print("|---|---|---|---|---|---|---|")
    for r in read("throughput.csv"):
        print(
            f"| {r['env']} | {r['algo']} | {r['steps']} | {r['sps']} | {r['raw_sps']} | {r['ratio']} | {r['commit']} |"
        )


if __name__ == "__main__":
    main()
