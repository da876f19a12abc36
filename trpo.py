"""Trust region policy optimization (TRPO): the largest policy step whose mean KL stays <= delta.

Parent: vpg.py. Changes: the policy's Adam step becomes a natural-gradient step: conjugate gradient solves
H x = g with Fisher-vector products (the Hessian of the mean KL), the step is scaled to KL = delta and kept by a
backtracking line search only if KL <= delta and the surrogate improves; batches of 2,048 steps. delta and the
value rate anneal to 0: held constant, each lost a solved task (InvertedDoublePendulum-v4, InvertedPendulum-v4).
Theory: Spinning Up's TRPO page; Schulman et al. 2015, "Trust Region Policy Optimization".
Run: python trpo.py --env Walker2d-v5
"""

import argparse
import ast
import csv
import importlib.util
import inspect
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical, Independent, Normal

ALGO = os.path.splitext(os.path.basename(__file__))[0]
torch.distributions.Distribution.set_default_validate_args(False)  # checks cost more than the math


# ================================ ARGUMENTS ================================
def parse_args(argv=None):
    p = argparse.ArgumentParser(ALGO, usage=argparse.SUPPRESS, description=__doc__.splitlines()[0], allow_abbrev=False)
    p.add_argument("--env", default="CartPole-v1", help="gymnasium env id, or module:id (default: CartPole-v1)")
    p.add_argument("--env-kwargs", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="keyword arguments of gym.make, VALUE a Python literal (default: none)")  # fmt: skip
    p.add_argument("--seed", type=seed, default=1, help="seed of torch, numpy and the envs (default: 1)")
    p.add_argument("--total-steps", type=positive_int, default=1_000_000, help="env steps in all (default: 1000000)")
    p.add_argument("--num-envs", type=positive_int, default=4, help="parallel envs in one process (default: 4)")
    p.add_argument("--gamma", type=discount, default=0.995, help="discount factor (default: 0.995)")
    p.add_argument("--hidden", type=positive_int, default=64, help="units in each of two hidden layers (default: 64)")
    p.add_argument("--log-std-init", type=number, default=-0.5, help="initial log-std of the Gaussian (default: -0.5)")
    p.add_argument("--device", default="cpu", choices=["cpu"] + ["cuda"] * torch.cuda.is_available(),
                   help="torch device (default: cpu)")  # fmt: skip
    p.add_argument("--logdir", default=None, help="run directory (default: runs/ENV__ALGO__SEED__TIME)")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=False,
                   help="TensorBoard curves too, needs tensorboard (default: off)")  # fmt: skip
    # algorithm-specific
    p.add_argument("--num-steps", type=positive_int, default=512, help="steps per env per rollout (default: 512)")
    p.add_argument("--lam", type=unit, default=0.95, help="GAE lambda (default: 0.95)")
    p.add_argument("--vf-lr", type=positive, default=1e-3, help="value learning rate, annealed to 0 (default: 0.001)")
    p.add_argument("--vf-iters", type=positive_int, default=10, help="passes over the batch to fit V (default: 10)")
    p.add_argument("--num-minibatches", type=positive_int, default=32, help="minibatches per pass (default: 32)")
    p.add_argument("--delta", type=positive, default=0.02, help="trust region, annealed to 0 (default: 0.02)")
    p.add_argument("--cg-iters", type=positive_int, default=10, help="conjugate gradient iterations (default: 10)")
    p.add_argument("--damping", type=positive, default=0.1, help="added to H's diagonal (default: 0.1)")
    p.add_argument("--backtrack-iters", type=positive_int, default=10, help="most line-search steps (default: 10)")
    args = p.parse_args(argv)
    if args.num_minibatches > args.num_steps * args.num_envs:
        fail("--num-minibatches must be at most the batch, --num-steps x --num-envs")
    return args


# ============================ ENVIRONMENT (shared) ============================
def make_env(env_id, env_kwargs):
    """The one place where an env is made: training, the check and tools/watch.py all call it, so
    a wrapper added here changes them all alike. env_kwargs are the env's own settings
    (--env-kwargs), saved with the model."""
    return gym.make(env_id, disable_env_checker=True, **env_kwargs)


