"""Tests that prove the theory, read as a companion to Spinning Up's "Intro to Policy
Optimization" and the GAE paper. A tiny finite-horizon MDP with a tabular softmax policy
(tools/tiny_mdp.py, shared with tools/gradients.py) has an exact J(theta), by dynamic programming,
so autograd gives the exact grad J; Monte Carlo estimates built with each script's own weights_fn
and update_policy must agree with it. Each weights_fn is also checked on batches that hold several
episodes of random length per env's column, whole and cut, against sums written out per episode."""

import numpy as np
import pytest
import torch
from conftest import SCRIPTS, WITH_CRITIC, load
from tiny_mdp import MU, R_MEAN, THETA, A, H, P, S, exact_grad_and_values
from torch.distributions import Categorical

M = 20_000  # trajectories per estimate


def sample(m=M, seed=1, theta=THETA, noise=0.5):
    """m episodes of length H, stored (T, N) as the scripts store them; rewards carry noise
    (uniform in [-noise, noise])."""
    g = np.random.default_rng(seed)
    pi = np.exp(theta) / np.exp(theta).sum(-1, keepdims=True)
    s = np.zeros((H + 1, m), int)
    a, r = np.zeros((H, m), int), np.zeros((H, m))
    s[0] = (g.random(m)[:, None] > np.cumsum(MU)).sum(-1)
    for t in range(H):
        a[t] = (g.random(m)[:, None] > np.cumsum(pi[s[t]], -1)).sum(-1)
        r[t] = R_MEAN[s[t], a[t]] + g.uniform(-noise, noise, m)
        s[t + 1] = (g.random(m)[:, None] > np.cumsum(P[s[t], a[t]], -1)).sum(-1)
    done = np.zeros((H, m))
    done[-1] = 1.0  # the horizon ends every episode: a true end, nothing to bootstrap
    return s, a, r, done


def per_episode_grads(s, a, w, theta=THETA):
    """g_m = sum_t w_t grad log pi(a_t|s_t); for a softmax, grad log pi = onehot(a) - pi(s)."""
    pi = np.exp(theta) / np.exp(theta).sum(-1, keepdims=True)
    G = np.zeros((s.shape[1], S, A))
    idx = np.arange(s.shape[1])
    for t in range(H):
        score = np.eye(A)[a[t]] - pi[s[t]]
        G[idx, s[t]] += w[t][:, None] * score
    return G.reshape(len(idx), -1)


def weights(name, s, r, done, V, lam=1.0):
    """The weights Phi_t that script `name` computes, with the exact V_t for the critic files."""
    mod = load(name)
    if name in ("simple_pg", "rtg_pg"):
        return (
            mod.weights_fn(torch.tensor(r, dtype=torch.float32), torch.tensor(done, dtype=torch.float32), 1.0)
            .double()
            .numpy()
        )
    t = np.arange(H)[:, None]
    v, v_next = torch.tensor(V[t, s[:-1]]), torch.tensor(V[t + 1, s[1:]])
    done_t = torch.tensor(done)
    return mod.weights_fn(torch.tensor(r), v, v_next, done_t, done_t, 1.0, lam).numpy()


class TabularActor(torch.nn.Module):
    """pi(a|s) = softmax(theta[s]), with the .dist() the scripts' update_policy calls."""

    def __init__(self, theta):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.tensor(theta, dtype=torch.float32))

    def dist(self, obs):
        return Categorical(logits=self.theta[obs])


def check_unbiased(G, exact, z=4.5):
    mean, se = G.mean(0), G.std(0) / np.sqrt(len(G))
    assert np.all(np.abs(mean - exact.ravel()) < z * se + 1e-9), (mean, exact.ravel(), se)


@pytest.mark.parametrize("name", SCRIPTS)
def test_policy_gradient_estimate_is_unbiased(name):
    """ "Deriving the Simplest Policy Gradient" (R(tau)), "Don't Let the Past Distract You"
    (reward-to-go) and "Baselines in Policy Gradients" / GAE (advantage with an exact V): each
    script's Phi_t gives a Monte Carlo grad J that matches the exact gradient within 4.5 SE."""
    exact, V = exact_grad_and_values()
    s, a, r, done = sample()
    for lam in [1.0] if name in ("simple_pg", "rtg_pg") else [1.0, 0.5, 0.0]:
        check_unbiased(per_episode_grads(s, a, weights(name, s, r, done, V, lam)), exact)


