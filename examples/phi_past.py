"""A mistake: the past rewards summed instead of the future ones. rtg_pg.py's weights_fn, edited
so that its loop runs forward: Phi_t = r_0 + ... + r_t. Run: python tools/gradients.py --phi
examples/phi_past.py"""

import torch


def weights_fn(rew, done, gamma):
    ret = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    # rtg_pg.py runs backward: for t in reversed(range(len(rew)))
    for t in range(len(rew)):
        acc = rew[t] + gamma * acc
        ret[t] = acc
        acc = (1 - done[t]) * acc
    return ret
