"""Train with one of the scripts and keep a copy of model.pt along the way.

Runs SCRIPT's own main with the flags after it and copies the run's model.pt to
RUN/models/STEP.pt (STEP: the env steps so far) after the first update and after every update
that passes the next multiple of --every: tools/gradients.py measures the estimators there.
Run: python tools/keep_models.py --every 100000 rtg_pg.py --env Walker2d-v4 --logdir runs/rtg
"""

import argparse
import importlib.util
import os
import shutil
import sys


def fail(msg):
    print(f"keep_models.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def positive_int(text):
    if not text.isdigit() or int(text) == 0:
        msg = f"must be a positive whole number, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def parse_args(argv):
    p = argparse.ArgumentParser(
        "keep_models.py",
        usage=argparse.SUPPRESS,
        description=__doc__.splitlines()[0],
        allow_abbrev=False,
    )
    p.add_argument(
        "--every",
        type=positive_int,
        default=100_000,
        help="env steps between two copies (default: 100000)",
    )
    p.add_argument("script", help="the script that trains, e.g. rtg_pg.py")
    p.add_argument(
        "flags",
        nargs=argparse.REMAINDER,
        help="the script's own flags",
    )
    return p.parse_args(argv)


def load_script(path):
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        run_class = module.Run
    except Exception as e:
        fail(f"cannot load the script {path}: {e}")
    if not hasattr(run_class, "log"):
        fail(f"{path} is not one of the six scripts")
    return module


def main(argv=None):
    args = parse_args(argv)
    module = load_script(args.script)
    log = module.Run.log
    marks = {"next": 1}

    def log_and_keep(self, update, step, *rest):
        log(self, update, step, *rest)
        if step < marks["next"]:
            return
        # log() has just saved this update's model.pt
        os.makedirs(os.path.join(self.dir, "models"), exist_ok=True)
        src = os.path.join(self.dir, "model.pt")
        shutil.copyfile(src, os.path.join(self.dir, "models", f"{step}.pt"))
        marks["next"] = (step // args.every + 1) * args.every

    module.Run.log = log_and_keep
    module.main(args.flags)


if __name__ == "__main__":
    main()
