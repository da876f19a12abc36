"""Watch a trained policy: play a run's model.pt and print what it does, or show it, film it, make a GIF.

Plays the saved policy (its mean action, argmax for Discrete; sampled with --sample) for --episodes episodes,
reset with seeds --seed, --seed + 1, ..., in the env it was trained on: the saved id and env_kwargs, built by the
make_env of the script that saved it (model.pt names it; a renamed copy is found in the working directory or named
with --script), so a wrapper added there applies here too. Prints the mean and spread of the return and episode
length and, for the MuJoCo bodies, the forward velocity, the torso's height and angle (0 rad: upright) and the share
of steps with the torso turned more than 2 rad. --env-kwargs override saved settings (score the backward walker
under the forward reward, say). Headless Linux renders MuJoCo with EGL unless MUJOCO_GL says otherwise.
Run: python tools/watch.py runs/Walker2d-v5__ppo__1__1700000000 [--video | --gif | --render]
"""

import argparse
import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where the MuJoCo bodies keep the torso in qpos: (index of its height, of its angle); None: not there. The
# planar ones (Walker2d, Hopper, HalfCheetah) have qpos = x, z, angle, joints...; HalfCheetah's z is measured
# from its start (0.7 m), not the floor. Ant and Humanoid: x, y, z, orientation (a quaternion), joints...
TORSO = {"Walker2d": (1, 2), "Hopper": (1, 2), "HalfCheetah": (None, 2), "Ant": (2, None), "Humanoid": (2, None)}
KEYS = ("algo", "env", "env_kwargs", "hidden", "actor", "obs_mean", "obs_var")  # what the scripts save


def fail(msg):
    print(f"watch.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def first_line(e):
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def positive_int(text):
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return int(text)


def parse_args(argv):
    p = argparse.ArgumentParser(
        "watch.py", usage=argparse.SUPPRESS, description=__doc__.splitlines()[0], allow_abbrev=False
    )
    p.add_argument("run", help="a run directory, or a model.pt in one")
    p.add_argument("--episodes", type=positive_int, default=None, help="episodes (default: 5; 1 to show or film)")
    p.add_argument("--sample", action="store_true", help="sample actions instead of the mean action")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the first episode, +1 each next (default: 0)")
    p.add_argument("--env-kwargs", nargs="+", default=[], metavar="KEY=VALUE", help="override saved env settings")
    p.add_argument("--script", help="the script that saved it (default: the one model.pt names, here or in the repo)")
    show = p.add_mutually_exclusive_group()
    show.add_argument("--render", action="store_true", help="show the episodes in a window (needs a display)")
    show.add_argument("--video", action="store_true", help="one mp4 per episode in --out (needs moviepy)")
    show.add_argument("--gif", action="store_true", help="an animated GIF of the first --steps steps (needs Pillow)")
    p.add_argument("--out", help="where videos or the GIF go (default: RUN/videos, RUN/watch.gif)")
    p.add_argument("--steps", type=positive_int, default=300, help="GIF: env steps to film (default: 300)")
    p.add_argument("--every", type=positive_int, default=3, help="GIF: keep every k-th frame (default: 3)")
    p.add_argument("--width", type=positive_int, default=240, help="GIF: frame width in pixels (default: 240)")
    p.add_argument("--height", type=positive_int, default=180, help="GIF: frame height in pixels (default: 180)")
    return p.parse_args(argv)


def load(args):
    """model.pt and the script that saved it, loaded as a module (its Actor, RunningNorm, make_env, check_env)."""
    path = os.path.join(args.run, "model.pt") if os.path.isdir(args.run) else args.run
    if not os.path.isfile(path):
        there = f"{args.run} holds no model.pt (give one run's directory, or its model.pt)"
        fail(there if os.path.isdir(args.run) else f"{path}: no such file")
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        missing = [k for k in KEYS if k not in ckpt]
    except Exception:  # a progress.csv, a checkpoint of something else, half a file
        fail(f"{path} is not a model.pt of these scripts")
    if missing:
        fail(f"{path} is not a model.pt of these scripts (no {', '.join(missing)})")
    name = f"{ckpt['algo']}.py"
    script = args.script or next((d for d in (name, os.path.join(ROOT, name)) if os.path.isfile(d)), None)
    if script is None:
        fail(f"{path} was saved by {name}, which is neither here nor in {ROOT}: give it with --script FILE")
    try:
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(script))[0], script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for attr in ("Actor", "RunningNorm", "make_env", "check_env"):
            getattr(module, attr)
    except Exception as e:  # no such file, a syntax error, not one of the scripts
        fail(f"cannot load the script {script}: {first_line(e)}")
    module.ALGO = "watch.py"  # its one-line errors (a bad --env-kwargs) then say who speaks
    return path, ckpt, module


def render_env(script, env_id, env_kwargs, mode, size):
    """The env to show or film. MuJoCo bodies with a camera named "track" (Walker2d, Hopper, HalfCheetah, Ant,
    Humanoid) are filmed with it, as it follows the body (the default camera stays where the episode began),
    unless env_kwargs name a camera; a GIF's frames are rendered at its size there."""
    env = script.make_env(env_id, dict(env_kwargs, render_mode=mode))
    if hasattr(env.unwrapped, "mujoco_renderer") and not {"camera_id", "camera_name"} & set(env_kwargs):
        import mujoco  # only MuJoCo envs get here

        if mujoco.mj_name2id(env.unwrapped.model, mujoco.mjtObj.mjOBJ_CAMERA, "track") != -1:
            env.close()
            env = script.make_env(env_id, dict(env_kwargs, render_mode=mode, camera_name="track", **size))
    return env


