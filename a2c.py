"""Advantage actor-critic (A2C): n-step advantages and one joint actor-critic step per rollout.

Parent: vpg.py. Changes: GAE's lam = 1, so Phi_t is the bootstrapped n-step return minus V
(n = steps to the rollout's edge); one step per rollout on policy loss + vf_coef * value loss -
ent_coef * entropy, gradient-norm clipped, not separate policy and value fits. As in A3C, 16
actors (--num-envs 16) take short rollouts (--num-steps 5, its t_max): many small steps on fresh
data; the lr is annealed to 0 (without it InvertedDoublePendulum-v4 falls from about 4,000 to 100).
Unlike A3C and SB3's A2C: Adam, not RMSprop; advantages normalized per batch (16 x 5 = 80 samples).
Theory: Spinning Up, "Other Forms of the Policy Gradient" (advantage); Mnih et al. 2016 (A3C/A2C).
Run: python a2c.py --env Walker2d-v5
"""

# ast, csv, json, signal and the like serve PLUMBING, at the end
import argparse
import ast
import collections
import csv
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


# ============================== WEIGHTS PHI_T ==============================
def weights_fn(rew, v, v_next, term, done, gamma, lam):
    """Phi_t = GAE advantage (GAE paper eq. 16): sum_l (gamma lam)^l delta_{t+l}, where
    delta_t = r_t + gamma V(s_{t+1}) - V(s_t); lam=1 gives reward-to-go minus V, lam=0 delta_t.
    All (T, N); V(s_{t+1}) is 0 after a termination, V(final obs) after a truncation or cut.
    The rewards come divided by a running std (RewardScale, in ENVIRONMENT below)."""
    delta = rew + gamma * (1 - term) * v_next - v
    adv = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    # the sum stops where an episode ends
    for t in reversed(range(len(rew))):
        acc = delta[t] + gamma * lam * (1 - done[t]) * acc
        adv[t] = acc
    return adv


# ================================== CRITIC ==================================
class Critic(nn.Module):
    """V(s), the baseline (an mlp, NETWORKS below): subtracting any function of the state alone
    keeps the gradient unbiased (EGLP). Bootstrapping (at a cut or truncation; every step if
    lam < 1) adds V's guesses of later rewards: bias where V is wrong, less variance; lam trades."""

    def __init__(self, obs_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim, hidden, hidden, 1], out_gain=1.0)

    def forward(self, obs):
        return self.net(obs).squeeze(-1)


# ================================= UPDATE =================================
def update_actor_critic(actor, critic, opt, b_obs, b_act, b_weights, b_ret, args):
    """One gradient step on the surrogate -mean(log pi(a|s) * Phi): its gradient is the
    sample estimate of grad J (the log-derivative trick), not a performance measure. The same
    step fits V: the joint loss adds vf_coef * (V(s) - ret)^2 and subtracts ent_coef * entropy."""
    dist = actor.dist(b_obs)
    loss_pi = -(dist.log_prob(b_act) * b_weights).mean()
    loss_v = ((critic(b_obs) - b_ret) ** 2).mean()
    ent = dist.entropy().mean()
    opt.zero_grad()
    (loss_pi + args.vf_coef * loss_v - args.ent_coef * ent).backward()
    params = list(actor.parameters()) + list(critic.parameters())
    nn.utils.clip_grad_norm_(params, args.max_grad_norm)
    opt.step()
    return {"loss_pi": loss_pi.item(), "ent": ent.item(), "loss_v": loss_v.item()}


