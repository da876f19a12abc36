"""tools/gradients.py: its estimates against the exact gradient and the exact variance of each
Phi_t on the tiny MDP of test_theory.py, and the ladder's orderings on CartPole-v1."""

import itertools
import shutil
import subprocess
import sys

import gradients
import numpy as np
import pytest
import torch
from conftest import ROOT, run_cli
from test_theory import TabularActor, per_episode_grads, sample
from tiny_mdp import MU, R_MEAN, THETA, A, H, P, S, exact_grad_and_values

LAMS = [0.5, 0.0]


def exact_moments(V):
    """E[G] and E||G - E[G]||^2 of the per-episode estimate G = sum_t Phi_t grad log pi(a_t|s_t)
    for each Phi_t, by enumerating every trajectory of the tiny MDP (noise-free rewards)."""
    pi = np.exp(THETA) / np.exp(THETA).sum(-1, keepdims=True)
    probs, grads = [], {k: [] for k in ("R(tau)", "reward-to-go", "rtg - V", "GAE 0.5", "GAE 0")}
    for s0 in range(S):
        for steps in itertools.product(range(A * S), repeat=H):
            s, p, r, score = [s0], MU[s0], [], []
            for t, k in enumerate(steps):
                a, s_next = divmod(k, S)
                p *= pi[s[t], a] * P[s[t], a, s_next]
                r.append(R_MEAN[s[t], a])
                one = np.zeros((S, A))
                one[s[t]] = np.eye(A)[a] - pi[s[t]]
                score.append(one.ravel())
                s.append(s_next)
            probs.append(p)
            rtg = np.cumsum(r[::-1])[::-1]
            v = np.array([V[t, s[t]] for t in range(H + 1)])
            delta = np.array(r) + v[1:] - v[:-1]
            phi = {"R(tau)": np.full(H, sum(r)), "reward-to-go": rtg, "rtg - V": rtg - v[:-1]}
            for lam in LAMS:
                phi[f"GAE {lam:g}"] = [sum(lam**l * delta[t + l] for l in range(H - t)) for t in range(H)]
            for name, w in phi.items():
                grads[name].append(sum(w_t * sc for w_t, sc in zip(w, score)))
    probs = np.array(probs)
    assert abs(probs.sum() - 1) < 1e-9
    moments = {}
    for name, G in grads.items():
        G = np.array(G)
        mean = probs @ G
        moments[name] = dict(mean=mean, trace=float(probs @ ((G - mean) ** 2).sum(1)))
    return moments


def test_estimates_match_the_exact_gradient_and_variance():
    """On batches of whole episodes, the tool's gradient (the files' own weights_fn and loss) has
    the exact mean, the exact variance and the exact relative variance, within their sampling
    error."""
    exact, V = exact_grad_and_values()
    moments = exact_moments(V)
    np.testing.assert_allclose(moments["reward-to-go"]["mean"], exact.ravel(), rtol=1e-9)
    K, per_batch = 200, 50
    s, a, r, _ = sample(m=K * per_batch, seed=3, noise=0.0)
    mask = torch.ones(H, K * per_batch, dtype=torch.bool)
    pool = gradients.pool_of(torch.tensor(s[:-1]), torch.tensor(a), torch.tensor(r, dtype=torch.float32), mask)
    v = torch.tensor(V[np.arange(H)[:, None], s[:-1]], dtype=torch.float32)
    mods = {name: gradients.load_file(name) for name in gradients.FILES}
    weights = gradients.weightings(mods, pool, v, 1.0, LAMS, 2, seed=0)
    batches = gradients.split(pool, per_batch * H)
    assert len(batches) == K
    actor = TabularActor(THETA)
    for name, m in moments.items():
        G = gradients.batch_grads(actor, gradients.update_for(mods, name), pool, weights[name], batches)
        # the loss is a mean over the batch's per_batch * H steps: g = sum of G over episodes / (per_batch H)
        mean, se = H * G.mean(0).numpy(), H * G.std(0).numpy() / np.sqrt(K)
        assert np.all(np.abs(mean - m["mean"]) < 4 * se), (name, mean, m["mean"], se)
        # the variance of one batch's estimate: the trace of the covariance of G over per_batch H^2
        var = gradients.jackknife(lambda keep: gradients.spread(G[keep]), K)
        assert abs(var["value"] - m["trace"] / (per_batch * H**2)) < 4 * var["se"], (name, var, m)
        var_of_mean = m["trace"] / (K * per_batch)
        expected = m["trace"] / per_batch / ((m["mean"] ** 2).sum() + var_of_mean)
        got = gradients.relvar(G)
        assert abs(got["value"] - expected) < 4 * got["se"], (name, got, expected)
    assert moments["R(tau)"]["trace"] > moments["reward-to-go"]["trace"] > moments["rtg - V"]["trace"]


