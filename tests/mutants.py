"""Does each test still bite? Applies each break below alone to a scratch copy of the repo, runs the
semantic fast tests there (every tests/test_*.py but test_numbers.py, test_diff.py and test_style.py,
which fail on any change at all, with -m "not slow"), and reports the tests that failed, with the
parameters they failed for: a break is CAUGHT when one of them fails, and not in an unbroken copy,
which runs first as a control. A break is one or more edits (target, text, replacement); a target
is "*" (each of the six scripts that has the text) or a path in the repo ("a2c.py", "tools/watch.py").
An edit whose text the target no longer has says EDIT NOT APPLIED: update its text. The breaks are
the ones of tests/README.md's table. Takes about three minutes a break on 2 cores; --list runs no
test: it names each break and the number of places its edits apply here (or EDIT NOT APPLIED).
Run: python tests/mutants.py [--list] [--break NAME ...] [TEST_FILE ...]
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ["simple_pg.py", "rtg_pg.py", "vpg.py", "a2c.py", "trpo.py", "ppo.py"]
NOT_SEMANTIC = ("test_numbers.py", "test_diff.py", "test_style.py")  # they fail on any change at all
RETURN_SUMS = """                # episode statistics use the raw rewards, before any scaling
                ep_ret = ep_ret + rew
                ended_rets.extend(ep_ret[done])
                ep_ret[done] = 0.0
                rew = rew_scale(rew, term, done)