# ================================== MAIN ==================================
def main(argv=None):
    # the flags: in ARGUMENTS, below
    args = parse_args(argv)
    # Run, in PLUMBING: checks the env, then writes the run directory, logs and model.pt
    run = Run(args)
    # seeds, and torch set for small networks: in NETWORKS, below
    set_up_torch(args.seed)
    device = torch.device(args.device)
    num_envs = args.num_envs
    # make_envs, RunningNorm, RewardScale: in ENVIRONMENT, below; Actor: in NETWORKS, below
    envs = make_envs(args.env, args.env_kwargs, num_envs)
    obs_dim = envs.single_observation_space.shape[0]
    actor = Actor(obs_dim, envs.single_action_space, args.hidden).to(device)
    if not actor.discrete:
        # std e^-0.5 ~ 0.6, not 1: less early flailing (HalfCheetah flips onto its back less)
        nn.init.constant_(actor.log_std, args.log_std_init)
    critic = Critic(obs_dim, args.hidden).to(device)
    # fused Adam, one kernel a step: ppo on Walker2d-v4 takes 14% less CPU time
    params = list(actor.parameters()) + list(critic.parameters())
    opt = torch.optim.Adam(params, lr=args.lr, fused=True)
    T = args.num_steps
    obs_norm = RunningNorm(obs_dim)
    rew_scale = RewardScale(num_envs, args.gamma)
    obs, _ = envs.reset(seed=args.seed)
    obs_norm.update(obs)
    # raw return of each env's episode so far
    ep_ret = np.zeros(num_envs)
    global_step = 0
    update = 0
    # model.pt from the start: a run stopped before its first update has one too
    run.save(actor, obs_norm)
    try:
        while global_step < args.total_steps:
            update += 1
            # raw returns of the episodes that end in this rollout
            ended_rets = []
            # ============== ROLLOUT: FIXED LENGTH, CUT ANYWHERE (shared) ==============
            # Storage: a list of (N, ...) tensors, one per step (N = --num-envs), stacked
            # to (T, N, ...) below: time first, [t] is the step taken from obs[t].
            # T steps in each of the N envs, cutting episodes anywhere. next_buf[t] holds
            # where step t really led (info["final_obs"] where an episode ended), so the
            # critic can bootstrap after a truncation or at the cut (weights_fn's 1 - term
            # drops it after a termination). Where no episode ended, it is obs_buf[t + 1].
            obs_buf = []
            act_buf = []
            rew_buf = []
            done_buf = []
            term_buf = []
            next_buf = []
            for t in range(T):
                obs_buf.append(torch.as_tensor(obs_norm(obs), device=device))
                with torch.no_grad():
                    act = actor.dist(obs_buf[-1]).sample()
                obs, rew, term, trunc, info = envs.step(actor.to_env(act))
                # the statistics take the new obs in before it is normalized for its next use
                obs_norm.update(obs)
                done = term | trunc
                next_obs = obs.copy()
                if done.any():
                    next_obs[done] = np.stack(info["final_obs"][done])
                # episode statistics use the raw rewards, before any scaling
                ep_ret = ep_ret + rew
                ended_rets.extend(ep_ret[done])
                ep_ret[done] = 0.0
                rew = rew_scale(rew, term, done)
                act_buf.append(act)
                rew_buf.append(torch.as_tensor(rew, dtype=torch.float32, device=device))
                done_buf.append(torch.as_tensor(done, dtype=torch.float32, device=device))
                term_buf.append(torch.as_tensor(term, dtype=torch.float32, device=device))
                next_buf.append(torch.as_tensor(obs_norm(next_obs), device=device))
            # ================================= LEARN =================================
            global_step += T * num_envs
            # T steps of (N, ...) -> (T, N, ...)
            all_obs = torch.stack(obs_buf)
            all_act = torch.stack(act_buf)
            rew = torch.stack(rew_buf)
            done = torch.stack(done_buf)
            term = torch.stack(term_buf)
            with torch.no_grad():
                v = critic(all_obs)
                v_next = critic(torch.stack(next_buf))
            adv = weights_fn(rew, v, v_next, term, done, args.gamma, args.lam)
            # (T, N, ...) -> (T * N, ...)
            b_obs = all_obs.flatten(0, 1)
            b_act = all_act.flatten(0, 1)
            # value targets: the lambda-returns adv + V
            b_ret = (adv + v).flatten()
            # Phi_t: the advantages normalized per batch, to mean 0 and std 1
            b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)
            # share of the run to go: the batches before this one are done
            remaining = 1 - (update - 1) * T * num_envs / args.total_steps
            opt.param_groups[0]["lr"] = remaining * args.lr
            stats = update_actor_critic(actor, critic, opt, b_obs, b_act, b_adv, b_ret, args)
            stats["explained_var"] = 1 - ((b_ret - v.flatten()).var() / (b_ret.var() + 1e-8)).item()
            run.log(update, global_step, ended_rets, stats, actor, obs_norm)
    except KeyboardInterrupt:
        # Ctrl-C, or SIGTERM: the run is kept as its last whole update left it
        pass
    envs.close()
    run.finish()


