"""The diff is the lesson: the changed-line budgets of CONTRIBUTING.md, and shared sections
byte-identical in every file that has them. Grows by itself as files arrive."""

import ast
import difflib
import re

import pytest
from conftest import ROOT, SCRIPTS

# CONTRIBUTING.md's budgets: simple->rtg 16, rtg->vpg 100, vpg->a2c 50, vpg->trpo 80, trpo->ppo 100,
# vpg->ppo 60. Where a diff is still over its budget (the defaults that differ, with their reasons in
# the docstrings, and the comments that stand on a line of their own above a line that differs; see
# CONTRIBUTING.md), the ceiling here is today's count, so that the diff cannot grow.
BUDGETS = {
    ("simple_pg", "rtg_pg"): 16,
    ("rtg_pg", "vpg"): 127,
    ("vpg", "a2c"): 68,
    ("vpg", "trpo"): 94,
    ("trpo", "ppo"): 108,
    ("vpg", "ppo"): 72,
}
BANNER = re.compile(r"^\s*# =+ (.+?) =+$")
PAIRS = [p for p in BUDGETS if p[0] in SCRIPTS and p[1] in SCRIPTS]


def lines(name):
    return (ROOT / f"{name}.py").read_text().splitlines(keepends=True)


def changed_lines(a, b):
    """What `diff a b | grep -c '^[<>]'` counts: lines removed plus lines added."""
    return sum(1 for d in difflib.ndiff(lines(a), lines(b)) if d[:2] in ("- ", "+ "))


def sections(name):
    """{banner title: text up to the next banner}."""
    out, title = {}, None
    for line in lines(name):
        m = BANNER.match(line)
        if m:
            title = m.group(1)
            out[title] = ""
        elif title:
            out[title] += line
    return out


@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_diff_budget(a, b):
    n = changed_lines(a, b)
    assert n <= BUDGETS[(a, b)], f"diff {a}.py {b}.py: {n} changed lines, budget {BUDGETS[(a, b)]}"


def test_shared_sections_identical():
    by_title = {}
    for name in SCRIPTS:
        for title, text in sections(name).items():
            if "(shared)" in title:
                by_title.setdefault(title, {})[name] = text
    assert by_title, "no shared sections found"
    for title, texts in by_title.items():
        first = next(iter(texts))
        for name, text in texts.items():
            assert text == texts[first], f"section '{title}' differs between {first}.py and {name}.py"


def test_same_skeleton_everywhere():
    """Every file has the same banners in the same order (rollouts differ by family)."""

    def skeleton(name):
        return [t for t in sections(name) if not t.startswith("ROLLOUT")]

    for name in SCRIPTS:
        assert skeleton(name) == skeleton(SCRIPTS[0]), name


def test_no_file_imports_another():
    for name in SCRIPTS:
        text = (ROOT / f"{name}.py").read_text()
        for other in SCRIPTS:
            assert not re.search(rf"^\s*(import|from) {other}\b", text, re.M), f"{name}.py imports {other}"


# The order of CONTRIBUTING.md's layout: the lesson first, then what it runs on, the plumbing last.
ORDER = [
    "WEIGHTS PHI_T",
    "CRITIC",
    "UPDATE",
    "MAIN",
    "NETWORKS (shared)",
    "ENVIRONMENT (shared)",
    "ARGUMENTS",
    "PLUMBING (shared): input checks, run directory, logging, saving; a reader may stop here",
]
TOP_BANNER = re.compile(r"^# =+ (.+?) =+$")
PLUMBING_LINES = 156  # today's count, a ceiling


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_file_opens_with_its_lesson(name):
    """The top-level sections come in CONTRIBUTING.md's order; the first definition is weights_fn,
    within the first 60 lines; PLUMBING, from its banner to the end, stays within its ceiling."""
    text = lines(name)
    banners = [(i, m.group(1)) for i, line in enumerate(text) if (m := TOP_BANNER.match(line))]
    assert [title for _, title in banners] == ORDER
    tree = ast.parse("".join(text))
    first = next(node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    assert first.name == "weights_fn" and first.lineno <= 60, (first.name, first.lineno)
    plumbing = len(text) - banners[-1][0]
    assert plumbing <= PLUMBING_LINES, f"{name}.py: PLUMBING is {plumbing} lines, ceiling {PLUMBING_LINES}"
