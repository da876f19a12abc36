"""What does a trained policy do? Its behaviour in numbers, over a few episodes of each saved model.

Plays each model.pt for --episodes episodes with the mean action (as `--eval` runs it; resets seeded --seed,
--seed + 1, ...) in the env it was trained on: its id and env_kwargs, built by the script's make_env. Prints the
mean return and episode length and, where the env has them, the mean forward velocity (info["x_velocity"]), the
torso's height and angle (qpos; 0 rad is upright) and the share of steps with the torso turned more than 2 rad
(a gait on its back, as in HalfCheetah's lower mode); n/a where it has not.
Run: python benchmarks/behaviour.py benchmarks/runs/ppo/Walker2d-v4/*/model.pt
"""

import argparse
import importlib.util
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the MuJoCo walkers keep the torso in qpos: (index of its height, of its angle); None: not there.
# The planar ones (Walker2d, Hopper, HalfCheetah) have qpos = x, z, angle, joints...; HalfCheetah's z is
# measured from its start (0.7 m), not the floor. Ant and Humanoid: x, y, z, orientation (a quaternion), joints...
TORSO = {"Walker2d": (1, 2), "Hopper": (1, 2), "HalfCheetah": (None, 2), "Ant": (2, None), "Humanoid": (2, None)}


def fail(msg):
    print(f"behaviour.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def load(path):
    """A saved model.pt and the script that saved it (ckpt["algo"]); raises if it is not one."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    ckpt.setdefault("env_kwargs", {})  # saved before --env-kwargs existed
    spec = importlib.util.spec_from_file_location(ckpt["algo"], os.path.join(ROOT, f"{ckpt['algo']}.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return ckpt, script


def make_env(script, ckpt, render_mode=None, **render_kwargs):
    """The env the model was trained on, built by the script's make_env, so a wrapper added there applies."""
    return script.make_env(ckpt["env"], dict(ckpt["env_kwargs"], **render_kwargs), render_mode)


def policy(script, ckpt, env):
    """The saved actor as a function obs -> the env's action: its mean (argmax for Discrete), observations
    normalized with the saved, frozen statistics."""
    actor = script.Actor(env.observation_space.shape[0], env.action_space, ckpt["hidden"])
    actor.load_state_dict(ckpt["actor"])
    obs_norm = script.RunningNorm(env.observation_space.shape)
    obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()

    def act(obs):
        with torch.no_grad():
            return actor.to_env(actor.mode(torch.as_tensor(obs_norm(obs[None]))))[0]

    return act


def mean(values, fmt):
    return fmt.format(np.mean(values)) if values else "n/a"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model.pt files saved by the scripts")
    p.add_argument("--episodes", type=int, default=5, help="episodes per model (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the first episode, +1 for each next (default: 0)")
    args = p.parse_args(argv)
    if args.episodes <= 0:
        fail(f"--episodes must be positive, got {args.episodes}")
    for path in args.models:
        try:
            ckpt, script = load(path)
        except Exception as e:  # missing, unreadable, or not a checkpoint of these scripts
            fail(f"cannot load {path}: {first_line(e)}")
        try:
            env = make_env(script, ckpt)
        except Exception as e:  # gymnasium raises several types here; all mean "cannot make this env"
            fail(f"cannot make env {ckpt['env']!r} with {ckpt['env_kwargs']}: {first_line(e)}")
        act = policy(script, ckpt, env)
        height_at, angle_at = TORSO.get(ckpt["env"].split("-")[0], (None, None))
        returns, lengths, velocity, height, angle = [], [], [], [], []
        for ep in range(args.episodes):
            (obs, _), done = env.reset(seed=args.seed + ep), False
            returns.append(0.0)
            lengths.append(0)
            while not done:
                obs, rew, term, trunc, info = env.step(act(obs))
                done = term or trunc
                returns[-1] += float(rew)
                lengths[-1] += 1
                if "x_velocity" in info:
                    velocity.append(float(info["x_velocity"]))
                if height_at is not None:
                    height.append(float(env.unwrapped.data.qpos[height_at]))
                if angle_at is not None:
                    angle.append(float(env.unwrapped.data.qpos[angle_at]))
        env.close()
        turned = [np.cos(a) < np.cos(2.0) for a in angle]  # wherever the angle has wound to
        kwargs = "".join(f" {k}={v}" for k, v in ckpt["env_kwargs"].items())
        print(f"{path}: {ckpt['algo']} on {ckpt['env']}{kwargs}, {args.episodes} episode{'s' * (args.episodes > 1)}")
        print(
            f"  return {mean(returns, '{:,.1f}')}, length {mean(lengths, '{:.0f}')}, "
            f"forward velocity {mean(velocity, '{:.2f} m/s')}, torso height {mean(height, '{:.2f} m')}, "
            f"torso angle {mean(angle, '{:+.2f} rad')}, turned > 2 rad in {mean(turned, '{:.0%} of steps')}"
        )


if __name__ == "__main__":
    main()
