"""Trust region policy optimization (TRPO): the largest policy step whose mean KL stays <= delta.

Parent: vpg.py. Changes: the Adam step on the policy becomes a natural-gradient step: conjugate
gradient solves H x = g with Fisher-vector products (Hessian of the mean KL), the step is scaled
to KL = delta, and a backtracking line search keeps it only if KL <= delta and the surrogate
improves, on batches of 2,048 steps. delta and the value rate anneal to 0: held constant, each lost a
solved task (delta: InvertedDoublePendulum-v4, 7,900 to 4,900; the value rate: InvertedPendulum-v4, 1,000 to under 50).
Theory: Spinning Up's TRPO page; Schulman et al. 2015, "Trust Region Policy Optimization".
Run: python trpo.py --env Walker2d-v5
"""

import argparse
import ast
import csv
import importlib.util
import json
import math
import os
import signal
import sys
import time
from collections import deque

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical, Independent, Normal

ALGO = os.path.splitext(os.path.basename(__file__))[0]
torch.distributions.Distribution.set_default_validate_args(False)  # checks cost more than the math


# ================================ ARGUMENTS ================================
def parse_args(argv=None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1", help="gymnasium env id, or module:id (default: CartPole-v1)")
    p.add_argument("--env-kwargs", type=key_value, nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="keyword arguments of gym.make, VALUE a Python literal (default: none)")  # fmt: skip
    p.add_argument("--seed", type=seed, default=1, help="seed of torch, numpy and the envs (default: 1)")
    p.add_argument("--total-steps", type=positive_int, default=1_000_000, help="env steps in all (default: 1000000)")
    p.add_argument("--num-envs", type=positive_int, default=4, help="parallel envs in one process (default: 4)")
    p.add_argument("--gamma", type=discount, default=0.995, help="discount factor (default: 0.995)")
    p.add_argument("--hidden", type=positive_int, default=64, help="units in each of two hidden layers (default: 64)")
    p.add_argument("--log-std-init", type=number, default=-0.5, help="initial log-std of the Gaussian (default: -0.5)")
    p.add_argument("--device", type=device, default="cpu", help="torch device (default: cpu)")
    p.add_argument("--logdir", default=None, help="run directory (default: runs/ENV__ALGO__SEED__TIME)")
    add_watch_flags(p)  # --eval, --render, --capture-video, --tensorboard ...: see PLUMBING
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
    args = check_args(p.parse_args(argv))
    if args.num_minibatches > args.num_steps * args.num_envs:
        fail("--num-minibatches must be at most the batch, --num-steps x --num-envs")
    return args


# ============================ ENVIRONMENT (shared) ============================
def make_env(env_id, env_kwargs, render_mode=None):
    """The one place where an env is made: training, the check and --eval all call it, so a
    wrapper added here (a reward of your own, say) changes them all alike. env_kwargs are the
    env's own settings (--env-kwargs), saved with the model."""
    if render_mode:  # only an env that renders takes it
        env_kwargs = dict(env_kwargs, render_mode=render_mode)
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
    if args.eval:
        return evaluate(args)
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
                ret_acc = ret_acc * args.gamma * (1 - term) + rew  # as gymnasium's NormalizeReward, quirk and all
                ret_norm.update(ret_acc)  # reward scaling: divide by the std of the discounted return
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
            run.log(update, global_step, ended_rets, stats, actor, obs_norm)
    except KeyboardInterrupt:
        run.interrupted(global_step, actor, obs_norm)
    envs.close()
    run.finish(global_step)


# ============== PLUMBING (shared): input checks, run directory, saving, --eval ==============
# Nothing below is part of the algorithm; a reader may stop here.
ROW_STEPS = 2048  # fewest env steps between two rows of progress.csv: a row per 20-step update would flood it


def fail(msg):
    """Bad input ends here: one line on stderr, exit code 2, no traceback."""
    print(f"{ALGO}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line too ("--lr must be positive, got 0"), with no usage."""

    def error(self, message):
        fail(message.removeprefix("argument ").replace(": ", " ", 1) if message.startswith("argument ") else message)


def number(text, cast=float):
    try:
        value = cast(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a {'whole ' * (cast is int)}number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def positive_int(text):
    if number(text, int) <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return int(text)


def positive(text):
    if not number(text) > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return float(text)


def non_negative(text):
    if not number(text) >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return float(text)


def unit(text):
    if not 0 <= number(text) <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return float(text)


def discount(text):
    if not 0 < number(text) <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return float(text)


def seed(text):
    if not 0 <= number(text, int) < 2**31:
        raise argparse.ArgumentTypeError(f"must be in [0, 2^31), got {text}")
    return int(text)


def device(text):
    try:
        torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"is not a torch device: {text!r}") from None
    return text


def key_value(text):
    """KEY=VALUE of --env-kwargs: VALUE is read as a Python literal (-1, (0.5, 2), False); a bare
    word stays a string."""
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value
    try:
        json.dumps(value)  # config.json keeps it
    except TypeError:
        raise argparse.ArgumentTypeError(
            f"takes numbers, strings, True/False/None and tuples of them: {text}"
        ) from None
    return key, value


def add_watch_flags(p):
    """The flags to evaluate and watch a run, the same in every file."""
    on_off = argparse.BooleanOptionalAction  # --flag and --no-flag
    p.add_argument("--eval", metavar="PATH", help="load a model.pt, play --eval-episodes, print the return")
    p.add_argument("--eval-episodes", type=positive_int, default=10, help="episodes for --eval (default: 10)")
    p.add_argument(
        "--eval-sample", action=on_off, default=False, help="--eval samples actions (default: off, the mean)"
    )
    p.add_argument(
        "--render", action=on_off, default=False, help="show --eval, or an episode after training (default: off)"
    )
    p.add_argument(
        "--capture-video",
        action=on_off,
        default=False,
        help="film them in RUN_DIR/videos, needs moviepy (default: off)",
    )
    p.add_argument(
        "--tensorboard", action=on_off, default=False, help="also TensorBoard curves, needs tensorboard (default: off)"
    )


def check_args(args):
    """What argparse cannot see: optional packages, a display, a CUDA device."""
    keys = [key for key, _ in args.env_kwargs]
    if len(set(keys)) < len(keys):
        fail(f"--env-kwargs names a key twice: {' '.join(keys)}")
    args.env_kwargs = dict(args.env_kwargs)
    for flag, package in (("capture_video", "moviepy"), ("tensorboard", "tensorboard")):
        if getattr(args, flag) and importlib.util.find_spec(package) is None:
            fail(f"--{flag.replace('_', '-')} needs the optional package {package}: pip install {package}")
    if args.render and sys.platform == "linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        fail("--render needs a display; headless, use --capture-video (and MUJOCO_GL=egl for MuJoCo)")
    if args.device.startswith("cuda") and not args.eval and not torch.cuda.is_available():
        fail(f"--device {args.device} asked for, but torch sees no CUDA device")
    return args


def check_env(env_id, env_kwargs):
    """Make one env and take a step, to catch unknown ids, modules, keyword arguments or values,
    missing extras and unsupported spaces early, before a run directory is written."""
    if ":" in env_id and os.getcwd() not in sys.path:  # module:id imports the module from here too
        sys.path.append(os.getcwd())
    try:
        env = make_env(env_id, env_kwargs)
        env.reset(seed=0)
        obs, rew, term, trunc, info = env.step(env.action_space.sample())  # gymnasium's five values
    except Exception as e:  # gymnasium raises several types here; all mean "cannot run this env"
        settings = f" with {env_kwargs}" if env_kwargs else ""
        fail(f"cannot make env {env_id!r}{settings}: {first_line(e)}")
    obs_space, act_space = env.observation_space, env.action_space
    env.close()
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        fail(f"unsupported observation space {obs_space} (only 1-D Box)")
    if not isinstance(act_space, (gym.spaces.Discrete, gym.spaces.Box)) or len(act_space.shape) > 1:
        fail(f"unsupported action space {act_space} (only Discrete and 1-D Box)")


class Run:
    """The run directory: config.json first; model.pt after every update; a row of progress.csv
    (and of the TensorBoard curves) and a console line after every update, or once every ROW_STEPS
    steps when updates are smaller (a2c's rollouts are 80 steps); summary.json at the end. SIGTERM
    stops a run as Ctrl-C does, and both keep what was written, a last row included."""

    def __init__(self, args):
        check_env(args.env, args.env_kwargs)
        self.args = args
        name = f"{args.env}__{ALGO}__{args.seed}__{int(time.time())}".replace(":", "_").replace("/", "_")
        self.dir = args.logdir or os.path.join("runs", name)
        if os.path.exists(os.path.join(self.dir, "config.json")):  # every run writes it first
            fail(f"{self.dir} already holds a run; choose another --logdir")
        config = dict(vars(args), algo=ALGO, torch=torch.__version__, gymnasium=gym.__version__, numpy=np.__version__)
        try:
            os.makedirs(self.dir, exist_ok=True)
            with open(os.path.join(self.dir, "config.json"), "w") as f:
                json.dump(config, f, indent=2)
            self.csv_file = open(os.path.join(self.dir, "progress.csv"), "w", newline="")
        except OSError as e:  # a file in the way, no permission, a full disk
            fail(f"cannot write the run directory {self.dir}: {first_line(e)}")
        self.writer, self.recent = None, deque(maxlen=100)  # recent: raw returns of the last 100 episodes
        self.pending, self.row_step = [], 0  # returns of the episodes since the last row; that row's step
        self.last = None  # (update, step, stats) of the last update, for a row at Ctrl-C
        self.tb = None
        if args.tensorboard:
            self.tb = importlib.import_module("torch.utils.tensorboard").SummaryWriter(self.dir)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops like Ctrl-C
        self.start = time.time()

    def log(self, update, step, ended_rets, stats, actor, obs_norm):
        """After every update: model.pt, or a stop with exit code 1 on a non-finite loss (model.pt
        keeps the last good policy); and a row once ROW_STEPS steps have passed since the last."""
        self.recent.extend(ended_rets)
        self.pending.extend(ended_rets)
        self.last = (update, step, stats)
        finite = all(np.isfinite(v) for v in stats.values())
        if not finite or step - self.row_step >= ROW_STEPS or step >= self.args.total_steps:
            self.write_row(update, step, stats)
        if not finite:
            saved = "holds the last good policy" if update > 1 else "was not written: no update finished"
            print(f"{ALGO}: stopped: non-finite loss at update {update}; {self.dir}/model.pt {saved}")
            sys.exit(1)
        save_model(os.path.join(self.dir, "model.pt"), self.args, actor, obs_norm)

    def write_row(self, update, step, stats):
        """One row of progress.csv (and TensorBoard) and the console: the episodes since the last
        row, this update's statistics."""
        row = {
            "update": update,
            "step": step,
            "return_mean": round(float(np.mean(self.pending)), 2) if self.pending else "",
            "episodes": len(self.pending),
            "sps": int(step / (time.time() - self.start)),
            "time": round(time.time() - self.start, 1),
        }
        row.update({k: round(v, 5) for k, v in stats.items()})
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=list(row))
            self.writer.writeheader()
        self.writer.writerow(row)
        self.csv_file.flush()
        for k, v in row.items() if self.tb else ():  # --tensorboard: the same columns, as curves
            if v != "":
                self.tb.add_scalar(k, v, step)
        print(" | ".join(f"{k} {v}" for k, v in row.items() if k not in ("episodes", "time")), flush=True)
        self.pending, self.row_step = [], step

    def interrupted(self, step, actor, obs_norm):
        if self.last and self.last[1] > self.row_step:  # the updates since the last row get theirs
            self.write_row(*self.last)
        print(f"{ALGO}: interrupted at step {step}; run saved in {self.dir}")
        save_model(os.path.join(self.dir, "model.pt"), self.args, actor, obs_norm)

    def finish(self, step):
        self.csv_file.close()
        if self.tb:
            self.tb.close()
        summary = {
            "algo": ALGO,
            "env": self.args.env,
            "seed": self.args.seed,
            "steps": step,
            "return_last100": round(float(np.mean(self.recent)), 2) if self.recent else None,
            "sps": int(step / (time.time() - self.start)),
            "wall_s": round(time.time() - self.start, 1),
        }
        with open(os.path.join(self.dir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        print(
            f"done: {step} steps, mean return of the last {len(self.recent)} episodes "
            f"{summary['return_last100']}, {summary['sps']} steps/s; run saved in {self.dir}"
        )
        if self.args.render or self.args.capture_video:  # one episode of the final policy, as --eval runs it
            evaluate(
                argparse.Namespace(**dict(vars(self.args), eval=os.path.join(self.dir, "model.pt"), eval_episodes=1))
            )


def save_model(path, args, actor, obs_norm):
    """The policy and its frozen observation statistics; loads with weights_only=True."""
    model = {
        "algo": ALGO,
        "env": args.env,
        "env_kwargs": args.env_kwargs,
        "hidden": args.hidden,
        "actor": actor.state_dict(),
        "obs_mean": torch.as_tensor(obs_norm.mean),
        "obs_var": torch.as_tensor(obs_norm.var),
    }
    torch.save(model, path + ".tmp")
    os.replace(path + ".tmp", path)  # never leaves a half-written model.pt


def watch_env(env_id, env_kwargs, render_mode):
    """The env --eval runs. A MuJoCo env with a camera named "track" (Walker2d, Hopper,
    HalfCheetah, Ant, Humanoid, ...) is filmed with it, unless --env-kwargs name a camera:
    gymnasium's default camera stays where the episode began, and a walker leaves the picture."""
    env = make_env(env_id, env_kwargs, render_mode)
    if render_mode and hasattr(env.unwrapped, "mujoco_renderer") and not {"camera_id", "camera_name"} & set(env_kwargs):
        import mujoco  # only here: the classic-control envs run without it

        if mujoco.mj_name2id(env.unwrapped.model, mujoco.mjtObj.mjOBJ_CAMERA, "track") != -1:
            env.close()
            env = make_env(env_id, dict(env_kwargs, camera_name="track"), render_mode)
    return env


def evaluate(args):
    """Run the saved policy for --eval-episodes episodes: its mean action (argmax for Discrete),
    or sampled actions with --eval-sample; --render shows them, --capture-video films them."""
    try:
        ckpt = torch.load(args.eval, map_location="cpu", weights_only=True)
        algo, env_id = ckpt["algo"], ckpt["env"]
    except Exception as e:  # missing, unreadable, or not a checkpoint of these scripts
        fail(f"cannot load {args.eval}: {first_line(e)}")
    if algo != ALGO:
        fail(f"{args.eval} was saved by {algo}.py, not {ALGO}.py")
    env_kwargs = ckpt.get("env_kwargs", {})  # the env the model was trained on
    check_env(env_id, env_kwargs)
    render_mode = "human" if args.render else "rgb_array" if args.capture_video else None
    try:
        env = watch_env(env_id, env_kwargs, render_mode)
        if render_mode:
            env.reset(seed=args.seed)
            env.render()
    except Exception as e:  # no OpenGL context, pygame missing, a camera the env does not have
        fail(f"cannot render {env_id}: {first_line(e)} (headless MuJoCo needs MUJOCO_GL=egl)")
    if args.capture_video:  # one mp4 an episode, next to the checkpoint
        folder = os.path.join(os.path.dirname(os.path.abspath(args.eval)), "videos")
        env = gym.wrappers.RecordVideo(
            env, folder, name_prefix="eval", episode_trigger=lambda ep: True, disable_logger=True
        )
    torch.manual_seed(args.seed)  # --eval-sample draws the same actions every time
    actor = Actor(env.observation_space.shape[0], env.action_space, ckpt["hidden"])
    actor.load_state_dict(ckpt["actor"])
    obs_norm = RunningNorm(env.observation_space.shape)  # frozen: never updated here
    obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()
    returns = []
    for ep in range(args.eval_episodes):
        obs, _ = env.reset(seed=args.seed + ep)
        done, ep_ret = False, 0.0
        while not done:
            with torch.no_grad():
                act = (actor.sample if args.eval_sample else actor.mode)(torch.as_tensor(obs_norm(obs[None])))
            obs, rew, term, trunc, _ = env.step(actor.to_env(act)[0])
            done, ep_ret = term or trunc, ep_ret + float(rew)
        returns.append(ep_ret)
    env.close()  # writes the last video
    print(
        f"eval {env_id} ({ALGO}): return {np.mean(returns):.1f} +- {np.std(returns):.1f} over {len(returns)} episodes"
    )


if __name__ == "__main__":
    main()
