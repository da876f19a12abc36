"""tools/gradients.py --phi FILE: a Phi_t of one's own, judged exactly on the tiny MDP of
tools/tiny_mdp.py (its mean against grad J, its variance), beside the ladder's, and sampled on
CartPole-v1; one line for a file it cannot use. The exact part is checked against the
enumeration written out per trajectory in test_gradients.py."""

import subprocess
import sys

import gradients
import numpy as np
import pytest
from conftest import ROOT, SCRIPTS, run_cli
from test_gradients import LAMS, exact_moments
from tiny_mdp import exact_grad_and_values

MISTAKES = ["phi_off_by_one", "phi_past", "phi_normalized"]
CORRECT = ["phi_constant_baseline"]
# to float precision: the sums run over 3888 trajectories in float64
PRECISION = 1e-12


def exact(gamma=1.0, paths=()):
    mods = {name: gradients.load_file(name) for name in gradients.FILES}
    phis = [gradients.load_phi(str(path), None) for path in paths]
    return gradients.exact(mods, gamma, LAMS, 2, phis)


@pytest.fixture(scope="module")
def own():
    """The exact part with each script and each example as one's own file."""
    paths = [ROOT / f"{name}.py" for name in SCRIPTS]
    paths += [ROOT / "examples" / f"{name}.py" for name in MISTAKES + CORRECT]
    out = exact(paths=paths)
    return {mine["phi"]["name"][:-3]: mine for mine in out["mine"]}


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_scripts_own_weights_fn_is_unbiased(own, name):
    """Each of the six files' weights_fn, given as one's own, by its signature: unbiased with
    V^pi, to float precision (vpg, trpo, ppo at their lambda 0.95, a2c at its 1)."""
    mine = own[name]
    kind = "critic-free"
    if name not in ("simple_pg", "rtg_pg"):
        kind = "critic"
    assert mine["phi"]["kind"] == kind
    assert mine["rows"]["V^pi"]["error"] < PRECISION, mine["rows"]
    assert gradients.verdict(mine["rows"]["V^pi"]).startswith("unbiased")
    if kind == "critic":
        lam = mine["phi"]["lam"]
        assert lam == {"a2c": 1.0}.get(name, 0.95)
        # a state-only baseline never biases; GAE with lambda < 1 does where V is not V^pi
        for v in ("a constant (J)", "V_0(s) at every t"):
            assert (mine["rows"][v]["error"] < PRECISION) == (lam == 1.0), (v, mine["rows"][v])


@pytest.mark.parametrize("name", MISTAKES)
def test_each_planted_mistake_is_biased(own, name):
    m = own[name]["rows"]["V^pi"]
    assert m["error"] > 0.1 and m["angle"] > 5, m
    assert gradients.verdict(m).startswith("biased: relative error")


@pytest.mark.parametrize("name", CORRECT)
def test_a_constant_baseline_is_unbiased_and_lowers_the_variance_here(own, name):
    """Reward-to-go minus 10 (returns of 8 to 22 here): the same mean, a quarter of the variance."""
    m = own[name]["rows"]["V^pi"]
    ladder = exact()["table"]
    assert m["error"] < PRECISION and m["var"] < ladder["reward-to-go"]["var"] / 2, m


def test_the_ladder_has_one_mean_and_the_variances_of_an_enumeration():
    """Spinning Up's "Other Forms of the Policy Gradient": R(tau), reward-to-go, reward-to-go
    minus b(s), Q^pi and A^pi share grad J to float precision; their variances fall in that
    order (Q^pi's to reward-to-go's or below). Each variance is that of the enumeration written
    out per trajectory (test_gradients.exact_moments), and so are those of GAE under V^pi."""
    out = exact()
    table = out["table"]
    names = ["R(tau)", "reward-to-go", "rtg - b(s), b = V^pi", "Q^pi(s,a)", "A^pi(s,a)"]
    assert list(table) == names
    assert all(table[n]["error"] < PRECISION for n in names), table
    var = [table[n]["var"] for n in names]
    assert var[0] > var[1] >= var[3] > var[2] > var[4], var
    _, V = exact_grad_and_values()
    written = exact_moments(V)
    critic = out["critic"]["V^pi"]
    pairs = {"R(tau)": table["R(tau)"], "reward-to-go": table["reward-to-go"], "rtg - V": critic["rtg - V"]}
    for lam in LAMS:
        pairs[f"GAE {lam:g}"] = critic[f"GAE {lam:g}"]
    for name, m in pairs.items():
        assert m["var"] == pytest.approx(written[name]["trace"], rel=1e-9), name
    assert out["norm"] == pytest.approx(np.linalg.norm(exact_grad_and_values()[0]), rel=1e-12)


def test_a_critics_phi_under_three_vs():
    """reward-to-go minus V is unbiased under any V of the state; GAE with lambda < 1 and a2c's
    n-step return only under V^pi."""
    critic = exact()["critic"]
    for v, rows in critic.items():
        assert rows["rtg - V"]["error"] < PRECISION, v
        for name in ("GAE 0.5", "GAE 0", "a2c n-step - V"):
            assert (rows[name]["error"] < PRECISION) == (v == "V^pi"), (v, name, rows[name])


