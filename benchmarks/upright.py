"""Is a trained HalfCheetah upright, or running on its back? One episode of each saved policy.

HalfCheetah-v4 runs often end in one of two modes: a gait on the feet (returns above 3,000) or
a gait on the back (about 1,500-1,800). The torso angle qpos[2] tells them apart: near 0
upright, near +-pi upside down. Prints the return of one deterministic 1,000-step episode (the
mean action, as `--eval` runs it) and the share of steps with the torso turned more than 2 rad.
Run: python benchmarks/upright.py benchmarks/runs/ppo/HalfCheetah-v4/*/model.pt
"""
import argparse
import importlib.util
import os
import sys

import gymnasium as gym
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(algo):
    spec = importlib.util.spec_from_file_location(algo, os.path.join(ROOT, f"{algo}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model.pt files of HalfCheetah runs")
    p.add_argument("--seed", type=int, default=0, help="seed of the episode's reset (default: 0)")
    args = p.parse_args()
    for path in args.models:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            algo, env_id = ckpt["algo"], ckpt["env"]
        except Exception as e:  # missing, unreadable, or not a checkpoint of these scripts
            sys.exit(f"upright.py: error: cannot load {path}: {(str(e).strip().splitlines() or [type(e).__name__])[0]}")
        if not env_id.startswith("HalfCheetah"):
            sys.exit(f"upright.py: error: {path} is a {env_id} policy; only HalfCheetah has this torso angle")
        script = load_script(algo)
        env = gym.make(env_id)
        actor = script.Actor(env.observation_space.shape[0], env.action_space, ckpt["hidden"])
        actor.load_state_dict(ckpt["actor"])
        obs_norm = script.RunningNorm(env.observation_space.shape)
        obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()
        (obs, _), done, ret, angles = env.reset(seed=args.seed), False, 0.0, []
        while not done:
            with torch.no_grad():
                act = actor.mode(torch.as_tensor(obs_norm(obs[None])))
            obs, rew, term, trunc, _ = env.step(actor.to_env(act)[0])
            done, ret = term or trunc, ret + float(rew)
            angles.append(env.unwrapped.data.qpos[2])
        env.close()
        flipped = float(np.mean(np.cos(angles) < np.cos(2.0)))  # wherever the angle has wound to
        print(f"{path}: return {ret:.0f}, torso turned > 2 rad in {flipped:.0%} of {len(angles)} steps")


if __name__ == "__main__":
    main()