"""
BREAKS = {
    # ------------------------------- saving -------------------------------
    "no-save-on-interrupt": [("*", "    run.save(actor, obs_norm)\n    try:\n", "    try:\n")],
    "save-in-place": [
        (
            "*",
            '        torch.save(model, os.path.join(self.dir, "model.tmp"))\n'
            '        os.replace(os.path.join(self.dir, "model.tmp"), os.path.join(self.dir, "model.pt"))\n',
            '        torch.save(model, os.path.join(self.dir, "model.pt"))\n',
        )
    ],
    "env-kwargs-not-saved": [
        (
            "*",
            "model = dict(algo=ALGO, env=self.args.env, env_kwargs=self.args.env_kwargs)",
            "model = dict(algo=ALGO, env=self.args.env, env_kwargs={})",
        )
    ],
    # ----------------------------- bad input -----------------------------
    "zero-accepted": [
        (
            "*",
            'checked(int, lambda x: x > 0, "a whole number > 0")',
            'checked(int, lambda x: x >= 0, "a whole number > 0")',
        ),
        ("*", 'checked(float, lambda x: x > 0, "positive")', 'checked(float, lambda x: x >= 0, "positive")'),
    ],
    "log-std-start-any-float": [("ppo.py", "type=number, default=-0.5", "type=float, default=-0.5")],
    "a2c-abbreviations": [("a2c.py", "p.allow_abbrev = False", "p.allow_abbrev = True")],
    "batch-of-one-accepted": [
        (
            "*",
            "    if args.num_steps * args.num_envs < 2:\n"
            '        p.error("--num-steps x --num-envs must be at least 2: a batch of one has no std")\n',
            "",
        )
    ],
    "unit-open-at-0": [
        ("*", 'checked(float, lambda x: 0 <= x <= 1, "in [0, 1]")', 'checked(float, lambda x: 0 < x <= 1, "in [0, 1]")')
    ],
    "run-check-summary": [
        (
            "*",
            "        if os.listdir(self.dir):\n",
            '        if os.path.exists(os.path.join(self.dir, "summary.json")):\n',
        )
    ],
    # ------------------------------- defaults -------------------------------
    "a2c-lam-default": [("a2c.py", '"--lam", type=unit, default=1.0,', '"--lam", type=unit, default=0.95,')],
    "ppo-num-steps-default-and-help": [
        ("ppo.py", 'default=512, help="steps per env per rollout"', 'default=256, help="steps per env per rollout"')
    ],
    # ------------------------------- console -------------------------------
    "time-left-in-seconds": [
        (
            "*",
            "minutes_left = max(total - step, 0) * elapsed / step / 60",
            "minutes_left = max(total - step, 0) * elapsed / step",
        )
    ],
    # ------------------------------- seeding -------------------------------
    "const-env-seed": [("*", "obs, _ = envs.reset(seed=args.seed)", "obs, _ = envs.reset(seed=1)")],
    # ------------------------------- watching -------------------------------
    "watch-same-seed": [
        ("tools/watch.py", "obs, _ = env.reset(seed=args.seed + episode)", "obs, _ = env.reset(seed=args.seed)")
    ],
    "watch-updates-stats": [
        (
            "tools/watch.py",
            "            obs, rew, term, trunc, info = env.step(actor.to_env(act)[0])\n",
            "            obs, rew, term, trunc, info = env.step(actor.to_env(act)[0])\n"
            "            obs_norm.update(obs[None])\n",
        )
    ],
    "watch-ignores-stats": [
        (
            "tools/watch.py",
            '    obs_norm.mean = ckpt["obs_mean"].numpy()\n    obs_norm.var = ckpt["obs_var"].numpy()\n',
            "",
        )
    ],
    "watch-no-track-camera": [
        ("tools/watch.py", "    if not is_mujoco or names_a_camera:", "    if True:"),
    ],
    "watch-gif-folder-not-made": [
        ("tools/watch.py", "        make_folder(os.path.dirname(os.path.abspath(out)))\n", "        pass\n"),
    ],
    "watch-gif-into-a-folder": [
        ("tools/watch.py", "    if args.gif and os.path.isdir(out):", "    if False:"),
    ],
    "watch-unset-setting-not-reported": [
        (
            "tools/watch.py",
            "if key not in saved or saved[key] != env_kwargs[key]]",
            "if saved.get(key, env_kwargs[key]) != env_kwargs[key]]",
        ),
    ],
    "watch-films-five-episodes": [
        ("tools/watch.py", "        episodes = EPISODES_FILMED\n", "        episodes = EPISODES\n"),
    ],
    "watch-seeds-ignore-seed": [
        ("tools/watch.py", "obs, _ = env.reset(seed=args.seed + episode)", "obs, _ = env.reset(seed=episode)"),
    ],
    "watch-torso-swapped": [
        ("tools/watch.py", 'TORSO_HEIGHT = {"Walker2d": 1,', 'TORSO_HEIGHT = {"Walker2d": 2,'),
        ("tools/watch.py", 'TORSO_ANGLE = {"Walker2d": 2,', 'TORSO_ANGLE = {"Walker2d": 1,'),
    ],
    "watch-repo-script-first": [
        (
            "tools/watch.py",
            "for candidate in [name, os.path.join(ROOT, name)]:",
            "for candidate in [os.path.join(ROOT, name), name]:",
        ),
    ],
    "watch-mujoco-gl-overwritten": [
        ("tools/watch.py", 'os.environ.setdefault("MUJOCO_GL", "egl")', 'os.environ["MUJOCO_GL"] = "egl"'),
    ],
    "watch-own-env-bug-one-line": [
        (
            "tools/watch.py",
            "    script.check_env(env_id, env_kwargs)\n",
            "    try:\n        script.check_env(env_id, env_kwargs)\n"
            "    except Exception as e:\n        fail(f'cannot make env {env_id}: {first_line(e)}')\n",
        ),
    ],
    "watch-settings-split-at-the-equals-sign": [
        ("tools/watch.py", "key, value = script.env_setting(pair)", 'key, _, value = pair.partition("=")'),
    ],
    "watch-script-bug-one-line": [
        (
            "tools/watch.py",
            "    spec.loader.exec_module(script)\n",
            "    try:\n        spec.loader.exec_module(script)\n    except Exception as e:\n"
            '        fail(f"cannot load the script {script_file}: {first_line(e)}")\n',
        ),
    ],
    # ------------------------------- rollouts -------------------------------
    "no-return-reset": [("*", "                ep_ret[done] = 0.0\n", "")],
    "dropped-return-carried": [
        (
            "*",
            "                ep_ret[:] = 0.0\n                rew_scale.reset()\n",
            "                rew_scale.reset()\n",
        )
    ],
    "logged-episodes-out-of-the-batch": [
        ("*", "ended_rets.extend(ep_ret[done & keep])", "ended_rets.extend(ep_ret[done])")
    ],
    "return-first-100": [
        (
            "*",
            "        self.last_100.extend(ended_rets)\n",
            "        self.last_100.extend(ended_rets[: 100 - len(self.last_100)])\n",
        )
    ],
    "return-from-scaled-rewards": [
        (
            "*",
            sums,
            "".join(sums.splitlines(keepends=True)[i] for i in (4, 0, 1, 2, 3)),  # summed after the scaling
        )
        # the critic-free files log only the batch's episodes
        for sums in (RETURN_SUMS, RETURN_SUMS.replace("ep_ret[done])", "ep_ret[done & keep])"))
    ],
    "reward-scale-by-var": [
        (
            "*",
            "return np.clip(rew / np.sqrt(self.ret_norm.var + 1e-8), -10, 10)",
            "return np.clip(rew / (self.ret_norm.var + 1e-8), -10, 10)",
        )
    ],
    "loss-on-clipped-action": [
        (
            "*",
            "                act_buf.append(act)\n",
            "                act_buf.append(torch.as_tensor(actor.to_env(act), device=device))\n",
        )
    ],
    "mask-all": [("*", "mask = torch.stack(keep_buf)", "mask = torch.ones_like(torch.stack(keep_buf))")],
    "batch-cut-at-edge": [("*", "                    keep &= ~done\n", "                    keep[:] = False\n")],
    "obs-clip-5": [
        ("*", "return np.clip(x, -10, 10).astype(np.float32)", "return np.clip(x, -5, 5).astype(np.float32)")
    ],
    # ------------------------------ weights Phi_t ------------------------------
    "rtg-past-episode-end": [("*", "acc = rew[t] + gamma * (1 - done[t]) * acc", "acc = rew[t] + gamma * acc")],
    "adv-not-centred": [
        ("*", "b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)", "b_adv = adv.flatten() / (adv.std() + 1e-8)")
    ],
    # ------------------------------- updates -------------------------------
    "a2c-no-clip": [("a2c.py", "    nn.utils.clip_grad_norm_(params, args.max_grad_norm)\n", "")],
    "ppo-no-clip": [("ppo.py", "            nn.utils.clip_grad_norm_(actor.parameters(), args.max_grad_norm)\n", "")],
    "ppo-anneal-up": [
        (
            "ppo.py",
            "remaining = 1 - (update - 1) * T * num_envs / args.total_steps",
            "remaining = (update - 1) * T * num_envs / args.total_steps",
        )
    ],
    "anneal-zero-an-update-early": [
        (
            "*",
            "remaining = 1 - (update - 1) * T * num_envs / args.total_steps",
            "remaining = 1 - update * T * num_envs / args.total_steps",
        )
    ],
    "trpo-delta-not-annealed": [("trpo.py", "max_kl = remaining * args.delta", "max_kl = args.delta")],
    "value-no-reshuffle": [
        (
            "*",
            """    for _ in range(iters):
        for idx in torch.randperm(len(b_obs)).tensor_split(num_minibatches):""",
            """    perm = torch.randperm(len(b_obs))
    for _ in range(iters):
        for idx in perm.tensor_split(num_minibatches):""",
        )
    ],
    "ppo-no-reshuffle": [
        (
            "ppo.py",
            "    for _ in range(args.update_epochs):\n"
            "        epochs += 1\n"
            "        for idx in torch.randperm(len(b_obs)).tensor_split(args.num_minibatches):",
            "    perm = torch.randperm(len(b_obs))\n"
            "    for _ in range(args.update_epochs):\n"
            "        epochs += 1\n"
            "        for idx in perm.tensor_split(args.num_minibatches):",
        )
    ],
    "a2c-no-value-loss": [
        (
            "a2c.py",
            "(loss_pi + args.vf_coef * loss_v - args.ent_coef * ent).backward()",
            "(loss_pi - args.ent_coef * ent).backward()",
        )
    ],
    "a2c-entropy-sign": [
        (
            "a2c.py",
            "(loss_pi + args.vf_coef * loss_v - args.ent_coef * ent).backward()",
            "(loss_pi + args.vf_coef * loss_v + args.ent_coef * ent).backward()",
        )
    ],
    "ppo-ret-from-norm-adv": [
        (
            "ppo.py",
            "            b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)\n",
            "            b_adv = (adv.flatten() - adv.mean()) / (adv.std() + 1e-8)\n"
            "            b_ret = b_adv + v.flatten()\n",
        )
    ],
    "ppo-kl-k1": [("ppo.py", "kl = (log_r.exp() - 1 - log_r).mean().item()", "kl = (-log_r).mean().item()")],
    "ppo-target-kl-k1": [
        (
            "ppo.py",
            "        if args.target_kl is not None and kl > args.target_kl:",
            "        if args.target_kl is not None and (-log_r).mean().item() > args.target_kl:",
        )
    ],
    "vpg-vf-iters-ignored": [
        (
            "vpg.py",
            "update_value(critic, vf_opt, b_obs, b_ret, args.vf_iters, args.num_minibatches)",
            "update_value(critic, vf_opt, b_obs, b_ret, 1, args.num_minibatches)",
        )
    ],
    "trpo-damping-ignored": [("trpo.py", "+ args.damping * v", "+ 0.1 * v")],
    # --------------------------- final observations ---------------------------
    "final-obs-at-terminations-only": [
        (
            "*",
            """                if done.any():
                    next_obs[done] = np.stack(info["final_obs"][done])""",
            """                if term.any():
                    next_obs[term] = np.stack(info["final_obs"][term])""",
        )
    ],
    "explained-var-plus": [("*", "(b_ret - v.flatten()).var()", "(b_ret + v.flatten()).var()")],
    # ------------------------------- tools -------------------------------
    "plot-mean-of-rows": [
        (
            "tools/plot.py",
            'recent.extend([float(r["return_mean"])] * int(r["episodes"]))',
            'recent.append(float(r["return_mean"]))',
        )
    ],
    "plot-no-matplotlib-check": [
        (
            "tools/plot.py",
            """    if importlib.util.find_spec("matplotlib") is None:
        fail("plotting needs the optional package matplotlib: pip install matplotlib")
