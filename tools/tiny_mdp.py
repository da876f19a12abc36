"""A tiny MDP on which grad J is known exactly: 3 states, 2 actions, horizon 4.

The policy is tabular, pi(a|s) = softmax(THETA[s]). J(theta) = E[sum_t gamma^t r_t] follows the
state distribution forward, so autograd gives the exact grad J; V_t(s) and Q_t(s, a) come by
backward recursion; trajectories() lists every trajectory with its probability (3^5 * 2^4 =
3888 of them), for the exact mean and variance of any estimator. tools/gradients.py and
tests/test_theory.py share it.
"""

import itertools

import numpy as np
import torch

# states, actions, horizon
S = 3
A = 2
H = 4
rng = np.random.default_rng(0)
# P[s, a, s']: action a mostly (0.8) leads to state (s + a) mod S, so actions matter for
# later rewards and a wrong Phi_t shows as a bias
P = np.full((S, A, S), 0.1)
for s_from in range(S):
    for a_taken in range(A):
        P[s_from, a_taken, (s_from + a_taken) % S] = 0.8
# the mean reward of (s, a), all positive
R_MEAN = np.array([0.0, 1.0, 3.0])[:, None] + rng.uniform(0, 0.5, (S, A)) + 2.0
# the initial state distribution
MU = np.array([0.6, 0.3, 0.1])
# the logits of pi(a|s)
THETA = rng.normal(0, 1, (S, A))


def policy(theta=THETA):
    """pi(a|s) as an (S, A) array."""
    e = np.exp(theta)
    return e / e.sum(-1, keepdims=True)


def exact_grad_and_values(theta=THETA, gamma=1.0):
    """grad J of J(theta) = E[sum_{t<H} gamma^t r_t], by the forward state distribution
    and autograd; V_t(s) = E[sum_{t'>=t} gamma^(t'-t) r_t' | s_t = s], (H + 1, S), by
    backward recursion (V_H = 0)."""
    th = torch.tensor(theta, requires_grad=True)
    pi = torch.softmax(th, -1)
    p = torch.tensor(P)
    r = torch.tensor(R_MEAN)
    d = torch.tensor(MU)
    J = 0.0
    for t in range(H):
        J = J + gamma**t * (d[:, None] * pi * r).sum()
        d = torch.einsum("s,sa,sap->p", d, pi, p)
    (grad,) = torch.autograd.grad(J, th)
    V = np.zeros((H + 1, S))
    pi_np = pi.detach().numpy()
    for t in reversed(range(H)):
        V[t] = (pi_np * (R_MEAN + gamma * P @ V[t + 1])).sum(-1)
    return grad.numpy(), V


def q_values(V, gamma=1.0):
    """Q_t(s, a) = r(s, a) + gamma E[V_{t+1}(s')], (H, S, A), from V of exact_grad_and_values."""
    return np.stack([R_MEAN + gamma * P @ V[t + 1] for t in range(H)])


def trajectories(theta=THETA):
    """Every trajectory, time first as the scripts store a batch: states s (H + 1, N),
    actions a (H, N), the mean rewards rew (H, N), the probability prob (N,) of each, and
    score (H, N, S * A), the gradient of log pi(a_t|s_t) in THETA: onehot(a_t) - pi(s_t) in
    row s_t, 0 elsewhere."""
    pi = policy(theta)
    states = np.array(list(itertools.product(range(S), repeat=H + 1)))
    actions = np.array(list(itertools.product(range(A), repeat=H)))
    s = np.repeat(states, len(actions), 0).T
    a = np.tile(actions, (len(states), 1)).T
    N = s.shape[1]
    prob = MU[s[0]]
    score = np.zeros((H, N, S, A))
    for t in range(H):
        prob = prob * pi[s[t], a[t]] * P[s[t], a[t], s[t + 1]]
        score[t, np.arange(N), s[t]] = np.eye(A)[a[t]] - pi[s[t]]
    rew = R_MEAN[s[:-1], a]
    score = score.reshape(H, N, S * A)
    return dict(s=s, a=a, rew=rew, prob=prob, score=score)
