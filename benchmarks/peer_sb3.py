"""A peer for throughput.py: Stable-Baselines3's PPO or A2C with its own defaults, one env, one torch thread.

Needs stable-baselines3 (not a dependency of this project): pip install stable-baselines3. Writes RUN/summary.json
with the steps it trained, as the scripts do, so throughput.py times it the same way.
Run: python benchmarks/peer_sb3.py ppo Walker2d-v4 50000 /tmp/run
"""

import json
import os
import sys

import gymnasium as gym
import stable_baselines3
import torch

algo, env_id, steps, rundir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.set_num_threads(1)  # as the scripts: one core each
model = getattr(stable_baselines3, algo.upper())("MlpPolicy", gym.make(env_id), seed=1, device="cpu")
model.learn(total_timesteps=steps)
os.makedirs(rundir, exist_ok=True)
with open(os.path.join(rundir, "summary.json"), "w") as f:
    json.dump({"steps": model.num_timesteps}, f)