def cartpole(*more):
    argv = ["--steps", "24000", "--vf-steps", "6000", "--batch-steps", "1000", "--sizes", "--seed", "3"]
    return gradients.run(gradients.parse_args(argv + list(more)))["result"]["table"]


def test_cartpole_variance_falls_down_the_ladder():
    """CartPole-v1, a fresh policy: R(tau) > reward-to-go > reward-to-go minus a fitted V in the
    relative variance of one batch's estimate."""
    table = cartpole()
    var = [table[k]["relvar"]["value"] for k in ("R(tau)", "reward-to-go", "rtg - V")]
    assert var[0] > var[1] > var[2], var


def test_cartpole_gae_bias_grows_as_lambda_falls_with_a_poor_v():
    """With V left untrained (--vf-iters 0) GAE leans on a wrong V more as lambda falls: its
    pooled mean moves away from reward-to-go's, while lambda = 1 (reward-to-go minus V) stays
    unbiased."""
    table = cartpole("--vf-iters", "0", "--lams", "0.9", "0.5", "0")
    bias = [table[k]["reldist"]["value"] for k in ("rtg - V", "GAE 0.9", "GAE 0.5", "GAE 0")]
    assert bias[0] < bias[1] < bias[2] < bias[3], bias
    assert bias[0] < 3 * table["rtg - V"]["reldist"]["se"] + 0.05, table["rtg - V"]


@pytest.mark.parametrize(
    "argv,says",
    [
        (["--batch-steps", "0"], "--batch-steps: must be a whole number > 0"),
        (["--lams", "1.5"], "--lams: must be in [0, 1]"),
        (["no/such/run"], "no/such/run: no such file"),
    ],
)
def test_bad_input_is_one_line(argv, says):
    result = run_cli("tools/gradients", argv)
    assert result.returncode == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unknown_env_is_gymnasiums_error():
    """--env names no registered env: gymnasium's own error, which names it, as the scripts show it."""
    result = run_cli("tools/gradients", ["--env", "NoSuchEnv-v0"])
    assert result.returncode == 1 and "Environment `NoSuchEnv` doesn't exist" in result.stderr, result.stderr


