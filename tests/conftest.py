"""Shared helpers: import the scripts as modules, run them in-process or as a user would."""

import contextlib
import csv
import importlib
import io
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # as the scripts do: tiny networks, threads only add overhead
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
CHAIN = ["simple_pg", "rtg_pg", "vpg", "a2c", "trpo", "ppo"]
SCRIPTS = [s for s in CHAIN if (ROOT / f"{s}.py").exists()]
CRITIC_FREE = [s for s in SCRIPTS if s in ("simple_pg", "rtg_pg")]
WITH_CRITIC = [s for s in SCRIPTS if s not in CRITIC_FREE]
# Small batches so that a smoke run takes a few updates in a second or two.
SMALL = {
    "simple_pg": ["--batch-steps", "200"],
    "rtg_pg": ["--batch-steps", "200"],
    "a2c": ["--num-steps", "64", "--num-envs", "4"],
}


def small(name):
    return SMALL.get(name, ["--num-steps", "64", "--num-minibatches", "4"])


# One or two updates of a few steps: enough to pass every line of the training loop.
TINY = {"simple_pg": ["--batch-steps", "16"], "rtg_pg": ["--batch-steps", "16"], "a2c": ["--num-steps", "4"]}


def tiny(name):
    return TINY.get(name, ["--num-steps", "4", "--num-minibatches", "2"]) + ["--hidden", "8"]


def flags(name):
    """The flags of script `name`, from its add_argument calls, without the leading --."""
    return re.findall(r'add_argument\(\s*"--([a-z-]+)"', (ROOT / f"{name}.py").read_text())


def load(name):
    return importlib.import_module(name)


def run_main(name, args, logdir, row_steps=1):
    """Train in this process (no import cost); returns progress.csv's rows, one per update unless
    row_steps is given (the scripts' ROW_STEPS: a row once that many steps have passed)."""
    module = load(name)
    default, module.ROW_STEPS = module.ROW_STEPS, row_steps or module.ROW_STEPS
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            module.main(list(args) + ["--logdir", str(logdir)])
    finally:
        module.ROW_STEPS = default
    return read_csv(Path(logdir) / "progress.csv")


