"""Proximal policy optimization (PPO-Clip): many small policy steps per batch, kept near pi_old.

Parent: vpg.py. Changes: the one policy step becomes --update-epochs passes of minibatch steps
on the clipped surrogate (ratio pi/pi_old), with gradient clipping, an optional --target-kl
early stop, learning rates annealed to 0, --gamma 0.995 and a Gaussian that starts at std
e^-0.5 (--log-std-init). Also reads well against trpo.py.
Theory: Spinning Up's PPO page; Schulman et al. 2017, "Proximal Policy Optimization Algorithms".
Run: python ppo.py --env Walker2d-v4
"""
import argparse
import csv
import importlib.util
import json
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
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1", help="gymnasium env id (default: CartPole-v1)")
    p.add_argument("--seed", type=int, default=1, help="seed of torch, numpy and the envs (default: 1)")
    p.add_argument("--total-steps", type=int, default=1_000_000, help="environment steps in all (default: 1000000)")
    p.add_argument("--num-envs", type=int, default=4, help="parallel envs in one process (default: 4)")
    p.add_argument("--gamma", type=float, default=0.995, help="discount factor (default: 0.995)")
    p.add_argument("--lr", type=float, default=3e-4, help="policy learning rate, Adam, annealed to 0 (default: 0.0003)")
    p.add_argument("--hidden", type=int, default=64, help="units in each of the two hidden layers (default: 64)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--logdir", default=None, help="run directory (default: runs/ENV__ALGO__SEED__TIME)")
    p.add_argument("--eval", default=None, metavar="PATH", help="load a saved model.pt, run --eval-episodes episodes, print the mean return, exit")
    p.add_argument("--eval-episodes", type=int, default=10, help="episodes for --eval (default: 10)")
    p.add_argument("--eval-sample", action=argparse.BooleanOptionalAction, default=False, help="--eval samples actions instead of taking the mean one (default: off)")
    p.add_argument("--render", action=argparse.BooleanOptionalAction, default=False, help="show --eval's episodes, or one after training, in a window (default: off)")
    p.add_argument("--capture-video", action=argparse.BooleanOptionalAction, default=False, help="film --eval's episodes, or one after training, into RUN_DIR/videos; needs moviepy (default: off)")
    p.add_argument("--tensorboard", action=argparse.BooleanOptionalAction, default=False, help="also log progress as TensorBoard curves in the run directory; needs tensorboard (default: off)")
    # algorithm-specific
    p.add_argument("--num-steps", type=int, default=512, help="steps per env per rollout; batch = num-steps x num-envs (default: 512)")
    p.add_argument("--lam", type=float, default=0.95, help="GAE lambda (default: 0.95)")
    p.add_argument("--vf-lr", type=float, default=1e-3, help="value learning rate, Adam, annealed to 0 (default: 0.001)")
    p.add_argument("--vf-iters", type=int, default=10, help="passes over the batch to fit V (default: 10)")
    p.add_argument("--num-minibatches", type=int, default=32, help="minibatches per pass of the policy and value fits (default: 32)")
    p.add_argument("--update-epochs", type=int, default=10, help="passes over the batch for the policy (default: 10)")
    p.add_argument("--clip-ratio", type=float, default=0.2, help="clip the ratio pi/pi_old to 1 +- this (default: 0.2)")
    p.add_argument("--target-kl", type=float, default=None, help="stop the policy passes once approx KL exceeds this (default: off)")
    p.add_argument("--max-grad-norm", type=float, default=0.5, help="clip the policy gradient's norm (default: 0.5)")
    p.add_argument("--log-std-init", type=float, default=-0.5, help="initial log-std of the Gaussian policy (default: -0.5)")
    args = p.parse_args(argv)
    for flag, package in (("capture_video", "moviepy"), ("tensorboard", "tensorboard")):
        if getattr(args, flag) and importlib.util.find_spec(package) is None:
            fail(f"--{flag.replace('_', '-')} needs the optional package {package}: pip install {package}")
    if args.render and sys.platform == "linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        fail("--render needs a display; headless, use --capture-video (and MUJOCO_GL=egl for MuJoCo)")
    for name in ("total_steps", "num_envs", "lr", "hidden", "eval_episodes", "num_steps", "vf_lr", "vf_iters", "num_minibatches", "update_epochs", "clip_ratio", "max_grad_norm"):
        if getattr(args, name) <= 0:
            fail(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if not 0 < args.gamma <= 1:
        fail(f"--gamma must be in (0, 1], got {args.gamma}")
    if not 0 <= args.lam <= 1 or args.num_minibatches > args.num_steps * args.num_envs:
        fail("need 0 <= --lam <= 1 and --num-minibatches <= --num-steps x --num-envs")
    return args


# ============================ ENVIRONMENT (shared) ============================
def fail(msg):
    """Bad input ends here: one line on stderr, exit code 2, no traceback."""
    print(f"{ALGO}: error: {msg}", file=sys.stderr)
    sys.exit(2)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def check_env(env_id):
    """Make one env to catch unknown ids, missing extras and unsupported spaces early."""
    try:
        env = gym.make(env_id)
    except Exception as e:  # gymnasium raises several types here; all mean "cannot run this env"
        fail(f"cannot make env {env_id!r}: {first_line(e)}")
    obs_space, act_space = env.observation_space, env.action_space
    env.close()
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        fail(f"unsupported observation space {obs_space} (only 1-D Box)")
    if not isinstance(act_space, (gym.spaces.Discrete, gym.spaces.Box)) or len(act_space.shape) > 1:
        fail(f"unsupported action space {act_space} (only Discrete and 1-D Box)")


def make_envs(env_id, num_envs):
    """N copies stepped in this process. SAME_STEP autoreset: the step that ends an episode
    returns its real reward, term/trunc and infos["final_obs"], with obs already reset. (The
    default NEXT_STEP mode would add a fake transition, reward 0 and action ignored, instead.)"""
    fns = [lambda: gym.make(env_id, disable_env_checker=True)] * num_envs
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
        if self.discrete:  # Gumbel-max trick: argmax(logits + Gumbel noise) is a Categorical sample
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
    """V(s), the baseline: any function of the state alone keeps the gradient unbiased (EGLP)."""

    def __init__(self, obs_dim, hidden):
        super().__init__()
        self.net = mlp([obs_dim, hidden, hidden, 1], out_gain=1.0)

    def forward(self, obs):
        return self.net(obs).squeeze(-1)


# ============================ EVALUATION (shared) ============================
def save_model(path, args, actor, obs_norm):
    """The policy and its frozen observation statistics; loads with weights_only=True."""
    torch.save({"algo": ALGO, "env": args.env, "hidden": args.hidden, "actor": actor.state_dict(),
                "obs_mean": torch.as_tensor(obs_norm.mean), "obs_var": torch.as_tensor(obs_norm.var)},
               path + ".tmp")
    os.replace(path + ".tmp", path)  # never leaves a half-written model.pt


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
    check_env(env_id)
    env = gym.make(env_id, render_mode="human" if args.render else "rgb_array" if args.capture_video else None)
    if args.render or args.capture_video:
        try:
            env.reset(seed=args.seed)
            env.render()
        except Exception as e:  # no OpenGL context, or pygame missing
            fail(f"cannot render {env_id}: {first_line(e)} (headless MuJoCo needs MUJOCO_GL=egl)")
    if args.capture_video:  # one mp4 an episode, next to the checkpoint
        env = gym.wrappers.RecordVideo(env, os.path.join(os.path.dirname(os.path.abspath(args.eval)), "videos"),
                                       name_prefix="eval", episode_trigger=lambda ep: True, disable_logger=True)
    torch.manual_seed(args.seed)  # --eval-sample draws the same actions every time
    actor = Actor(env.observation_space.shape[0], env.action_space, ckpt["hidden"])
    actor.load_state_dict(ckpt["actor"])
    obs_norm = RunningNorm(env.observation_space.shape)  # frozen: never updated here
    obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()
    returns = []
    for ep in range(args.eval_episodes):
        (obs, _), done, returns = env.reset(seed=args.seed + ep), False, returns + [0.0]
        while not done:
            with torch.no_grad():
                act = (actor.sample if args.eval_sample else actor.mode)(torch.as_tensor(obs_norm(obs[None])))
            obs, rew, term, trunc, _ = env.step(actor.to_env(act)[0])
            done, returns[-1] = term or trunc, returns[-1] + float(rew)
    env.close()  # writes the last video
    print(f"eval {env_id} ({ALGO}): return {np.mean(returns):.1f} +- {np.std(returns):.1f} over {len(returns)} episodes")


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
def update_policy(actor, opt, b_obs, b_act, b_weights, b_logp_old, args):
    """PPO-Clip: minibatch steps on -min(ratio A, clip(ratio, 1-eps, 1+eps) A), ratio =
    pi(a|s)/pi_old(a|s). Once the ratio leaves [1-eps, 1+eps] in the direction that A favours,
    the min picks the clipped, constant term: no gradient pushes the policy further away."""
    for epoch in range(args.update_epochs):
        for idx in torch.randperm(len(b_obs)).chunk(args.num_minibatches):
            dist = actor.dist(b_obs[idx])
            logp, adv = dist.log_prob(b_act[idx]), b_weights[idx]
            ratio = torch.exp(logp - b_logp_old[idx])
            clipped = torch.clamp(ratio, 1 - args.clip_ratio, 1 + args.clip_ratio)
            loss_pi = -torch.min(ratio * adv, clipped * adv).mean()
            opt.zero_grad()
            loss_pi.backward()
            nn.utils.clip_grad_norm_(actor.parameters(), args.max_grad_norm)
            opt.step()
        with torch.no_grad():  # approx KL(pi_old || pi), the low-variance "k3" estimator
            log_r = actor.dist(b_obs).log_prob(b_act) - b_logp_old
            kl = (log_r.exp() - 1 - log_r).mean().item()
        if args.target_kl is not None and kl > args.target_kl:
            break
    clip_frac = ((log_r.exp() - 1).abs() > args.clip_ratio).float().mean().item()
    return {"loss_pi": loss_pi.item(), "ent": dist.entropy().mean().item(), "kl": kl, "clip_frac": clip_frac, "epochs": epoch + 1}


def update_value(critic, vf_opt, b_obs, b_ret, iters, num_minibatches):
    """Regress V on the returns: --vf-iters passes of minibatch steps on (V(s) - ret)^2."""
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
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        fail(f"--device {args.device} asked for, but torch sees no CUDA device")
    check_env(args.env)
    logdir = args.logdir or os.path.join("runs", f"{args.env}__{ALGO}__{args.seed}__{int(time.time())}")
    if os.path.exists(os.path.join(logdir, "progress.csv")):
        fail(f"{logdir} already holds a run; choose another --logdir")
    os.makedirs(logdir, exist_ok=True)
    config = dict(vars(args), algo=ALGO, torch=torch.__version__, gymnasium=gym.__version__, numpy=np.__version__)
    with open(os.path.join(logdir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    torch.set_num_threads(1)  # tiny networks: threads cost more than they save
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    envs = make_envs(args.env, args.num_envs)
    obs_dim, N = envs.single_observation_space.shape[0], args.num_envs
    actor = Actor(obs_dim, envs.single_action_space, args.hidden).to(device)
    if not actor.discrete:  # std e^-0.5 ~ 0.6, not 1: less early flailing (HalfCheetah: fewer flips onto its back)
        nn.init.constant_(actor.log_std, args.log_std_init)
    opt = torch.optim.Adam(actor.parameters(), lr=args.lr, fused=True)  # fused: one kernel per step, much faster for tiny nets
    critic = Critic(obs_dim, args.hidden).to(device)
    vf_opt = torch.optim.Adam(critic.parameters(), lr=args.vf_lr, fused=True)
    T, act_shape = args.num_steps, envs.single_action_space.shape
    obs_buf, next_buf = torch.zeros((T, N, obs_dim), device=device), torch.zeros((T, N, obs_dim), device=device)
    act_buf = torch.zeros((T, N) + act_shape, dtype=torch.long if actor.discrete else torch.float32, device=device)
    rew_buf, term_buf, done_buf = (torch.zeros((T, N), device=device) for _ in range(3))
    obs_norm, ret_norm = RunningNorm(obs_dim), RunningNorm(())
    obs, _ = envs.reset(seed=args.seed)
    obs_norm.update(obs)

    csv_file = open(os.path.join(logdir, "progress.csv"), "w", newline="")
    writer, recent = None, deque(maxlen=100)  # recent: raw returns of the last 100 episodes
    tb = importlib.import_module("torch.utils.tensorboard").SummaryWriter(logdir) if args.tensorboard else None
    ep_ret, ret_acc = np.zeros(N), np.zeros(N)  # raw return so far; discounted return for scaling
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops like Ctrl-C
    global_step, update, start = 0, 0, time.time()
    try:
        while global_step < args.total_steps:
            update += 1
            finished = []
            # ================ ROLLOUT: FIXED LENGTH, CUT ANYWHERE (shared) ================
            # T steps in each of N envs. Storage is (T, N): time first, then env. term[t] and
            # trunc[t] describe the transition from obs[t], and next_buf[t] holds where it really
            # led (infos["final_obs"] when an episode ended there), so the critic can bootstrap
            # after a truncation or at the rollout's edge, and not after a termination.
            for t in range(T):
                o = torch.as_tensor(obs_norm(obs), device=device)
                with torch.no_grad():
                    act = actor.sample(o)
                obs, rew, term, trunc, info = envs.step(actor.to_env(act))
                obs_norm.update(obs)  # before both obs_norm(next obs) and obs_norm(obs) next step
                done = term | trunc
                next_obs = obs.copy()
                if done.any():
                    next_obs[done] = np.stack(info["final_obs"][done])
                next_buf[t] = torch.as_tensor(obs_norm(next_obs), device=device)
                ep_ret = ep_ret + rew  # statistics use the raw rewards, before any scaling
                finished.extend(ep_ret[done])
                ep_ret[done] = 0.0
                ret_acc = ret_acc * args.gamma * (1 - term) + rew
                ret_norm.update(ret_acc)  # reward scaling: divide by the std of the discounted return
                rew = np.clip(rew / np.sqrt(ret_norm.var + 1e-8), -10, 10)
                ret_acc[done] = 0.0
                obs_buf[t], act_buf[t] = o, act
                rew_buf[t], term_buf[t], done_buf[t] = (torch.as_tensor(x, device=device) for x in (rew, term, done))
            # ================================= LEARN =================================
            global_step += T * N
            with torch.no_grad():
                v, v_next = critic(obs_buf), critic(next_buf)
            adv = weights_fn(rew_buf, v, v_next, term_buf, done_buf, args.gamma, args.lam)
            b_obs, b_act, b_adv, b_ret = obs_buf.flatten(0, 1), act_buf.flatten(0, 1), adv.flatten(), (adv + v).flatten()
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)  # normalized per batch
            with torch.no_grad():
                b_logp_old = actor.dist(b_obs).log_prob(b_act)
            frac = 1 - (global_step - T * N) / args.total_steps  # linear annealing of both rates
            opt.param_groups[0]["lr"], vf_opt.param_groups[0]["lr"] = frac * args.lr, frac * args.vf_lr
            stats = update_policy(actor, opt, b_obs, b_act, b_adv, b_logp_old, args)
            stats.update(update_value(critic, vf_opt, b_obs, b_ret, args.vf_iters, args.num_minibatches))
            stats["explained_var"] = 1 - ((b_ret - v.flatten()).var() / (b_ret.var() + 1e-8)).item()
            recent.extend(finished)

            # ============================ LOGGING (shared) ============================
            sps = global_step / (time.time() - start)
            row = {"update": update, "step": global_step,
                   "return_mean": round(float(np.mean(finished)), 2) if finished else "",
                   "episodes": len(finished), "sps": int(sps), "time": round(time.time() - start, 1)}
            row.update({k: round(v, 5) for k, v in stats.items()})
            if writer is None:
                writer = csv.DictWriter(csv_file, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)
            csv_file.flush()
            for k, v in (row.items() if tb else ()):  # --tensorboard: the same columns, as curves
                if v != "":
                    tb.add_scalar(k, v, global_step)
            print(" | ".join(f"{k} {v}" for k, v in row.items() if k not in ("episodes", "time")), flush=True)
            if not all(np.isfinite(v) for v in stats.values()):
                print(f"{ALGO}: stopped: non-finite loss at update {update}; {logdir}/model.pt holds the last good policy")
                sys.exit(1)
            save_model(os.path.join(logdir, "model.pt"), args, actor, obs_norm)
    except KeyboardInterrupt:
        print(f"{ALGO}: interrupted at step {global_step}; run saved in {logdir}")
        save_model(os.path.join(logdir, "model.pt"), args, actor, obs_norm)
    csv_file.close()
    if tb:
        tb.close()
    envs.close()
    summary = {"algo": ALGO, "env": args.env, "seed": args.seed, "steps": global_step,
               "return_last100": round(float(np.mean(recent)), 2) if recent else None,
               "sps": int(global_step / (time.time() - start)), "wall_s": round(time.time() - start, 1)}
    with open(os.path.join(logdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"done: {global_step} steps, mean return of the last {len(recent)} episodes "
          f"{summary['return_last100']}, {summary['sps']} steps/s; run saved in {logdir}")
    if args.render or args.capture_video:  # one episode of the final policy, as --eval runs it
        evaluate(argparse.Namespace(**dict(vars(args), eval=os.path.join(logdir, "model.pt"), eval_episodes=1)))


if __name__ == "__main__":
    main()