def test_keep_models_copies_model_pt_along_a_run(tmp_path):
    """tools/keep_models.py: a copy of model.pt after the first update, then after each update
    that passes a multiple of --every, named by the step; each one a model tools/gradients.py reads."""
    run = tmp_path / "run"
    argv = ["--every", "400", "rtg_pg.py", "--total-steps", "2000", "--batch-steps", "100", "--hidden", "8"]
    result = run_cli("tools/keep_models", argv + ["--logdir", str(run)])
    assert result.returncode == 0, result.stderr
    steps = sorted(int(p.stem) for p in (run / "models").glob("*.pt"))
    assert 100 <= steps[0] < 400 and len(steps) >= 5, steps
    # one copy per multiple of 400 passed, and none between
    assert [s // 400 for s in steps[1:]] == list(range(1, len(steps))), steps
    model = torch.load(run / "models" / f"{steps[-1]}.pt", weights_only=True)
    assert set(gradients.KEYS) <= set(model)
    assert run_cli("tools/keep_models", ["no_such.py"]).returncode == 2


def test_a_broken_file_is_named_with_its_line(tmp_path):
    """An edit that breaks one of the files: one line naming the error's type, file and line."""
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "gradients.py", tmp_path / "tools")
    for name in gradients.FILES:
        text = (ROOT / f"{name}.py").read_text()
        if name == "vpg":
            text = text.replace("\nimport argparse\n", "\nimport argparse\nundefined_name\n", 1)
        (tmp_path / f"{name}.py").write_text(text)
    cmd = [sys.executable, str(tmp_path / "tools" / "gradients.py")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "NameError in " in result.stderr and "vpg.py, line " in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_relative_variance_divides_by_k_minus_1():
    """K = 3 batch gradients (1, 0), (0, 1), (2, 2): mean (1, 1), squared deviations 1 + 1 + 2 = 4,
    over K - 1 = 2 is 2, over |mean|^2 = 2 is 1 (over K it would be 2/3)."""
    G = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], dtype=torch.float64)
    assert gradients.relvar(G)["value"] == pytest.approx(1.0, rel=1e-12)


def test_jackknife_standard_error_of_a_mean_is_the_usual_one():
    """The jackknife's standard error of a mean is std (ddof 1) / sqrt(K): for 1, 2, 3, 1/sqrt(3)."""
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    got = gradients.jackknife(lambda keep: x[keep].mean(), 3)
    assert got["value"] == pytest.approx(2.0) and got["se"] == pytest.approx(3**-0.5, rel=1e-12)


def test_bias_is_measured_against_the_reference():
    """Batch gradients with mean (1, 1) against a reference with mean (1, 0): 45 degrees apart, at
    a relative distance |(0, 1)| / |(1, 0)| = 1. And the cosine of each batch to the mean of the
    others: (1, 0) to (0.5, 1) and (0, 1) to (1, 0.5) 0.5/sqrt(1.25) each, (1, 1) to (0.5, 0.5) 1."""
    G = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], dtype=torch.float64)
    ref = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    out = gradients.statistics(G, ref)
    assert out["angle"]["value"] == pytest.approx(45.0, rel=1e-9)
    assert out["reldist"]["value"] == pytest.approx(1.0, rel=1e-12)
    G = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    assert gradients.statistics(G, ref)["cos"]["value"] == pytest.approx((1 / 1.25**0.5 + 1) / 3, rel=1e-12)


def tiny_pool(m=600, seed=5):
    s, a, r, _ = sample(m=m, seed=seed, noise=0.0)
    mask = torch.ones(H, m, dtype=torch.bool)
    pool = gradients.pool_of(torch.tensor(s[:-1]), torch.tensor(a), torch.tensor(r, dtype=torch.float32), mask)
    return pool, s, a, r


def test_bias_of_each_row_is_against_reward_to_gos_pooled_mean():
    """The bias column of R(tau): the distance of its mean over all batches from reward-to-go's,
    relative to reward-to-go's, with the per-episode gradients written out (test_theory.py); and
    reward-to-go's own bias is 0."""
    pool, s, a, r = tiny_pool()
    _, V = exact_grad_and_values()
    v = torch.tensor(V[np.arange(H)[:, None], s[:-1]], dtype=torch.float32)
    mods = {name: gradients.load_file(name) for name in gradients.FILES}
    weights = gradients.weightings(mods, pool, v, 1.0, [0.5], 2, seed=0)
    out = gradients.measure(mods, TabularActor(THETA), pool, weights, 20 * H)
    g_r = per_episode_grads(s, a, np.repeat(r.sum(0, keepdims=True), H, 0)).mean(0)
    g_rtg = per_episode_grads(s, a, np.cumsum(r[::-1], 0)[::-1]).mean(0)
    expected = np.linalg.norm(g_r - g_rtg) / np.linalg.norm(g_rtg)
    assert out["table"]["R(tau)"]["reldist"]["value"] == pytest.approx(expected, rel=1e-4)
    assert out["table"]["reward-to-go"]["reldist"]["value"] == 0.0


