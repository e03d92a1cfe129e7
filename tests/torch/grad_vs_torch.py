#!/usr/bin/python3
"""An independent PyTorch implementation of Gantry's GAN objectives, compared with `gantry grad`.

For each case: a .gan program, random parameters in nn.Linear's layout, a batch and the penalties' draws are
written as .npz files; PyTorch computes D's loss and gradient and G's (unrolled, penalised) loss and gradient
functionally (torch.autograd.grad with create_graph=True through the unrolled optimizer steps); `gantry grad`
computes the same from the files. The interpreter (double precision; its results are written as float32) must
agree with PyTorch in double precision to 1e-6, the JIT (float32) to 1e-4, relative in norm per array.

Usage: grad_vs_torch.py PATH/TO/gantry WORKDIR      (run with Debian's /usr/bin/python3 and python3-torch)
"""
import os
import subprocess
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
GANTRY, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
B, NZ, H = 6, 3, 5  # batch, noise dimension, hidden width
ACT = {"relu": torch.relu, "tanh": torch.tanh}


def mlp(params, net, acts, h):
    for i, act in enumerate(acts):
        h = h @ params[f"{net}.l{i}.weight"].T + params[f"{net}.l{i}.bias"]
        if act:
            h = ACT[act](h)
    return h


G_ACTS, D_ACTS = ["relu", "relu", None], ["tanh", "tanh", None]


def G(p, z):
    return mlp(p, "G", G_ACTS, z)


def D(p, x):
    return mlp(p, "D", D_ACTS, x)


def losses(family, real, fake):
    sp = torch.nn.functional.softplus
    if family == "nonsaturating":
        return sp(-real).mean() + sp(fake).mean(), sp(-fake).mean()
    if family == "minimax":
        # Zero-sum: G maximises D's loss, whose real term depends on G once D is unrolled (Metz et al.).
        value = sp(-real).mean() + sp(fake).mean()
        return value, -value
    if family == "wasserstein":
        return fake.mean() - real.mean(), -fake.mean()
    if family == "hinge":
        return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean(), -fake.mean()
    if family == "least_squares":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean(), 0.5 * ((fake - 1) ** 2).mean()
    raise ValueError(family)


def input_grad(p, at):
    return torch.autograd.grad(D(p, at).sum(), at, create_graph=True)[0]


def penalty(kind, hyper, p, x, fake, draws):
    if kind == "wgan_gp":
        a = draws["penalty.wgan_gp.a"]
        between = a * x + (1 - a) * fake
        return hyper["lambda"] * ((input_grad(p, between).norm(dim=1) - 1) ** 2).mean()
    if kind == "dragan":
        perturbed = x + hyper["c"] * x.std(unbiased=False) * draws["penalty.dragan.u"]
        between = x + draws["penalty.dragan.a"] * (perturbed - x)
        return hyper["lambda"] * ((input_grad(p, between).norm(dim=1) - hyper["k"]) ** 2).mean()
    if kind == "r1":
        # A fresh leaf, as torch code does: inside an unrolled objective θD^k itself depends on x (through the
        # earlier steps' penalties), and R1 is the partial derivative in x at fixed θD, not the total one.
        real = x.detach().requires_grad_()
        return hyper["gamma"] * (input_grad(p, real) ** 2).sum(dim=1).mean()
    if kind == "r2":
        return hyper["gamma"] * (input_grad(p, fake) ** 2).sum(dim=1).mean()
    raise ValueError(kind)


def d_loss(case, p, x, z, draws):
    fake = G(p, z)
    loss = losses(case["family"], D(p, x), D(p, fake))[0]
    for kind, hyper in case.get("penalties", {}).items():
        loss = loss + penalty(kind, hyper, p, x, fake, draws)
    return loss


def optimizer_step(opt, names, p, grads, state):
    """One functional step of torch.optim's rules, differentiable (no in-place updates)."""
    p, state = dict(p), dict(state)
    if opt["kind"] == "adam":
        t = state["D.adam.t"] + 1
        state["D.adam.t"] = t
        b1, b2 = opt["beta1"], opt["beta2"]
        for n, g in zip(names, grads):
            m = b1 * state[n + ".m"] + (1 - b1) * g
            v = b2 * state[n + ".v"] + (1 - b2) * g * g
            state[n + ".m"], state[n + ".v"] = m, v
            p[n] = p[n] - opt["lr"] * (m / (1 - b1 ** t)) / (torch.sqrt(v / (1 - b2 ** t)) + opt["eps"])
    elif opt["kind"] == "sgd":
        for n, g in zip(names, grads):
            buf = opt["momentum"] * state[n + ".momentum"] + g
            state[n + ".momentum"] = buf
            p[n] = p[n] - opt["lr"] * buf
    else:
        raise ValueError(opt["kind"])
    return p, state


