"""Watch a trained policy: play a run's model.pt and print what it does, or show, film or GIF it.

Plays the saved policy (its mean action, argmax for Discrete; sampled with --sample) for --episodes
episodes, reset with seeds --seed, --seed + 1, ..., in the env it was trained on: the saved id and
env_kwargs, built by the make_env of the script that saved it (model.pt names it; a copy in the
working directory comes first, and a renamed one is found there or named with --script), so a
wrapper added there applies here too. Prints the mean and spread of the return and episode length
and, for the MuJoCo bodies, the forward velocity, the torso's height and angle (0 rad: upright) and
the share of steps with the torso turned more than 2 rad. --env-kwargs override saved settings
(score the backward walker under the forward reward, say). Headless Linux renders MuJoCo with EGL
unless MUJOCO_GL says otherwise. Bad input is one line and exit code 2; a setting the env refuses
shows the env's own error, and an error raised in code of one's own (an env module, an edited copy
of a script) its traceback.
Run: python tools/watch.py runs/Walker2d-v5__ppo__1__1700000000 [--video | --gif | --render]
"""

import argparse
import importlib.util
import os
import sys

# The repository, where the scripts are when the working directory has no copy of one.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What the scripts save in model.pt.
KEYS = ("algo", "env", "env_kwargs", "hidden", "actor", "obs_mean", "obs_var")
# Where the MuJoCo bodies keep the torso in qpos. The planar ones (Walker2d, Hopper, HalfCheetah)
# have qpos = x, z, angle, joints...; HalfCheetah's z is measured from its start (0.7 m), not from
# the floor, so it has no height here. Ant and Humanoid: x, y, z, orientation (a quaternion), ...
TORSO_HEIGHT = {"Walker2d": 1, "Hopper": 1, "Ant": 2, "Humanoid": 2}
TORSO_ANGLE = {"Walker2d": 2, "Hopper": 2, "HalfCheetah": 2}
# Episodes played unless --episodes says: five give a spread; one is enough to show or film.
EPISODES = 5
EPISODES_FILMED = 1
# The share of steps "on its back": the torso turned further than this from upright, in radians.
TURNED = 2.0


