"""benchmarks/details.py: each detail's switch applies to today's ppo.py and trains; each row of
"where in ppo.py" names a line or a default that ppo.py has, in the section named; the table's
change is taken over the seeds both rows have, "within spread" below the larger std."""

import contextlib
import importlib.util
import io
import re
import sys

import pytest
from conftest import ROOT, read_csv, tiny

sys.path.insert(0, str(ROOT / "benchmarks"))
import details  # noqa: E402

PPO = (ROOT / "ppo.py").read_text()


def section_of(offset):
    """The name of the section banner (# ==== NAME ====) last before offset in ppo.py."""
    banners = [(m.start(), m.group(1)) for m in re.finditer(r"^ *# =+ ([A-Z][A-Z_ ]*[A-Z])", PPO, re.M)]
    return [name for start, name in banners if start < offset][-1]


@pytest.mark.parametrize("name", list(details.DETAILS))
def test_each_detail_switches_todays_ppo_and_trains(name, tmp_path):
    """The edited copy (every named line found once) trains a few updates on a Box env with
    its flags, and no loss is non-finite."""
    _, flags, edits = details.DETAILS[name]
    text = details.edited(PPO, edits)
    assert (text != PPO) == bool(edits)
    path = tmp_path / "ppo.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"ppo_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--env", "Pendulum-v1", "--total-steps", "64"] + tiny("ppo") + flags
    with contextlib.redirect_stdout(io.StringIO()):
        module.main(args + ["--logdir", str(tmp_path / "run")])
    # a non-finite loss would have stopped the run with SystemExit
    assert int(read_csv(tmp_path / "run" / "progress.csv")[-1]["step"]) >= 64


# the details that ppo.py has (value-clip and entropy-bonus it lacks: nothing to point at)
HAS = [name for name, source in details.SOURCES.items() if source[0] != "lacks it"]


@pytest.mark.parametrize("name", HAS)
def test_where_in_ppo_names_what_ppo_has(name):
    """`a line's text` (with ... for a cut) lies in ppo.py in the section named before it;
    `--flag` VALUE is that flag's default (off: None)."""
    where = details.SOURCES[name][0]
    section = where.split(":")[0].split(",")[0]
    defaults = vars(importlib.import_module("ppo").parse_args([]))
    for flag, value in re.findall(r"`(--[a-z-]+)` ([^,]+)", where):
        default = defaults[flag[2:].replace("-", "_")]
        assert (default is None) if value == "off" else default == float(value), (flag, default)
    for snippet in re.findall(r"`([^`]+)`", where):
        if snippet.startswith("--"):
            continue
        parts = snippet.split("...")
        assert all(part in PPO for part in parts), snippet
        assert section_of(PPO.index(parts[0])).startswith(section), (snippet, section)


def test_the_table_compares_the_seeds_both_rows_have(tmp_path, monkeypatch, capsys):
    """default 100 110 120 (seeds 1-3); no-obs-norm 50 60 70: -50, beyond the spread (8);
    log-std-0 105 115 125: +5, within; lam-1 104 105 106: -5, within the default's std though not
    its own; no-adv-norm 90 (seed 1 alone): no spread, so no change; gamma-0.99 200 (seed 1) and 0
    (seed 4): the change is against the default's seed 1 alone, +100, and the spread is the larger
    std, 100: not within."""
    rows = ["detail,env,seed,steps,return,commit"]
    for detail, returns in (("default", {1: 100, 2: 110, 3: 120}), ("no-obs-norm", {1: 50, 2: 60, 3: 70})):
        rows += [f"{detail},Hopper-v4,{seed},1000000,{r},abc" for seed, r in returns.items()]
    rows += [f"log-std-0,Hopper-v4,{seed},1000000,{r},abc" for seed, r in {1: 105, 2: 115, 3: 125}.items()]
    rows += [f"lam-1,Hopper-v4,{seed},1000000,{r},abc" for seed, r in {1: 104, 2: 105, 3: 106}.items()]
    rows += ["no-adv-norm,Hopper-v4,1,1000000,90,abc"]
    rows += ["gamma-0.99,Hopper-v4,1,1000000,200,abc", "gamma-0.99,Hopper-v4,4,1000000,0,abc"]
    (tmp_path / "details.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(details, "DETAILS_CSV", str(tmp_path / "details.csv"))
    details.table()
    lines = capsys.readouterr().out.splitlines()[2:8]
    cells = {line.split(" | ")[0][2:]: line.split(" | ")[2].rstrip(" |") for line in lines}
    assert cells == {
        "default": "110 ± 8 (n=3)",
        "no-obs-norm": "60 ± 8 (n=3): -50",
        "no-adv-norm": "90 (n=1)",
        "lam-1": "105 ± 1 (n=3): -5 within spread",
        "log-std-0": "115 ± 8 (n=3): +5 within spread",
        "gamma-0.99": "100 ± 100 (n=2): +100",
    }
