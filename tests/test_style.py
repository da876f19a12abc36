"""The style holds by itself. ruff, configured in pyproject.toml, lints (unused imports and
variables, undefined names, import order, line length) and formats the repo. The plain style of
CONTRIBUTING.md is checked here, on the six scripts and tools/: one idea per line, a comment above
the line it explains, no line over 100 characters, at most 3 packed assignments a file, no
arithmetic on truth values, no and/or as an if, no conditional iteration, no chained assignment,
no loop variable read after its loop, no tuple field read by position, a mean code line of at most
55 characters. Each rule is shown to catch a planted example."""

import ast
import io
import subprocess
import sys
import tokenize

import pytest
from conftest import ROOT, SCRIPTS

TOOLS = sorted(f"tools/{path.name}" for path in (ROOT / "tools").glob("*.py"))
FILES = [f"{name}.py" for name in SCRIPTS] + TOOLS
MAX_LINE = 100
MAX_PACKED = 3
MAX_MEAN = 55


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(command):
    res = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


PREDICATES = ("is", "has", "startswith", "endswith", "exists", "any", "all", "callable")


def truth(node):
    """An expression whose value is a truth value: a comparison, and/or, not, a predicate's call."""
    if isinstance(node, ast.Call):
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        return func.startswith(PREDICATES)
    return isinstance(node, (ast.Compare, ast.BoolOp)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    )


def truth_or_name(node):
    """What may stand in an and/or of truth values: a truth value, or a name or attribute."""
    return truth(node) or isinstance(node, (ast.Name, ast.Attribute))


def loop_variable_after_loop(body):
    """Lines where a name bound by a for loop of this block is read after the loop ends (and
    before the block binds it again)."""
    found = []
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
            name = stmt.target.id
            for later in body[i + 1 :]:
                names = [n for n in ast.walk(later) if isinstance(n, ast.Name) and n.id == name]
                if any(isinstance(n.ctx, ast.Store) for n in names):
                    break
                found += [n.lineno for n in names if isinstance(n.ctx, ast.Load)]
    return found


def violations(source):
    """[(line, rule)] of the plain-style rules broken in source."""
    found = []
    lines = source.splitlines()
    code_lengths = []
    comment_lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row = tok.start[0]
            comment_lines.add(row)
            if lines[row - 1][: tok.start[1]].strip():
                found.append((row, "trailing comment"))
            if "fmt: skip" in tok.string:
                found.append((row, "fmt: skip"))
    tree = ast.parse(source)
    doc_lines = set()
    packed = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            found += [(line, "loop variable read after its loop") for line in loop_variable_after_loop(body)]
            first = body[0] if body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                doc_lines.update(range(first.lineno, first.end_lineno + 1))
        if isinstance(node, ast.Assign):
            if len(node.targets) > 1:
                found.append((node.lineno, "chained assignment"))
            target = node.targets[0]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) and len(node.value.elts) > 1:
                packed.append(node.lineno)
        # x = c and f(), x = a or default: and/or picking a value, not combining truth values
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)) and isinstance(node.value, ast.BoolOp):
            if not all(truth_or_name(v) for v in node.value.values):
                found.append((node.lineno, "and/or as an if"))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub)):
            sides = (node.left, node.right)
            if any(truth(side) for side in sides):
                found.append((node.lineno, "arithmetic on a truth value"))
            if isinstance(node.op, ast.Mult) and any(
                isinstance(s, (ast.List, ast.Tuple)) and any(isinstance(e, ast.Lambda) for e in s.elts) for s in sides
            ):
                found.append((node.lineno, "a list of lambdas times n"))
        if isinstance(node, (ast.For, ast.comprehension)) and isinstance(node.iter, ast.IfExp):
            found.append((node.iter.lineno, "conditional iteration"))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id == "self"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, int)
        ):
            found.append((node.lineno, "a tuple field read by position"))
    if len(packed) > MAX_PACKED:
        found += [(line, f"more than {MAX_PACKED} packed assignments") for line in packed]
    for row, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            found.append((row, f"line over {MAX_LINE} characters"))
        if line.strip() and row not in comment_lines and row not in doc_lines:
            code_lengths.append(len(line))
    if code_lengths and sum(code_lengths) / len(code_lengths) > MAX_MEAN:
        found.append((0, f"mean code line over {MAX_MEAN} characters"))
    return sorted(found)


@pytest.mark.parametrize("path", FILES)
def test_plain_style(path):
    broken = violations((ROOT / path).read_text())
    assert not broken, f"{path}: " + "; ".join(f"line {line}: {rule}" for line, rule in broken)


# Each rule and a planted example of it (every other rule holds there).
PLANTED = {
    "trailing comment": "x = 1  # one\n",
    "fmt: skip": "x = 1\n# fmt: skip\n",
    "chained assignment": "a = b = 1\n",
    "and/or as an if": "def f(c, g):\n    x = c and g()\n    return x\n",
    "arithmetic on a truth value": 'import torch\n\nchoices = ["cpu"] + ["cuda"] * torch.cuda.is_available()\n',
    "a list of lambdas times n": "fns = [lambda: 1] * 4\n",
    "and/or as an if, with a default": "def f(logdir, name):\n    return logdir or name.join()\n",
    "conditional iteration": "def f(c, row):\n    for k in row if c else ():\n        print(k)\n",
    "loop variable read after its loop": "def f(n):\n    for epoch in range(n):\n        print(n)\n    return epoch\n",
    "a tuple field read by position": "class A:\n    def f(self):\n        return self.last[1]\n",
    f"more than {MAX_PACKED} packed assignments": "a, b = 1, 2\nc, d = 3, 4\ne, f = 5, 6\ng, h = 7, 8\n",
    f"line over {MAX_LINE} characters": "x = " + "1 + " * 30 + "1\n" + "y = 1\n" * 10,
    f"mean code line over {MAX_MEAN} characters": "x = " + "1 + " * 20 + "1\n",
}


@pytest.mark.parametrize("rule", list(PLANTED))
def test_each_rule_catches_its_planted_example(rule):
    caught = {found for _, found in violations(PLANTED[rule])}
    assert caught == {rule.split(",")[0]}


def test_plain_code_passes():
    """What the rules must not forbid: and/or of truth values, a list times a count, a packed
    assignment or three, a loop variable bound again after its loop."""
    plain = (
        "def f(x, term, trunc, n, row):\n"
        "    done = term or trunc\n"
        "    whole = x is None or x.is_integer()\n"
        "    zeros = [0.0] * int(n)\n"
        "    a, b = 1, 2\n"
        "    for i in range(n):\n"
        "        print(i)\n"
        "    i = 0\n"
        "    return done, whole, zeros, a, b, i, row[1]\n"
    )
    assert violations(plain) == []