@pytest.mark.parametrize("name", [n for n in SCRIPTS if n in ("simple_pg", "rtg_pg", "vpg")])
def test_update_policy_gradient_is_the_estimate(name):
    """The script's own surrogate loss -mean(log pi * Phi) has gradient -grad_J_hat / H:
    the loss is not a performance measure, but its gradient is the estimate."""
    exact, V = exact_grad_and_values()
    s, a, r, done = sample(m=3000, seed=2)
    w = weights(name, s, r, done, V)
    actor = TabularActor(THETA)
    opt = torch.optim.SGD(actor.parameters(), lr=0.0)  # lr 0: keep the gradient, move nothing
    b_obs, b_act = torch.tensor(s[:-1]).flatten(), torch.tensor(a).flatten()
    load(name).update_policy(actor, opt, b_obs, b_act, torch.tensor(w, dtype=torch.float32).flatten())
    grad_j = -H * actor.theta.grad.numpy().ravel()
    np.testing.assert_allclose(grad_j, per_episode_grads(s, a, w).mean(0), rtol=1e-4, atol=1e-5)


def test_variance_falls_with_reward_to_go_and_baseline():
    """Same expectation, less variance: per coordinate, Var[R(tau) estimator] > Var[reward-to-go]
    > Var[reward-to-go minus the exact V] ("Baselines in Policy Gradients")."""
    _, V = exact_grad_and_values()
    s, a, r, done = sample()
    var = [per_episode_grads(s, a, weights(n, s, r, done, V)).var(0) for n in ("simple_pg", "rtg_pg", "vpg")]
    assert np.all(var[0] > var[1]) and np.all(var[1] > var[2]), var


@pytest.mark.parametrize("discrete", [True, False])
def test_expected_grad_log_prob_is_zero(discrete):
    """EGLP lemma: E_{a~pi}[grad log pi(a|s)] = 0, for the scripts' Actor, with actions drawn by
    its fast sample() (so this also checks that sample() draws from dist())."""
    import gymnasium as gym

    mod = load("rtg_pg")
    space = gym.spaces.Discrete(3) if discrete else gym.spaces.Box(-1, 1, (2,))
    torch.manual_seed(0)
    actor = mod.Actor(4, space, 8)
    with torch.no_grad():  # move the policy away from uniform so the test has teeth
        for p in actor.parameters():
            p.add_(torch.randn_like(p))
    obs = torch.randn(1, 4).expand(500, 4)
    group_means = []
    for _ in range(40):
        with torch.no_grad():
            act = actor.dist(obs).sample()
        actor.zero_grad()
        actor.dist(obs).log_prob(act).mean().backward()
        group_means.append(torch.cat([p.grad.flatten() for p in actor.parameters()]).clone())
    g = torch.stack(group_means)
    mean, se = g.mean(0), g.std(0) / np.sqrt(len(g))
    assert torch.all(mean.abs() <= 4.5 * se + 1e-7), (mean, se)


def brute_force_gae(rew, v, v_next, term, done, gamma, lam):
    """GAE paper eq. 16 written out: adv_t = sum_{l>=0} (gamma lam)^l delta_{t+l}, the sum
    running until the episode's end (done) or the rollout's edge."""
    T, N = rew.shape
    delta = rew + gamma * (1 - term) * v_next - v
    adv = np.zeros((T, N))
    for n in range(N):
        for t in range(T):
            for l in range(T - t):
                adv[t, n] += (gamma * lam) ** l * delta[t + l, n]
                if done[t + l, n]:
                    break
    return adv


def gae_batch(seed=0, T=12, N=3):
    g = np.random.default_rng(seed)
    rew, v, v_next = g.normal(size=(T, N)), g.normal(size=(T, N)), g.normal(size=(T, N))
    term = np.zeros((T, N))
    trunc = np.zeros((T, N))
    term[3, 0], trunc[7, 0], term[5, 1], trunc[2, 2], term[9, 2] = 1, 1, 1, 1, 1  # ends inside the batch
    done = np.maximum(term, trunc)
    v_next[:-1] = np.where(done[:-1] > 0, v_next[:-1], v[1:])  # within an episode s_{t+1} is obs[t+1]
    return rew, v, v_next, term, done