def mean(values, fmt):
    return fmt.format(sum(values) / len(values)) if values else "n/a"


def main(argv=None):
    args = parse_args(argv)
    headless = sys.platform == "linux" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.render and headless:
        fail("--render needs a display; without one, use --video or --gif")
    if headless:  # before MuJoCo is imported: its default, GLFW, needs a display
        os.environ.setdefault("MUJOCO_GL", "egl")
    for flag, package, pip in (("video", "moviepy", "moviepy"), ("gif", "PIL", "pillow")):
        if getattr(args, flag) and importlib.util.find_spec(package) is None:
            fail(f"--{flag} needs the optional package {pip}: pip install {pip}")
    path, ckpt, script = load(args)
    import numpy as np
    import torch

    saved = ckpt["env_kwargs"]
    env_kwargs = script.check_env(ckpt["env"], [f"{k}={v!r}" for k, v in saved.items()] + args.env_kwargs)
    mode = "human" if args.render else "rgb_array" if args.video or args.gif else None
    episodes = args.episodes or (1 if mode else 5)
    try:
        if mode:
            size = dict(width=args.width, height=args.height) if args.gif else {}
            env = render_env(script, ckpt["env"], env_kwargs, mode, size)
            env.reset(seed=args.seed)
            env.render()
        else:
            env = script.make_env(ckpt["env"], env_kwargs)
    except Exception as e:  # no OpenGL context, pygame missing, a camera the env does not have
        fail(f"cannot render {ckpt['env']}: {first_line(e)} (headless MuJoCo needs MUJOCO_GL=egl or osmesa)")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(path)), "videos" if args.video else "watch.gif")
    if args.video:
        env = __import__("gymnasium").wrappers.RecordVideo(
            env, out, name_prefix="watch", episode_trigger=lambda ep: True, disable_logger=True
        )
    actor = script.Actor(env.observation_space.shape[0], env.action_space, ckpt["hidden"])
    try:
        actor.load_state_dict(ckpt["actor"])
    except RuntimeError as e:  # another script's network, or another env's sizes
        fail(f"{script.__file__} cannot load {path}: {first_line(e)}")
    obs_norm = script.RunningNorm(env.observation_space.shape)  # frozen: never updated here
    obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()
    torch.manual_seed(args.seed)  # --sample draws the same actions every time
    height_at, angle_at = TORSO.get(type(env.unwrapped).__name__.removesuffix("Env"), (None, None))  # any wrapper
    returns, lengths, velocity, height, angle, frames = [], [], [], [], [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=args.seed + ep)
        returns.append(0.0)
        lengths.append(0)
        if args.gif and ep == 0:
            frames.append(env.render())
        done = False
        while not done:
            with torch.no_grad():
                act = (actor.sample if args.sample else actor.mode)(torch.as_tensor(obs_norm(obs[None])))
            obs, rew, term, trunc, info = env.step(actor.to_env(act)[0])
            done = term or trunc
            returns[-1] += float(rew)
            lengths[-1] += 1
            if args.gif and sum(lengths) <= args.steps and sum(lengths) % args.every == 0:
                frames.append(env.render())
            if "x_velocity" in info:
                velocity.append(float(info["x_velocity"]))
            if height_at is not None:
                height.append(float(env.unwrapped.data.qpos[height_at]))
            if angle_at is not None:
                angle.append(float(env.unwrapped.data.qpos[angle_at]))
    env.close()  # writes the last video
    kwargs = "".join(f" {k}={v}" for k, v in env_kwargs.items())
    how = "sampled actions" if args.sample else "the mean action"
    print(f"{path}: {ckpt['algo']} on {ckpt['env']}{kwargs}, {episodes} episode{'s' * (episodes > 1)} of {how}")
    if os.path.basename(script.__file__) != f"{ckpt['algo']}.py":
        print(f"  saved by {ckpt['algo']}.py, played by {script.__file__}")
    changed = [k for k in env_kwargs if saved.get(k, "unset") != env_kwargs[k]]
    if changed:
        trained = ", ".join(f"{k}={saved[k]}" if k in saved else f"{k} unset" for k in changed)
        print(f"  trained with {trained}, watched with {', '.join(f'{k}={env_kwargs[k]}' for k in changed)}")
    print(
        f"  return {np.mean(returns):,.1f} +- {np.std(returns):,.1f}, length {np.mean(lengths):,.0f} +- "
        f"{np.std(lengths):,.0f}"
    )
    if velocity or height or angle:
        turned = [np.cos(a) < np.cos(2.0) for a in angle]  # wherever the angle has wound to
        print(
            f"  forward velocity {mean(velocity, '{:+.2f} m/s')}, torso height {mean(height, '{:.2f} m')}, "
            f"torso angle {mean(angle, '{:+.2f} rad')}, on its back (turned > 2 rad) {mean(turned, '{:.0%} of steps')}"
        )
    if args.video:
        print(f"  videos in {out}")
    if args.gif:
        save_gif(frames, out, args, env.metadata.get("render_fps", 30))


def save_gif(frames, out, args, fps):
    from PIL import Image

    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        image.thumbnail((args.width, args.height))  # envs without the track camera render at their own size
        images.append(image.quantize(colors=128))  # half a GIF's palette: a third smaller, looks the same
    # GIFs count time in 1/100 s, and browsers play frames under 2/100 s at 1/10 s: real time where possible
    duration = max(20, 10 * round(100 * args.every / fps))
    images[0].save(out, save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=True)
    print(f"  wrote {out}: {len(images)} frames, {duration} ms each, {os.path.getsize(out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
