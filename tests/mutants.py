"""Does each test still bite? Applies each break below alone to a scratch copy of the repo (to every
file that has the text), runs the fast tests named on the command line there, and says whether
any failed. The breaks are the ones of tests/README.md; a break whose text the code no longer
has says EDIT NOT APPLIED: update its text. Takes a few minutes.
Run: python tests/mutants.py tests/test_promises.py tests/test_env.py tests/test_rollout.py
"""

import os
import shutil
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BREAKS = {
    "1-no-save-on-interrupt": (
        "*",
        """        print(f"{ALGO}: interrupted at step {step}; run saved in {self.dir}")
        save_model(os.path.join(self.dir, "model.pt"), self.args, actor, obs_norm)""",
        """        print(f"{ALGO}: interrupted at step {step}; run saved in {self.dir}")""",
    ),
    "2-save-in-place": (
        "*",
        """    torch.save(model, path + ".tmp")
    os.replace(path + ".tmp", path)""",
        """    torch.save(model, path)""",
    ),
    "3-zero-accepted": ("*", "    if number(text, int) <= 0:", "    if number(text, int) < 0:"),
    "4-run-check-summary": (
        "*",
        'if os.path.exists(os.path.join(self.dir, "config.json")):',
        'if os.path.exists(os.path.join(self.dir, "summary.json")):',
    ),
    "5-const-env-seed": ("*", "obs, _ = envs.reset(seed=args.seed)", "obs, _ = envs.reset(seed=1)"),
    "6-eval-same-seed": ("*", "obs, _ = env.reset(seed=args.seed + ep)", "obs, _ = env.reset(seed=args.seed)"),
    "7-a2c-no-clip": (
        "a2c.py",
        "    nn.utils.clip_grad_norm_(list(actor.parameters()) + list(critic.parameters()), max_grad_norm)\n",
        "",
    ),
    "8-ppo-anneal-up": (
        "ppo.py",
        "remaining = 1 - (global_step - T * N) / args.total_steps",
        "remaining = global_step / args.total_steps",
    ),
    "9-no-return-reset": ("*", "                ep_ret[done] = 0.0\n", ""),
    "10-mask-all": ("*", "mask = torch.stack(keep_buf)", "mask = torch.ones_like(torch.stack(keep_buf))"),
    "11-eval-updates-stats": (
        "*",
        "            obs, rew, term, trunc, _ = env.step(actor.to_env(act)[0])\n",
        "            obs, rew, term, trunc, _ = env.step(actor.to_env(act)[0])\n"
        "            obs_norm.update(obs[None])\n",
    ),
    "18-eval-ignores-stats": (
        "*",
        '    obs_norm.mean, obs_norm.var = ckpt["obs_mean"].numpy(), ckpt["obs_var"].numpy()\n',
        "",
    ),
    "a-a2c-no-value-loss": (
        "a2c.py",
        "(loss_pi + vf_coef * loss_v - ent_coef * ent).backward()",
        "(loss_pi - ent_coef * ent).backward()",
    ),
    "b-ppo-ret-from-norm-adv": (
        "ppo.py",
        "            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)  # normalized per batch\n",
        "            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)  # normalized per batch\n"
        "            b_ret = b_adv + v.flatten()\n",
    ),
    "c-no-track-camera": (
        "*",
        """not {"camera_id", "camera_name"} & set(env_kwargs):""",
        """not {"camera_id", "camera_name"} & set(env_kwargs) and False:""",
    ),
    "d-env-kwargs-not-saved": ("*", """        "env_kwargs": args.env_kwargs,\n""", ""),
}
tests = sys.argv[1:] or ["tests/test_promises.py"]
for name, (target, a, b) in BREAKS.items():
    d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mutants", name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(SRC, d, ignore=shutil.ignore_patterns(".venv", ".git", "benchmarks"))
    files = [f for f in os.listdir(d) if f.endswith(".py")] if target == "*" else [target]
    n = 0
    for f in files:
        p = os.path.join(d, f)
        s = open(p).read()
        n += s.count(a)
        open(p, "w").write(s.replace(a, b))
    if n == 0:
        print(f"{name}: EDIT NOT APPLIED")
        continue
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", "-n", "2", *tests],
        cwd=d,
        capture_output=True,
        text=True,
    )
    failed = [l.split(" - ")[0].replace("FAILED ", "") for l in res.stdout.splitlines() if l.startswith("FAILED")]
    caught = ", ".join(sorted(set(f.split("[")[0] for f in failed)))
    print(f"{name} ({n} edits): {'CAUGHT by ' + caught if failed else 'NOT CAUGHT'}", flush=True)
    shutil.rmtree(d, ignore_errors=True)
