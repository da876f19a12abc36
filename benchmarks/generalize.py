"""The generalization set: vpg, a2c, trpo and ppo at default flags on six tasks beyond the benchmark envs.

Each (file, task, seed) runs into benchmarks/runs-gen/LABEL/ALGO/ENV/SEED; resumable like run.py (a finished
run is skipped, an unfinished one starts afresh). Each finished run appends a row to generalize.csv:
label, algo, env, seed, steps, end, best, random, commit. From progress.csv, as tools/plot.py's curve() reads it
(the episodes of one update all count at that update's mean): end = mean raw return of the last 100 episodes
at the end; best = the highest value of that rolling mean after any update once 100 episodes have finished
(in a run with fewer, once all have). random = mean return of uniformly random actions (action_space.sample())
over 100 episodes, reset(seed=i) for episode i; measured once per task, then read from generalize.csv.
The table, per label, task and file: end (mean over seeds), then two marks, y or n:
kept = (end - random) / (best - random) >= 0.9 in every seed (nothing collapses once learned; n shows the
lowest ratio); learns = end > random and end - random >= 0.25 x (ppo's end - random), on the same task and
label (ppo of label "before" when the label has no ppo runs).
--scripts-dir runs the ALGO.py files of another folder (edited copies, to screen a candidate); the commit
column then reads HEAD-edited-BLOB (BLOB: git hash-object of the file run). Flags it does not know go to
every script.
Run: python benchmarks/generalize.py --label before --seeds 1 2
Table only: python benchmarks/generalize.py --table --label after --before before
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = os.path.join(ROOT, "benchmarks", "generalize.csv")
COLUMNS = ["label", "algo", "env", "seed", "steps", "end", "best", "random", "commit"]
ALGOS = ["vpg", "a2c", "trpo", "ppo"]
TASKS = {  # the set: env id -> environment steps of each run
    "CartPole-v1": 100_000,  # classic, discrete, easy
    "Acrobot-v1": 200_000,  # classic, discrete, sparse-ish (-1 a step until the goal)
    "Pendulum-v1": 300_000,  # classic, continuous, hard for policy gradients
    "InvertedPendulum-v4": 100_000,  # MuJoCo, easy balancing
    "InvertedDoublePendulum-v4": 300_000,  # MuJoCo, medium
    "Reacher-v4": 300_000,  # MuJoCo, continuous
}


def fail(msg):
    print(f"generalize.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


def commit(script):
    """HEAD's short hash, with -edited-BLOB when the script run differs from HEAD's file of that name."""
    head, blob = git("rev-parse", "--short", "HEAD"), git("hash-object", script)
    return head if blob == git("rev-parse", f"HEAD:{os.path.basename(script)}") else f"{head}-edited-{blob[:7]}"


def read_rows():
    if not os.path.exists(CSV):
        return []
    with open(CSV) as f:
        return list(csv.DictReader(f))


def append(row):
    new = not os.path.exists(CSV)
    with open(CSV, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def random_return(env_id, episodes=100):
    """Mean return of uniformly random actions over `episodes` episodes (a few seconds at most)."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    total = 0.0
    for i in range(episodes):
        env.reset(seed=i)
        done = False
        while not done:
            _, rew, term, trunc, _ = env.step(env.action_space.sample())
            total += float(rew)
            done = term or trunc
    env.close()
    return round(total / episodes, 2)


def end_and_best(progress_path):
    """end and best (see the docstring) from one run's progress.csv."""
    with open(progress_path) as f:
        updates = [(int(r["episodes"]), float(r["return_mean"] or 0)) for r in csv.DictReader(f)]
    total = sum(n for n, _ in updates)
    seen, recent, means = 0, deque(maxlen=100), []
    for n, mean in updates:
        seen += n
        recent.extend([mean] * n)
        if recent and seen >= min(100, total):
            means.append(sum(recent) / len(recent))
    return round(means[-1], 2), round(max(means), 2)


def finished(rundir, steps):
    """Done only when summary.json counts all the steps: a run stopped early writes one too."""
    path = os.path.join(rundir, "summary.json")
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return json.load(f)["steps"] >= steps


def run_one(script, env, seed, rundir, extra):
    """Run one (file, task, seed) unless finished; False when it fails."""
    if finished(rundir, TASKS[env]):
        return True
    shutil.rmtree(rundir, ignore_errors=True)  # an unfinished run starts afresh
    os.makedirs(os.path.dirname(rundir), exist_ok=True)
    cmd = [
        sys.executable,
        script,
        "--env",
        env,
        "--seed",
        str(seed),
        "--total-steps",
        str(TASKS[env]),
        "--logdir",
        rundir,
    ] + extra
    with open(rundir + ".log", "w") as log:
        res = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    return res.returncode == 0 and finished(rundir, TASKS[env])


def number(x):
    return f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"