def test_v_is_scaled_back_to_raw_units():
    """V is fitted to the reward-to-go divided by its std (about 56 here), then multiplied back:
    episodes of 4 steps paying 50 each, the step one-hot in the observation, V(s_t) = 200 - 50 t."""
    T, N = 4, 512
    obs = torch.eye(T)[:, None, :].expand(T, N, T).clone()
    pool = gradients.pool_of(obs, torch.zeros(T, N), torch.full((T, N), 50.0), torch.ones(T, N, dtype=torch.bool))
    mods = {name: gradients.load_file(name) for name in gradients.FILES}
    value = gradients.fit_critic(mods, pool, 1.0, 100, 64, seed=0)
    np.testing.assert_allclose(value(torch.eye(T)).numpy(), [200, 150, 100, 50], rtol=0.1)


def test_a2c_row_is_the_n_step_return_whatever_the_lambdas():
    """a2c's row is its n-step return minus V (lambda 1), not a GAE of --lams: rewards 1, V = 0,
    4-step episodes cut every 2 steps give Phi = (2, 1, 2, 1) or (1, 2, 1, 1), by the cut's offset;
    with lambda 0.5 or 0 they would be (1.5, 1, 1.5, 1) or all 1."""
    T, N = 4, 40
    pool = gradients.pool_of(torch.zeros(T, N), torch.zeros(T, N), torch.ones(T, N), torch.ones(T, N, dtype=torch.bool))
    mods = {name: gradients.load_file(name) for name in gradients.FILES}
    w = gradients.weightings(mods, pool, torch.zeros(T, N), 1.0, [0.5, 0.0], 2, seed=0)["a2c n-step - V"]
    columns = {tuple(c) for c in w.T.tolist()}
    assert columns == {(2.0, 1.0, 2.0, 1.0), (1.0, 2.0, 1.0, 1.0)}, columns


def test_split_cuts_whole_episodes_and_leaves_the_rest_out():
    """Episodes of 3, 4, 5, 2 and 6 steps in batches of >= 7: (3 + 4) and (5 + 2); the 6 left out."""
    mask = torch.zeros(6, 5, dtype=torch.bool)
    for n, length in enumerate([3, 4, 5, 2, 6]):
        mask[:length, n] = True
    assert gradients.split(dict(mask=mask), 7) == [[0, 1], [2, 3]]


def test_the_sweep_cuts_batches_of_each_size():
    """Each row of the batch-size sweep holds batches of at least its size, short of twice it
    (CartPole episodes of a fresh network are far shorter than 200 steps)."""
    argv = ["--steps", "4000", "--vf-steps", "500", "--vf-iters", "1", "--batch-steps", "1000"]
    out = gradients.run(gradients.parse_args(argv + ["--sizes", "200", "400", "800"]))
    steps = [one["steps"] for one in out["sweep"]]
    assert len(steps) == 3 and all(size <= s < 2 * size for size, s in zip([200, 400, 800], steps)), steps


def test_the_reference_noise_is_the_root_of_its_relative_variance_over_k(capsys):
    """Reward-to-go's relative variance 0.04 over K = 4 batches: its pooled mean is off by
    sqrt(0.04 / 4) = 10% of its norm."""
    stat = dict(value=0.04, se=0.0)
    row = dict(relvar=stat, cos=stat, angle=stat, reldist=stat)
    gradients.print_table(dict(table={"reward-to-go": row}, K=4), "head")
    assert "the reference itself is off by ~10% of its norm" in capsys.readouterr().out


def test_a_students_file_with_a_syntax_error_is_named_with_its_line(tmp_path):
    """--phi FILE that does not parse: one line naming the SyntaxError, that file and its line."""
    bad = tmp_path / "my_rtg.py"
    bad.write_text("import torch\n\n\ndef weights_fn(rew, done, gamma):\n    return rew +\n")
    result = run_cli("tools/gradients", ["--phi", str(bad), "--exact"])
    assert result.returncode == 2
    assert f"SyntaxError in {bad}, line 5: " in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