def make_envs(env_id, env_kwargs, num_envs):
    """N copies stepped in this process. SAME_STEP autoreset: the step that ends an episode
    returns its real reward, term/trunc and infos["final_obs"], with obs already reset. (The
    default NEXT_STEP mode would add a fake transition, reward 0 and action ignored, instead.)"""
    fns = [lambda: make_env(env_id, env_kwargs)] * num_envs
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


class RunningNorm:
    """Running mean and variance of a stream of batches (parallel Welford update)."""

    def __init__(self, shape):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        b_mean, b_var, n = x.mean(0), x.var(0), len(x)
        delta, total = b_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + b_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def __call__(self, x):
        return np.clip((x - self.mean) / np.sqrt(self.var + 1e-8), -10, 10).astype(np.float32)


# ============================= NETWORKS (shared) =============================
def mlp(sizes, out_gain):
    """Tanh MLP, orthogonal init; a small out_gain starts the policy near uniform."""
    layers = []
    for i in range(len(sizes) - 1):
        layer = nn.Linear(sizes[i], sizes[i + 1])
        nn.init.orthogonal_(layer.weight, np.sqrt(2) if i < len(sizes) - 2 else out_gain)
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.Tanh()] if i < len(sizes) - 2 else [layer]
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """pi(a|s): Categorical over logits for Discrete actions; for Box, a diagonal Gaussian
    whose mean is the network's output and whose log-std is a free, state-independent vector
    (Independent: log-prob and entropy sum over the action dimensions)."""

    def __init__(self, obs_dim, act_space, hidden):
        super().__init__()
        self.discrete = isinstance(act_space, gym.spaces.Discrete)
        act_dim = act_space.n if self.discrete else act_space.shape[0]
        self.net = mlp([obs_dim, hidden, hidden, act_dim], out_gain=0.01)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.zeros(act_dim))
            self.low, self.high = act_space.low, act_space.high

    def dist(self, obs):
        out = self.net(obs)
        return Categorical(logits=out) if self.discrete else Independent(Normal(out, self.log_std.exp()), 1)

    def sample(self, obs):
        """a ~ pi(.|s) without building a distribution object: this runs at every env step."""
        out = self.net(obs)
        if self.discrete:  # Gumbel-max: argmax(logits + Gumbel noise) is a Categorical sample;
            # timeit on 4 envs x 2 actions: 7 us a call, against 60 us for Categorical(logits=out).sample()
            return (out - torch.empty_like(out).exponential_().log()).argmax(-1)
        return out + self.log_std.exp() * torch.randn_like(out)

    def mode(self, obs):
        out = self.net(obs)
        return out.argmax(-1) if self.discrete else out

    def to_env(self, act):
        """The env gets the sampled action clipped to its bounds; the loss keeps the sample."""
        act = act.cpu().numpy()
        return act if self.discrete else np.clip(act, self.low, self.high)


# ================================== CRITIC ==================================
class Critic(nn.Module):
    """V(s), the baseline. Subtracting any function of the state alone keeps the gradient
    unbiased (EGLP). Bootstrapping (at a cut or a truncation, and with lam < 1 at every step)
    also builds the advantage from V's guesses of later rewards: bias where V is wrong, in
    exchange for less variance. lam (and the rollout's length) set the trade."""

    def __init__(self, obs_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim, hidden, hidden, 1], out_gain=1.0)

    def forward(self, obs):
        return self.net(obs).squeeze(-1)


# ============================== WEIGHTS PHI_T ==============================
def weights_fn(rew, v, v_next, term, done, gamma, lam):
    """Phi_t = GAE advantage (GAE paper eq. 16): sum_l (gamma lam)^l delta_{t+l}, where
    delta_t = r_t + gamma V(s_{t+1}) - V(s_t); lam=1 gives reward-to-go minus V, lam=0 delta_t.
    All (T, N); V(s_{t+1}) is 0 after a termination, V(final obs) after a truncation or cut."""
    delta = rew + gamma * (1 - term) * v_next - v
    adv, acc = torch.zeros_like(rew), torch.zeros_like(rew[0])
    for t in reversed(range(len(rew))):  # the sum stops where an episode ends
        acc = delta[t] + gamma * lam * (1 - done[t]) * acc
        adv[t] = acc
    return adv