def run_cli(name, args, timeout=300):
    """Run the script as a user does: python NAME.py ARGS."""
    return subprocess.run(
        [sys.executable, str(ROOT / f"{name}.py"), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def watch(args):
    """tools/watch.py in this process, as `python tools/watch.py ARGS`; returns what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        importlib.import_module("watch").main([str(a) for a in args])
    return out.getvalue()


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


class ConstEnv(gym.Env):
    """Purpose-built: constant observation, reward 1 each step; an episode ends after `horizon`
    steps by truncation (trunc=True) or by termination (trunc=False)."""

    def __init__(self, horizon=20, trunc=True):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.horizon, self.trunc = horizon, trunc

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.5, -0.5], np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.horizon
        return np.array([0.5, -0.5], np.float32), 1.0, end and not self.trunc, end and self.trunc, {}


class CountEnv(gym.Env):
    """Purpose-built: obs = (steps taken in this episode) / 10, reward 1 each step, terminates
    after `length` steps (TestCountTrunc-v0: truncates, trunc=True). A fake autoreset transition
    would show as a reward-0 step; the observation grows every step, so an episode's final
    observation (length / 10) is the largest and the next episode's first (0) the smallest."""

    def __init__(self, length=7, trunc=False):
        self.observation_space = gym.spaces.Box(0, 10, (1,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.length, self.trunc = length, trunc

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        return np.array([self.t / 10], np.float32), 1.0, end and not self.trunc, end and self.trunc, {}


class NanEnv(ConstEnv):
    """Purpose-built: like ConstEnv, but from its 100th step on every reward is NaN."""

    def reset(self, seed=None, options=None):
        self.steps = getattr(self, "steps", 0)
        return super().reset(seed=seed)

    def step(self, action):
        self.steps += 1
        obs, rew, term, trunc, info = super().step(action)
        return obs, (float("nan") if self.steps >= 100 else rew), term, trunc, info


class NoRenderEnv(ConstEnv):
    """Purpose-built: says it renders, then fails as MuJoCo does without an OpenGL context."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(self, render_mode=None):
        super().__init__()
        self.render_mode = render_mode

    def render(self):
        raise RuntimeError("no OpenGL context")


class RandomLengthEnv(gym.Env):
    """Purpose-built: episodes of random length L in 1..12, drawn at reset from the env's seeded
    np_random with a random tag x; obs = (steps taken in this episode, L, x), reward 1. A batch
    that keeps only whole episodes holds, for each (L, x), the obs t = 0 .. L-1. Every reset's
    (L, x) is kept in RandomLengthEnv.starts, so a test sees how each episode began."""

    starts = []

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def obs(self):
        return np.array([self.t, self.length, self.x], np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length, self.x = 0, int(self.np_random.integers(1, 13)), float(self.np_random.uniform())
        RandomLengthEnv.starts.append((self.length, self.x))
        return self.obs(), {}

    def step(self, action):
        self.t += 1
        return self.obs(), 1.0, self.t >= self.length, False, {}


class ShortOrLongEnv(gym.Env):
    """Purpose-built: episodes of 5 or 100 steps with equal odds, drawn at reset from the env's
    seeded np_random; obs = (steps taken in this episode) / 100, reward 1. The return is the
    length, whatever the policy: mean 52.5, std 47.5. A log that keeps more short episodes than
    long ones leans low."""

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.length = 0, int(self.np_random.choice([5, 100]))
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t / 100], np.float32), 1.0, self.t >= self.length, False, {}


class FarObsEnv(gym.Env):
    """Purpose-built: observations far from zero mean, 100 + 10 N(0, 1) in each of 3 dimensions,
    drawn from the seeded np_random; Box actions, reward 1, truncated after 10 steps. Each
    episode's observations are kept in FarObsEnv.episodes (all but the last one are acted on)."""

    episodes = []

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def obs(self):
        obs = (100 + 10 * self.np_random.normal(size=3)).astype(np.float32)
        FarObsEnv.episodes[-1].append(obs)
        return obs

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        FarObsEnv.episodes.append([])
        return self.obs(), {}

    def step(self, action):
        self.t += 1
        return self.obs(), 1.0, False, self.t >= 10, {}


class SpikeEnv(gym.Env):
    """Purpose-built: observations N(0, 1) in 3 dimensions, drawn from the seeded np_random,
    except after the 300th step of an episode, when all three are 1000; Box actions, reward 1,
    truncated after 310 steps. Normalized with running statistics of n earlier N(0, 1)
    observations and the spikes of N envs at once, a spike lies about sqrt(n / N) standard
    deviations out: about 17 for n = 1,200 (300 steps of 4 envs)."""

    def __init__(self, render_mode=None):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def obs(self):
        if self.t == 300:
            return np.full(3, 1000, np.float32)
        return self.np_random.normal(size=3).astype(np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.obs(), {}

    def step(self, action):
        self.t += 1
        return self.obs(), 1.0, False, self.t >= 310, {}


gym.register("TestNan-v0", entry_point=NanEnv)
gym.register("TestNoRender-v0", entry_point=NoRenderEnv)
gym.register("TestTruncOnly-v0", entry_point=lambda **kw: ConstEnv(trunc=True, **kw))
gym.register("TestTermOnly-v0", entry_point=lambda **kw: ConstEnv(trunc=False, **kw))
gym.register("TestCount-v0", entry_point=CountEnv)
gym.register("TestCountTrunc-v0", entry_point=CountEnv, kwargs={"trunc": True})
gym.register("TestRandomLength-v0", entry_point=RandomLengthEnv)
gym.register("TestShortOrLong-v0", entry_point=ShortOrLongEnv)
gym.register("TestFarObs-v0", entry_point=FarObsEnv)
gym.register("TestSpike-v0", entry_point=SpikeEnv)


@pytest.fixture(autouse=True)
def _seed_everything():
    import torch

    torch.manual_seed(0)
    np.random.seed(0)
