"""A mistake: reward-to-go off by one step. rtg_pg.py's weights_fn, edited so that Phi_t sums the
rewards from t + 1 on: r_t, which the action a_t earns, is left out. As a baseline, r_t depends on
the action. Run: python tools/gradients.py --phi examples/phi_off_by_one.py"""

import torch


def weights_fn(rew, done, gamma):
    ret = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    for t in reversed(range(len(rew))):
        acc = gamma * (1 - done[t]) * acc
        # rtg_pg.py adds rew[t] before it stores acc in ret[t]
        ret[t] = acc
        acc = acc + rew[t]
    return ret