# ============================= NETWORKS (shared) =============================
def set_up_torch(seed):
    """Seeds torch and numpy; sets torch for networks too small to gain from its extras."""
    # tiny networks: threads cost more than they save
    torch.set_num_threads(1)
    # no argument checks in the distributions: a NaN (from a NaN reward, say) then reaches
    # the loss, where Run.log stops the run with one clear line instead of a traceback
    torch.distributions.Distribution.set_default_validate_args(False)
    torch.manual_seed(seed)
    np.random.seed(seed)


def mlp(sizes, out_gain):
    """Tanh MLP, orthogonal init: hidden layers at gain sqrt(2), the output layer at out_gain
    (a small one starts the policy near uniform, its mean near 0)."""
    layers = []
    last = len(sizes) - 2
    for i in range(len(sizes) - 1):
        layer = nn.Linear(sizes[i], sizes[i + 1])
        gain = out_gain if i == last else np.sqrt(2)
        nn.init.orthogonal_(layer.weight, gain)
        nn.init.zeros_(layer.bias)
        layers.append(layer)
        if i < last:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """pi(a|s). Discrete actions: a Categorical over the network's logits. Box actions: a
    diagonal Gaussian whose mean is the network's output and whose log-std is a free vector,
    the same in every state; Independent sums log-prob and entropy over the dimensions."""

    def __init__(self, obs_dim, act_space, hidden):
        super().__init__()
        self.discrete = isinstance(act_space, gym.spaces.Discrete)
        if self.discrete:
            act_dim = act_space.n
        else:
            act_dim = act_space.shape[0]
        self.net = mlp([obs_dim, hidden, hidden, act_dim], out_gain=0.01)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.zeros(act_dim))
            self.low = act_space.low
            self.high = act_space.high

    def dist(self, obs):
        out = self.net(obs)
        if self.discrete:
            return Categorical(logits=out)
        return Independent(Normal(out, self.log_std.exp()), 1)

    def to_env(self, act):
        """The env gets the sample clipped to its bounds; the loss keeps the sample itself."""
        act = act.cpu().numpy()
        if self.discrete:
            return act
        return np.clip(act, self.low, self.high)


# ============================ ENVIRONMENT (shared) ============================
def make_env(env_id, env_kwargs):
    """The one place where an env is made: training, the env check and tools/watch.py all
    call it, so a wrapper added here changes them all alike. env_kwargs are the env's own
    settings (--env-kwargs: a dict, or its key-value pairs); they are saved with the model."""
    return gym.make(env_id, disable_env_checker=True, **dict(env_kwargs))


def make_envs(env_id, env_kwargs, num_envs):
    """num_envs copies of the env, stepped one after another in this process: one call of
    the network acts in all of them, and a batch fills num_envs times faster.
    SAME_STEP autoreset: the step that ends an episode returns its real reward, term, trunc
    and info["final_obs"] (the episode's real last obs), and its obs is already the next
    episode's first. (The default mode, NEXT_STEP, would add a fake transition instead:
    reward 0, action ignored.)"""
    fns = [lambda: make_env(env_id, env_kwargs) for _ in range(num_envs)]
    mode = gym.vector.AutoresetMode.SAME_STEP
    return gym.vector.SyncVectorEnv(fns, autoreset_mode=mode)


