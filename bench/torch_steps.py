#!/usr/bin/python3
"""PyTorch training steps for the benchmark cases, written the way a careful PyTorch user would, independently
of Gantry (plain autograd; create_graph=True through a functional Adam for the unrolled steps).

Each case is the same model, objective and optimizer as a Gantry program (bench/steps.py lists which): a step
is D's update(s) on a fresh batch, then G's update against the updated D (unrolled K more differentiable Adam
steps when asked). Two uses:

  torch_steps.py time CASE_JSON STEPS      times STEPS training steps after a warm-up; prints one JSON line
  torch_steps.py check CASE_JSON PARAMS STATE BATCH OUT
                                           D's and G's losses and gradients at the given arrays (Gantry's names
                                           and layouts, as `gantry grad` reads them), written to OUT (.npz), so
                                           the harness can check that both sides compute the same step

CASE_JSON describes the model: {"g": [256, 128, 128, 2], "d": [2, 128, 1], "scale": 0.25, "family": "minimax",
"penalty": null | ["dragan", {...}] | ["r1", {...}] | ["wgan_gp", {...}], "unroll": K, "order": "second",
"n_critic": 1, "batch": 512, "adam_d": [lr, b1, b2], "adam_g": [lr, b1, b2]}.
Run with Debian's /usr/bin/python3 (python3-torch). Threads: TORCH_THREADS (torch.set_num_threads); OpenBLAS's
own count comes from OPENBLAS_NUM_THREADS, set by the harness before the process starts.
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

EPS = 1e-8
softplus = F.softplus


class SafeSqrt(torch.autograd.Function):
    """sqrt whose derivative is 0 where the incoming gradient is 0, even at 0 (where sqrt's is infinite).

    Unrolled Adam takes sqrt(v) of a unit whose gradient is exactly zero (a dead ReLU): plain torch.sqrt turns
    G's gradient into 0 * inf = NaN there. The backward is made of differentiable ops, so it works under
    create_graph=True. (Gantry's autodiff rule for sqrt is the same limit.)"""

    @staticmethod
    def forward(ctx, v):
        y = torch.sqrt(v)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return torch.where(grad == 0, torch.zeros_like(grad), grad * 0.5 / y)


class Case:
    def __init__(self, spec):
        self.__dict__.update(spec)
        self.penalty = spec.get("penalty")
        self.unroll = spec.get("unroll", 0)
        self.order = spec.get("order", "second")
        self.n_critic = spec.get("n_critic", 1)
        self.scale = spec.get("scale", 1.0)

    # ---- the networks: lists of (weight [out, in], bias) with ReLU between layers ----
    @staticmethod
    def mlp(params, h):
        last = len(params) - 1
        for i, (w, b) in enumerate(params):
            h = F.linear(h, w, b)
            if i < last:
                h = torch.relu(h)
        return h

    def G(self, g, z):
        return self.mlp(g, z)

    def D(self, d, x):
        return self.mlp(d, x * self.scale if self.scale != 1.0 else x)

    # ---- the objective ----
    def d_loss(self, d, x, fake, draws):
        real_score, fake_score = self.D(d, x), self.D(d, fake)
        if self.family == "wasserstein":
            loss = fake_score.mean() - real_score.mean()
        else:  # minimax and nonsaturating share D's loss
            loss = softplus(-real_score).mean() + softplus(fake_score).mean()
        if self.penalty:
            kind, hyper = self.penalty
            if kind == "wgan_gp":
                a = draws["penalty.wgan_gp.a"]
                at = (a * x + (1 - a) * fake).requires_grad_()  # through fake too, inside an unrolled objective
                loss = loss + hyper["lambda"] * ((self.input_grad(d, at).norm(dim=1) - 1) ** 2).mean()
            elif kind == "dragan":
                # x + a * (x_perturbed - x), x_perturbed = x + c * std(x) * u
                at = (x + draws["penalty.dragan.a"] * (hyper["c"] * x.std(unbiased=False) * draws["penalty.dragan.u"])).requires_grad_()
                loss = loss + hyper["lambda"] * ((self.input_grad(d, at).norm(dim=1) - hyper["k"]) ** 2).mean()
            elif kind == "r1":
                at = x.detach().requires_grad_()
                loss = loss + hyper["gamma"] * (self.input_grad(d, at) ** 2).sum(dim=1).mean()
            else:
                raise ValueError(kind)
        return loss

    def input_grad(self, d, at):
        return torch.autograd.grad(self.D(d, at).sum(), at, create_graph=True)[0]

    def g_loss(self, d, x, fake):
        fake_score = self.D(d, fake)
        if self.family == "minimax":  # zero-sum: G maximises D's whole loss
            return -(softplus(-self.D(d, x)).mean() + softplus(fake_score).mean())
        if self.family == "nonsaturating":
            return softplus(-fake_score).mean()
        if self.family == "wasserstein":
            return -fake_score.mean()
        raise ValueError(self.family)

    # ---- unrolling: K functional Adam steps of D, differentiable (second order) or not (first order) ----
    def unrolled_d(self, d, adam_state, x, fake, draws):
        lr, b1, b2 = self.adam_d
        flat = [t for layer in d for t in layer]
        m, v, t = list(adam_state["m"]), list(adam_state["v"]), adam_state["t"]
        second = self.order == "second"
        if not second:
            fake = fake.detach()
        for _ in range(self.unroll):
            grads = torch.autograd.grad(self.d_loss(self.pairs(flat), x, fake, draws), flat, create_graph=second)
            t += 1
            c1, c2 = 1 - b1 ** t, 1 - b2 ** t
            new = []
            for i, (p, g) in enumerate(zip(flat, grads)):
                m[i] = b1 * m[i] + (1 - b1) * g
                v[i] = b2 * v[i] + (1 - b2) * g * g
                new.append(p - lr * (m[i] / c1) / (SafeSqrt.apply(v[i] / c2) + EPS))
            flat = new
        if not second:
            flat = [p.detach() for p in flat]
        return self.pairs(flat)

    @staticmethod
    def pairs(flat):
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def g_objective(self, g, d, adam_state, x, z, draws, fake=None):
        fake = self.G(g, z) if fake is None else fake
        if self.unroll:
            d = self.unrolled_d(d, adam_state, x, fake, draws)
        return self.g_loss(d, x, fake)


def ring(batch, generator=None):
    angle = torch.randint(0, 8, (batch,), generator=generator).to(torch.float32) * (2 * math.pi / 8)
    centres = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1) * 2.0
    return centres + 0.02 * torch.randn(batch, 2, generator=generator)


def init_net(sizes):
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        lin = torch.nn.Linear(fan_in, fan_out)
        layers.append((lin.weight.detach().clone().requires_grad_(), lin.bias.detach().clone().requires_grad_()))
    return layers


class Trainer:
    """The timed training step, with torch.optim.Adam (foreach) for the real updates."""

    def __init__(self, case):
        self.case = case
        self.g, self.d = init_net(case.g), init_net(case.d)
        self.g_flat = [t for layer in self.g for t in layer]
        self.d_flat = [t for layer in self.d for t in layer]
        lr, b1, b2 = case.adam_d
        self.opt_d = torch.optim.Adam(self.d_flat, lr=lr, betas=(b1, b2), eps=EPS, foreach=True)
        lr, b1, b2 = case.adam_g
        self.opt_g = torch.optim.Adam(self.g_flat, lr=lr, betas=(b1, b2), eps=EPS, foreach=True)

    def draws(self):
        c, n = self.case, self.case.batch
        if not c.penalty:
            return {}
        kind = c.penalty[0]
        if kind == "wgan_gp":
            return {"penalty.wgan_gp.a": torch.rand(n, 1)}
        if kind == "dragan":
            return {"penalty.dragan.u": torch.rand(n, 2), "penalty.dragan.a": torch.rand(n, 1)}
        return {}

    def step(self):
        c = self.case
        fake = None
        for critic in range(c.n_critic):
            x, z, draws = ring(c.batch), torch.randn(c.batch, c.g[0]), self.draws()
            if c.n_critic == 1:  # G's forward pass serves both updates: D's sees it detached
                fake = c.G(self.g, z)
                loss_d = c.d_loss(self.d, x, fake.detach(), draws)
            else:
                with torch.no_grad():
                    fake = c.G(self.g, z)
                loss_d = c.d_loss(self.d, x, fake, draws)
                fake = None
            grads = torch.autograd.grad(loss_d, self.d_flat)
            for p, gr in zip(self.d_flat, grads):
                p.grad = gr
            self.opt_d.step()
        if c.n_critic > 1:  # G's own batch (one batch for both updates otherwise, as Gantry's step)
            x, z, draws = ring(c.batch), torch.randn(c.batch, c.g[0]), self.draws()
        loss_g = c.g_objective(self.g, self.d, self.adam_state(), x, z, draws, fake)
        grads = torch.autograd.grad(loss_g, self.g_flat)
        for p, gr in zip(self.g_flat, grads):
            p.grad = gr
        self.opt_g.step()
        return loss_d, loss_g

    def adam_state(self):
        if not self.case.unroll:
            return None
        st = [self.opt_d.state[p] for p in self.d_flat]
        return {"m": [s["exp_avg"] for s in st], "v": [s["exp_avg_sq"] for s in st], "t": float(st[0]["step"])}


def time_case(spec, steps):
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    torch.manual_seed(0)
    trainer = Trainer(Case(spec))
    warm = max(2, steps // 10)
    for _ in range(warm):
        trainer.step()
    start = time.perf_counter()
    for _ in range(steps):
        loss_d, loss_g = trainer.step()
    seconds = time.perf_counter() - start
    print(json.dumps({"steps": steps, "seconds": seconds, "steps_per_second": steps / seconds,
                      "loss_D": float(loss_d), "loss_G": float(loss_g)}))


def check_case(spec, params_file, state_file, batch_file, out_file):
    """Losses and gradients at given arrays, by the same functions the timed step uses (in float32)."""
    import numpy as np
    case = Case(spec)
    arrays = {k: torch.tensor(v) for f in (params_file, batch_file) for k, v in np.load(f).items()}
    state = {k: torch.tensor(v) for k, v in np.load(state_file).items()}
    net = lambda name, n: [(arrays[f"{name}.l{i}.weight"].clone().requires_grad_(), arrays[f"{name}.l{i}.bias"].clone().requires_grad_())
                           for i in range(n)]
    g, d = net("G", len(case.g) - 1), net("D", len(case.d) - 1)
    g_flat, d_flat = [t for l in g for t in l], [t for l in d for t in l]
    x, z = arrays["x"], arrays["z"]
    draws = {k: v for k, v in arrays.items() if k.startswith("penalty.")}
    loss_d = case.d_loss(d, x, case.G(g, z).detach(), draws)
    grad_d = torch.autograd.grad(loss_d, d_flat)
    names = lambda net_name, n: [f"{net_name}.l{i}.{w}" for i in range(n) for w in ("weight", "bias")]
    adam = None
    if case.unroll:
        keys = names("D", len(d))
        adam = {"m": [state[k + ".m"] for k in keys], "v": [state[k + ".v"] for k in keys], "t": float(state["D.adam.t"])}
    loss_g = case.g_objective(g, d, adam, x, z, draws)
    grad_g = torch.autograd.grad(loss_g, g_flat)
    out = {"loss.D": loss_d.detach().numpy(), "loss.G": loss_g.detach().numpy()}
    for name, gr in zip(names("D", len(d)), grad_d):
        out["grad." + name] = gr.numpy()
    for name, gr in zip(names("G", len(g)), grad_g):
        out["grad." + name] = gr.numpy()
    np.savez(out_file, **out)


if __name__ == "__main__":
    mode, spec = sys.argv[1], json.loads(sys.argv[2])
    if mode == "time":
        time_case(spec, int(sys.argv[3]))
    elif mode == "check":
        torch.set_num_threads(1)
        check_case(spec, *sys.argv[3:7])
    else:
        sys.exit(f"unknown mode {mode}")