def fail(msg):
    """Bad input: one line on stderr, exit code 2."""
    print(f"watch.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def first_line(error):
    """The first line of an exception's message, or its type's name if it has none."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return lines[0]


def positive_int(text):
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return int(text)


def parse_args(argv):
    p = argparse.ArgumentParser(
        "watch.py",
        usage=argparse.SUPPRESS,
        description=__doc__.splitlines()[0],
        allow_abbrev=False,
    )
    p.add_argument("run", help="a run directory, or a model.pt in one")
    p.add_argument(
        "--episodes",
        type=positive_int,
        default=None,
        help=f"episodes (default: {EPISODES}; {EPISODES_FILMED} to show or film)",
    )
    p.add_argument(
        "--sample",
        action="store_true",
        help="sample actions instead of the mean action",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="reset seed of the first episode, +1 each next (default: 0)",
    )
    p.add_argument(
        "--env-kwargs",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override saved env settings",
    )
    p.add_argument(
        "--script",
        help="the script that saved it (default: the one model.pt names, here or in the repo)",
    )
    show = p.add_mutually_exclusive_group()
    show.add_argument(
        "--render",
        action="store_true",
        help="show the episodes in a window (needs a display)",
    )
    show.add_argument(
        "--video",
        action="store_true",
        help="one mp4 per episode in --out (needs moviepy)",
    )
    show.add_argument(
        "--gif",
        action="store_true",
        help="an animated GIF of the first --steps steps (needs Pillow)",
    )
    p.add_argument("--out", help="where videos or the GIF go (default: RUN/videos, RUN/watch.gif)")
    p.add_argument(
        "--steps",
        type=positive_int,
        default=300,
        help="GIF: env steps to film (default: 300)",
    )
    p.add_argument(
        "--every",
        type=positive_int,
        default=3,
        help="GIF: keep every k-th frame (default: 3)",
    )
    p.add_argument(
        "--width",
        type=positive_int,
        default=240,
        help="GIF: frame width in pixels (default: 240)",
    )
    p.add_argument(
        "--height",
        type=positive_int,
        default=180,
        help="GIF: frame height in pixels (default: 180)",
    )
    return p.parse_args(argv)


def is_headless():
    """Linux with neither X nor Wayland: a server, a container, an ssh session."""
    if sys.platform != "linux":
        return False
    displays = [os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")]
    return not any(displays)


def find_script(args, algo):
    """The file of the script that saved the model: --script, else ALGO.py in the working
    directory (a copy the user edited, say), else ALGO.py in the repository; None if neither."""
    if args.script:
        return args.script
    name = f"{algo}.py"
    for candidate in [name, os.path.join(ROOT, name)]:
        if os.path.isfile(candidate):
            return candidate
    return None


def load(args):
    """model.pt, and the script that saved it loaded as a module (its Actor, RunningNorm,
    make_env, env_setting and check_env)."""
    if os.path.isdir(args.run):
        path = os.path.join(args.run, "model.pt")
    else:
        path = args.run
    if os.path.isdir(args.run) and not os.path.isfile(path):
        fail(f"{args.run} holds no model.pt (give one run's directory, or its model.pt)")
    if not os.path.isfile(path):
        fail(f"{path}: no such file")
    import torch

    # Anything else given as a model: a progress.csv, another program's checkpoint, half a file.
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        missing = [key for key in KEYS if key not in ckpt]
    except Exception:
        fail(f"{path} is not a model.pt of these scripts")
    if missing:
        fail(f"{path} is not a model.pt of these scripts (no {', '.join(missing)})")
    script_file = find_script(args, ckpt["algo"])
    if script_file is None:
        name = f"{ckpt['algo']}.py"
        where = f"which is neither here nor in {ROOT}"
        fail(f"{path} was saved by {name}, {where}: give it with --script FILE")
    if not os.path.isfile(script_file):
        fail(f"cannot load the script {script_file}: no such file")
    module_name = os.path.splitext(os.path.basename(script_file))[0]
    spec = importlib.util.spec_from_file_location(module_name, script_file)
    if spec is None:
        fail(f"cannot load the script {script_file}: not a Python file")
    script = importlib.util.module_from_spec(spec)
    # An error raised here is in the script, one's own copy of it maybe: a bug, and its
    # traceback says where.
    spec.loader.exec_module(script)
    needed = ["Actor", "RunningNorm", "make_env", "env_setting", "check_env"]
    missing = [attr for attr in needed if not hasattr(script, attr)]
    if missing:
        fail(f"cannot load the script {script_file}: it has no {', '.join(missing)}")
    # The script's own one-line errors (a bad --env-kwargs) then say who speaks.
    script.ALGO = "watch.py"
    return path, ckpt, script


def render_env(script, env_id, env_kwargs, mode, size):
    """The env to show or film. MuJoCo bodies with a camera named "track" (Walker2d, Hopper,
    HalfCheetah, Ant, Humanoid) are filmed with it, as it follows the body (the default camera
    stays where the episode began), unless env_kwargs name a camera; a GIF's frames are
    rendered at its size there."""
    env = script.make_env(env_id, dict(env_kwargs, render_mode=mode))
    is_mujoco = hasattr(env.unwrapped, "mujoco_renderer")
    names_a_camera = "camera_id" in env_kwargs or "camera_name" in env_kwargs
    if not is_mujoco or names_a_camera:
        return env
    # Only MuJoCo envs get here.
    import mujoco

    camera = mujoco.mjtObj.mjOBJ_CAMERA
    if mujoco.mj_name2id(env.unwrapped.model, camera, "track") == -1:
        return env
    env.close()
    tracked = dict(env_kwargs, render_mode=mode, camera_name="track", **size)
    return script.make_env(env_id, tracked)


def render_mode(args):
    """gymnasium's render_mode: a window, frames to film, or None (no pictures)."""
    if args.render:
        return "human"
    if args.video or args.gif:
        return "rgb_array"
    return None


def open_env(script, env_id, env_kwargs, mode, args):
    """The env to watch. One that is to render is tried first: no OpenGL context, pygame
    missing, a camera the env does not have are one line, before any filming."""
    if mode is None:
        return script.make_env(env_id, env_kwargs)
    size = {}
    if args.gif:
        size = dict(width=args.width, height=args.height)
    try:
        env = render_env(script, env_id, env_kwargs, mode, size)
        env.reset(seed=args.seed)
        env.render()
    except Exception as e:
        why = "headless MuJoCo needs MUJOCO_GL=egl or osmesa"
        fail(f"cannot render {env_id}: {first_line(e)} ({why})")
    return env


def out_path(args, path):
    """Where the videos or the GIF go: --out, else beside model.pt. A GIF is one file: a
    folder given for it is refused before any filming."""
    run_dir = os.path.dirname(os.path.abspath(path))
    if args.out is not None:
        out = args.out
    elif args.video:
        out = os.path.join(run_dir, "videos")
    else:
        out = os.path.join(run_dir, "watch.gif")
    if args.gif and os.path.isdir(out):
        example = os.path.join(out, "watch.gif")
        fail(f"--out {out} is a folder; --gif writes a file, e.g. {example}")
    return out


def make_folder(folder):
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        fail(f"cannot make the folder {folder}: {first_line(e)}")


def mean_action(actor, obs):
    """The action the policy makes most likely: the Gaussian's mean for a Box, the largest
    logit for Discrete."""
    if actor.discrete:
        return actor.net(obs).argmax(-1)
    return actor.net(obs)


def play(env, actor, obs_norm, args, episodes):
    """Plays the episodes; returns what was seen: each episode's return and length, the body's
    velocity, torso height and angle at each step, and the GIF's frames."""
    import torch

    # Where the torso is in qpos, read from the env's class through any wrapper.
    body = type(env.unwrapped).__name__.removesuffix("Env")
    height_at = TORSO_HEIGHT.get(body)
    angle_at = TORSO_ANGLE.get(body)
    seen = dict(returns=[], lengths=[], velocity=[], height=[], angle=[], frames=[])
    # Steps taken in all episodes so far: the GIF films the first --steps of them.
    steps_taken = 0
    for episode in range(episodes):
        obs, _ = env.reset(seed=args.seed + episode)
        episode_return = 0.0
        length = 0
        if args.gif and episode == 0:
            seen["frames"].append(env.render())
        done = False
        while not done:
            obs_in = torch.as_tensor(obs_norm(obs[None]))
            with torch.no_grad():
                if args.sample:
                    act = actor.dist(obs_in).sample()
                else:
                    act = mean_action(actor, obs_in)
            obs, rew, term, trunc, info = env.step(actor.to_env(act)[0])
            done = term or trunc
            episode_return += float(rew)
            length += 1
            steps_taken += 1
            if args.gif and steps_taken <= args.steps and steps_taken % args.every == 0:
                seen["frames"].append(env.render())
            if "x_velocity" in info:
                seen["velocity"].append(float(info["x_velocity"]))
            if height_at is not None:
                seen["height"].append(float(env.unwrapped.data.qpos[height_at]))
            if angle_at is not None:
                seen["angle"].append(float(env.unwrapped.data.qpos[angle_at]))
        seen["returns"].append(episode_return)
        seen["lengths"].append(length)
    return seen


def mean_or_na(values, fmt):
    if not values:
        return "n/a"
    return fmt.format(sum(values) / len(values))


def report(path, ckpt, script, env_kwargs, args, seen):
    """What was watched: the model, the env and its settings, the episodes and the behaviour."""
    import numpy as np

    saved = ckpt["env_kwargs"]
    settings = "".join(f" {key}={value}" for key, value in env_kwargs.items())
    episodes = len(seen["returns"])
    plural = "s" if episodes > 1 else ""
    acting = "sampled actions" if args.sample else "the mean action"
    played = f"{ckpt['algo']} on {ckpt['env']}{settings}"
    print(f"{path}: {played}, {episodes} episode{plural} of {acting}")
    if os.path.basename(script.__file__) != f"{ckpt['algo']}.py":
        print(f"  saved by {ckpt['algo']}.py, played by {script.__file__}")
    # Settings given here that differ from training's, or that training left unset.
    changed = [key for key in env_kwargs if key not in saved or saved[key] != env_kwargs[key]]
    if changed:
        trained = []
        for key in changed:
            if key in saved:
                trained.append(f"{key}={saved[key]}")
            else:
                trained.append(f"{key} unset")
        watched = [f"{key}={env_kwargs[key]}" for key in changed]
        print(f"  trained with {', '.join(trained)}, watched with {', '.join(watched)}")
    returns = seen["returns"]
    lengths = seen["lengths"]
    spread = f"return {np.mean(returns):,.1f} +- {np.std(returns):,.1f}"
    print(f"  {spread}, length {np.mean(lengths):,.0f} +- {np.std(lengths):,.0f}")
    if seen["velocity"] or seen["height"] or seen["angle"]:
        # cos: an angle that has wound past pi counts where it points.
        on_back = [float(np.cos(a) < np.cos(TURNED)) for a in seen["angle"]]
        velocity = mean_or_na(seen["velocity"], "{:+.2f} m/s")
        height = mean_or_na(seen["height"], "{:.2f} m")
        angle = mean_or_na(seen["angle"], "{:+.2f} rad")
        share_on_back = mean_or_na(on_back, "{:.0%} of steps")
        behaviour = f"forward velocity {velocity}, torso height {height}, torso angle {angle}"
        print(f"  {behaviour}, on its back (turned > {TURNED:.0f} rad) {share_on_back}")


def save_gif(frames, out, args, fps):
    from PIL import Image

    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        # Envs without the track camera render at their own size.
        image.thumbnail((args.width, args.height))
        # Half a GIF's palette: a third smaller, looks the same.
        images.append(image.quantize(colors=128))
    # GIFs count time in 1/100 s, and browsers play frames under 2/100 s at 1/10 s:
    # real time where possible.
    duration = max(20, 10 * round(100 * args.every / fps))
    images[0].save(
        out,
        save_all=True,
        append_images=images[1:],
        duration=duration,
        loop=0,
        optimize=True,
    )
    megabytes = os.path.getsize(out) / 1e6
    print(f"  wrote {out}: {len(images)} frames, {duration} ms each, {megabytes:.2f} MB")


def main(argv=None):
    args = parse_args(argv)
    headless = is_headless()
    if args.render and headless:
        fail("--render needs a display; without one, use --video or --gif")
    # Before MuJoCo is imported: its default, GLFW, needs a display. A MUJOCO_GL of the
    # user's own (osmesa, say) stays.
    if headless:
        os.environ.setdefault("MUJOCO_GL", "egl")
    if args.video and importlib.util.find_spec("moviepy") is None:
        fail("--video needs the optional package moviepy: pip install moviepy")
    if args.gif and importlib.util.find_spec("PIL") is None:
        fail("--gif needs the optional package pillow: pip install pillow")
    path, ckpt, script = load(args)
    import torch

    env_id = ckpt["env"]
    env_kwargs = dict(ckpt["env_kwargs"])
    # --env-kwargs override the saved settings, read as the script reads its own
    for pair in args.env_kwargs:
        try:
            key, value = script.env_setting(pair)
        except argparse.ArgumentTypeError as e:
            fail(f"--env-kwargs {e}")
        env_kwargs[key] = value
    # the script's check: one env made and stepped; a bad setting shows the env's own error
    script.check_env(env_id, env_kwargs)
    out = out_path(args, path)
    mode = render_mode(args)
    env = open_env(script, env_id, env_kwargs, mode, args)
    # The GIF's folder, made as RecordVideo makes the videos' (no file is written before the
    # episodes end).
    if args.gif:
        make_folder(os.path.dirname(os.path.abspath(out)))
    if args.video:
        from gymnasium.wrappers import RecordVideo

        env = RecordVideo(
            env,
            out,
            name_prefix="watch",
            episode_trigger=lambda episode: True,
            disable_logger=True,
        )
    obs_dim = env.observation_space.shape[0]
    actor = script.Actor(obs_dim, env.action_space, ckpt["hidden"])
    # Another script's network, or another env's sizes.
    try:
        actor.load_state_dict(ckpt["actor"])
    except RuntimeError as e:
        fail(f"{script.__file__} cannot load {path}: {first_line(e)}")
    # The statistics training ended with, frozen: never updated here.
    obs_norm = script.RunningNorm(env.observation_space.shape)
    obs_norm.mean = ckpt["obs_mean"].numpy()
    obs_norm.var = ckpt["obs_var"].numpy()
    # --sample draws the same actions every time.
    torch.manual_seed(args.seed)
    if args.episodes is not None:
        episodes = args.episodes
    elif mode is None:
        episodes = EPISODES
    else:
        episodes = EPISODES_FILMED
    seen = play(env, actor, obs_norm, args, episodes)
    # Closing writes the last video.
    env.close()
    report(path, ckpt, script, env_kwargs, args, seen)
    if args.video:
        print(f"  videos in {out}")
    if args.gif:
        fps = env.metadata.get("render_fps", 30)
        save_gif(seen["frames"], out, args, fps)


if __name__ == "__main__":
    main()