def table(rows, label, before=None, only=ALGOS):
    """Markdown: one line per task, one column per file; end (mean over seeds), kept and learns marks.
    With before: each cell shows that label's cell, an arrow, then this label's."""
    runs = defaultdict(list)  # (label, algo, env) -> [(end, best, random)]
    for r in rows:
        runs[r["label"], r["algo"], r["env"]].append((float(r["end"]), float(r["best"]), float(r["random"])))
    mean_end = {key: sum(e for e, _, _ in v) / len(v) for key, v in runs.items()}
    labels = [before, label] if before else [label]
    algos = [a for a in only if any(key[:2] == (lab, a) for key in runs for lab in labels)]
    seeds = max((len(v) for key, v in runs.items() if key[0] in labels), default=0)

    def cell(lab, algo, env):
        if (lab, algo, env) not in runs:
            return "-"
        random = runs[lab, algo, env][0][2]
        ppo = mean_end.get((lab, "ppo", env), mean_end.get(("before", "ppo", env)))
        end = mean_end[lab, algo, env]
        ratio = min((e - random) / (b - random) if b > random else 1.0 for e, b, _ in runs[lab, algo, env])
        kept = "y" if ratio >= 0.9 else f"**n** {int(ratio * 100) / 100:.2f}"  # 0.899 shows as 0.89
        learns = "?" if ppo is None else "y" if end > random and end - random >= 0.25 * (ppo - random) else "**n**"
        n = len(runs[lab, algo, env])
        return f"{number(end)} ({kept}, {learns})" + (f" n={n}" if n < seeds else "")

    lines = ["| task | budget | random | " + " | ".join(algos) + " |", "|---" * (3 + len(algos)) + "|"]
    for env, steps in TASKS.items():
        here = [key for key in runs if key[0] in labels and key[1] in algos and key[2] == env]
        if not here:
            continue
        cells = [" → ".join(cell(lab, algo, env) for lab in labels) for algo in algos]
        lines.append(f"| {env} | {steps // 1000}k | {number(runs[here[0]][0][2])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label", required=True, help="name of the configuration run, e.g. before, trpo-delta0.01")
    p.add_argument("--algos", nargs="+", default=ALGOS, choices=ALGOS, help="files to run (default: all four)")
    p.add_argument("--envs", nargs="+", default=list(TASKS), choices=list(TASKS), help="tasks (default: the set)")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2], help="seeds (default: 1 2)")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="runs at once (default: cores)")
    p.add_argument("--scripts-dir", default=ROOT, help="folder of the ALGO.py files to run (default: the repository)")
    p.add_argument("--table", action="store_true", help="print --label's table from generalize.csv, run nothing")
    p.add_argument("--before", help="with --table: each cell shows this label's end, then --label's")
    args, extra = p.parse_known_args()
    if args.table:
        print(table(read_rows(), args.label, args.before, args.algos))
        return
    if not re.fullmatch(r"[\w.+-]+", args.label):
        fail(f"--label must be letters, digits and . _ + - only, got {args.label!r}")
    scripts = {a: os.path.join(os.path.abspath(args.scripts_dir), f"{a}.py") for a in args.algos}
    for script in scripts.values():
        if not os.path.isfile(script):
            fail(f"no {script}")
    revs = {a: commit(s) for a, s in scripts.items()}
    rows = read_rows()
    done = {(r["label"], r["algo"], r["env"], r["seed"]) for r in rows}
    randoms = {r["env"]: float(r["random"]) for r in rows}
    for env in args.envs:
        if env not in randoms:
            randoms[env] = random_return(env)
            print(f"{env}: random actions {randoms[env]}", flush=True)
    grid = [(a, e, s) for e in args.envs for s in args.seeds for a in args.algos]
    print(f"{len(grid)} runs, {args.jobs} at a time, label {args.label}", flush=True)

    def job(cell):
        algo, env, seed = cell
        rundir = os.path.join(ROOT, "benchmarks", "runs-gen", args.label, algo, env, str(seed))
        if not run_one(scripts[algo], env, seed, rundir, extra):
            print(f"FAILED {algo} {env} seed {seed}: see {rundir}.log", flush=True)
            return
        if (args.label, algo, env, str(seed)) in done:
            return
        with open(os.path.join(rundir, "summary.json")) as f:
            summary = json.load(f)
        end, best = end_and_best(os.path.join(rundir, "progress.csv"))
        append(
            {
                "label": args.label,
                "algo": algo,
                "env": env,
                "seed": seed,
                "steps": summary["steps"],
                "end": end,
                "best": best,
                "random": randoms[env],
                "commit": revs[algo],
            }
        )
        print(
            f"{time.strftime('%H:%M:%S')} {algo} {env} seed {seed}: end {end}, best {best} "
            f"at {summary['steps']} steps, {summary['sps']} steps/s",
            flush=True,
        )

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(job, grid))
    print(table(read_rows(), args.label))


if __name__ == "__main__":
    main()