class RunningNorm:
    """Running mean and variance of a stream of batches (the parallel form of Welford's
    update). Observations are normalized with it: MuJoCo's range from hundredths (angles)
    to tens (velocities), and mean 0, std 1 gives every input an equal start. Every script
    normalizes alike, so that the diff between two shows the theory and nothing else."""

    def __init__(self, shape):
        self.mean = np.zeros(shape)
        self.var = np.ones(shape)
        # not 0: no division by zero; the first batch all but sets the statistics
        self.count = 1e-4

    def update(self, x):
        batch_mean = x.mean(0)
        batch_var = x.var(0)
        n = len(x)
        diff = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + diff * n / total
        # both sums of squares, plus what the gap between the two means adds
        sq_sum = self.var * self.count + batch_var * n
        self.var = (sq_sum + diff**2 * self.count * n / total) / total
        self.count = total

    def __call__(self, x):
        x = (x - self.mean) / np.sqrt(self.var + 1e-8)
        # clipped: one far-out observation cannot swamp the network
        return np.clip(x, -10, 10).astype(np.float32)


class RewardScale:
    """Each reward divided by the running std of the discounted return, so that one learning
    rate fits tasks whose rewards differ a hundredfold. The std changes slowly, so the weights
    Phi_t are close to a positive multiple of the raw ones; the mean is not subtracted, which
    would change which actions pay. The numbers are those of gymnasium's vector NormalizeReward
    (SAME_STEP), quirk included: a terminal step's reward is summed on its own, not added to its
    episode's sum (the 1 - term); then clipped to +-10, as SB3's VecNormalize does."""

    def __init__(self, num_envs, gamma):
        self.gamma = gamma
        # the discounted return of each env's episode so far
        self.ret = np.zeros(num_envs)
        self.ret_norm = RunningNorm(())

    def reset(self):
        """New episodes in every env (the whole-episode rollouts reset them all): new sums."""
        self.ret[:] = 0.0

    def __call__(self, rew, term, done):
        self.ret = self.ret * self.gamma * (1 - term) + rew
        self.ret_norm.update(self.ret)
        # every episode starts a new sum
        self.ret[done] = 0.0
        return np.clip(rew / np.sqrt(self.ret_norm.var + 1e-8), -10, 10)


# ================================ ARGUMENTS ================================
# the types that check a value (seed, positive_int, discount, env_setting, ...): in PLUMBING, below
def parse_args(argv=None):
    # the devices to choose from: this machine's
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    # no usage line: an error is one line; each flag's help ends in its default
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], usage=argparse.SUPPRESS)
    p.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    p.allow_abbrev = False
    p.add_argument("--env", default="CartPole-v1", help="env id, or module:id of your own")
    p.add_argument(
        "--env-kwargs",
        type=env_setting,
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="settings of the env, VALUE a Python literal",
    )
    p.add_argument("--seed", type=seed, default=1, help="seed of torch, numpy and the envs")
    p.add_argument("--total-steps", type=positive_int, default=1_000_000, help="env steps in all")
    p.add_argument("--num-envs", type=positive_int, default=16, help="parallel envs in one process")
    p.add_argument("--gamma", type=discount, default=0.995, help="discount factor")
    p.add_argument("--lr", type=positive, default=1e-3, help="joint learning rate, annealed to 0")
    p.add_argument("--hidden", type=positive_int, default=64, help="units per hidden layer (two)")
    p.add_argument("--log-std-init", type=number, default=-0.5, help="Gaussian's first log-std")
    p.add_argument("--device", default="cpu", choices=devices, help="torch device")
    p.add_argument("--logdir", default=None, help="run directory; None: runs/ENV__ALGO__SEED__TIME")
    p.add_argument(
        "--tensorboard",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="TensorBoard curves too, needs tensorboard",
    )
    # algorithm-specific
    p.add_argument("--num-steps", type=positive_int, default=5, help="steps per env per rollout")
    p.add_argument("--lam", type=unit, default=1.0, help="GAE lambda; 1: n-step returns")
    p.add_argument("--vf-coef", type=unit, default=0.5, help="weight of the value loss")
    p.add_argument("--ent-coef", type=unit, default=0.0, help="weight of the entropy bonus")
    p.add_argument("--max-grad-norm", type=positive, default=0.5, help="clip the joint gradient")
    args = p.parse_args(argv)
    if args.num_steps * args.num_envs < 2:
        p.error("--num-steps x --num-envs must be at least 2: a batch of one has no std")
    return args