@pytest.mark.parametrize("name", WITH_CRITIC)
@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.9, 0.0), (1.0, 0.5)])
def test_gae_matches_brute_force(name, gamma, lam):
    """GAE (Schulman et al. 2016, eq. 16) with episode ends inside the batch; lam = 1 is
    reward-to-go minus V (bootstrapped at cuts), lam = 0 is the TD residual delta_t."""
    rew, v, v_next, term, done = gae_batch()
    t = [torch.tensor(x) for x in (rew, v, v_next, term, done)]
    adv = load(name).weights_fn(*t, gamma, lam).numpy()
    np.testing.assert_allclose(adv, brute_force_gae(rew, v, v_next, term, done, gamma, lam), atol=1e-10)
    if lam == 0.0:
        np.testing.assert_allclose(adv, rew + gamma * (1 - term) * v_next - v, atol=1e-12)
    if lam == 1.0:  # reward-to-go (bootstrapped with V where an episode is cut) minus V
        ret, acc = np.zeros_like(rew), v_next[-1]
        for k in reversed(range(len(rew))):
            acc = rew[k] + gamma * (1 - term[k]) * np.where(done[k] > 0, v_next[k], acc)
            ret[k] = acc
        np.testing.assert_allclose(adv, ret - v, atol=1e-10)


@pytest.mark.parametrize("name", WITH_CRITIC)
def test_bootstrap_on_truncation_not_on_termination(name):
    """A truncated episode is cut, not over: its last advantage bootstraps V(final obs).
    A terminated one is over: nothing follows, V(final obs) must not enter."""
    fn = load(name).weights_fn
    one = torch.ones(1, 1)
    zero = torch.zeros(1, 1)
    trunc_adv = fn(one, zero, 5 * one, zero, one, 0.9, 0.95)  # done by truncation
    term_adv = fn(one, zero, 5 * one, one, one, 0.9, 0.95)  # done by termination
    assert trunc_adv.item() == pytest.approx(1 + 0.9 * 5) and term_adv.item() == pytest.approx(1.0)


def actor_batch(name, discrete, n=256, seed=0):
    """A small actor of script `name` and a batch of (obs, act, adv) drawn from it."""
    import gymnasium as gym

    mod = load(name)
    torch.manual_seed(seed)
    actor = mod.Actor(3, gym.spaces.Discrete(2) if discrete else gym.spaces.Box(-1, 1, (2,)), 4)
    obs = torch.randn(n, 3)
    with torch.no_grad():
        act = actor.dist(obs).sample()
        adv = actor.dist(obs).log_prob(act) + torch.randn(n)  # some signal, some noise
    return mod, actor, obs, act, (adv - adv.mean()) / adv.std()


def explicit_fisher(actor, obs):
    """The Hessian of the mean KL(pi_old || pi) at pi = pi_old, formed entry by entry."""
    names = [k for k, _ in actor.named_parameters()]
    shapes = [p.shape for p in actor.parameters()]
    flat0 = torch.nn.utils.parameters_to_vector(actor.parameters()).detach()
    with torch.no_grad():
        pi_old = actor.dist(obs)

    def mean_kl(flat):
        params, i = {}, 0
        for k, shp in zip(names, shapes):
            params[k] = flat[i : i + shp.numel()].view(shp)
            i += shp.numel()
        pi = torch.func.functional_call(actor, params, (obs,), strict=False, tie_weights=True)
        return torch.distributions.kl_divergence(pi_old, pi).mean()

    actor.forward = actor.dist  # functional_call calls forward: route it to dist()
    return torch.autograd.functional.hessian(mean_kl, flat0), flat0, pi_old


def logp_of(actor, obs, act):
    """log pi_old(a|s), as the scripts compute it before a policy update."""
    with torch.no_grad():
        return actor.dist(obs).log_prob(act)