""",
            "",
        )
    ],
    "backward-walker-pays-forward": [
        (
            "examples/backward_walker.py",
            'rew = rew - info["reward_forward"] - info["x_velocity"]',
            'rew = rew - info["reward_forward"] + info["x_velocity"]',
        )
    ],
    "table-goal-over-3-seeds": [("benchmarks/table.py", "if len(v) >= 3:", "if len(v) > 3:")],
    # ------------------------- paths a student takes -------------------------
    "logdir-with-other-files-accepted": [("*", "        if os.listdir(self.dir):\n", "        if False:\n")],
    "final-save-of-a-cut-update": [("*", "    run.finish()\n", "    run.save(actor, obs_norm)\n    run.finish()\n")],
    "run-directory-without-settings": [
        ("*", 'given = [f"{key}={value}" for key, value in args.env_kwargs.items()]', "given = []")
    ],
    "missing-equals-read-as-empty": [("*", "if not equals or value.lower() in", "if value.lower() in")],
    "boolean-word-taken-as-a-string": [
        ("*", 'if not equals or value.lower() in ["no", "off", "false", "yes", "on", "true"]:', "if not equals:")
    ],
    "own-env-bug-one-line": [
        (
            "*",
            "        check_env(args.env, args.env_kwargs)\n",
            "        try:\n            check_env(args.env, args.env_kwargs)\n        except Exception as e:\n"
            '            sys.exit(f"{ALGO}: cannot make env {args.env}: {e}")\n',
        )
    ],
    "check-without-the-settings": [
        (
            "*",
            "    env = make_env(env_id, env_kwargs)\n    env.reset(seed=0)\n",
            "    env = make_env(env_id, {})\n    env.reset(seed=0)\n",
        )
    ],
    "check-without-a-step": [("*", "    env.step(env.action_space.sample())\n    env.close()\n", "    env.close()\n")],
    "settings-read-as-json": [("*", "value = ast.literal_eval(value)", "value = json.loads(value)")],
    "check-after-the-run-directory-is-made": [
        ("*", "        check_env(args.env, args.env_kwargs)\n        self.args = args\n", "        self.args = args\n"),
        (
            "*",
            "        os.makedirs(self.dir, exist_ok=True)\n",
            "        os.makedirs(self.dir, exist_ok=True)\n        check_env(args.env, args.env_kwargs)\n",
        ),
    ],
    # ------------------------- the gradient estimators -------------------------
    "rtg-is-r-tau": [
        (
            "rtg_pg.py",
            "        ret[t] = acc\n    return ret\n",
            "        ret[t] = acc\n    for t in range(1, len(rew)):\n"
            "        ret[t] = torch.where(done[t - 1] > 0, ret[t], ret[t - 1])\n    return ret\n",
        )
    ],
    "gradients-no-baseline": [
        (
            "tools/gradients.py",
            'out["rtg - V"] = gae(rew, v, v_next, done, done, gamma, 1.0)',
            'out["rtg - V"] = gae(rew, 0 * v, 0 * v_next, done, done, gamma, 1.0)',
        )
    ],
    "gae-lam-ignored": [("vpg.py", "gamma * lam * (1 - done[t]) * acc", "gamma * (1 - done[t]) * acc")],
    "keep-models-every-update": [("tools/keep_models.py", 'if step < marks["next"]:', "if False:")],
    # ------------------------- tools/gradients.py's numbers -------------------------
    "gradients-relvar-over-k": [("tools/gradients.py", "/ (len(g) - 1)", "/ len(g)")],
    "gradients-v-not-scaled-back": [("tools/gradients.py", "return critic(obs) * scale", "return critic(obs)")],
    "gradients-a2c-row-takes-a-lam": [
        (
            "tools/gradients.py",
            'out["a2c n-step - V"] = a2c(rew, v, v_next, done, cut_done, gamma, 1.0)',
            'out["a2c n-step - V"] = a2c(rew, v, v_next, done, cut_done, gamma, lams[-1])',
        )
    ],
    "gradients-sweep-one-size": [
        (
            "tools/gradients.py",
            "one = measure(mods, actor, pool, ladder_weights, size)",
            "one = measure(mods, actor, pool, ladder_weights, args.batch_steps)",
        )
    ],
    "gradients-bias-against-r-tau": [("tools/gradients.py", 'ref = grads["reward-to-go"]', 'ref = grads["R(tau)"]')],
    "gradients-reference-noise-not-rooted": [
        ("tools/gradients.py", 'noise = (ref / result["K"]) ** 0.5', 'noise = ref / result["K"]')
    ],
    "gradients-syntax-error-line-lost": [("tools/gradients.py", "if isinstance(e, SyntaxError):", "if False:")],
    "gradients-split-keeps-the-rest": [
        (
            "tools/gradients.py",
            "    return batches\n",
            "    if cols:\n        batches.append(cols)\n    return batches\n",
        )
    ],
    "gradients-jackknife-without-factor": [
        (
            "tools/gradients.py",
            "se = ((K - 1) / K * ((loo - loo.mean()) ** 2).sum()) ** 0.5",
            "se = (((loo - loo.mean()) ** 2).sum()) ** 0.5",
        )
    ],
    "gradients-cos-to-the-mean-of-all": [
        ("tools/gradients.py", "others = (G.sum(0) - G) / (K - 1)", "others = G.mean(0).expand_as(G)")
    ],
    # ------------------ tools/gradients.py's exact part, on the tiny MDP ------------------
    "exact-prob-without-transition": [
        (
            "tools/tiny_mdp.py",
            "prob = prob * pi[s[t], a[t]] * P[s[t], a[t], s[t + 1]]",
            "prob = prob * pi[s[t], a[t]]",
        )
    ],
    "exact-score-without-pi": [("tools/tiny_mdp.py", "np.eye(A)[a[t]] - pi[s[t]]", "np.eye(A)[a[t]]")],
    "exact-v-next-is-v": [
        (
            "tools/gradients.py",
            'return [torch.tensor(traj["rew"]), v_all[:-1], v_all[1:], done]',
            'return [torch.tensor(traj["rew"]), v_all[:-1], v_all[:-1], done]',
        )
    ],
    "exact-unbiased-within-1": [("tools/gradients.py", "UNBIASED = 1e-6", "UNBIASED = 1.0")],
    "exact-variance-not-centred": [
        ("tools/gradients.py", "((g - mean) ** 2).sum(1) for g in gs)", "(g**2).sum(1) for g in gs)")
    ],
    "exact-mixing-unchecked": [
        (
            "tools/gradients.py",
            "mixes = mixes or not torch.allclose(one[:, 0], w[:, n], atol=1e-9)",
            "mixes = False",
        )
    ],
    "phi-lam-always-1": [("tools/gradients.py", "    if found is None:\n        return 1.0\n", "    return 1.0\n")],
    # ------------------------------- edges -------------------------------
    "keep-models-copy-before-log": [
        (
            "tools/keep_models.py",
            '        log(self, update, step, *rest)\n        if step < marks["next"]:\n            return\n',
            '        if step < marks["next"]:\n            return log(self, update, step, *rest)\n',
        ),
        (
            "tools/keep_models.py",
            '        marks["next"] = (step // args.every + 1) * args.every\n',
            '        marks["next"] = (step // args.every + 1) * args.every\n        log(self, update, step, *rest)\n',
        ),
    ],
    "keep-models-every-0-accepted": [
        ("tools/keep_models.py", "if not text.isdigit() or int(text) == 0:", "if not text.isdigit():")
    ],
    "nan-row-only-when-due": [
        ("*", "step >= self.args.total_steps or not finite:\n", "step >= self.args.total_steps:\n")
    ],
    "slash-nests-run-directory": [("*", '.replace(" ", "").replace("/", "_")', '.replace(" ", "")')],
    "no-episode-return-nan": [
        (
            "*",
            "        mean = round(float(np.mean(self.last_100)), 2) if self.last_100 else None\n",
            "        mean = round(float(np.mean(self.last_100)), 2)\n",
        )
    ],
    "ppo-clips-log-ratio": [
        (
            "ppo.py",
            "clipped = torch.clamp(ratio, 1 - args.clip_ratio, 1 + args.clip_ratio)",
            "clipped = torch.exp(torch.clamp(logp - b_logp_old[idx], -args.clip_ratio, args.clip_ratio))",
        )
    ],
    "ppo-clip-frac-log-ratio": [
        (
            "ppo.py",
            "clip_frac = ((ratio - 1).abs() > args.clip_ratio).float().mean()",
            "clip_frac = ((logp - b_logp_old[idx]).abs() > args.clip_ratio).float().mean()",
        )
    ],
    "trpo-line-search-skips-the-full-step": [
        (
            "trpo.py",
            "for backtracks in range(args.backtrack_iters):",
            "for backtracks in range(1, args.backtrack_iters + 1):",
        )
    ],
    "a2c-value-loss-halved": [
        (
            "a2c.py",
            "    loss_v = ((critic(b_obs) - b_ret) ** 2).mean()",
            "    loss_v = 0.5 * ((critic(b_obs) - b_ret) ** 2).mean()",
        )
    ],
    "a2c-loss-v-times-vf-coef": [("a2c.py", '"loss_v": loss_v.item()}', '"loss_v": args.vf_coef * loss_v.item()}')],
    "critic-free-batch-full-past-batch-steps": [
        ("*", "if stored >= args.batch_steps:", "if stored > args.batch_steps:")
    ],
    "watch-on-its-back-by-abs-angle": [
        (
            "tools/watch.py",
            'on_back = [float(np.cos(a) < np.cos(TURNED)) for a in seen["angle"]]',
            'on_back = [float(abs(a) > TURNED) for a in seen["angle"]]',
        )
    ],
    "watch-first-line-saved-settings": [
        (
            "tools/watch.py",
            'settings = "".join(f" {key}={value}" for key, value in env_kwargs.items())',
            'settings = "".join(f" {key}={value}" for key, value in saved.items())',
        )
    ],
    "watch-gif-steps-per-episode": [
        (
            "tools/watch.py",
            "if args.gif and steps_taken <= args.steps and steps_taken % args.every == 0:",
            "if args.gif and length <= args.steps and length % args.every == 0:",
        )
    ],
    "watch-camera-id-gets-track": [
        (
            "tools/watch.py",
            'names_a_camera = "camera_id" in env_kwargs or "camera_name" in env_kwargs',
            'names_a_camera = "camera_name" in env_kwargs',
        )
    ],
    "plot-curve-held-past-its-end": [
        (
            "tools/plot.py",
            "return np.interp(grid, steps, means, left=np.nan, right=np.nan)",
            "return np.interp(grid, steps, means)",
        )
    ],
    # ---------------------- edges: breaks of one's own ----------------------
    "keep-models-next-from-step": [
        (
            "tools/keep_models.py",
            'marks["next"] = (step // args.every + 1) * args.every',
            'marks["next"] = step + args.every',
        )
    ],
    "keep-models-named-by-update": [("tools/keep_models.py", 'f"{step}.pt"', 'f"{update}.pt"')],
    "slash-replaced-in-the-env-id-only": [
        (
            "*",
            'name = "-".join([args.env] + given).replace(" ", "").replace("/", "_")',
            'name = "-".join([args.env.replace("/", "_")] + given).replace(" ", "")',
        )
    ],
    "no-episode-return-zero": [
        (
            "*",
            "        mean = round(float(np.mean(self.last_100)), 2) if self.last_100 else None\n",
            "        mean = round(float(np.mean(self.last_100)), 2) if self.last_100 else 0.0\n",
        )
    ],
    "ppo-clip-band-asymmetric": [
        (
            "ppo.py",
            "clipped = torch.clamp(ratio, 1 - args.clip_ratio, 1 + args.clip_ratio)",
            "clipped = torch.clamp(ratio, 1 / (1 + args.clip_ratio), 1 + args.clip_ratio)",
        )
    ],
    "critic-free-batch-ends-on-termination-only": [("*", "keep &= ~done", "keep &= ~term")],
    "critic-free-last-step-unkept": [
        (
            "*",
            "                keep_buf.append(torch.tensor(keep, device=device))\n"
            "                stored += keep.sum()\n"
            "                global_step += num_envs\n"
            "                if stored >= args.batch_steps:\n"
            "                    keep &= ~done\n",
            "                stored += keep.sum()\n"
            "                global_step += num_envs\n"
            "                if stored >= args.batch_steps:\n"
            "                    keep &= ~done\n"
            "                keep_buf.append(torch.tensor(keep, device=device))\n",
        )
    ],
    "a2c-clips-the-actor-only": [
        (
            "a2c.py",
            "    params = list(actor.parameters()) + list(critic.parameters())\n    nn.utils.clip_grad_norm_",
            "    params = list(actor.parameters())\n    nn.utils.clip_grad_norm_",
        )
    ],
    "watch-on-its-back-past-a-right-angle": [
        ("tools/watch.py", "float(np.cos(a) < np.cos(TURNED))", "float(np.cos(a) < 0)")
    ],
    "watch-gif-steps-open-end": [("tools/watch.py", "steps_taken <= args.steps and", "steps_taken < args.steps and")],
    "plot-band-without-nan": [("tools/plot.py", "np.nanmin(c, 0), np.nanmax(c, 0)", "np.min(c, 0), np.max(c, 0)")],
}


def copy_repo(d):
    """What the tests need: the scripts, tests/, tools/, examples/, models/ (test_watch plays one), the config
    files and benchmarks/*.py (test_tools imports generalize.py); not .venv, .git, runs or the benchmarks' runs."""
    shutil.rmtree(d, ignore_errors=True)
    skip = shutil.ignore_patterns(".venv", ".git", "benchmarks", "runs", "__pycache__", ".*_cache", "*.tmp")
    shutil.copytree(SRC, d, ignore=skip)
    os.makedirs(os.path.join(d, "benchmarks"))
    for f in glob.glob(os.path.join(SRC, "benchmarks", "*.py")):
        shutil.copy(f, os.path.join(d, "benchmarks"))


def apply(d, edits, write=True):
    """Apply the edits in d (only count where they apply, if not write); returns (edits made, the
    texts not found)."""
    made, missing = 0, []
    for target, old, new in edits:
        files = SCRIPTS if target == "*" else [target]
        n = 0
        for f in files:
            p = os.path.join(d, f)
            s = open(p).read()
            n += s.count(old)
            if write:
                open(p, "w").write(s.replace(old, new))
        made += n
        if n == 0:
            missing.append(f"{target}: {old.strip().splitlines()[0][:70]}")
    return made, missing


def failures(d, tests):
    """{test: [params]} of the tests that failed or errored in d (params empty if not parametrized)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", "-n", "2", *tests]
    res = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=3600)
    out = {}
    for line in res.stdout.splitlines():
        m = re.match(r"(FAILED|ERROR) (\S+?)(\[(.*)\])?( - |$)", line)
        if m:
            out.setdefault(m.group(2).replace("tests/", ""), []).append(m.group(4) or "")
    if res.returncode not in (0, 1) and not out:  # collection failed, or pytest itself did
        out["pytest exit code %d: %s" % (res.returncode, (res.stdout + res.stderr).strip().splitlines()[-1:])] = [""]
    return out


def describe(fails):
    """test[params], a test's cases; where there are more than three, the scripts they name and their number."""
    out = []
    for test, params in sorted(fails.items()):
        names = [s[:-3] for s in SCRIPTS if any(re.search(rf"(^|-){s[:-3]}(-|$)", p) for p in params)]
        if len(params) > 3 and names:
            out.append(f"{test}[{' '.join(names)}: {len(params)} cases]")
        elif any(params):
            out.append(f"{test}[{', '.join(sorted(params))}]")
        else:
            out.append(test)
    return ", ".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tests", nargs="*", help="test files (default: the semantic ones)")
    p.add_argument("--break", dest="only", action="append", choices=sorted(BREAKS), help="only this break")
    p.add_argument("--list", action="store_true", help="the breaks and where they apply; no test is run")
    args = p.parse_args()
    if args.list:
        missed = 0
        for name in args.only or BREAKS:
            made, missing = apply(SRC, BREAKS[name], write=False)
            where = f"{made} place{'s' * (made > 1)}"
            print(f"{name}: {'EDIT NOT APPLIED: ' + '; '.join(missing) if missing else where}")
            missed += bool(missing)
        sys.exit(1 if missed else 0)
    tests = args.tests or sorted(
        os.path.relpath(f, SRC)
        for f in glob.glob(os.path.join(SRC, "tests", "test_*.py"))
        if os.path.basename(f) not in NOT_SEMANTIC
    )
    root = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mutants")
    print(f"tests: {' '.join(tests)}", flush=True)
    d = os.path.join(root, "control")
    copy_repo(d)
    start = time.time()
    control = failures(d, tests)
    shutil.rmtree(d, ignore_errors=True)
    print(f"control, unbroken ({time.time() - start:.0f} s): {'FAILS ' + describe(control) if control else 'passes'}")
    missed = 0
    for name in args.only or BREAKS:
        d = os.path.join(root, name)
        copy_repo(d)
        made, missing = apply(d, BREAKS[name])
        if missing:
            print(f"{name}: EDIT NOT APPLIED: {'; '.join(missing)}", flush=True)
            missed += 1
            shutil.rmtree(d, ignore_errors=True)
            continue
        start = time.time()
        fails = {t: ps for t, ps in failures(d, tests).items() if t not in control}
        took = f"{made} edit{'s' * (made > 1)}, {time.time() - start:.0f} s"
        print(f"{name} ({took}): {'CAUGHT by ' + describe(fails) if fails else 'NOT CAUGHT'}", flush=True)
        missed += not fails
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(1 if missed or control else 0)


if __name__ == "__main__":
    main()
