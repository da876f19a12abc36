"""Every flag of every script does something: a tiny run with the flag at another value differs from
the same run without it, in progress.csv (less the timing columns) or in model.pt, so that a flag
wired to nothing fails here. The flags are read from each script's add_argument calls; a new flag
fails until OTHER says which value to try. Three flags change nothing of the numbers, by design,
and are checked for what they do: --logdir (where the files go), --tensorboard (event files, the
numbers unchanged) and --device (where the networks go: cpu is the only choice without CUDA, so
there the test makes cuda a choice and stops the run at the first network sent to it)."""

import contextlib
import glob
import io

import pytest
import torch
from conftest import SCRIPTS, flags, load, read_csv, run_main, tiny

TIMING = ("sps", "time")
# --flag: (another value, or one per script, and the arguments both runs take so that the flag can matter there)
OTHER = {
    "env": ("TestCount-v0", []),
    "env-kwargs": ("length=3", ["--env", "TestCount-v0"]),
    "seed": ("2", []),
    "total-steps": ({"simple_pg": "400", "rtg_pg": "400", "a2c": "256", "*": "64"}, []),  # one update more
    "num-envs": ("2", []),
    "gamma": ("0.5", []),
    "lr": ("0.01", []),
    "hidden": ("16", []),  # tiny runs have --hidden 8
    "log-std-init": ("0.0", ["--env", "TestCount-v0"]),  # only a Gaussian policy has a log-std
    "batch-steps": ("100", []),  # tiny runs have 16; 100 is several episodes more
    "num-steps": ("8", []),  # tiny runs have 4
    "lam": ("0.5", []),
    "vf-lr": ("0.01", []),
    "vf-iters": ("3", []),
    "num-minibatches": ("4", []),  # tiny runs have 2 (a2c has none)
    "update-epochs": ("3", []),
    "clip-ratio": ("1e-4", []),  # the tiny runs' ratios stay inside the default 1 +- 0.2
    "target-kl": ("1e-9", []),
    "max-grad-norm": ("1e-3", []),  # the tiny runs' gradients are below the default 0.5
    "vf-coef": ("0.1", []),
    "ent-coef": ("0.5", []),
    "delta": ("0.001", []),
    "cg-iters": ("1", []),
    "damping": ("10", []),
    "backtrack-iters": ("1", ["--damping", "1e-3", "--total-steps", "64"]),  # the line search backtracks there
}
SPECIAL = ("logdir", "tensorboard", "device")
CASES = [(n, f) for n in SCRIPTS for f in flags(n)]


def base(name):
    """Two updates of a few steps (one for simple_pg and rtg_pg: their episodes are whole)."""
    return ["--total-steps", "128" if name == "a2c" else "32"] + tiny(name)


def fingerprint(logdir):
    """What a run did: progress.csv less its timing columns, and model.pt."""
    rows = [{k: v for k, v in r.items() if k not in TIMING} for r in read_csv(logdir / "progress.csv")]
    return rows, torch.load(logdir / "model.pt", weights_only=True)


def same(a, b):
    """Equal, tensors to the last bit, in dicts and lists all the way down."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


_BASES = {}


def base_run(name, context, tmp_path_factory):
    """The run without the flag, made once per script and context, and made twice the first time:
    a run that differs from itself would make every flag look wired."""
    key = (name, tuple(context))
    if key not in _BASES:
        logdir = tmp_path_factory.mktemp("base")
        a = fingerprint_of(name, base(name) + context, logdir)
        b = fingerprint_of(name, base(name) + context, tmp_path_factory.mktemp("base"))
        assert same(a, b), f"{name} {context}: the same run twice differs"
        _BASES[key] = a, logdir
    return _BASES[key]


def fingerprint_of(name, args, logdir):
    run_main(name, args, logdir)
    return fingerprint(logdir)


class SentToDevice(Exception):
    """Raised where a network is sent to the device --device names."""


@pytest.mark.parametrize("name,flag", CASES, ids=[f"{n}--{f}" for n, f in CASES])
def test_every_flag_changes_the_run(name, flag, tmp_path, tmp_path_factory, monkeypatch):
    if flag in SPECIAL:
        return special(name, flag, tmp_path, tmp_path_factory, monkeypatch)
    assert flag in OTHER, f"--{flag} of {name}.py is new: add to OTHER a value at which the run differs"
    value, context = OTHER[flag]
    value = value.get(name, value["*"]) if isinstance(value, dict) else value
    before, _ = base_run(name, context, tmp_path_factory)
    if flag == "backtrack-iters":  # with seeds 1 to 6, 2 to 4 of the 4 updates backtrack: a change can show here
        assert any(int(r["backtracks"]) > 0 for r in before[0]), "no update backtracks: find another context"
    after = fingerprint_of(name, base(name) + context + [f"--{flag}", value], tmp_path)
    assert not same(before, after), f"{name}.py --{flag} {value} ran exactly as without it"


def special(name, flag, tmp_path, tmp_path_factory, monkeypatch):
    before, logdir = base_run(name, [], tmp_path_factory)
    if flag == "logdir":
        # without --logdir the run goes to runs/ENV__ALGO__SEED__TIME in the working directory; with it, there
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(load(name), "ROW_STEPS", 1)  # a row per update, as run_main writes them
        with contextlib.redirect_stdout(io.StringIO()):
            load(name).main(base(name))
        made = glob.glob(f"runs/CartPole-v1__{name}__1__[0-9]*")
        assert len(made) == 1, made
        assert same(fingerprint(tmp_path / made[0]), before)
        after = fingerprint_of(name, base(name), tmp_path / "elsewhere")  # run_main gives --logdir
        assert same(after, before) and glob.glob("runs/*") == made
        assert {p.name for p in (tmp_path / "elsewhere").iterdir()} == {
            "config.json",
            "progress.csv",
            "model.pt",
            "summary.json",
        }
    elif flag == "tensorboard":
        pytest.importorskip("tensorboard")
        assert not glob.glob(str(logdir / "events.out.tfevents.*"))  # none without the flag
        after = fingerprint_of(name, base(name) + ["--tensorboard"], tmp_path)
        events = glob.glob(str(tmp_path / "events.out.tfevents.*"))
        assert same(after, before) and len(events) == 1 and open(events[0], "rb").read()
    elif flag == "device":
        assert same(fingerprint_of(name, base(name) + ["--device", "cpu"], tmp_path / "cpu"), before)
        mod = load(name)
        made, real = [], mod.Actor
        monkeypatch.setattr(mod, "Actor", lambda *a, **kw: made.append(real(*a, **kw)) or made[-1])
        if torch.cuda.is_available():
            run_main(name, base(name) + ["--device", "cuda"], tmp_path / "cuda")
            assert all(p.device.type == "cuda" for p in made[0].parameters())
            return
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # "cuda" becomes a choice of --device
        real_to = torch.nn.Module.to

        def to(self, *args, **kwargs):
            device = kwargs.get("device", args[0] if args else None)
            if isinstance(device, (str, torch.device)) and torch.device(device).type == "cuda":
                raise SentToDevice(type(self).__name__)
            return real_to(self, *args, **kwargs)

        monkeypatch.setattr(torch.nn.Module, "to", to)
        with pytest.raises(SentToDevice):
            run_main(name, base(name) + ["--device", "cuda"], tmp_path / "cuda")
        assert made
