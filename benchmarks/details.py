"""What each of ppo's details buys: ppo.py with one detail switched, against its defaults.

Each detail is either flags or a one-off edit of ppo.py: lines named by their text, replaced.
The edited copy is written to runs-details/scripts/REV/DETAIL.py (ppo.py as at commit REV,
default HEAD; never committed to the defaults) and run like run.py runs a grid, resumable, into
runs-details/DETAIL/ENV/SEED/. A row per finished run goes to details.csv: detail, env, seed,
steps, return (mean raw return of the last 100 training episodes), commit.
Run:    python benchmarks/details.py --details gamma-0.99 no-obs-norm --envs Walker2d-v4 --seeds 1 2 3
Table:  python benchmarks/details.py --table      (Markdown, for benchmarks/README.md)
Figure: python benchmarks/details.py --figure     (details.png, needs matplotlib)
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# run.py's grid, for its finished-run check and its command line
from run import ROOT, command, finished

HERE = os.path.join(ROOT, "benchmarks")
DETAILS_CSV = os.path.join(HERE, "details.csv")
COLUMNS = ["detail", "env", "seed", "steps", "return", "commit"]

# the edits that take the critic into the policy's update (joint-loss, value-clip) reach it
# through args, since update_policy and update_value take no critic or old values
JOINT = [
    (
        "opt = torch.optim.Adam(actor.parameters(), lr=args.lr, fused=True)",
        "opt = torch.optim.Adam([*actor.parameters(), *critic.parameters()], lr=args.lr, fused=True)",
    ),
    (
        "stats = update_policy(actor, opt, b_obs, b_act, b_adv, b_logp_old, args)",
        "args.critic, args.b_ret = critic, b_ret\n"
        "stats = update_policy(actor, opt, b_obs, b_act, b_adv, b_logp_old, args)",
    ),
    (
        "loss_pi.backward()",
        "(loss_pi + 0.5 * ((args.critic(b_obs[idx]) - args.b_ret[idx]) ** 2).mean()).backward()",
    ),
    (
        "nn.utils.clip_grad_norm_(actor.parameters(), args.max_grad_norm)",
        "nn.utils.clip_grad_norm_([*actor.parameters(), *args.critic.parameters()], args.max_grad_norm)",
    ),
    ("stats |= update_value(critic, vf_opt, b_obs, b_ret, args.vf_iters, args.num_minibatches)", ""),
]
VALUE_CLIP = [
    (
        "b_ret = (adv + v).flatten()",
        "b_ret = (adv + v).flatten()\ncritic.v_old = v.flatten()",
    ),
    (
        "loss_v = ((critic(b_obs[idx]) - b_ret[idx]) ** 2).mean()",
        "v_new, v_old = critic(b_obs[idx]), critic.v_old[idx]\n"
        "v_clip = v_old + torch.clamp(v_new - v_old, -0.2, 0.2)\n"
        "loss_v = torch.max((v_new - b_ret[idx]) ** 2, (v_clip - b_ret[idx]) ** 2).mean()",
    ),
]

# name: (what is switched, flags, edits: [(a line's text in ppo.py, its replacement; "" drops it)])
DETAILS = {
    "default": ("ppo.py as it is", [], []),
    "no-obs-norm": (
        "observations not normalized (raw, not clipped)",
        [],
        [
            ("x = (x - self.mean) / np.sqrt(self.var + 1e-8)", ""),
            ("return np.clip(x, -10, 10).astype(np.float32)", "return np.asarray(x, dtype=np.float32)"),
        ],
    ),
    "no-reward-scale": (
        "raw rewards, not divided by the return's running std",
        [],
        [("return np.clip(rew / np.sqrt(self.ret_norm.var + 1e-8), -10, 10)", "return rew")],
    ),
    "no-adv-norm": (
        "advantages not normalized per batch",
        [],
        [("b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)", "b_adv = adv.flatten()")],
    ),
    "lam-1": ("GAE lambda 1 (reward-to-go minus V)", ["--lam", "1"], []),
    "no-grad-clip": ("no gradient clipping", ["--max-grad-norm", "1e9"], []),
    "no-lr-anneal": (
        "learning rates constant, not annealed to 0",
        [],
        [("remaining = 1 - (update - 1) * T * num_envs / args.total_steps", "remaining = 1")],
    ),
    "default-init": (
        "PyTorch's default init, not orthogonal with an output gain of 0.01",
        [],
        [("nn.init.orthogonal_(layer.weight, gain)", ""), ("nn.init.zeros_(layer.bias)", "")],
    ),
    "log-std-0": ("Gaussian's log-std starts at 0 (std 1), not -0.5", ["--log-std-init", "0"], []),
    "gamma-0.99": ("gamma 0.99, not 0.995", ["--gamma", "0.99"], []),
    "trunc-as-term": (
        "a truncation treated as a termination: no bootstrap from V(final obs)",
        [],
        [
            (
                "term_buf.append(torch.as_tensor(term, dtype=torch.float32, device=device))",
                "term_buf.append(torch.as_tensor(done, dtype=torch.float32, device=device))",
            )
        ],
    ),
    "joint-loss": (
        "one Adam (lr 3e-4) on loss_pi + 0.5 loss_v, same minibatches, one gradient clip",
        [],
        JOINT,
    ),
    "1x2048": ("1 env x 2,048 steps, not 4 x 512", ["--num-envs", "1", "--num-steps", "2048"], []),
    "no-clip": ("no clip: plain multi-epoch policy gradient", ["--clip-ratio", "1e9"], []),
    "value-clip": ("V's change clipped to +-0.2 of its old value, in the loss", [], VALUE_CLIP),
    "entropy-bonus": (
        "an entropy bonus of 0.01 in the policy loss",
        [],
        [
            (
                "loss_pi = -torch.min(ratio * adv, clipped * adv).mean()",
                "loss_pi = -torch.min(ratio * adv, clipped * adv).mean() - 0.01 * dist.entropy().mean()",
            )
        ],
    ),
    "target-kl": ("target KL 0.015 on: passes stop above it", ["--target-kl", "0.015"], []),
    "cleanrl-settings": (
        "the flags closest to CleanRL's ppo_continuous_action defaults",
        ["--gamma", "0.99", "--num-envs", "1", "--num-steps", "2048", "--log-std-init", "0", "--vf-lr", "3e-4"],
        [],
    ),
}

# where each detail is in ppo.py (section: the line's text, or the flag), its item in Huang et al.
# 2022's list (core / continuous), and what Andrychowicz et al. 2021 found (their choice label)
SOURCES = {
    "no-obs-norm": (
        "ENVIRONMENT, RunningNorm: `x = (x - self.mean) / np.sqrt(self.var + 1e-8)`",
        "continuous 6, 7 (obs clipping)",
        "crucial on every env but Hopper; always use it (C64)",
    ),
    "no-reward-scale": (
        "ENVIRONMENT, RewardScale: `return np.clip(rew / np.sqrt(self.ret_norm.var + 1e-8), -10, 10)`",
        "continuous 8, 9 (reward clipping)",
        "not studied (value-target normalization, C66: helps some envs, hurts Walker2d)",
    ),
    "no-adv-norm": (
        "LEARN: `b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)`",
        "core 7",
        "does not affect performance much (C67)",
    ),
    "lam-1": ("ARGUMENTS: `--lam` 0.95", "core 5", "GAE, lambda 0.9 recommended"),
    "no-grad-clip": (
        "UPDATE: `nn.utils.clip_grad_norm_(actor.parameters(), args.max_grad_norm)`",
        "core 11",
        "might help slightly, secondary (C68)",
    ),
    "no-lr-anneal": (
        "LEARN: `remaining = 1 - (update - 1) * T * num_envs / args.total_steps`",
        "core 4",
        "may help slightly, secondary",
    ),
    "default-init": (
        "NETWORKS, mlp: `nn.init.orthogonal_(layer.weight, gain)`",
        "core 2",
        "last policy layer 100x smaller: their most important finding (C57); the family matters little",
    ),
    "log-std-0": (
        "MAIN: `nn.init.constant_(actor.log_std, args.log_std_init)`",
        "continuous 2 (log-std 0 there)",
        "a lower initial std (about 0.5) best on 4 envs of 5 (C61)",
    ),
    "gamma-0.99": ("ARGUMENTS: `--gamma` 0.995", "-", "among the most important; tune per env, from 0.99"),
    "trunc-as-term": (
        "ROLLOUT: `term_buf.append(torch.as_tensor(term, ...))`",
        "- (CleanRL ends both alike)",
        "no difference at a 1,000-step limit",
    ),
    "joint-loss": (
        "MAIN: `vf_opt = torch.optim.Adam(critic.parameters(), ...)`, V's own Adam, stepped in update_value",
        "core 10, 13; continuous 4",
        "not as such; closest, separate networks beat a shared one on 4 envs of 5 (C47): both keep two here",
    ),
    "1x2048": (
        "ARGUMENTS: `--num-envs` 4, `--num-steps` 512",
        "core 1",
        "more envs cost sample efficiency; tune the batch",
    ),
    "no-clip": (
        "UPDATE: `clipped = torch.clamp(ratio, 1 - args.clip_ratio, 1 + args.clip_ratio)`",
        "core 8",
        "PPO's loss beat plain PG and the others; clip 0.25 to start",
    ),
    "value-clip": ("lacks it", "core 9", "hurts, whatever the threshold (C13)"),
    "entropy-bonus": ("lacks it", "core 10", "no help, except on HalfCheetah"),
    "target-kl": ("ARGUMENTS: `--target-kl` off", "- (Spinning Up's PPO has it)", "-"),
}


def git(*words):
    return subprocess.run(["git", *words], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def edited(text, edits):
    """ppo.py's text with each named line (matched by its text, once, whatever its indent)
    replaced, the replacement's lines at that indent."""
    lines = text.split("\n")
    for old, new in edits:
        where = [i for i, line in enumerate(lines) if line.strip() == old]
        if len(where) != 1:
            sys.exit(f"details.py: {len(where)} lines of ppo.py read {old!r}, not 1")
        i = where[0]
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i : i + 1] = [indent + part for part in new.split("\n")] if new else []
    return "\n".join(lines)