# ================================= UPDATE =================================
def conjugate_gradient(Fvp, g, iters):
    """Solve H x = g with only products H v: H is never formed (TRPO paper, appendix C)."""
    x, r, p = torch.zeros_like(g), g.clone(), g.clone()
    rr = r @ r
    for _ in range(iters):
        Hp = Fvp(p)
        alpha = rr / (p @ Hp + 1e-10)
        x, r = x + alpha * p, r - alpha * Hp
        rr_new = r @ r
        if rr_new < 1e-10:
            break
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


def update_policy(actor, b_obs, b_act, b_weights, b_logp_old, delta, args):
    """Maximize the surrogate L = mean(pi(a|s)/pi_old(a|s) * A) subject to mean KL <= delta:
    step = sqrt(2 delta / x^T H x) x with x = H^-1 g, then TRPO's backtracking line search."""
    params = list(actor.parameters())
    flat = nn.utils.parameters_to_vector  # concatenates a list of tensors into one vector
    with torch.no_grad():
        pi_old = actor.dist(b_obs)

    def surrogate():
        return (torch.exp(actor.dist(b_obs).log_prob(b_act) - b_logp_old) * b_weights).mean()

    def mean_kl():
        return torch.distributions.kl_divergence(pi_old, actor.dist(b_obs)).mean()

    surr_old = surrogate()  # L at theta_old; the step makes it larger
    g = flat(torch.autograd.grad(surr_old, params))
    grad_kl = flat(torch.autograd.grad(mean_kl(), params, create_graph=True))

    def Fvp(v):  # Fisher-vector product by double backprop: H v = grad(grad(KL) . v), damped
        return flat(torch.autograd.grad(grad_kl @ v, params, retain_graph=True)) + args.damping * v

    x = conjugate_gradient(Fvp, g, args.cg_iters)
    step = torch.sqrt(2 * delta / (x @ Fvp(x) + 1e-10)) * x
    theta_old = flat(params).detach()
    for backtracks in range(args.backtrack_iters):
        nn.utils.vector_to_parameters(theta_old + 0.8**backtracks * step, params)
        with torch.no_grad():
            kl, improve = mean_kl().item(), (surrogate() - surr_old).item()
        if kl <= delta and improve > 0:
            break
    else:  # no step passed: keep the old policy
        nn.utils.vector_to_parameters(theta_old, params)
        kl, improve, backtracks = 0.0, 0.0, args.backtrack_iters
    return {"ent": pi_old.entropy().mean().item(), "kl": kl, "backtracks": backtracks, "improve": improve}


def update_value(critic, vf_opt, b_obs, b_ret, iters, num_minibatches):
    """Regress V on the value targets ret = adv + V (the lambda-returns): --vf-iters passes of
    minibatch steps on (V(s) - ret)^2."""
    for _ in range(iters):
        for idx in torch.randperm(len(b_obs)).chunk(num_minibatches):
            loss_v = ((critic(b_obs[idx]) - b_ret[idx]) ** 2).mean()
            vf_opt.zero_grad()
            loss_v.backward()
            vf_opt.step()
    return {"loss_v": loss_v.item()}


