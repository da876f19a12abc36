"""A mistake: reward-to-go normalized with the wrong statistics. rtg_pg.py's weights_fn, edited to
centre and scale Phi_t as ppo.py does its advantages; but ppo.py does it on the flat batch b_adv,
where dim 0 is the batch, and here storage is (T, N), time first: mean(0) is over the time steps
of each env's column, an episode's own rewards. Run: python tools/gradients.py --phi
examples/phi_normalized.py"""

import torch


def weights_fn(rew, done, gamma):
    ret = torch.zeros_like(rew)
    acc = torch.zeros_like(rew[0])
    for t in reversed(range(len(rew))):
        acc = rew[t] + gamma * (1 - done[t]) * acc
        ret[t] = acc
    # the added line: statistics over dim 0, time, not over the batch
    return (ret - ret.mean(0)) / (ret.std(0) + 1e-8)
