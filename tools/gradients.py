"""Measure what each step of the ladder does to the policy-gradient estimate.

For one policy held fixed, draws a pool of whole episodes, cuts it into batches of whole episodes
and computes on each batch the gradient of every weighting Phi_t: R(tau) (simple_pg.py),
reward-to-go (rtg_pg.py), reward-to-go minus V and GAE (vpg.py), a2c's n-step return minus V
(a2c.py). Each with the file's own weights_fn and update_policy (a2c's weights through vpg's), so
a change to a file shows here. Prints each one's relative variance, cosine to the pooled mean,
and bias against reward-to-go; then the variance against the batch size; a figure too.
Run: python tools/gradients.py [RUN_OR_MODEL_PT | --env CartPole-v1 --seed 1]
"""

import argparse
import importlib.util
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("simple_pg", "rtg_pg", "vpg", "a2c")
KEYS = ("algo", "env", "env_kwargs", "hidden", "actor", "obs_mean", "obs_var")
MORE = """details:
  Rewards are the raw ones: the scripts divide them by a running std,
  a positive constant per batch, which changes no direction.
  The objective is the return of the time-limited episode with
  --gamma: an episode's end is its end for every weighting (no V
  bootstrapped after a time limit); a2c's rollout cut every
  --num-steps steps does bootstrap from V, as a2c.py does.
  V is vpg.py's Critic fitted by its update_value to the
  reward-to-go of --vf-steps steps drawn apart from the measured
  ones; --vf-iters 0 keeps it untrained (a poor V).
  relvar: E||g - mean g||^2 / ||mean g||^2 over the batches;
  cos: mean cosine of one batch's g to the mean of the others;
  bias: angle and relative distance of the pooled mean from
  reward-to-go's pooled mean; each +- a standard error from the
  batches (jackknife)."""