@pytest.mark.skipif("trpo" not in SCRIPTS, reason="trpo.py not written yet")
@pytest.mark.parametrize("discrete", [True, False])
def test_trpo_natural_gradient_step(discrete):
    """Spinning Up's TRPO page: x = H^-1 g by conjugate gradient with Fisher-vector products,
    step = sqrt(2 delta / x^T H x) x. With as many CG iterations as parameters, the script's
    step equals the one computed from the explicit Hessian of the mean KL."""
    from types import SimpleNamespace

    mod, actor, obs, act, adv = actor_batch("trpo", discrete)
    H_kl, theta_old, pi_old = explicit_fisher(actor, obs)
    n = len(theta_old)
    Hd = H_kl + 0.1 * torch.eye(n)
    g = torch.autograd.grad((actor.dist(obs).log_prob(act) * adv).mean(), list(actor.parameters()))
    g = torch.nn.utils.parameters_to_vector(g)
    x_cg = mod.conjugate_gradient(lambda v: Hd @ v, g, n)
    x = torch.linalg.solve(Hd, g)
    assert (x_cg - x).norm() < 1e-3 * x.norm()
    stats = mod.update_policy(
        actor,
        obs,
        act,
        adv,
        logp_of(actor, obs, act),
        0.01,
        SimpleNamespace(damping=0.1, cg_iters=n, backtrack_iters=10),
    )
    step = torch.nn.utils.parameters_to_vector(actor.parameters()).detach() - theta_old
    full = torch.sqrt(2 * 0.01 / (x @ Hd @ x)) * x
    expected = 0.8 ** stats["backtracks"] * full
    assert (step - expected).norm() < 2e-3 * expected.norm()


@pytest.mark.skipif("trpo" not in SCRIPTS, reason="trpo.py not written yet")
def test_trpo_line_search_tries_the_full_step_first():
    """The line search's first try is the full step: with --backtrack-iters 1, a step that fits
    the trust region (damped, its mean KL stays under delta) is taken whole, not 0.8 of it."""
    from types import SimpleNamespace

    mod, actor, obs, act, adv = actor_batch("trpo", True)
    H_kl, theta_old, pi_old = explicit_fisher(actor, obs)
    n = len(theta_old)
    Hd = H_kl + 0.1 * torch.eye(n)
    g = torch.autograd.grad((actor.dist(obs).log_prob(act) * adv).mean(), list(actor.parameters()))
    x = torch.linalg.solve(Hd, torch.nn.utils.parameters_to_vector(g))
    full = torch.sqrt(2 * 0.001 / (x @ Hd @ x)) * x
    args = SimpleNamespace(damping=0.1, cg_iters=n, backtrack_iters=1)
    stats = mod.update_policy(actor, obs, act, adv, logp_of(actor, obs, act), 0.001, args)
    step = torch.nn.utils.parameters_to_vector(actor.parameters()).detach() - theta_old
    assert (step - full).norm() < 2e-3 * full.norm(), (stats, step.norm(), full.norm())


@pytest.mark.skipif("trpo" not in SCRIPTS, reason="trpo.py not written yet")
@pytest.mark.parametrize("delta", [0.001, 0.01, 0.3, 3.0])
@pytest.mark.parametrize("discrete", [True, False])
def test_trpo_line_search_respects_trust_region(delta, discrete):
    """TRPO's backtracking line search: an accepted step has mean KL <= delta and a better
    surrogate; when no step passes, the old policy is kept unchanged."""
    from types import SimpleNamespace

    mod, actor, obs, act, adv = actor_batch("trpo", discrete, seed=3)
    with torch.no_grad():
        pi_old = actor.dist(obs)
        theta_old = torch.nn.utils.parameters_to_vector(actor.parameters()).clone()
    stats = mod.update_policy(
        actor,
        obs,
        act,
        adv,
        logp_of(actor, obs, act),
        delta,
        SimpleNamespace(damping=0.1, cg_iters=10, backtrack_iters=10),
    )
    with torch.no_grad():
        pi = actor.dist(obs)
        kl = torch.distributions.kl_divergence(pi_old, pi).mean().item()
        improve = ((pi.log_prob(act) - pi_old.log_prob(act)).exp() * adv).mean().item() - adv.mean().item()
        theta = torch.nn.utils.parameters_to_vector(actor.parameters())
    assert kl <= delta * (1 + 1e-4) and stats["kl"] == pytest.approx(kl, rel=1e-3, abs=1e-7)
    if stats["backtracks"] < 10:
        assert improve > 0 and not torch.equal(theta, theta_old)
    else:
        assert torch.equal(theta, theta_old)


