"""Measure what each step of the ladder does to the policy-gradient estimate.

For one policy held fixed, draws a pool of whole episodes, cuts it into batches of whole episodes
and computes on each batch the gradient of every weighting Phi_t: R(tau) (simple_pg.py),
reward-to-go (rtg_pg.py), reward-to-go minus V and GAE (vpg.py), a2c's n-step return minus V
(a2c.py). Each with the file's own weights_fn and update_policy (a2c's weights through vpg's), so
a change to a file shows here. Prints each one's relative variance, cosine to the pooled mean,
and bias against reward-to-go; then the variance against the batch size; a figure too. First,
exactly, on the tiny MDP of tools/tiny_mdp.py: each Phi_t's mean against grad J, its variance.
--phi FILE adds the weights_fn of a file of your own (an edited copy of a script) to both.
Run: python tools/gradients.py [RUN_OR_MODEL_PT | --env CartPole-v1 --seed 1] [--phi FILE]
"""

import argparse
import importlib.util
import inspect
import os
import re
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("simple_pg", "rtg_pg", "vpg", "a2c")
KEYS = ("algo", "env", "env_kwargs", "hidden", "actor", "obs_mean", "obs_var")
MORE = """details:
  Rewards are the raw ones: the scripts divide them by a running std,
  nearly constant within a batch, which scales the estimate and
  hardly turns it.
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
  batches (jackknife).
  exact: on the tiny MDP of tools/tiny_mdp.py (3 states, 2 actions,
  horizon 4, the mean rewards), every trajectory with its
  probability gives the mean and variance of one episode's estimate;
  unbiased: a mean within 1e-6 of grad J, relatively. A critic's
  Phi_t is given three V's: V^pi, a constant (J), V_0(s) at every t.
  --phi: a file whose weights_fn takes (rew, done, gamma) or
  (rew, v, v_next, term, done, gamma, lam), as the scripts' do;
  one that mixes a batch's episodes (batch statistics) is given
  one episode at a time in the exact part. On the env its row
  joins the table and the figure's left panel, not the sweep."""


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
    helps = "a file of your own whose weights_fn to add (repeatable)"
    add("--phi", action="append", default=[], metavar="FILE", help=helps)
    helps = "lambda for --phi's critic kind (default: the file's --lam, else 1)"
    add("--phi-lam", type=unit, help=helps)
    add("--exact", action="store_true", help="only the exact part, on the tiny MDP")
    return p.parse_args(argv)


def load_file(name):
    return load_module(os.path.join(ROOT, f"{name}.py"), name)


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        fail(f"cannot load {path}: {raised(e, path)}")
    return module


def raised(e, path):
    """The error's type, file and line (the last in `path`, as a traceback would say) and
    message: an edit of the file, say where."""
    frames = traceback.extract_tb(e.__traceback__)
    frame = frames[-1]
    own = os.path.abspath(path)
    for one in frames:
        if os.path.abspath(one.filename) == own:
            frame = one
    where = f"{frame.filename}, line {frame.lineno}"
    if isinstance(e, SyntaxError):
        where = f"{e.filename}, line {e.lineno}"
    return f"{type(e).__name__} in {where}: {e}"


# a weights_fn's kind, by its number of arguments
KINDS = {3: "critic-free", 7: "critic"}
SIGNATURES = "(rew, done, gamma) nor (rew, v, v_next, term, done, gamma, lam)"


def load_phi(path, lam):
    """A Phi_t of one's own: the weights_fn of the file, its kind by its signature and,
    for a critic's, the lambda to call it with."""
    if not os.path.isfile(path):
        fail(f"--phi {path}: no such file")
    stem = os.path.splitext(os.path.basename(path))[0]
    module = load_module(path, f"phi_{stem}")
    fn = getattr(module, "weights_fn", None)
    if not callable(fn):
        fail(f"--phi {path}: it has no function weights_fn")
    signature = inspect.signature(fn)
    kind = KINDS.get(len(signature.parameters))
    if kind is None:
        fail(f"--phi {path}: weights_fn{signature} takes neither {SIGNATURES}")
    if lam is None:
        lam = own_lam(path)
    return dict(name=os.path.basename(path), fn=fn, kind=kind, lam=lam)


