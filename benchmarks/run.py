"""Run a grid of scripts x envs x seeds as parallel processes; append finished runs to results.csv.

Resumable: a run whose directory already holds the summary.json of all its steps is skipped
(and added to results.csv if missing); an unfinished or stopped run starts afresh.
--print-commands prints one shell line per pending run instead, for any scheduler (see README.md).
Example: python benchmarks/run.py --algos ppo trpo --envs Walker2d-v4 Hopper-v4 --seeds 1 2 3
"""

import argparse
import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results.csv")
COLUMNS = ["algo", "env", "seed", "steps", "return", "sps", "wall_s", "commit"]
ALGOS = ["simple_pg", "rtg_pg", "vpg", "a2c", "trpo", "ppo"]


def commit():
    """The commit the scripts ran at; '-dirty' when a script differs from it."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    head = head.stdout.strip()
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"] + [f"{a}.py" for a in ALGOS], cwd=ROOT).returncode
    return head + ("-dirty" if dirty else "")


def recorded():
    if not os.path.exists(RESULTS):
        return set()
    with open(RESULTS) as f:
        return {(r["algo"], r["env"], r["seed"], r["steps"]) for r in csv.DictReader(f)}


def append(row):
    new = not os.path.exists(RESULTS)
    with open(RESULTS, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def finished(summary_path, steps):
    """Done only when summary.json counts all the steps: a run stopped early writes one too."""
    if not os.path.exists(summary_path):
        return False
    with open(summary_path) as f:
        return json.load(f)["steps"] >= steps


def command(algo, env, seed, steps, rundir, extra):
    return [
        sys.executable,
        os.path.join(ROOT, f"{algo}.py"),
        "--env",
        env,
        "--seed",
        str(seed),
        "--total-steps",
        str(steps),
        "--logdir",
        rundir,
    ] + extra


def run_one(algo, env, seed, steps, rundir, rev, extra):
    summary_path = os.path.join(rundir, "summary.json")
    if not finished(summary_path, steps):
        shutil.rmtree(rundir, ignore_errors=True)  # an unfinished run starts afresh
        os.makedirs(os.path.dirname(rundir), exist_ok=True)
        cmd = command(algo, env, seed, steps, rundir, extra)
        with open(rundir + ".log", "w") as log:
            res = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        if res.returncode != 0 or not finished(summary_path, steps):
            print(f"FAILED {algo} {env} seed {seed}: see {rundir}.log", flush=True)
            return None
    with open(summary_path) as f:
        s = json.load(f)
    return {
        "algo": algo,
        "env": env,
        "seed": seed,
        "steps": s["steps"],
        "return": s["return_last100"],
        "sps": s["sps"],
        "wall_s": s["wall_s"],
        "commit": rev,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algos", nargs="+", default=["vpg", "a2c", "trpo", "ppo"], choices=ALGOS)
    p.add_argument("--envs", nargs="+", default=["Walker2d-v4", "Hopper-v4", "HalfCheetah-v4"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--steps", type=int, default=1_000_000, help="--total-steps of each run (default: 1000000)")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="runs at once (default: cores)")
    p.add_argument("--runs-dir", default=os.path.join(ROOT, "benchmarks", "runs"), help="where run directories go")
    p.add_argument(
        "--print-commands",
        action="store_true",
        help="print the command of each pending run, one a line, and run nothing; an unfinished "
        "run's line begins with rm -rf of its directory (printing deletes nothing)",
    )
    args, extra = p.parse_known_args()
    rev, done = commit(), recorded()
    grid = [(a, e, s) for e in args.envs for s in args.seeds for a in args.algos]
    if args.print_commands:
        for algo, env, seed in grid:
            rundir = os.path.join(args.runs_dir, algo, env, str(seed))
            if not finished(os.path.join(rundir, "summary.json"), args.steps):
                # an unfinished run starts afresh, as run.py starts it, when its line runs: printing deletes nothing
                fresh = f"rm -rf {shlex.quote(rundir)} && " if os.path.exists(rundir) else ""
                print(fresh + shlex.join(command(algo, env, seed, args.steps, rundir, extra)))
        return
    print(f"{len(grid)} runs, {args.jobs} at a time, commit {rev}", flush=True)

    def job(cell):
        algo, env, seed = cell
        rundir = os.path.join(args.runs_dir, algo, env, str(seed))
        row = run_one(algo, env, seed, args.steps, rundir, rev, extra)
        if row and (algo, env, str(seed), str(row["steps"])) not in done:
            append(row)
            print(
                f"{time.strftime('%H:%M:%S')} {algo} {env} seed {seed}: return {row['return']} "
                f"at {row['steps']} steps, {row['sps']} steps/s",
                flush=True,
            )

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(job, grid))


if __name__ == "__main__":
    main()