# ================================== MAIN ==================================
def main(argv=None):
    args = parse_args(argv)
    run = Run(args)  # checks the env, writes the run directory, logs and saves: see PLUMBING
    torch.set_num_threads(1)  # tiny networks: threads cost more than they save
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    envs = make_envs(args.env, args.env_kwargs, args.num_envs)
    obs_dim, N = envs.single_observation_space.shape[0], args.num_envs
    actor = Actor(obs_dim, envs.single_action_space, args.hidden).to(device)
    if not actor.discrete:  # std e^-0.5 ~ 0.6, not 1: less early flailing (HalfCheetah: fewer flips onto its back)
        nn.init.constant_(actor.log_std, args.log_std_init)
    critic = Critic(obs_dim, args.hidden).to(device)
    # fused Adam: one kernel per step, much faster for tiny nets
    vf_opt = torch.optim.Adam(critic.parameters(), lr=args.vf_lr, fused=True)
    T = args.num_steps
    obs_norm, ret_norm = RunningNorm(obs_dim), RunningNorm(())
    obs, _ = envs.reset(seed=args.seed)
    obs_norm.update(obs)
    ep_ret = np.zeros(N)  # raw return of each env's episode so far
    ret_acc = np.zeros(N)  # discounted return so far, for the reward scaling
    global_step, update = 0, 0
    try:
        while global_step < args.total_steps:
            update += 1
            ended_rets = []  # raw returns of the episodes that end in this rollout
            # ================ ROLLOUT: FIXED LENGTH, CUT ANYWHERE (shared) ================
            # Storage: one (N, ...) tensor per step, stacked to (T, N, ...), time first; [t] is the step from obs[t].
            # T steps in each of N envs. next_buf[t] holds where step t really led (infos["final_obs"]
            # when an episode ended there), so the critic can bootstrap after a truncation or at the
            # rollout's edge, and not after a termination. Unless step t ended an episode,
            # next_buf[t] and obs_buf[t+1] hold the same obs, normalized alike.
            obs_buf, act_buf, rew_buf, done_buf, term_buf, next_buf = [], [], [], [], [], []
            for t in range(T):
                obs_buf.append(torch.as_tensor(obs_norm(obs), device=device))
                with torch.no_grad():
                    act = actor.sample(obs_buf[-1])
                obs, rew, term, trunc, info = envs.step(actor.to_env(act))
                obs_norm.update(obs)  # first, so that every use of this obs sees the same statistics
                done = term | trunc
                next_obs = obs.copy()
                if done.any():
                    next_obs[done] = np.stack(info["final_obs"][done])
                ep_ret = ep_ret + rew  # statistics use the raw rewards, before any scaling
                ended_rets.extend(ep_ret[done])
                ep_ret[done] = 0.0
                ret_acc = ret_acc * args.gamma * (1 - term) + rew  # as gymnasium's NormalizeReward, with its quirk:
                ret_norm.update(ret_acc)  # a terminal reward starts a sum of its own; scale by the sums' std
                rew = np.clip(rew / np.sqrt(ret_norm.var + 1e-8), -10, 10)
                ret_acc[done] = 0.0  # every episode starts a new sum
                act_buf.append(act)
                rew_buf.append(torch.as_tensor(rew, dtype=torch.float32, device=device))
                done_buf.append(torch.as_tensor(done, dtype=torch.float32, device=device))
                term_buf.append(torch.as_tensor(term, dtype=torch.float32, device=device))
                next_buf.append(torch.as_tensor(obs_norm(next_obs), device=device))
            # ================================= LEARN =================================
            global_step += T * N
            all_obs, all_act = torch.stack(obs_buf), torch.stack(act_buf)  # T steps -> (T, N, ...)
            rew, done = torch.stack(rew_buf), torch.stack(done_buf)
            term = torch.stack(term_buf)
            with torch.no_grad():
                v, v_next = critic(all_obs), critic(torch.stack(next_buf))
            adv = weights_fn(rew, v, v_next, term, done, args.gamma, args.lam)
            b_obs, b_act = all_obs.flatten(0, 1), all_act.flatten(0, 1)  # (T, N, ...) -> (T * N, ...)
            b_adv, b_ret = adv.flatten(), (adv + v).flatten()  # value targets: lambda-returns adv + V
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)  # normalized per batch
            with torch.no_grad():
                b_logp_old = actor.dist(b_obs).log_prob(b_act)
            remaining = 1 - (global_step - T * N) / args.total_steps  # share of the run to go, before this batch
            vf_opt.param_groups[0]["lr"] = remaining * args.vf_lr
            stats = update_policy(actor, b_obs, b_act, b_adv, b_logp_old, remaining * args.delta, args)
            stats.update(update_value(critic, vf_opt, b_obs, b_ret, args.vf_iters, args.num_minibatches))
            stats["explained_var"] = 1 - ((b_ret - v.flatten()).var() / (b_ret.var() + 1e-8)).item()
            run.log(update, global_step, ended_rets, stats, actor, obs_norm)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM: the run is kept
        pass
    envs.close()
    run.finish(global_step, actor, obs_norm)