def own_lam(path):
    """The default of the file's --lam, as its add_argument line says; 1 without one."""
    with open(path) as f:
        text = f.read()
    found = re.search(r'"--lam",[^)]*default=([0-9.]+)', text)
    if found is None:
        return 1.0
    return float(found.group(1))


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
    script.check_env(env_id, env_kwargs)
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
            act = actor.dist(x).sample()
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


def sampled_phi(phi, pool, v, gamma):
    """Phi_t (T, N) of a file of one's own on the pool, V as for the ladder's."""
    import torch

    v = torch.where(pool["mask"], v, 0.0)
    v_next = torch.cat([v[1:], torch.zeros_like(v[:1])], 0)
    inputs = [pool["rew"], v, v_next, pool["done"]]
    if phi["kind"] == "critic-free":
        inputs = [pool["rew"], pool["done"]]
    w = call_phi(phi, inputs, gamma)
    return w.float()


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
    width = max(len(name) for name in result["table"])
    width = max(width, 15)
    print(f"  {'Phi_t':<{width}}" + "".join(f"{c:>19}" for c in cols))
    for name, s in result["table"].items():
        cells = [pm(s["relvar"], ".2g"), pm(s["cos"], ".3f")]
        cells += [pm(s["angle"], ".1f"), pm(s["reldist"], ".3f")]
        print(f"  {name:<{width}}" + "".join(f"{c:>19}" for c in cells))
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
    # a file of one's own (--phi) in orange
    colors = ["tab:orange" if k.endswith(".py") else "tab:blue" for k in keys]
    axes[0].barh(keys[::-1], rv[::-1], xerr=err[::-1], color=colors[::-1])
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


