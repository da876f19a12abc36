"""The README's "Copy it into your project": ppo.py copied alone into an empty folder, beside an
env module of one's own, trains; the README's lines that load its model.pt run as written there;
with the rest of PLUMBING and the four lines of main that use `run` deleted, as it says, it trains."""

import json
import re
import shutil
import subprocess
import sys

from conftest import ROOT

# an env of one's own: walk along a line to +5 (reward 1 there, the episode ends), 20 steps at most
MY_ENV = """
import gymnasium as gym
import numpy as np


class LineWalk(gym.Env):
    observation_space = gym.spaces.Box(-10.0, 10.0, (1,))
    action_space = gym.spaces.Box(-1.0, 1.0, (1,))

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = 0.0
        return np.array([self.x], dtype=np.float32), {}

    def step(self, action):
        self.x += float(action[0])
        done = self.x >= 5
        return np.array([self.x], dtype=np.float32), float(done), done, False, {}


gym.register("LineWalk-v0", entry_point=LineWalk, max_episode_steps=20)
"""


def readme_block(title):
    """The first python code block of the README section whose title is given."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_a_copy_of_ppo_trains_on_ones_own_env_and_its_model_loads(tmp_path):
    shutil.copy(ROOT / "ppo.py", tmp_path / "ppo.py")
    (tmp_path / "my_env.py").write_text(MY_ENV)
    cmd = [sys.executable, "ppo.py", "--env", "my_env:LineWalk-v0", "--total-steps", "512"]
    cmd += ["--num-steps", "64", "--num-minibatches", "4", "--logdir", "run"]
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["steps"] == 512 and summary["return_last100"] is not None
    # the README's lines, with the run's path, in the folder that holds the copy
    code = readme_block("Copy it into your project").replace("runs/MY_RUN", "run")
    code += "\nprint('return', total)\n"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # the deterministic policy plays a whole episode: its return is a number, 0 or 1 here
    assert float(res.stdout.split("return")[-1]) in (0.0, 1.0)


def test_a_copy_without_the_run_directory_trains(tmp_path):
    """Delete what the README says a copier may delete (PLUMBING after the flag types: check_env
    and Run; main's four lines that use run): the copy still trains, and writes nothing."""
    text = (ROOT / "ppo.py").read_text()
    text = text[: text.index("def check_env(")] + text[text.index('if __name__ == "__main__":') :]
    used = [line for line in text.splitlines() if "run = Run(" in line or line.strip().startswith("run.")]
    assert len(used) == 4, used
    for line in used:
        text = text.replace(line + "\n", "")
    (tmp_path / "ppo.py").write_text(text)
    cmd = [sys.executable, "ppo.py", "--total-steps", "512", "--num-steps", "64", "--num-minibatches", "4"]
    res = subprocess.run(
        cmd + ["--env-kwargs", "sutton_barto_reward=True"], cwd=tmp_path, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ppo.py"]