def script(rev, detail):
    """The edited copy of ppo.py at rev, written once."""
    path = os.path.join(HERE, "runs-details", "scripts", rev, f"{detail}.py")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(edited(git("show", f"{rev}:ppo.py"), DETAILS[detail][2]))
    return path


def read_rows():
    if not os.path.exists(DETAILS_CSV):
        return []
    with open(DETAILS_CSV) as f:
        return list(csv.DictReader(f))


def append(row):
    new = not os.path.exists(DETAILS_CSV)
    with open(DETAILS_CSV, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def run_grid(args):
    rev = git("rev-parse", "--short", args.rev).strip()
    done = {(r["detail"], r["env"], r["seed"]) for r in read_rows() if int(r["steps"]) >= args.steps}
    grid = [(d, e, s) for d in args.details for e in args.envs for s in args.seeds]
    grid = [cell for cell in grid if (cell[0], cell[1], str(cell[2])) not in done]
    print(f"{len(grid)} runs to go, {args.jobs} at a time, ppo.py at {rev}", flush=True)

    def job(cell):
        detail, env, seed = cell
        rundir = os.path.join(HERE, "runs-details", detail, env, str(seed))
        summary = os.path.join(rundir, "summary.json")
        if not finished(summary, args.steps):
            subprocess.run(["rm", "-rf", rundir])
            os.makedirs(os.path.dirname(rundir), exist_ok=True)
            cmd = command("ppo", env, seed, args.steps, rundir, DETAILS[detail][1])
            cmd[1] = script(rev, detail)
            with open(rundir + ".log", "w") as log:
                subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
            if not finished(summary, args.steps):
                print(f"FAILED {detail} {env} seed {seed}: see {rundir}.log", flush=True)
                return
        with open(summary) as f:
            s = json.load(f)
        row = dict(detail=detail, env=env, seed=seed, steps=s["steps"], commit=rev)
        row["return"] = s["return_last100"]
        append(row)
        print(f"{time.strftime('%H:%M:%S')} {detail} {env} seed {seed}: {row['return']}", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(job, grid))


def cells():
    """{(detail, env): [return of each seed]} and the envs, in their order in details.csv."""
    out, envs = defaultdict(dict), []
    for r in read_rows():
        out[r["detail"], r["env"]][int(r["seed"])] = float(r["return"])
        if r["env"] not in envs:
            envs.append(r["env"])
    return out, envs


def table():
    """Mean ± std over seeds (numpy's, ddof 0), and the change from the default over the seeds
    both have: a change is within the seed spread when it is smaller than the larger of the two
    stds. One seed alone: its return, no change."""
    out, envs = cells()
    print("| detail | switched to | " + " | ".join(envs) + " |")
    print("|---|---|" + "---|" * len(envs))
    for detail, (what, _, _) in DETAILS.items():
        row = []
        for env in envs:
            got, base = out.get((detail, env), {}), out.get(("default", env), {})
            if not got:
                row.append("")
                continue
            x = np.array(list(got.values()))
            if len(x) == 1:
                # one seed: no spread, so no change is judged yet
                row.append(f"{x.mean():,.0f} (n=1)")
                continue
            cell = f"{x.mean():,.0f} ± {x.std():,.0f} (n={len(x)})"
            seeds = sorted(set(got) & set(base))
            if detail != "default" and seeds:
                b = np.array([base[s] for s in seeds])
                change = np.mean([got[s] for s in seeds]) - b.mean()
                spread = max(x.std(), b.std())
                within = " within spread" if abs(change) < spread else ""
                cell += f": {change:+,.0f}{within}"
            row.append(cell)
        if any(row):
            print(f"| {detail} | {what} | " + " | ".join(row) + " |")
    print()
    print("| detail | where in ppo.py | Huang et al. 2022 | Andrychowicz et al. 2021 |")
    print("|---|---|---|---|")
    for detail, (where, huang, andrychowicz) in SOURCES.items():
        print(f"| {detail} | {where} | {huang} | {andrychowicz} |")


def figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, envs = cells()
    envs = [e for e in envs if out.get(("default", e))]
    names = [d for d in DETAILS if d != "default" and any((d, e) in out for e in envs)]
    fig, axes = plt.subplots(1, len(envs), figsize=(4 * len(envs), 0.45 * len(names) + 1.5), sharey=True)
    for ax, env in zip(np.atleast_1d(axes), envs):
        base = out["default", env]
        for i, detail in enumerate(names):
            got = out.get((detail, env), {})
            # against the default's mean over the same seeds, as in the table
            mean = np.mean([base[s] for s in got if s in base] or list(base.values()))
            if len(got) > 1:
                ax.plot([np.mean(list(got.values())) - mean] * 2, [i - 0.3, i + 0.3], color="tab:orange")
            ax.scatter([v - mean for v in got.values()], [i] * len(got), s=18, color="tab:blue", zorder=3)
        mean = np.mean(list(base.values()))
        ax.scatter([v - mean for v in base.values()], [-1] * len(base), s=18, color="tab:gray", zorder=3)
        ax.axvline(0, color="gray", lw=0.8)
        ax.set_title(env)
        ax.set_xlabel("return minus the default's mean")
    ax = np.atleast_1d(axes)[0]
    ax.set_yticks(range(-1, len(names)), ["default"] + names)
    ax.invert_yaxis()
    fig.suptitle(
        "ppo.py with one detail switched, 1M steps: a dot per seed, a bar at the mean (each env its own scale)"
    )
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "details.png"), dpi=110)
    print("wrote benchmarks/details.png")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--details", nargs="+", default=list(DETAILS), choices=list(DETAILS))
    p.add_argument("--envs", nargs="+", default=["Walker2d-v4", "Hopper-v4"])
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--steps", type=int, default=1_000_000, help="--total-steps of each run (default: 1000000)")
    p.add_argument("--jobs", type=int, default=os.cpu_count(), help="runs at once (default: cores)")
    p.add_argument("--rev", default="HEAD", help="the commit whose ppo.py is run (default: HEAD)")
    p.add_argument("--table", action="store_true", help="print the table of details.csv and run nothing")
    p.add_argument("--figure", action="store_true", help="draw details.png from details.csv and run nothing")
    args = p.parse_args()
    if args.table:
        table()
    elif args.figure:
        figure()
    else:
        run_grid(args)


if __name__ == "__main__":
    main()