def phi_of(phi, inputs, gamma):
    """Phi_t (T, N) of a file of one's own, on one batch of episodes; a weights_fn that mixes
    the episodes of a batch (batch statistics) is given one episode at a time."""
    import torch

    w = call_phi(phi, inputs, gamma)
    N = inputs[0].shape[1]
    mixes = False
    for n in (0, N // 2, N - 1):
        one = call_phi(phi, [x[:, n : n + 1] for x in inputs], gamma)
        mixes = mixes or not torch.allclose(one[:, 0], w[:, n], atol=1e-9)
    if mixes:
        columns = [call_phi(phi, [x[:, n : n + 1] for x in inputs], gamma) for n in range(N)]
        w = torch.cat(columns, 1)
    return w, mixes


def call_phi(phi, inputs, gamma):
    """The weights_fn, given (rew, done) or (rew, v, v_next, done): an episode's end is a
    termination."""
    import torch

    rew = inputs[0]
    done = inputs[-1]
    if phi["kind"] == "critic-free":
        w = phi["fn"](rew, done, gamma)
    else:
        w = phi["fn"](rew, inputs[1], inputs[2], done, done, gamma, phi["lam"])
    if not hasattr(w, "shape") or tuple(w.shape) != tuple(rew.shape):
        shape = tuple(getattr(w, "shape", ()))
        says = f"returned shape {shape}, not that of rew {tuple(rew.shape)}"
        fail(f"{phi['name']}: weights_fn {says}")
    return torch.as_tensor(w).double()


def moments(phis, traj, grad):
    """One episode's estimate g = sum_t Phi_t grad log pi(a_t|s_t), exactly: its mean's
    relative error and angle from grad J, and E|g - E g|^2. phis: Phi_t (H, N) of every
    trajectory, one array or several, drawn with equal chance (a2c's cut offsets)."""
    import numpy as np

    gs = [np.einsum("tn,tnk->nk", np.asarray(w), traj["score"]) for w in phis]
    mean = sum(traj["prob"] @ g for g in gs) / len(gs)
    var = sum(traj["prob"] @ ((g - mean) ** 2).sum(1) for g in gs) / len(gs)
    norm = np.linalg.norm(grad)
    error = np.linalg.norm(mean - grad) / norm
    cos = mean @ grad / max(np.linalg.norm(mean) * norm, 1e-300)
    angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return dict(error=float(error), angle=float(angle), var=float(var))


def exact_inputs(traj, V):
    """rew, v, v_next, done (H, N) of every trajectory, with V (H + 1, S) of each state."""
    import numpy as np
    import torch

    s = traj["s"]
    t = np.arange(len(s))[:, None]
    v_all = torch.tensor(V[t, s])
    done = torch.zeros(v_all[1:].shape, dtype=torch.float64)
    done[-1] = 1.0
    return [torch.tensor(traj["rew"]), v_all[:-1], v_all[1:], done]


def exact(mods, gamma, lams, num_steps, phis):
    """The exact part: every Phi_t of the ladder, and each of phis, on the tiny MDP."""
    import numpy as np
    import tiny_mdp

    traj = tiny_mdp.trajectories()
    grad, V = tiny_mdp.exact_grad_and_values(gamma=gamma)
    grad = grad.ravel()
    Q = tiny_mdp.q_values(V, gamma)
    J = float(tiny_mdp.MU @ V[0])
    vs = {"V^pi": V, "a constant (J)": np.full_like(V, J)}
    vs["V_0(s) at every t"] = np.tile(V[0], (len(V), 1))
    rew, v, v_next, done = exact_inputs(traj, V)
    s = traj["s"][:-1]
    t = np.arange(len(s))[:, None]
    rtg = mods["rtg_pg"].weights_fn(rew, done, gamma)
    gae = mods["vpg"].weights_fn
    rows = {}
    rows["R(tau)"] = [mods["simple_pg"].weights_fn(rew, done, gamma)]
    rows["reward-to-go"] = [rtg]
    rows["rtg - b(s), b = V^pi"] = [gae(rew, v, v_next, done, done, gamma, 1.0)]
    q = Q[t, s, traj["a"]]
    rows["Q^pi(s,a)"] = [q]
    rows["A^pi(s,a)"] = [q - V[t, s]]
    if gamma < 1:
        rows["gamma^t x rtg"] = [gamma**t * rtg.numpy()]
    table = {name: moments(w, traj, grad) for name, w in rows.items()}
    critic = {}
    for name, V_used in vs.items():
        inputs = exact_inputs(traj, V_used)
        critic[name] = critic_rows(mods, inputs, gamma, lams, num_steps, traj, grad)
    mine = []
    for phi in phis:
        mine.append(exact_phi(phi, vs, traj, grad, gamma))
    norm = float(np.linalg.norm(grad))
    out = dict(table=table, critic=critic, mine=mine, gamma=gamma, norm=norm)
    return out


def critic_rows(mods, inputs, gamma, lams, num_steps, traj, grad):
    """rtg - V, GAE and a2c's n-step return minus V, exactly, with the V of inputs; a2c's
    cut falls at each of its num_steps offsets with equal chance."""
    import torch

    rew, v, v_next, done = inputs
    gae = mods["vpg"].weights_fn
    a2c = mods["a2c"].weights_fn
    rows = {}
    rows["rtg - V"] = [gae(rew, v, v_next, done, done, gamma, 1.0)]
    for lam in lams:
        rows[f"GAE {lam:g}"] = [gae(rew, v, v_next, done, done, gamma, lam)]
    t = torch.arange(len(rew))[:, None]
    cuts = []
    for offset in range(num_steps):
        cut = ((t + offset) % num_steps == num_steps - 1).double()
        cut_done = torch.maximum(done, cut)
        cuts.append(a2c(rew, v, v_next, done, cut_done, gamma, 1.0))
    rows["a2c n-step - V"] = cuts
    return {name: moments(w, traj, grad) for name, w in rows.items()}


def exact_phi(phi, vs, traj, grad, gamma):
    """Each V's moments of a Phi_t of one's own (a critic-free one needs none)."""
    out = dict(phi=phi, rows={})
    names = list(vs)
    if phi["kind"] == "critic-free":
        names = ["V^pi"]
    for name in names:
        inputs = exact_inputs(traj, vs[name])
        if phi["kind"] == "critic-free":
            inputs = [inputs[0], inputs[-1]]
        w, mixes = phi_of(phi, inputs, gamma)
        out["rows"][name] = moments([w], traj, grad)
        out["mixes"] = mixes
    return out


# below this relative error from grad J, a mean is grad J to float precision
UNBIASED = 1e-6
# an error below this is float64's rounding, whose digits differ from one CPU to another
ROUNDING = 1e-12


def error_text(error):
    if error < ROUNDING:
        return "<1e-12"
    return f"{error:.2g}"


def verdict(m):
    if m["error"] < UNBIASED:
        return f"unbiased (relative error {error_text(m['error'])})"
    return f"biased: relative error {m['error']:.2g}, angle {m['angle']:.1f} degrees"


def objective(gamma, H):
    terms = ["r_0"]
    for t in range(1, H):
        discount = ""
        if gamma < 1:
            discount = f"{gamma:g}^{t} "
        terms.append(f"{discount}r_{t}")
    return "J = E[" + " + ".join(terms) + "]"


def print_exact(out):
    import tiny_mdp

    gamma = out["gamma"]
    print("exact, on the tiny MDP of tools/tiny_mdp.py (3 states, 2 actions, mean rewards):")
    print(f"  grad J of {objective(gamma, tiny_mdp.H)}", end="")
    print(f" (horizon {tiny_mdp.H}, gamma {gamma:g}), |grad J| {out['norm']:.3g};")
    print("  one episode's estimate: its mean's relative error and angle from grad J, and")
    print("  its variance E|g - E g|^2")
    print(f"  {'Phi_t':<24}{'error':>9}{'angle':>8}{'variance':>10}")
    for name, m in out["table"].items():
        cells = f"{error_text(m['error']):>9}{m['angle']:>8.1f}{m['var']:>10.3g}"
        print(f"  {name:<24}{cells}")
    names = list(out["critic"])
    print("  a critic's Phi_t: error and variance, with V =")
    print(f"  {'':<17}" + "".join(f"{n:>20}" for n in names))
    for row in out["critic"][names[0]]:
        cells = [out["critic"][n][row] for n in names]
        text = "".join(f"{error_text(m['error']):>11}{m['var']:>9.3g}" for m in cells)
        print(f"  {row:<17}{text}")
    if gamma < 1:
        print("  gamma < 1: discounted from step t, Phi_t is not the gradient of this J;")
        print("  discounted from the episode's start (gamma^t x rtg) it is (Nota and")
        print('  Thomas 2020, "Is the Policy Gradient a Gradient?")')
    for mine in out["mine"]:
        print_mine(mine)


def print_mine(mine):
    phi = mine["phi"]
    if phi["kind"] == "critic-free":
        m = mine["rows"]["V^pi"]
        print(f"  {phi['name']}: {verdict(m)}; variance {m['var']:.3g}")
    else:
        print(f"  {phi['name']}, a critic's Phi_t (lambda {phi['lam']:g}), with V =")
        for name, m in mine["rows"].items():
            print(f"    {name}: {verdict(m)}; variance {m['var']:.3g}")
    if mine["mixes"]:
        print("    (its weights_fn mixes a batch's episodes: given one at a time here)")


def run(args):
    import time

    import torch

    torch.set_num_threads(1)
    start = time.time()
    mods = {name: load_file(name) for name in FILES}
    phis = [load_phi(path, args.phi_lam) for path in args.phi]
    ladder = exact(mods, args.gamma, args.lams, args.num_steps, phis)
    print_exact(ladder)
    if args.exact:
        print(f"({time.time() - start:.1f} s)")
        return dict(exact=ladder)
    policy = load_policy(args, mods)
    seed = args.seed
    fit_pool = collect(policy, mods, args.vf_steps, args.num_envs, seed + 1000)
    hidden = policy["hidden"]
    value = fit_critic(mods, fit_pool, args.gamma, args.vf_iters, hidden, seed)
    pool = collect(policy, mods, args.steps, args.num_envs, seed)
    ev = explained_var(pool, value, mods, args.gamma)
    v = value(pool["obs"])
    weights = weightings(mods, pool, v, args.gamma, args.lams, args.num_steps, seed)
    ladder_weights = dict(weights)
    for phi in phis:
        weights[phi["name"]] = sampled_phi(phi, pool, v, args.gamma)
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
        one = measure(mods, actor, pool, ladder_weights, size)
        if one is not None:
            sweep.append(one)
    if sweep:
        print_sweep(sweep, list(ladder_weights))
    print(f"({time.time() - start:.0f} s)")
    out = dict(result=result, sweep=sweep, ev=ev, policy=policy, exact=ladder)
    return out


def main(argv=None):
    args = parse_args(argv)
    out = run(args)
    if args.exact:
        return
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