def reference(case, p, state, batch):
    x, z = batch["x"], batch["z"]
    d_names = [n for n in p if n.startswith("D.")]
    g_names = [n for n in p if n.startswith("G.")]
    loss_d = d_loss(case, p, x, z, batch)
    grad_d = torch.autograd.grad(loss_d, [p[n] for n in d_names])
    unrolled = dict(p)
    s = dict(state)
    for _ in range(case.get("unroll", 0)):
        grads = torch.autograd.grad(d_loss(case, unrolled, x, z, batch), [unrolled[n] for n in d_names], create_graph=True)
        unrolled, s = optimizer_step(case["optD"], d_names, unrolled, grads, s)
    if case.get("order") == "first":
        unrolled = {n: (v.detach() if n.startswith("D.") else v) for n, v in unrolled.items()}
    loss_g = losses(case["family"], D(unrolled, x), D(unrolled, G(unrolled, z)))[1]
    grad_g = torch.autograd.grad(loss_g, [p[n] for n in g_names], retain_graph=True)
    out = {"loss.D": loss_d, "loss.G": loss_g}
    out.update({"grad." + n: g for n, g in zip(d_names, grad_d)})
    out.update({"grad." + n: g for n, g in zip(g_names, grad_g)})
    if case.get("unroll"):
        # The two parts of G's gradient (`gantry grad --terms`): at θD^K held fixed, and the rest.
        fixed = {n: (v.detach() if n.startswith("D.") else v) for n, v in unrolled.items()}
        direct = torch.autograd.grad(losses(case["family"], D(fixed, x), D(fixed, G(fixed, z)))[1], [p[n] for n in g_names])
        out.update({"grad_direct." + n: g for n, g in zip(g_names, direct)})
        out.update({"grad_unrolled." + n: g - d for n, g, d in zip(g_names, grad_g, direct)})
    return {k: v.detach().numpy() for k, v in out.items()}


def gan_text(case):
    objective = f"losses {case['family']}\n"
    for kind, hyper in case.get("penalties", {}).items():
        objective += f"penalty D {kind}({', '.join(f'{k}: {v}' for k, v in hyper.items())})\n"
    if case.get("unroll"):
        objective += f"unroll D {case['unroll']}, order: {case.get('order', 'second')}\n"
    o = case["optD"]
    opt = ", ".join(f"{k}: {v}" for k, v in o.items() if k != "kind")
    return (f"data x ~ ring()\nnoise z ~ normal(dim: {NZ})\n"
            f"net G(z) -> 2 {{ relu(linear({H})); relu(linear({H})); linear(2) }}\n"
            f"net D(x) -> 1 {{ tanh(linear({H})); tanh(linear({H})); linear(1) }}\n"
            f"objective {{\n{objective}}}\n"
            f"train {{ batch {B}; optimize D {o['kind']}({opt}) }}\n")


