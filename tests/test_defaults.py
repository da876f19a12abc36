"""A default is what the script says it is: for every flag of every script, the "(default: X)"
of `--help` is the value a run without the flag gets, and every `--flag VALUE` or `name = VALUE`
that the module's docstring states is that flag's default."""

import ast
import re

import pytest
from conftest import SCRIPTS, load

NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def help_defaults(name, capsys):
    """{dest: the X of "(default: X)"} from `NAME.py --help`, one entry per flag."""
    with pytest.raises(SystemExit) as stop:
        load(name).main(["--help"])
    assert stop.value.code == 0
    entries, out = [], capsys.readouterr().out
    for line in out.splitlines():
        if line.startswith("  -"):
            entries.append(line)
        elif entries and line.startswith("   "):
            entries[-1] += line
    found = {}
    for entry in entries:
        flag = re.match(r"\s+(?:-h, )?--([a-z-]+)", entry).group(1)
        said = re.search(r"\(default: ([^)]*)\)", " ".join(entry.split()))
        if flag != "help":
            assert said, f"{name} --{flag}: no (default: ...) in its help: {entry.strip()}"
            found[flag.replace("-", "_")] = said.group(1)
    return found


def agrees(said, value):
    """Does the help's word for a default say this value? (argparse writes None, False, [].)"""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return re.fullmatch(NUMBER, said) is not None and float(said) == value
    return said == str(value)


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_says_the_defaults(name, capsys):
    defaults = vars(load(name).parse_args([]))
    said = help_defaults(name, capsys)
    assert set(said) == set(defaults)
    wrong = {k: (said[k], defaults[k]) for k in said if not agrees(said[k], defaults[k])}
    assert not wrong, f"{name}: --help says, the run gets: {wrong}"


@pytest.mark.parametrize("name", SCRIPTS)
def test_docstring_says_the_defaults(name):
    """a2c's "lam = 1", "--num-envs 16", "--num-steps 5"; ppo's "--num-steps 512", "--lr 3e-4";
    vpg's "--gamma 0.995", "--lr 1e-3": each is the flag's default."""
    mod = load(name)
    defaults = vars(mod.parse_args([]))
    claims = [(f.replace("-", "_"), v) for f, v in re.findall(rf"--([a-z-]+) ({NUMBER})", mod.__doc__)]
    claims += [(k, v) for k, v in re.findall(rf"\b([a-z_]+) = ({NUMBER})\b", mod.__doc__) if k in defaults]
    for key, value in claims:
        assert key in defaults, f"{name}'s docstring names --{key}, which it lacks"
        assert ast.literal_eval(value) == defaults[key], f"{name}'s docstring says {key} {value}: {defaults[key]}"
    expect = {"vpg": 2, "a2c": 3, "ppo": 2}.get(name, 0)  # the claims its docstring makes today
    assert len(claims) >= expect, claims