def fail(msg):
    print(f"gradients.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def checked(cast, ok, says):
    def read(text):
        try:
            x = cast(text)
        except ValueError:
            x = None
        if x is None or not ok(x):
            msg = f"must be {says}, got {text}"
            raise argparse.ArgumentTypeError(msg)
        return x

    return read


positive_int = checked(int, lambda x: x > 0, "a whole number > 0")
whole = checked(int, lambda x: x >= 0, "a whole number >= 0")
unit = checked(float, lambda x: 0 <= x <= 1, "in [0, 1]")
discount = checked(float, lambda x: 0 < x <= 1, "in (0, 1]")


def parse_args(argv):
    p = argparse.ArgumentParser(
        "gradients.py",
        usage=argparse.SUPPRESS,
        description=__doc__.splitlines()[0],
        epilog=MORE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    add = p.add_argument
    add("run", nargs="?", help="a run directory or a model.pt (default: a fresh network)")
    add("--env", default="CartPole-v1", help="fresh network: the env (default: CartPole-v1)")
    add("--hidden", type=positive_int, default=64, help="fresh network: units (default: 64)")
    add("--seed", type=whole, default=1, help="seed of the network, envs, V (default: 1)")
    add("--steps", type=positive_int, default=160_000, help="measured steps (default: 160000)")
    helps = "fewest steps a batch (default: 5000)"
    add("--batch-steps", type=positive_int, default=5000, help=helps)
    sizes = [500, 1000, 2000, 4000, 8000, 16000]
    helps = "batch sizes to sweep; none: no sweep (default: 500 ... 16000)"
    add("--sizes", type=positive_int, nargs="*", default=sizes, help=helps)
    add("--gamma", type=discount, default=1.0, help="discount (default: 1.0, undiscounted)")
    lams = [0.95, 0.9, 0.5, 0.0]
    helps = "GAE lambdas (default: 0.95 0.9 0.5 0)"
    add("--lams", type=unit, nargs="+", default=lams, help=helps)
    add("--num-steps", type=positive_int, default=5, help="a2c's rollout length (default: 5)")
    add("--vf-steps", type=positive_int, default=32_000, help="steps to fit V (default: 32000)")
    add("--vf-iters", type=whole, default=20, help="passes to fit V; 0: untrained (default: 20)")
    add("--num-envs", type=positive_int, default=8, help="envs stepped together (default: 8)")
    add("--figure", help="where the figure goes (default: gradients-ENV.png here)")
    return p.parse_args(argv)


def load_file(name):
    path = os.path.join(ROOT, f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        # an edit of the file: say where, as a traceback would
        frame = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{frame.filename}, line {frame.lineno}"
        if isinstance(e, SyntaxError):
            where = f"{e.filename}, line {e.lineno}"
        fail(f"cannot load {path}: {type(e).__name__} in {where}: {e}")
    return module


def load_policy(args, mods):
    """The Actor to measure and its frozen observation statistics."""
    import torch

    script = mods["rtg_pg"]
    ckpt = None
    if args.run:
        path = args.run
        if os.path.isdir(path):
            path = os.path.join(path, "model.pt")
        if not os.path.isfile(path):
            fail(f"{path}: no such file")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            missing = [k for k in KEYS if k not in ckpt]
        except Exception:
            fail(f"{path} is not a model.pt of these scripts")
        if missing:
            fail(f"{path} is not a model.pt of these scripts")
        env_id = ckpt["env"]
        env_kwargs = ckpt["env_kwargs"]
        hidden = ckpt["hidden"]
    else:
        env_id = args.env
        env_kwargs = {}
        hidden = args.hidden
    script.ALGO = "gradients.py"
    env_kwargs = script.check_env(env_id, [f"{k}={v!r}" for k, v in env_kwargs.items()])
    env = script.make_env(env_id, env_kwargs)
    obs_dim = env.observation_space.shape[0]
    torch.manual_seed(args.seed)
    actor = script.Actor(obs_dim, env.action_space, hidden)
    norm = script.RunningNorm(obs_dim)
    if ckpt is not None:
        try:
            actor.load_state_dict(ckpt["actor"])
        except RuntimeError as e:
            fail(f"cannot load {args.run}: {str(e).splitlines()[0]}")
        norm.mean = ckpt["obs_mean"].numpy()
        norm.var = ckpt["obs_var"].numpy()
    elif not actor.discrete:
        torch.nn.init.constant_(actor.log_std, -0.5)
    env.close()
    policy = dict(actor=actor, norm=norm, env=env_id)
    policy.update(env_kwargs=env_kwargs, hidden=hidden)
    return policy


def collect(policy, mods, steps, num_envs, seed):
    """Whole episodes, stepped num_envs at a time, until `steps` are in: an
    episode is kept iff it began before then, so no length is favoured.
    Returns the episodes packed one a column, (T, N), padded after the end."""
    import gymnasium as gym
    import numpy as np
    import torch

    script = mods["rtg_pg"]

    def make():
        return script.make_env(policy["env"], policy["env_kwargs"])

    fns = [make for _ in range(num_envs)]
    mode = gym.vector.AutoresetMode.SAME_STEP
    envs = gym.vector.SyncVectorEnv(fns, autoreset_mode=mode)
    actor = policy["actor"]
    obs, _ = envs.reset(seed=seed)
    current = [dict(obs=[], act=[], rew=[]) for _ in range(num_envs)]
    episodes = []
    keep = np.ones(num_envs, dtype=bool)
    stored = 0
    while keep.any():
        x = torch.as_tensor(policy["norm"](obs))
        with torch.no_grad():
            act = actor.sample(x)
        obs, rew, term, trunc, _ = envs.step(actor.to_env(act))
        for i in np.flatnonzero(keep):
            current[i]["obs"].append(x[i])
            current[i]["act"].append(act[i])
            current[i]["rew"].append(float(rew[i]))
            stored += 1
            if term[i] or trunc[i]:
                episodes.append(current[i])
                current[i] = dict(obs=[], act=[], rew=[])
                keep[i] = stored < steps
    envs.close()
    return pack(episodes)


def pack(episodes):
    """Episodes (dicts of per-step lists) as (T, N) tensors, one a column."""
    import torch

    T = max(len(ep["rew"]) for ep in episodes)
    N = len(episodes)
    first = episodes[0]
    obs = torch.zeros((T, N) + first["obs"][0].shape, dtype=first["obs"][0].dtype)
    act = torch.zeros((T, N) + first["act"][0].shape, dtype=first["act"][0].dtype)
    rew = torch.zeros(T, N)
    mask = torch.zeros(T, N, dtype=torch.bool)
    for n, ep in enumerate(episodes):
        L = len(ep["rew"])
        obs[:L, n] = torch.stack(ep["obs"])
        act[:L, n] = torch.stack(ep["act"])
        rew[:L, n] = torch.tensor(ep["rew"])
        mask[:L, n] = True
    return pool_of(obs, act, rew, mask)


def pool_of(obs, act, rew, mask):
    """The pool: obs, act, rew, mask (T, N); done marks each episode's last
    step and every padded step after it."""
    import torch

    after = torch.ones_like(mask[:1])
    done = (~torch.cat([mask[1:], ~after], 0)) | ~mask
    return dict(obs=obs, act=act, rew=rew, mask=mask, done=done.float())


def fit_critic(mods, pool, gamma, iters, hidden, seed):
    """vpg's Critic fitted by vpg's update_value to the reward-to-go, scaled
    by its std (as the scripts scale rewards); returns V in raw units."""
    import torch

    vpg = mods["vpg"]
    torch.manual_seed(seed)
    critic = vpg.Critic(pool["obs"].shape[-1], hidden)
    ret = mods["rtg_pg"].weights_fn(pool["rew"], pool["done"], gamma)
    b_obs = pool["obs"][pool["mask"]]
    b_ret = ret[pool["mask"]]
    scale = float(b_ret.std()) + 1e-8
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    minibatches = max(1, len(b_obs) // 256)
    if iters > 0:
        vpg.update_value(critic, opt, b_obs, b_ret / scale, iters, minibatches)

    def value(obs):
        with torch.no_grad():
            return critic(obs) * scale

    return value


def explained_var(pool, value, mods, gamma):
    ret = mods["rtg_pg"].weights_fn(pool["rew"], pool["done"], gamma)
    v = value(pool["obs"])
    m = pool["mask"]
    resid = (ret[m] - v[m]).var() / ret[m].var()
    return 1 - float(resid)


def names(lams):
    out = ["R(tau)", "reward-to-go", "rtg - V"]
    out += [f"GAE {lam:g}" for lam in lams]
    return out + ["a2c n-step - V"]


def weightings(mods, pool, v, gamma, lams, num_steps, seed):
    """Phi_t (T, N) of each weighting, by each file's own weights_fn. v: V
    of each obs (T, N), 0 where there is none; V(s_{t+1}) is v shifted."""
    import torch

    rew = pool["rew"]
    done = pool["done"]
    v = torch.where(pool["mask"], v, 0.0)
    v_next = torch.cat([v[1:], torch.zeros_like(v[:1])], 0)
    out = {}
    out["R(tau)"] = mods["simple_pg"].weights_fn(rew, done, gamma)
    out["reward-to-go"] = mods["rtg_pg"].weights_fn(rew, done, gamma)
    gae = mods["vpg"].weights_fn
    # an episode's end is a termination: nothing after it is bootstrapped
    out["rtg - V"] = gae(rew, v, v_next, done, done, gamma, 1.0)
    for lam in lams:
        out[f"GAE {lam:g}"] = gae(rew, v, v_next, done, done, gamma, lam)
    # a2c cuts each env's stream every num_steps steps, at an offset from
    # the episode's start that is uniform: the cut ends the sum there and V
    # of the next obs stands for the rest (done, not term)
    g = torch.Generator().manual_seed(seed)
    offset = torch.randint(num_steps, (rew.shape[1],), generator=g)
    t = torch.arange(len(rew))[:, None]
    cut = ((t + offset) % num_steps == num_steps - 1).float()
    cut_done = torch.maximum(done, cut)
    a2c = mods["a2c"].weights_fn
    out["a2c n-step - V"] = a2c(rew, v, v_next, done, cut_done, gamma, 1.0)
    return out


def split(pool, size):
    """Columns (episodes) in order, grouped into batches of >= size steps;
    the rest, short of a batch, is left out."""
    lengths = pool["mask"].sum(0).tolist()
    batches = []
    cols = []
    total = 0
    for n, length in enumerate(lengths):
        cols.append(n)
        total += length
        if total >= size:
            batches.append(cols)
            cols = []
            total = 0
    return batches


def batch_grads(actor, update, pool, weights, batches):
    """(K, P): grad J estimated on each batch, as minus the gradient of the
    script's own surrogate -mean(log pi(a|s) * Phi) (update_policy, with an
    optimizer that moves nothing)."""
    import torch

    params = list(actor.parameters())
    opt = torch.optim.SGD(params, lr=0.0)
    rows = []
    for cols in batches:
        m = pool["mask"][:, cols]
        b_obs = pool["obs"][:, cols][m]
        b_act = pool["act"][:, cols][m]
        update(actor, opt, b_obs, b_act, weights[:, cols][m])
        rows.append(-torch.cat([p.grad.flatten() for p in params]))
    return torch.stack(rows).double()


def jackknife(stat, K):
    """The statistic on all K batches and its standard error, from the K
    leave-one-out values."""
    import torch

    full = stat(torch.ones(K, dtype=torch.bool))
    loo = []
    for k in range(K):
        keep = torch.ones(K, dtype=torch.bool)
        keep[k] = False
        loo.append(stat(keep))
    loo = torch.tensor(loo)
    se = ((K - 1) / K * ((loo - loo.mean()) ** 2).sum()) ** 0.5
    return dict(value=float(full), se=float(se))


def spread(g):
    """E||g - mean g||^2 estimated from the rows of g (K, P)."""
    mean = g.mean(0)
    return ((g - mean) ** 2).sum(1).sum() / (len(g) - 1)


def relvar(G):
    def stat(keep):
        g = G[keep]
        return spread(g) / (g.mean(0) ** 2).sum()

    return jackknife(stat, len(G))


def statistics(G, ref):
    """relvar, cos, angle (degrees) and reldist of (K, P) estimates G
    against the pooled mean of ref (K, P), each as value and se."""
    import math

    import torch

    K = len(G)
    others = (G.sum(0) - G) / (K - 1)
    cos = torch.nn.functional.cosine_similarity(G, others, dim=1)
    cos_se = float(cos.std()) / math.sqrt(K)

    def angle(keep):
        a = G[keep].mean(0)
        b = ref[keep].mean(0)
        c = torch.nn.functional.cosine_similarity(a, b, dim=0)
        return torch.rad2deg(torch.arccos(c.clamp(-1, 1)))

    def reldist(keep):
        a = G[keep].mean(0)
        b = ref[keep].mean(0)
        return (a - b).norm() / b.norm()

    out = dict(relvar=relvar(G))
    out["cos"] = dict(value=float(cos.mean()), se=cos_se)
    out["angle"] = jackknife(angle, K)
    out["reldist"] = jackknife(reldist, K)
    return out


def update_for(mods, name):
    """The file whose update_policy takes this weighting's gradient step
    (a2c's own step is joint with V's: vpg's policy step stands for it)."""
    if name == "R(tau)":
        return mods["simple_pg"].update_policy
    if name == "reward-to-go":
        return mods["rtg_pg"].update_policy
    return mods["vpg"].update_policy


def measure(mods, actor, pool, weights, size):
    """statistics of each weighting on the pool cut into batches of size."""
    batches = split(pool, size)
    if len(batches) < 3:
        return None
    grads = {}
    for name, w in weights.items():
        update = update_for(mods, name)
        grads[name] = batch_grads(actor, update, pool, w, batches)
    ref = grads["reward-to-go"]
    table = {}
    for name, G in grads.items():
        table[name] = statistics(G, ref)
    steps = int(pool["mask"][:, sum(batches, [])].sum())
    return dict(table=table, K=len(batches), steps=steps / len(batches))


def pm(stat, fmt):
    value = format(stat["value"], fmt)
    se = format(stat["se"], fmt)
    return f"{value} +- {se}"


def print_table(result, head):
    print(head)
    cols = "relvar", "cos", "bias angle", "bias dist"
    print(f"  {'Phi_t':<15}" + "".join(f"{c:>19}" for c in cols))
    for name, s in result["table"].items():
        cells = [pm(s["relvar"], ".2g"), pm(s["cos"], ".3f")]
        cells += [pm(s["angle"], ".1f"), pm(s["reldist"], ".3f")]
        print(f"  {name:<15}" + "".join(f"{c:>19}" for c in cells))
    # the bias is measured against a noisy reference: say how noisy
    ref = result["table"]["reward-to-go"]["relvar"]["value"]
    noise = (ref / result["K"]) ** 0.5
    msg = f"the reference itself is off by ~{noise:.0%} of its norm"
    print(f"  ({msg}: a smaller bias is not resolved)")


def print_sweep(sweep, keys):
    print("relative variance against the batch size (steps):")
    print(f"  {'Phi_t':<15}" + "".join(f"{s['steps']:>9,.0f}" for s in sweep))
    for name in keys:
        cells = [s["table"][name]["relvar"]["value"] for s in sweep]
        print(f"  {name:<15}" + "".join(f"{c:>9.3g}" for c in cells))


def figure(path, result, sweep, lams, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    table = result["table"]
    keys = list(table)
    rv = [table[k]["relvar"]["value"] for k in keys]
    err = [table[k]["relvar"]["se"] for k in keys]
    axes[0].barh(keys[::-1], rv[::-1], xerr=err[::-1], color="tab:blue")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("relative variance of one batch")
    gae = [1.0] + list(lams)
    rows = [table["rtg - V"]] + [table[f"GAE {lam:g}"] for lam in lams]
    var = [r["relvar"]["value"] for r in rows]
    bias = [r["reldist"]["value"] for r in rows]
    bias_se = [r["reldist"]["se"] for r in rows]
    axes[1].plot(gae, var, "o-", label="relative variance")
    axes[1].errorbar(gae, bias, yerr=bias_se, fmt="s-", label="bias (rel. distance)")
    axes[1].set_xlabel("GAE lambda")
    axes[1].set_yscale("log")
    axes[1].legend()
    for name in ("R(tau)", "reward-to-go", "rtg - V", "GAE 0.95"):
        steps = [s["steps"] for s in sweep]
        cells = [s["table"][name]["relvar"]["value"] for s in sweep]
        axes[2].plot(steps, cells, "o-", label=name)
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("steps per batch")
    axes[2].set_ylabel("relative variance")
    axes[2].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"figure: {path}")


def run(args):
    import time

    import torch

    torch.set_num_threads(1)
    start = time.time()
    mods = {name: load_file(name) for name in FILES}
    policy = load_policy(args, mods)
    seed = args.seed
    fit_pool = collect(policy, mods, args.vf_steps, args.num_envs, seed + 1000)
    hidden = policy["hidden"]
    value = fit_critic(mods, fit_pool, args.gamma, args.vf_iters, hidden, seed)
    pool = collect(policy, mods, args.steps, args.num_envs, seed)
    ev = explained_var(pool, value, mods, args.gamma)
    v = value(pool["obs"])
    weights = weightings(mods, pool, v, args.gamma, args.lams, args.num_steps, seed)
    actor = policy["actor"]
    result = measure(mods, actor, pool, weights, args.batch_steps)
    if result is None:
        fail(f"--steps {args.steps} holds fewer than 3 batches of --batch-steps")
    episodes = pool["mask"].shape[1]
    length = float(pool["mask"].sum(0).float().mean())
    where = f"a fresh network (--seed {seed})"
    if args.run:
        where = args.run
    print(f"{where} on {policy['env']}, gamma {args.gamma:g}, raw rewards")
    print(f"  {episodes:,} episodes of mean length {length:,.0f}")
    print(f"  V: {args.vf_iters} passes over {args.vf_steps:,} other steps, ", end="")
    print(f"explained variance {ev:.2f} on the measured steps")
    head = f"{result['K']} batches of {result['steps']:,.0f} steps (mean):"
    print_table(result, head)
    sweep = []
    for size in args.sizes:
        one = measure(mods, actor, pool, weights, size)
        if one is not None:
            sweep.append(one)
    if sweep:
        print_sweep(sweep, list(weights))
    print(f"({time.time() - start:.0f} s)")
    out = dict(result=result, sweep=sweep, ev=ev, policy=policy)
    return out


def main(argv=None):
    args = parse_args(argv)
    out = run(args)
    if importlib.util.find_spec("matplotlib") is None:
        print("the figure needs matplotlib: pip install matplotlib")
        return
    env = out["policy"]["env"]
    path = f"gradients-{env}.png"
    if args.figure:
        path = args.figure
    policy_name = "a fresh network"
    if args.run:
        policy_name = args.run
    title = f"{policy_name} on {env}"
    if out["sweep"]:
        figure(path, out["result"], out["sweep"], args.lams, title)


if __name__ == "__main__":
    main()