def run_case(name, case, rng):
    sizes = {"G": [NZ, H, H, 2], "D": [2, H, H, 1]}
    params = {}
    for net, dims in sizes.items():
        for i in range(len(dims) - 1):
            params[f"{net}.l{i}.weight"] = rng.normal(0, 1 / np.sqrt(dims[i]), (dims[i + 1], dims[i]))
            params[f"{net}.l{i}.bias"] = rng.normal(0, 0.1, dims[i + 1])
    batch = {"x": rng.normal(0, 1, (B, 2)), "z": rng.normal(0, 1, (B, NZ)),
             "penalty.wgan_gp.a": rng.uniform(0, 1, (B, 1)), "penalty.dragan.u": rng.uniform(0, 1, (B, 2)),
             "penalty.dragan.a": rng.uniform(0, 1, (B, 1))}
    state = {}
    if case["optD"]["kind"] == "adam":
        for n, v in params.items():
            if n.startswith("D."):
                state[n + ".m"] = rng.normal(0, 0.01, v.shape)
                state[n + ".v"] = rng.uniform(1e-4, 1e-3, v.shape)
        state["D.adam.t"] = np.array(3.0)
    elif case["optD"]["kind"] == "sgd":
        for n, v in params.items():
            if n.startswith("D."):
                state[n + ".momentum"] = rng.normal(0, 0.01, v.shape)
    # Gantry reads float32: give both sides the same rounded values.
    f32 = lambda d: {k: np.asarray(v, dtype=np.float32) for k, v in d.items()}
    params, batch, state = f32(params), f32(batch), f32(state)
    with open(f"{WORK}/{name}.gan", "w") as f:
        f.write(gan_text(case))
    np.savez(f"{WORK}/{name}.params.npz", **params)
    np.savez(f"{WORK}/{name}.batch.npz", **batch)
    np.savez(f"{WORK}/{name}.state.npz", **state)
    to_torch = lambda d: {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in d.items()}
    want = reference(case, to_torch(params), to_torch(state), to_torch(batch))
    failures = 0
    # The interpreter computes in double precision; the output file holds float32 (rounding: ~6e-8).
    for mode, tol in (("--interpret", 1e-6), ("", 1e-4)):
        out = f"{WORK}/{name}.out{mode}.npz"
        cmd = [GANTRY, "grad", f"{WORK}/{name}.gan", "--params", f"{WORK}/{name}.params.npz", "--batch",
               f"{WORK}/{name}.batch.npz", "--opt-state", f"{WORK}/{name}.state.npz", "-o", out]
        subprocess.run(cmd + ([mode] if mode else []) + (["--terms"] if case.get("unroll") else []), check=True, capture_output=True)
        got = np.load(out)
        assert set(got.keys()) == set(want.keys()), (name, sorted(got.keys()), sorted(want.keys()))
        for key, w in want.items():
            g = got[key].astype(np.float64)
            # The unrolled term is measured against the whole gradient it is part of (it is 0 at first order).
            scale = np.linalg.norm(want["grad." + key.split(".", 1)[1]]) if key.startswith("grad_unrolled.") else 0
            err = np.linalg.norm(g - w) / max(np.linalg.norm(w), scale, 1e-12)
            if not err <= tol:
                print(f"FAIL {name} {mode or '--jit'} {key}: relative error {err:.3g} > {tol:g}")
                failures += 1
    print(f"{'ok  ' if not failures else 'FAIL'} {name}")
    return failures


CASES = {
    "r1_unrolled_k1": {"family": "nonsaturating", "penalties": {"r1": {"gamma": 2.0}}, "unroll": 1,
                       "optD": {"kind": "sgd", "lr": 0.1, "momentum": 0.0}},
    "r1_sgd_k2": {"family": "nonsaturating", "penalties": {"r1": {"gamma": 2.0}}, "unroll": 2,
                  "optD": {"kind": "sgd", "lr": 0.1, "momentum": 0.0}},
    "r2_unrolled_k1": {"family": "nonsaturating", "penalties": {"r2": {"gamma": 2.0}}, "unroll": 1,
                       "optD": {"kind": "sgd", "lr": 0.1, "momentum": 0.0}},
    "plain_nonsaturating": {"family": "nonsaturating", "optD": {"kind": "adam", "lr": 0.001, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}},
    "unrolled_adam_k3": {"family": "nonsaturating", "unroll": 3,
                         "optD": {"kind": "adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}},
    "unrolled_adam_k2_first_order": {"family": "minimax", "unroll": 2, "order": "first",
                                     "optD": {"kind": "adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}},
    "unrolled_adam_k3_minimax": {"family": "minimax", "unroll": 3,
                                 "optD": {"kind": "adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}},
    "unrolled_sgd_k2": {"family": "least_squares", "unroll": 2, "optD": {"kind": "sgd", "lr": 0.1, "momentum": 0.5}},
    "wgan_gp": {"family": "wasserstein", "penalties": {"wgan_gp": {"lambda": 10.0}},
                "optD": {"kind": "adam", "lr": 0.0001, "beta1": 0.5, "beta2": 0.9, "eps": 1e-8}},
    "dragan_hinge": {"family": "hinge", "penalties": {"dragan": {"lambda": 10.0, "c": 0.5, "k": 1.0}},
                     "optD": {"kind": "sgd", "lr": 0.01, "momentum": 0.0}},
    "r1_r2_unrolled": {"family": "nonsaturating", "penalties": {"r1": {"gamma": 2.0}, "r2": {"gamma": 1.0}}, "unroll": 2,
                       "optD": {"kind": "adam", "lr": 0.01, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8}},
}

rng = np.random.default_rng(2026)
failures = sum(run_case(name, case, rng) for name, case in CASES.items())
print(f"{len(CASES) - (failures > 0)} cases, {failures} mismatches")
sys.exit(1 if failures else 0)
