"""A refactor changes no number: a short run of each script, with a fixed seed, must give the
progress.csv stored in tests/data/numbers/ (all columns but the timing ones). After a change
that is meant to move the numbers (a new default, say), rewrite the files on purpose with
`python tests/test_numbers.py --write` and say so in the commit."""

import csv
import sys
import tempfile

import pytest
from conftest import ROOT, SCRIPTS, run_main, small

DATA = ROOT / "tests" / "data" / "numbers"
TIMING = ("sps", "time")
RUNS = {"CartPole-v1": "1500", "Pendulum-v1": "600"}  # Discrete and Gaussian policies


def short_run(name, env, logdir):
    rows = run_main(name, ["--env", env, "--total-steps", RUNS[env], "--seed", "3"] + small(name), logdir)
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def close(a, b):
    """Equal as text, or as numbers within 2e-5: the last rounded digit may differ between CPUs."""
    if a == b:
        return True
    try:
        return abs(float(a) - float(b)) <= 2e-5
    except ValueError:
        return False


@pytest.mark.parametrize("env", list(RUNS))
@pytest.mark.parametrize("name", SCRIPTS)
def test_short_run_gives_the_stored_numbers(name, env, tmp_path):
    with open(DATA / f"{name}-{env}.csv") as f:
        expected = list(csv.DictReader(f))
    rows = short_run(name, env, tmp_path)
    assert [list(r) for r in rows] == [list(r) for r in expected], "columns differ"
    for i, (got, want) in enumerate(zip(rows, expected)):
        bad = {k: (got[k], want[k]) for k in want if not close(got[k], want[k])}
        assert not bad, f"{name} {env}: update {i + 1} differs (got, stored): {bad}"
    assert len(rows) == len(expected)


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    for name in SCRIPTS:
        for env in RUNS:
            with tempfile.TemporaryDirectory() as tmp:
                rows = short_run(name, env, tmp)
            with open(DATA / f"{name}-{env}.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            print("wrote", DATA / f"{name}-{env}.csv")