# ==== PLUMBING (shared): input checks, run directory, logging, saving; a reader may stop here ====
# fewest env steps between two rows of progress.csv: a row per short update would flood it
ROW_STEPS = 2048


def checked(cast, holds, rule):
    """An argparse type: a finite number (a whole one, 1e6 too, if cast is int) that holds."""

    def number(text):
        x = float(text)
        if math.isfinite(x) and cast(x) == x and holds(x):
            return cast(x)
        raise argparse.ArgumentTypeError(f"must be {rule}, got {text}")

    return number


number = checked(float, lambda x: True, "finite")
positive = checked(float, lambda x: x > 0, "positive")
positive_int = checked(int, lambda x: x > 0, "a whole number > 0")
seed = checked(int, lambda x: 0 <= x < 2**31, "a whole number in [0, 2^31)")
unit = checked(float, lambda x: 0 <= x <= 1, "in [0, 1]")
discount = checked(float, lambda x: 0 < x <= 1, "in (0, 1]")


def env_setting(text):
    """An argparse type: KEY=VALUE as (key, value), VALUE a Python literal, else a string. A
    boolean is True or False: no, off or false would reach the env as a truthy string."""
    key, equals, value = text.partition("=")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        if not equals or value.lower() in ["no", "off", "false", "yes", "on", "true"]:
            raise argparse.ArgumentTypeError(f"must be KEY=VALUE, a boolean True or False: {text}")
    return key, value


def check_env(env_id, env_kwargs):
    """One env made, reset and stepped before anything is written: a bad id or setting stops
    here, with the env's own error. Then the spaces that the networks take."""
    # --env module:id: gym.make imports module, from the working directory too
    sys.path.append(os.getcwd())
    env = make_env(env_id, env_kwargs)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()
    obs_space = env.observation_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        sys.exit(f"{ALGO}: unsupported observation space {obs_space} (only a 1-D Box)")
    act_space = env.action_space
    if not isinstance(act_space, (gym.spaces.Discrete, gym.spaces.Box)) or len(act_space.shape) > 1:
        sys.exit(f"{ALGO}: unsupported action space {act_space} (only Discrete or a 1-D Box)")


