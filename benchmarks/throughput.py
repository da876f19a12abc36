"""Whole-process steps/s of each script next to the raw env's random-action steps/s, measured
in the same run on the same machine; appends to benchmarks/throughput.csv.

Example: python benchmarks/throughput.py --envs Walker2d-v4 CartPole-v1 --steps 50000
Peers: --algos ppo sb3-ppo a2c sb3-a2c times Stable-Baselines3 too (benchmarks/peer_sb3.py; needs stable-baselines3).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import gymnasium as gym

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "benchmarks", "throughput.csv")
COLUMNS = ["env", "algo", "steps", "wall_s", "sps", "raw_sps", "ratio", "commit"]


def raw_sps(env_id, seconds):
    """One env, random actions, reset at every episode end: the simulator's own speed."""
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    n, start = 0, time.time()
    while time.time() - start < seconds:
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        n += 1
        if term or trunc:
            env.reset()
    return n / (time.time() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--envs", nargs="+", default=["Walker2d-v4", "CartPole-v1"])
    p.add_argument("--algos", nargs="+", default=["simple_pg", "rtg_pg", "vpg", "a2c", "trpo", "ppo"])
    p.add_argument("--steps", type=int, default=50_000, help="--total-steps of each timed run (default: 50000)")
    p.add_argument("--raw-seconds", type=float, default=10.0, help="seconds of each raw-env measurement")
    p.add_argument("--peer-python", default=sys.executable, help="the python that has stable-baselines3, for sb3-*")
    args = p.parse_args()
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    new = not os.path.exists(OUT)
    with open(OUT, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        for env_id in args.envs:
            for algo in args.algos:
                before = raw_sps(env_id, args.raw_seconds / 2)
                with tempfile.TemporaryDirectory() as tmp:
                    start = time.time()  # whole process: interpreter start, imports, training, saving
                    run = os.path.join(tmp, "run")
                    cmd = [sys.executable, os.path.join(ROOT, f"{algo}.py"), "--env", env_id]
                    cmd += ["--total-steps", str(args.steps), "--logdir", run]
                    if algo.startswith("sb3-"):  # a peer: Stable-Baselines3 at its defaults (peer_sb3.py)
                        cmd = [args.peer_python, os.path.join(ROOT, "benchmarks", "peer_sb3.py")]
                        cmd += [algo[4:], env_id, str(args.steps), run]
                    subprocess.run(
                        cmd,
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    wall = time.time() - start
                    with open(os.path.join(tmp, "run", "summary.json")) as s:
                        steps = json.load(s)["steps"]  # whole batches: a little over --steps
                raw = (before + raw_sps(env_id, args.raw_seconds / 2)) / 2  # bracket the run
                sps = steps / wall
                row = {
                    "env": env_id,
                    "algo": algo,
                    "steps": steps,
                    "wall_s": round(wall, 1),
                    "sps": int(sps),
                    "raw_sps": int(raw),
                    "ratio": round(sps / raw, 3),
                    "commit": rev,
                }
                writer.writerow(row)
                f.flush()
                print(row, flush=True)


if __name__ == "__main__":
    main()