@pytest.mark.skipif("trpo" not in SCRIPTS, reason="trpo.py not written yet")
def test_trpo_keeps_old_policy_when_nothing_improves():
    from types import SimpleNamespace

    mod, actor, obs, act, adv = actor_batch("trpo", True)
    theta_old = torch.nn.utils.parameters_to_vector(actor.parameters()).detach().clone()
    stats = mod.update_policy(
        actor,
        obs,
        act,
        torch.zeros_like(adv),
        logp_of(actor, obs, act),
        0.01,
        SimpleNamespace(damping=0.1, cg_iters=10, backtrack_iters=5),
    )
    assert stats["backtracks"] == 5 and torch.equal(torch.nn.utils.parameters_to_vector(actor.parameters()), theta_old)


def ppo_args(**kw):
    from types import SimpleNamespace

    base = dict(update_epochs=1, num_minibatches=1, clip_ratio=0.2, target_kl=None, max_grad_norm=1e9)
    return SimpleNamespace(**{**base, **kw})


def grads(actor):
    return torch.cat([p.grad.flatten() for p in actor.parameters()])


@pytest.mark.skipif("ppo" not in SCRIPTS, reason="ppo.py not written yet")
@pytest.mark.parametrize("discrete", [True, False])
def test_ppo_at_ratio_one_is_the_vanilla_policy_gradient(discrete):
    """Spinning Up's PPO page: at theta = theta_old the ratio is exactly 1 and the clipped
    surrogate's gradient is the vanilla policy gradient of -mean(log pi * A)."""
    mod, actor, obs, act, adv = actor_batch("ppo", discrete)
    with torch.no_grad():  # computed as the script computes it after a rollout
        logp_old = actor.dist(obs).log_prob(act)
    opt = torch.optim.SGD(actor.parameters(), lr=0.0)  # lr 0: keep the gradient, move nothing
    stats = mod.update_policy(actor, opt, obs, act, adv, logp_old, ppo_args())
    assert stats["kl"] == 0.0 and stats["clip_frac"] == 0.0
    ppo_grad = grads(actor).clone()
    actor.zero_grad()
    (-(actor.dist(obs).log_prob(act) * adv).mean()).backward()
    torch.testing.assert_close(ppo_grad, grads(actor), rtol=1e-5, atol=1e-7)


@pytest.mark.skipif("ppo" not in SCRIPTS, reason="ppo.py not written yet")
@pytest.mark.parametrize("ratio,adv_sign,zero", [(1.5, 1, True), (0.5, -1, True), (1.5, -1, False), (0.5, 1, False)])
def test_ppo_clip_removes_the_incentive(ratio, adv_sign, zero):
    """PPO-Clip: once the ratio is past 1 +- eps in the direction the advantage favours, the
    sample contributes no gradient; in the other direction its gradient stays."""
    mod, actor, obs, act, adv = actor_batch("ppo", True)
    adv = adv_sign * adv.abs()
    with torch.no_grad():
        logp_old = actor.dist(obs).log_prob(act) - np.log(ratio)  # so pi / pi_old = ratio
    opt = torch.optim.SGD(actor.parameters(), lr=0.0)
    stats = mod.update_policy(actor, opt, obs, act, adv, logp_old, ppo_args())
    assert stats["clip_frac"] == 1.0
    assert (grads(actor).abs().max().item() == 0.0) == zero


@pytest.mark.skipif("ppo" not in SCRIPTS, reason="ppo.py not written yet")
def test_ppo_clip_engages_and_target_kl_stops():
    mod, actor, obs, act, adv = actor_batch("ppo", False)
    with torch.no_grad():
        logp_old = actor.dist(obs).log_prob(act)
    opt = torch.optim.Adam(actor.parameters(), lr=3e-2)
    stats = mod.update_policy(actor, opt, obs, act, adv, logp_old, ppo_args(update_epochs=10, num_minibatches=4))
    assert stats["clip_frac"] > 0.05 and stats["epochs"] == 10
    stats = mod.update_policy(
        actor, opt, obs, act, adv, logp_old, ppo_args(update_epochs=10, num_minibatches=4, target_kl=1e-6)
    )
    assert stats["epochs"] == 1