class Run:
    """The run directory: config.json, model.pt from the start and after every update, a row of
    progress.csv every ROW_STEPS steps and after the last update, summary.json at the end."""

    def __init__(self, args):
        if args.tensorboard:
            # without the package, an ImportError before anything is written
            from torch.utils.tensorboard import SummaryWriter
        # the env's settings as a dict: a key given twice keeps its last value
        args.env_kwargs = dict(args.env_kwargs)
        check_env(args.env, args.env_kwargs)
        self.args = args
        # the settings given, as in forward_reward_weight=-1, tell runs of one env apart
        given = [f"{key}={value}" for key, value in args.env_kwargs.items()]
        name = "-".join([args.env] + given).replace(" ", "").replace("/", "_")
        if args.logdir is None:
            args.logdir = os.path.join("runs", f"{name}__{ALGO}__{args.seed}__{int(time.time())}")
        self.dir = args.logdir
        os.makedirs(self.dir, exist_ok=True)
        if os.listdir(self.dir):
            sys.exit(f"{ALGO}: {self.dir} already holds a run; choose another --logdir")
        config = dict(vars(args), algo=ALGO, torch=torch.__version__, gymnasium=gym.__version__)
        Path(self.dir, "config.json").write_text(json.dumps(config, indent=2, default=repr))
        self.csv_file = open(Path(self.dir, "progress.csv"), "w", newline="", buffering=1)
        self.csv = None
        self.tensorboard = None
        if args.tensorboard:
            self.tensorboard = SummaryWriter(self.dir)
        # raw returns: of the last 100 episodes, and of those since the last row
        self.last_100 = collections.deque(maxlen=100)
        self.row_returns = []
        self.row_step = 0
        # the last update logged, until it has its row
        self.unwritten = None
        # SIGTERM (a scheduler's stop) stops a run as Ctrl-C does
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        total = f"{args.total_steps:,} steps"
        print(f"{ALGO} on {name}, {total}, run directory {self.dir} (Ctrl-C stops and keeps it)")
        self.start = time.time()

    def log(self, update, step, ended_rets, stats, actor, obs_norm):
        """After each whole update: its row when due, then model.pt; a non-finite loss stops."""
        self.last_100.extend(ended_rets)
        self.row_returns += ended_rets
        self.unwritten = dict(update=update, step=step, stats=stats)
        finite = all(math.isfinite(value) for value in stats.values())
        if step - self.row_step >= ROW_STEPS or step >= self.args.total_steps or not finite:
            self.write_row(**self.unwritten)
        if not finite:
            sys.exit(f"{ALGO}: stopped: non-finite loss at update {update}; model.pt is the last")
        self.save(actor, obs_norm)

    def write_row(self, update, step, stats):
        elapsed = time.time() - self.start
        mean = round(float(np.mean(self.row_returns)), 2) if self.row_returns else ""
        row = dict(update=update, step=step, return_mean=mean, episodes=len(self.row_returns))
        row.update(sps=int(step / elapsed), time=round(elapsed, 1))
        row.update({key: round(value, 5) for key, value in stats.items()})
        if self.csv is None:
            self.csv = csv.DictWriter(self.csv_file, fieldnames=list(row))
            self.csv.writeheader()
        self.csv.writerow(row)
        if self.tensorboard is not None:
            for key, value in row.items():
                # a row with no episode has no return_mean: a gap in the curve
                self.tensorboard.add_scalar(key, math.nan if value == "" else value, step)
        total = self.args.total_steps
        minutes_left = max(total - step, 0) * elapsed / step / 60
        line = f"{step:,} of {total:,} steps ({step / total:.0%}) | return {row['return_mean']}"
        print(f"{line} | {row['sps']:,} steps/s | {minutes_left:.0f} min left", flush=True)
        self.row_returns = []
        self.row_step = step
        self.unwritten = None

    def save(self, actor, obs_norm):
        """model.pt: the policy, its observation statistics, its env and the file that saved it.
        Written aside and renamed over the old one: never half a file."""
        model = dict(algo=ALGO, env=self.args.env, env_kwargs=self.args.env_kwargs)
        model.update(hidden=self.args.hidden, actor=actor.state_dict())
        model.update(obs_mean=torch.as_tensor(obs_norm.mean), obs_var=torch.as_tensor(obs_norm.var))
        torch.save(model, os.path.join(self.dir, "model.tmp"))
        os.replace(os.path.join(self.dir, "model.tmp"), os.path.join(self.dir, "model.pt"))

    def finish(self):
        """The last whole update's row (Ctrl-C may stop the next halfway), then summary.json."""
        if self.unwritten is not None:
            self.write_row(**self.unwritten)
        if self.tensorboard is not None:
            self.tensorboard.close()
        wall = time.time() - self.start
        summary = dict(algo=ALGO, env=self.args.env, seed=self.args.seed, steps=self.row_step)
        # null, not NaN, if no episode ended
        mean = round(float(np.mean(self.last_100)), 2) if self.last_100 else None
        summary.update(return_last100=mean, sps=int(self.row_step / wall), wall_s=round(wall, 1))
        Path(self.dir, "summary.json").write_text(json.dumps(summary, indent=2))
        ended = "done" if self.row_step >= self.args.total_steps else "interrupted"
        said = f"mean return of the last 100 episodes {mean}"
        print(f"{ended} at step {self.row_step:,}; {said}")


if __name__ == "__main__":
    main()
