"""A reward of your own, without editing a script: Walker2d-v5 paid for walking backward.

Importing this module registers the env BackwardWalker-v5, so any script trains on it and tools/watch.py
plays it, from the repository's top folder:
    python ppo.py --env examples.backward_walker:BackwardWalker-v5
    python tools/watch.py runs/examples.backward_walker:BackwardWalker-v5__ppo__1__*   (the run it printed)
Copy it, change step(), and you have a reward of your own. (This one equals --env-kwargs
forward_reward_weight=-1; a wrapper can pay for anything the env measures.)
"""

import gymnasium as gym


class Backward(gym.Wrapper):
    """Walker2d pays forward_reward_weight x the torso's forward speed, info["x_velocity"], plus a
    bonus for being alive, minus a cost of control. This wrapper swaps the forward term for
    -x_velocity: the faster backward, the more it pays."""

    def step(self, action):
        obs, rew, term, trunc, info = self.env.step(action)
        rew = rew - info["reward_forward"] - info["x_velocity"]
        return obs, rew, term, trunc, info


def make_backward_walker(**kwargs):
    """gym.make's settings (--env-kwargs, a render_mode, a camera) go to Walker2d-v5 itself."""
    return Backward(gym.make("Walker2d-v5", **kwargs))


gym.register("BackwardWalker-v5", entry_point=make_backward_walker)