def episodes_batch(seed, T=40, N=5, critic=True):
    """A (T, N) batch as the scripts store it: in each env's column one episode after another,
    of random lengths 1..9, the last one cut at the batch's edge (or ended exactly there). With
    a critic an episode ends by termination or truncation, at random; without one, by its end.
    Returns rew, v, v_next, term, done and, per column, the episodes as (first, last, how)."""
    g = np.random.default_rng(seed)
    rew, v, v_next = g.normal(size=(T, N)), g.normal(size=(T, N)), g.normal(size=(T, N))
    term, done, episodes = np.zeros((T, N)), np.zeros((T, N)), []
    for n in range(N):
        column, first = [], 0
        while first < T:
            last = first + int(g.integers(1, 10)) - 1
            if last >= T:
                column.append((first, T - 1, "cut"))
                break
            how = g.choice(["term", "trunc"]) if critic else "term"
            done[last, n], term[last, n] = 1, how == "term"
            column.append((first, last, how))
            first = last + 1
        episodes.append(column)
        for first, last, _ in column:  # within an episode, s_{t+1} is the next step's obs
            v_next[first:last, n] = v[first + 1 : last + 1, n]
    assert max(len(c) for c in episodes) >= 5 and any(c[-1][2] == "cut" for c in episodes)
    return rew, v, v_next, term, done, episodes


@pytest.mark.parametrize("name", [n for n in SCRIPTS if n in ("simple_pg", "rtg_pg")])
@pytest.mark.parametrize("gamma", [1.0, 0.9])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_critic_free_weights_on_many_episodes_per_column(name, gamma, seed):
    """Phi_t on a batch that holds several episodes of random length in each env's column,
    whole ones and one cut at the edge, against sums written per episode: R(tau) (discounted
    from the episode's first step) for simple_pg, reward-to-go for rtg_pg. Nothing runs past an
    episode's end into the next one in the same column."""
    rew, _, _, _, done, episodes = episodes_batch(seed, critic=False)
    got = load(name).weights_fn(torch.tensor(rew), torch.tensor(done), gamma).numpy()
    want = np.full_like(rew, np.nan)
    for n, column in enumerate(episodes):
        for first, last, _ in column:
            r = rew[first : last + 1, n]
            for t in range(first, last + 1):
                k = np.arange(len(r)) if name == "simple_pg" else np.arange(t - first, len(r))
                want[t, n] = np.sum(gamma ** (k - k[0]) * r[k])
    np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("name", WITH_CRITIC)
@pytest.mark.parametrize("gamma,lam", [(0.99, 0.95), (0.9, 1.0), (0.9, 0.0), (1.0, 0.5)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gae_on_many_episodes_per_column(name, gamma, lam, seed):
    """GAE on a batch with several episodes of random length per column, ended by termination
    (nothing after it), by truncation or by the batch's edge (V(final obs) bootstraps), against
    sums written per episode: adv_t = sum_{k=t..last} (gamma lam)^(k-t) delta_k; with lam = 1,
    also the n-step return to the episode's last step in the batch, plus the bootstrap, minus V."""
    rew, v, v_next, term, done, episodes = episodes_batch(seed)
    t_ = [torch.tensor(x) for x in (rew, v, v_next, term, done)]
    got = load(name).weights_fn(*t_, gamma, lam).numpy()
    want, nstep = np.full_like(rew, np.nan), np.full_like(rew, np.nan)
    for n, column in enumerate(episodes):
        for first, last, how in column:
            boot = np.array([v_next[k, n] for k in range(first, last + 1)])
            if how == "term":
                boot[-1] = 0.0  # a terminated episode is over: no V after it
            delta = rew[first : last + 1, n] + gamma * boot - v[first : last + 1, n]
            for t in range(first, last + 1):
                k = np.arange(t - first, last - first + 1)
                want[t, n] = np.sum((gamma * lam) ** (k - k[0]) * delta[k])
                g = gamma ** (k - k[0])
                nstep[t, n] = np.sum(g * rew[first + k, n]) + gamma * g[-1] * boot[-1] - v[t, n]
    np.testing.assert_allclose(got, want, atol=1e-10)
    if lam == 1.0:
        np.testing.assert_allclose(got, nstep, atol=1e-10)