def test_with_gamma_below_1_the_usual_estimator_is_not_the_gradient():
    """Nota and Thomas (2020): with gamma < 1, reward-to-go discounted from step t is not the
    gradient of J = E[sum_t gamma^t r_t]; gamma^t times it is, and so is R(tau) discounted from
    the episode's start (simple_pg)."""
    table = exact(gamma=0.9)["table"]
    assert table["reward-to-go"]["error"] > 0.05 and table["A^pi(s,a)"]["error"] > 0.05
    assert table["gamma^t x rtg"]["error"] < PRECISION and table["R(tau)"]["error"] < PRECISION


def test_the_command_line_names_the_objective_and_each_verdict():
    argv = ["--exact", "--gamma", "0.9", "--phi", "examples/phi_past.py", "--phi", "vpg.py"]
    result = run_cli("tools/gradients", argv)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "J = E[r_0 + 0.9^1 r_1 + 0.9^2 r_2 + 0.9^3 r_3] (horizon 4, gamma 0.9)" in out
    assert "phi_past.py: biased: relative error" in out and "Nota and" in out
    assert "vpg.py, a critic's Phi_t (lambda 0.95), with V =" in out


BAD = {
    "missing": (None, "--phi {path}: no such file"),
    "import": ("import torch\nimport no_such_module\n", "ModuleNotFoundError in {path}, line 2"),
    "runtime": ("import torch\n\nx = 1 / 0\n", "ZeroDivisionError in {path}, line 3"),
    "no weights_fn": ("import torch\n\n\ndef weight_fn(rew, done, gamma):\n    return rew\n", "no function weights_fn"),
    "signature": (
        "def weights_fn(rew, v, done, gamma, lam):\n    return rew\n",
        "weights_fn(rew, v, done, gamma, lam) takes neither (rew, done, gamma) nor",
    ),
    "shape": ("def weights_fn(rew, done, gamma):\n    return rew[-1:]\n", "weights_fn returned shape (1, 3888)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_file_it_cannot_use_is_one_line(tmp_path, capsys, case):
    text, says = BAD[case]
    path = tmp_path / "mine.py"
    if text is not None:
        path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        gradients.main(["--exact", "--phi", str(path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and says.format(path=path) in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_a_bug_in_ones_weights_fn_shows_its_traceback(tmp_path):
    """Not bad input: their traceback, their file and line."""
    path = tmp_path / "mine.py"
    path.write_text("def weights_fn(rew, done, gamma):\n    return rew / undefined\n")
    cmd = [sys.executable, str(ROOT / "tools" / "gradients.py"), "--exact", "--phi", str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f'File "{path}", line 2, in weights_fn' in result.stderr and "NameError" in result.stderr, result.stderr


def test_a_weights_fn_that_mixes_episodes_is_given_one_at_a_time(tmp_path):
    """Reward-to-go centred on the batch's mean: over one episode, the exact part's batch, it is
    centred on the episode's own mean, which its actions move."""
    path = tmp_path / "batch_mean.py"
    text = (ROOT / "examples" / "phi_normalized.py").read_text()
    path.write_text(text.replace("return (ret - ret.mean(0)) / (ret.std(0) + 1e-8)", "return ret - ret.mean()"))
    mine = exact(paths=[path])["mine"][0]
    assert mine["mixes"] and mine["rows"]["V^pi"]["error"] > 0.1, mine


def test_ones_row_on_cartpole(tmp_path):
    """Sampled on CartPole-v1: the constant baseline's mean is reward-to-go's within its noise,
    the past rewards' far from it."""
    argv = ["--steps", "24000", "--vf-steps", "2000", "--vf-iters", "1", "--batch-steps", "2000", "--sizes"]
    argv += [
        "--phi",
        str(ROOT / "examples" / "phi_constant_baseline.py"),
        "--phi",
        str(ROOT / "examples" / "phi_past.py"),
    ]
    table = gradients.run(gradients.parse_args(argv))["result"]["table"]
    same = table["phi_constant_baseline.py"]["reldist"]
    assert same["value"] < 3 * same["se"] + 0.05, same
    assert table["phi_past.py"]["reldist"]["value"] > 0.5, table["phi_past.py"]


def test_the_readme_prints_what_the_tool_prints(capsys):
    """The exact lines README.md shows for the ladder and examples/phi_*.py are lines the tool prints."""
    argv = ["--exact"]
    for name in MISTAKES + CORRECT:
        argv += ["--phi", str(ROOT / "examples" / f"{name}.py")]
    gradients.main(argv)
    printed = [line.strip() for line in capsys.readouterr().out.splitlines()]
    readme = (ROOT / "README.md").read_text().split("## What each step does to the gradient")[1]
    block = readme.split("    Phi_t ")[1].split("\n\n")[0].splitlines()[1:]
    assert len(block) == 7, block
    for line in block:
        assert line.strip() in printed, line
