"""A saved policy as an animated GIF, small enough to share (Walker2d at the defaults: about 0.7 MB).

Plays model.pt as benchmarks/behaviour.py does (the mean action, in the env it was trained on: id and env_kwargs,
built by the script's make_env) for --steps steps, an episode that ends followed by the next, and keeps every
--every-th frame. MuJoCo envs with a camera named "track" (Walker2d, Hopper, HalfCheetah, Ant, Humanoid) are
filmed through it: it follows the body, which the default camera loses after a few meters. Needs Pillow (moviepy
installs it). Headless MuJoCo needs an OpenGL backend: MUJOCO_GL=egl (Mesa's, on a machine without a GPU too).
Run: MUJOCO_GL=egl python benchmarks/gif.py runs/Walker2d-v4__ppo__1__1700000000/model.pt
"""

import argparse
import importlib.util
import os
import sys

from behaviour import first_line, load, make_env, policy


def fail(msg):
    print(f"gif.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def has_track_camera(env):
    """A gymnasium MuJoCo env whose model defines a camera named "track" (it follows the centre of mass)."""
    if not hasattr(env.unwrapped, "mujoco_renderer"):
        return False
    import mujoco  # only MuJoCo envs get here

    return mujoco.mj_name2id(env.unwrapped.model, mujoco.mjtObj.mjOBJ_CAMERA, "track") != -1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a model.pt saved by the scripts")
    p.add_argument("--out", default=None, help="the GIF (default: the model's path with .gif)")
    p.add_argument("--steps", type=int, default=300, help="env steps to film (default: 300)")
    p.add_argument("--every", type=int, default=3, help="keep every k-th frame (default: 3)")
    p.add_argument("--width", type=int, default=240, help="frame width in pixels (default: 240)")
    p.add_argument("--height", type=int, default=180, help="frame height in pixels (default: 180)")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the first episode, +1 for each next (default: 0)")
    args = p.parse_args(argv)
    for name in ("steps", "every", "width", "height"):
        if getattr(args, name) <= 0:
            fail(f"--{name} must be positive, got {getattr(args, name)}")
    if importlib.util.find_spec("PIL") is None:
        fail("needs the package Pillow: pip install pillow")
    from PIL import Image

    out = args.out or os.path.splitext(args.model)[0] + ".gif"
    try:
        ckpt, script = load(args.model)
    except Exception as e:  # missing, unreadable, or not a checkpoint of these scripts
        fail(f"cannot load {args.model}: {first_line(e)}")
    try:
        env = make_env(script, ckpt, render_mode="rgb_array")
        if has_track_camera(env):  # rebuilt to film through it, at the GIF's size
            env.close()
            env = make_env(script, ckpt, "rgb_array", camera_name="track", width=args.width, height=args.height)
        obs, _ = env.reset(seed=args.seed)
        frames = [env.render()]
    except Exception as e:  # no OpenGL context, an unknown env, or bad env_kwargs
        fail(f"cannot render {ckpt['env']}: {first_line(e)} (headless MuJoCo needs MUJOCO_GL=egl)")
    act = policy(script, ckpt, env)
    episodes = 1
    for step in range(1, args.steps + 1):
        obs, _, term, trunc, _ = env.step(act(obs))
        if term or trunc:
            obs, _ = env.reset(seed=args.seed + episodes)
            episodes += 1
        if step % args.every == 0:
            frames.append(env.render())
    env.close()
    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        image.thumbnail((args.width, args.height))  # envs without the track camera render at their own size
        images.append(image.quantize(colors=128))  # half a GIF's palette: a third smaller, looks the same
    # GIFs count time in 1/100 s, and browsers play frames under 2/100 s at 1/10 s: real time where possible
    duration = max(20, 10 * round(100 * args.every / env.metadata.get("render_fps", 30)))
    images[0].save(out, save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=True)
    print(
        f"wrote {out}: {len(images)} frames of {args.steps} steps ({episodes} episodes), "
        f"{duration} ms each, {os.path.getsize(out) / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
