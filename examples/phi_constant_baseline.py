"""A correct variation: reward-to-go minus a constant baseline b = 10. rtg_pg.py's weights_fn with
one line added. Any b that does not depend on the action leaves the mean unchanged ("Baselines in
Policy Gradients"); the variance moves. Run: python tools/gradients.py --phi
examples/phi_constant_baseline.py"""

import torch


def weights_fn(rew, done, gamma):
    ret = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    for t in reversed(range(len(rew))):
        acc = rew[t] + gamma * (1 - done[t]) * acc
        ret[t] = acc
    # the added line
    return ret - 10.0