# ==== PLUMBING (shared): input checks, run directory, logging, saving; a reader may stop here ====
ROW_STEPS = 2048  # fewest env steps between two rows of progress.csv: a row per 20-step update would flood it


def fail(msg, e=None):  # bad input: one line on stderr (ending in the first line of the error e), exit code 2
    msg += f": {(str(e).strip().splitlines() or [type(e).__name__])[0]}" if e is not None else ""
    print(f"{ALGO}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def checked(cast, ok, says):  # an argparse type=: a finite number (whole for int: 7, 1e6) for which ok(x) holds
    def number(text):  # "abc": float() raises ValueError, and argparse says "invalid number value: 'abc'"
        x = float(text)
        if math.isfinite(x) and (cast is float or x.is_integer()) and ok(x):
            return cast(x)
        raise argparse.ArgumentTypeError(f"must be {'a whole number ' * (cast is int)}{says}, got {text}")

    return number


number, positive = checked(float, lambda x: True, "(finite)"), checked(float, lambda x: x > 0, "positive")
positive_int, seed = checked(int, lambda x: x > 0, "> 0"), checked(int, lambda x: 0 <= x < 2**31, "in [0, 2^31)")
unit, discount = checked(float, lambda x: 0 <= x <= 1, "in [0, 1]"), checked(float, lambda x: 0 < x <= 1, "in (0, 1]")


def check_env(env_id, pairs):
    """--env-kwargs KEY=VALUE (VALUE a Python literal, else a string) as a dict, checked on one env made and stepped."""
    same, env_kwargs = {int: float, list: tuple}, {}  # a value has its default's type, or one standing for it
    try:
        if ":" in env_id:  # module:id imports the module (from the working directory too), which registers id
            sys.path.append(os.getcwd())
            importlib.import_module(env_id.split(":")[0])
        entry = gym.spec(env_id.split(":")[-1]).entry_point  # the env's class or function, or "module:name" of it
        maker = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
        params = [*inspect.signature(maker).parameters.values(), *inspect.signature(gym.make).parameters.values()]
        settings = {p.name: p.default for p in params if p.default is not p.empty}  # what they name, with defaults
        for key, _, value in (text.partition("=") for text in pairs):
            if len(settings) > 2 and key not in settings:  # more than gym.make's own two: the env names its own
                fail(f"{env_id} has no setting {key}; it has " + ", ".join(f"{k}={v!r}" for k, v in settings.items()))
            try:
                env_kwargs[key] = value = ast.literal_eval(value)
            except (ValueError, SyntaxError):  # a bare word
                env_kwargs[key] = value
            default = settings.get(key)
            if default is not None and same.get(type(value), type(value)) != same.get(type(default), type(default)):
                fail(f"--env-kwargs {key} takes a {type(default).__name__} (default {default!r}), got {value!r}")
        env = make_env(env_id, env_kwargs)
        env.reset(seed=0)
        env.step(env.action_space.sample())
    except Exception as e:  # gymnasium raises several types here; all mean "cannot run this env"
        fail(f"cannot make env {env_id!r}" + (f" with {env_kwargs}" if env_kwargs else ""), e)
    if not isinstance(env.observation_space, gym.spaces.Box) or len(env.observation_space.shape) != 1:
        fail(f"unsupported observation space {env.observation_space} (only a 1-D Box)")
    if not isinstance(env.action_space, (gym.spaces.Discrete, gym.spaces.Box)) or len(env.action_space.shape) > 1:
        fail(f"unsupported action space {env.action_space} (only Discrete or a 1-D Box)")
    return env_kwargs


class Run:
    """config.json; model.pt after every update; rows of progress.csv; a last row and summary.json at the end."""

    def __init__(self, args):
        if args.tensorboard and importlib.util.find_spec("tensorboard") is None:
            fail("--tensorboard needs the optional package tensorboard: pip install tensorboard")
        args.env_kwargs = check_env(args.env, args.env_kwargs)
        self.args, self.total = args, args.total_steps
        self.dir = args.logdir or os.path.join("runs", f"{args.env}__{ALGO}__{args.seed}__{int(time.time())}")
        if os.path.exists(os.path.join(self.dir, "config.json")):  # every run writes it first
            fail(f"{self.dir} already holds a run; choose another --logdir")
        config = dict(vars(args), algo=ALGO, torch=torch.__version__, gymnasium=gym.__version__, numpy=np.__version__)
        try:
            os.makedirs(self.dir, exist_ok=True)
            Path(self.dir, "config.json").write_text(json.dumps(config, indent=2))  # a set as a value: TypeError
            self.csv = csv.writer(open(Path(self.dir, "progress.csv"), "w", newline="", buffering=1))
        except (OSError, TypeError) as e:  # a file in the way, no permission, a full disk
            fail(f"cannot write the run directory {self.dir}", e)
        self.recent, self.pending, self.row_step, self.last = [], [], 0, None  # episode returns, rows: see log
        self.tb = args.tensorboard and importlib.import_module("torch.utils.tensorboard").SummaryWriter(self.dir)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops a run as Ctrl-C does
        print(f"{ALGO} on {args.env}, {self.total:,} steps, run directory {self.dir} (Ctrl-C stops and keeps it)")
        self.start = time.time()

    def log(self, update, step, ended_rets, stats, actor, obs_norm):
        self.recent = (self.recent + ended_rets)[-100:]
        self.pending += ended_rets
        self.last = (update, step, stats)
        finite = all(np.isfinite(v) for v in stats.values())
        if not finite or step - self.row_step >= ROW_STEPS or step >= self.total:
            self.write_row(update, step, stats)
        if not finite:  # exit code 1; model.pt keeps the last good policy
            sys.exit(f"{ALGO}: stopped: non-finite loss at update {update}; model.pt holds the update before it")
        self.save(actor, obs_norm)

    def write_row(self, update, step, stats):
        elapsed = time.time() - self.start
        ret = round(float(np.mean(self.pending)), 2) if self.pending else ""
        row = dict(update=update, step=step, return_mean=ret, episodes=len(self.pending), sps=int(step / elapsed))
        row.update(time=round(elapsed, 1), **{k: round(v, 5) for k, v in stats.items()})
        if self.row_step == 0:  # before the first row, the header
            self.csv.writerow(row)
        self.csv.writerow(row.values())
        for k, v in row.items() if self.tb else ():  # --tensorboard: the same columns, as curves
            self.tb.add_scalar(k, math.nan if v == "" else v, step)
        done = f"{step:,} of {self.total:,} steps ({step / self.total:.0%}) | return {ret if self.pending else '-'}"
        left = max(self.total - step, 0) * elapsed / step / 60
        print(f"{done} | {row['sps']:,} steps/s | {left:.0f} min left", flush=True)
        self.pending, self.row_step = [], step

    def save(self, actor, obs_norm):  # the policy, its frozen observation statistics, its env, the file that saved it
        norm = dict(obs_mean=torch.as_tensor(obs_norm.mean), obs_var=torch.as_tensor(obs_norm.var))
        model = dict(algo=ALGO, env=self.args.env, env_kwargs=self.args.env_kwargs, hidden=self.args.hidden, **norm)
        torch.save(dict(model, actor=actor.state_dict()), os.path.join(self.dir, "model.tmp"))
        os.replace(os.path.join(self.dir, "model.tmp"), os.path.join(self.dir, "model.pt"))  # never half-written

    def finish(self, step, actor, obs_norm):
        if self.last and self.last[1] > self.row_step:  # the updates since the last row get theirs
            self.write_row(*self.last)
        self.save(actor, obs_norm)
        if self.tb:
            self.tb.close()
        wall, last100 = time.time() - self.start, round(float(np.mean(self.recent)), 2) if self.recent else None
        summary = dict(algo=ALGO, env=self.args.env, seed=self.args.seed, steps=step, return_last100=last100)
        summary.update(sps=int(step / wall), wall_s=round(wall, 1))
        Path(self.dir, "summary.json").write_text(json.dumps(summary, indent=2))
        how = "done" if step >= self.total else "interrupted"
        print(f"{how} at step {step:,}; mean return of the last 100 episodes {last100}")


if __name__ == "__main__":
    main()
