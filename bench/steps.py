#!/usr/bin/python3
"""Gantry against PyTorch, side by side in one run: training steps per second on the GAN objectives Gantry is
for, with the checks that make the numbers mean something.

For every case (a bundled .gan program, maybe with --set overrides, and the same model in bench/torch_steps.py):
  1. same step: D's and G's losses and gradients at the same random parameters, optimizer state and batch, from
     `gantry grad` and from the PyTorch functions the timed step uses, must agree (float32 on both sides);
  2. compile time: `gantry run` with an empty compile cache (cold), then again (cached);
  3. steps/s: `gantry run --threads T` (rate without the final evaluation) and the PyTorch step, alternately,
     best of --repeats, at 1 and 2 threads (PyTorch at 1 and 2 torch threads with OpenBLAS at 1 or 2 threads:
     its best set-up differs by size), each in its own process so that its peak RSS is its own;
  4. Gantry's achieved GFLOP/s (FLOPs counted from the compiled step: ir/Cost.h) and OpenBLAS's sgemm GFLOP/s
     on a 512x512x512 product measured in the same run, for scale.
--scaling adds steps/s and cold compile time as the unroll depth K grows (ring8 unrolled) and as the hidden width
grows (ring8 plain), and draws them (PNG, matplotlib). --quick is CI's smoke run: a few steps, one repeat, the
checks still strict.

Usage: bench/steps.py [--gantry build/tools/gantry] [--quick] [--cases a,b] [--threads 1,2] [--repeats 3]
                      [--seconds 3] [--scaling] [--out bench/results]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_STEPS = os.path.join(HERE, "torch_steps.py")

RING8 = {"g": [256, 128, 128, 2], "d": [2, 128, 1], "scale": 0.25, "family": "minimax", "batch": 512,
         "adam_d": [1e-4, 0.5, 0.999], "adam_g": [1e-4, 0.5, 0.999]}
RING8_PENALISED = {"g": [256, 128, 128, 2], "d": [2, 128, 128, 1], "family": "nonsaturating", "batch": 512,
                   "adam_d": [1e-4, 0.5, 0.999], "adam_g": [1e-3, 0.5, 0.999]}

# name: (.gan file, --set overrides, the PyTorch model, steps for a ~3 s measurement on a slow host)
CASES = {
    "ring8": ("examples/ring8.gan", [], RING8, 600),
    "ring8_unrolled_k5": ("examples/ring8_unrolled.gan", [], dict(RING8, unroll=5), 150),
    "ring8_unrolled_k10": ("examples/ring8_unrolled.gan", ["unroll.steps=10"], dict(RING8, unroll=10), 80),
    "ring8_unrolled_k10_first": ("examples/ring8_unrolled.gan", ["unroll.steps=10", "unroll.order=first"],
                                 dict(RING8, unroll=10, order="first"), 200),
    "dragan_ring8": ("examples/dragan_ring8.gan", [], dict(RING8_PENALISED, penalty=["dragan", {"lambda": 10.0, "c": 0.5, "k": 1.0}]), 400),
    "r1_ring8": ("examples/r1_ring8.gan", [], dict(RING8_PENALISED, penalty=["r1", {"gamma": 1.0}]), 400),
    "wgan_gp_toy": ("examples/wgan_gp_8gaussians.gan", [],
                    {"g": [2, 512, 512, 512, 2], "d": [2, 512, 512, 512, 1], "family": "wasserstein",
                     "penalty": ["wgan_gp", {"lambda": 0.1}], "n_critic": 5, "batch": 256,
                     "adam_d": [1e-4, 0.5, 0.9], "adam_g": [1e-4, 0.5, 0.9]}, 20),
}
TORCH_SETUPS = {1: [(1, 1)], 2: [(1, 2), (2, 2)]}  # threads -> (torch threads, OpenBLAS threads) tried
CHECK_TOLERANCE = 2e-3  # relative, in norm: two float32 computations of the same step in different orders


def measured(cmd, env=None):
    """Runs cmd; returns (stdout, peak RSS in MiB of that process alone), via os.wait4."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read()[-3000:]}")
        return out.read(), usage.ru_maxrss / 1024.0


def gan_args(case):
    path, overrides = CASES[case][0], CASES[case][1]
    args = [os.path.join(ROOT, path)]
    for o in overrides:
        args += ["--set", o]
    return args


def random_inputs(gantry, case, work, rng):
    """Random parameters, optimizer state and batch of the shapes `gantry grad --list-inputs` names."""
    listing = subprocess.run([gantry, "grad", *gan_args(case), "--list-inputs"], check=True, capture_output=True, text=True).stdout
    files = {"--params": {}, "--opt-state": {}, "--batch": {}}
    for line in listing.splitlines():
        flag, key, shape = line.split(None, 2)
        shape = json.loads(shape)
        if flag == "--params":
            fan_in = shape[1] if len(shape) == 2 else 4
            value = rng.normal(0, 1 / np.sqrt(fan_in), shape) if len(shape) == 2 else rng.normal(0, 0.1, shape)
        elif key.endswith(".t"):
            value = np.array(3.0)
        elif key.endswith(".v"):
            value = rng.uniform(1e-4, 1e-3, shape)
        elif key.endswith(".m"):
            value = rng.normal(0, 0.01, shape)
        elif key.startswith("penalty."):
            value = rng.uniform(0, 1, shape)
        else:
            value = rng.normal(0, 1, shape)
        files[flag][key] = np.asarray(value, dtype=np.float32)
    paths = {}
    for flag, arrays in files.items():
        paths[flag] = os.path.join(work, f"{case}{flag.replace('--', '.')}.npz")
        np.savez(paths[flag], **arrays)
    return paths


def check_same_step(gantry, case, work, rng):
    """Losses and gradients from both sides at the same arrays; returns the largest relative error."""
    paths = random_inputs(gantry, case, work, rng)
    ours, theirs = os.path.join(work, f"{case}.gantry.npz"), os.path.join(work, f"{case}.torch.npz")
    subprocess.run([gantry, "grad", *gan_args(case), *sum(([f, p] for f, p in paths.items()), []), "-o", ours],
                   check=True, capture_output=True)
    subprocess.run(["/usr/bin/python3", TORCH_STEPS, "check", json.dumps(CASES[case][2]), paths["--params"],
                    paths["--opt-state"], paths["--batch"], theirs], check=True, capture_output=True,
                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    a, b = np.load(ours), np.load(theirs)
    if set(a.keys()) != set(b.keys()):
        raise RuntimeError(f"{case}: gantry grad wrote {sorted(a.keys())}, PyTorch {sorted(b.keys())}")
    worst = 0.0
    for key in a.keys():
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        err = np.linalg.norm(x - y) / max(np.linalg.norm(y), 1e-12)
        if key.startswith("loss."):
            print(f"    {key}: gantry {float(x):.6f}  torch {float(y):.6f}")
        worst = max(worst, err)
    return worst


def gantry_run(gantry, case, steps, threads, cache, work, extra=()):
    out_dir = tempfile.mkdtemp(dir=work, prefix=f"{case}-run-")
    cmd = [gantry, "run", *gan_args(case), *extra, "--steps", str(steps), "--set", f"train.eval_every={steps}",
           "--threads", str(threads), "--json", "--out", out_dir]
    text, rss = measured(cmd, env=dict(os.environ, XDG_CACHE_HOME=cache))
    line = json.loads(text.strip().splitlines()[-1])
    with open(os.path.join(out_dir, "summary.json")) as f:
        summary = json.load(f)
    shutil.rmtree(out_dir)
    return {"steps_per_second": line["steps_per_second"], "rss_mib": rss, "compile_seconds": summary["compile_seconds"],
            "cached": summary["compile_cached"], "flops_per_step": summary["flops_per_step"], "ops": summary["step_ops"]}


def torch_run(spec, steps, torch_threads, blas_threads):
    env = dict(os.environ, TORCH_THREADS=str(torch_threads), OPENBLAS_NUM_THREADS=str(blas_threads))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # they halve OpenBLAS's speed on these CPUs
        env.pop(var, None)
    text, rss = measured(["/usr/bin/python3", TORCH_STEPS, "time", json.dumps(spec), str(steps)], env=env)
    result = json.loads(text.strip().splitlines()[-1])
    return {"steps_per_second": result["steps_per_second"], "rss_mib": rss}


SGEMM = r"""
import os, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.randn(512, 512), torch.randn(512, 512)
best = 0.0
for _ in range(5):
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.2:
        torch.mm(a, b); n += 1
    best = max(best, n * 2 * 512 ** 3 / (time.perf_counter() - start) / 1e9)
print(best)
"""


def sgemm_gflops(threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    return float(subprocess.run(["/usr/bin/python3", "-c", SGEMM, str(threads)], check=True, capture_output=True,
                                text=True, env=env).stdout)


def steps_for(case, seconds, quick):
    return 3 if quick else max(5, int(CASES[case][3] * seconds / 3))


def bench_case(gantry, case, args, work, rng):
    print(f"{case}:", flush=True)
    err = check_same_step(gantry, case, work, rng)
    ok = err <= CHECK_TOLERANCE
    print(f"    same step: largest relative difference {err:.2e} ({'ok' if ok else 'MISMATCH'})", flush=True)
    cache = tempfile.mkdtemp(dir=work, prefix="cache-")
    cold = gantry_run(gantry, case, 1, 1, cache, work)
    warm = gantry_run(gantry, case, 1, 1, cache, work)
    print(f"    compile: {cold['compile_seconds']:.2f} s cold, {warm['compile_seconds'] * 1000:.0f} ms cached "
          f"({cold['ops']} ops, {cold['flops_per_step'] / 1e6:.1f} MFLOP per step)", flush=True)
    steps = steps_for(case, args.seconds, args.quick)
    result = {"case": case, "check": err, "compile_cold": cold["compile_seconds"], "compile_cached": warm["compile_seconds"],
              "flops_per_step": cold["flops_per_step"], "ops": cold["ops"], "threads": {}}
    for threads in args.threads:
        best_g, best_t = None, None
        for _ in range(args.repeats):
            g = gantry_run(gantry, case, steps, threads, cache, work)
            if not best_g or g["steps_per_second"] > best_g["steps_per_second"]:
                best_g = g
            for tt, bt in TORCH_SETUPS[threads]:
                t = torch_run(CASES[case][2], steps, tt, bt)
                t["setup"] = f"torch {tt} / BLAS {bt}"
                if not best_t or t["steps_per_second"] > best_t["steps_per_second"]:
                    best_t = t
        result["threads"][threads] = {"gantry": best_g, "torch": best_t}
        print(f"    {threads} thread(s): gantry {best_g['steps_per_second']:8.1f} steps/s ({best_g['rss_mib']:.0f} MiB), "
              f"PyTorch {best_t['steps_per_second']:8.1f} ({best_t['setup']}, {best_t['rss_mib']:.0f} MiB): "
              f"{best_g['steps_per_second'] / best_t['steps_per_second']:.2f}x", flush=True)
    return result, ok


def markdown(results, sgemm, threads):
    rows = ["| case | threads | Gantry steps/s | PyTorch steps/s | ratio | vs PyTorch's best | Gantry GFLOP/s | % of sgemm | "
            "compile cold | cached | RSS Gantry / PyTorch (MiB) | same step |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        torch_best = max(r["threads"][t]["torch"]["steps_per_second"] for t in threads)
        for t in threads:
            g, p = r["threads"][t]["gantry"], r["threads"][t]["torch"]
            gflops = g["steps_per_second"] * r["flops_per_step"] / 1e9
            rows.append(f"| {r['case']} | {t} | {g['steps_per_second']:.1f} | {p['steps_per_second']:.1f} | "
                        f"{g['steps_per_second'] / p['steps_per_second']:.2f} | {g['steps_per_second'] / torch_best:.2f} | "
                        f"{gflops:.1f} | {100 * gflops / sgemm[t]:.0f}% | {r['compile_cold']:.2f} s | "
                        f"{1000 * r['compile_cached']:.0f} ms | {g['rss_mib']:.0f} / {p['rss_mib']:.0f} | {r['check']:.0e} |")
    sg = ", ".join(f"{sgemm[t]:.0f} GFLOP/s on {t} thread{'s' if t > 1 else ''}" for t in threads)
    return "\n".join(rows) + f"\n\nOpenBLAS sgemm (512³, torch.mm) in the same run: {sg}.\n"


def scaling(gantry, args, work):
    """Steps/s and cold compile time against the unroll depth K and the hidden width, one thread."""
    out = {"K": [], "width": []}
    base = open(os.path.join(ROOT, "examples/ring8_unrolled.gan")).read()
    plain = open(os.path.join(ROOT, "examples/ring8.gan")).read()
    ks = [1, 2] if args.quick else [1, 2, 5, 10, 20]
    widths = [64, 128] if args.quick else [64, 128, 256, 512, 1024]
    points = [("K", k, base, f"unroll.steps={k}", dict(RING8, unroll=k)) for k in ks]
    for w in widths:
        text = plain.replace("linear(128)", f"linear({w})")
        points.append(("width", w, text, None, dict(RING8, g=[256, w, w, 2], d=[2, w, 1])))
    for axis, value, text, override, spec in points:
        path = os.path.join(work, f"scaling_{axis}{value}.gan")
        with open(path, "w") as f:
            f.write(text)
        name = f"scaling_{axis}{value}"
        CASES[name] = (path, [override] if override else [], spec, 0)
        rate = 60.0 * (128 / value) ** 2 if axis == "width" else 300.0 / (value + 1)
        steps = 3 if args.quick else max(5, int(rate * args.seconds))
        cache = tempfile.mkdtemp(dir=work, prefix="cache-")
        cold = gantry_run(gantry, name, 1, 1, cache, work)
        g = max((gantry_run(gantry, name, steps, 1, cache, work) for _ in range(args.repeats)), key=lambda r: r["steps_per_second"])
        t = max((torch_run(spec, steps, 1, 1) for _ in range(args.repeats)), key=lambda r: r["steps_per_second"])
        out[axis].append({"value": value, "gantry": g["steps_per_second"], "torch": t["steps_per_second"],
                          "compile_cold": cold["compile_seconds"], "ops": cold["ops"]})
        print(f"  {axis} = {value}: gantry {g['steps_per_second']:.1f} steps/s, PyTorch {t['steps_per_second']:.1f}, "
              f"compile {cold['compile_seconds']:.2f} s cold ({cold['ops']} ops)", flush=True)
    return out


def plot_scaling(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for axis, ax, label in (("K", axes[0], "unroll depth K (ring8, second order)"), ("width", axes[1], "hidden width (ring8 plain)")):
        xs = [p["value"] for p in data[axis]]
        ax.plot(xs, [p["gantry"] for p in data[axis]], "o-", label="Gantry")
        ax.plot(xs, [p["torch"] for p in data[axis]], "s--", label="PyTorch")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("steps/s (1 thread)")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    xs = [p["value"] for p in data["K"]]
    axes[2].plot(xs, [p["compile_cold"] for p in data["K"]], "o-", label="compile, cold (s)")
    axes[2].set_xlabel("unroll depth K")
    axes[2].set_ylabel("seconds")
    axes[2].grid(True, alpha=0.3)
    axes[2].legend()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gantry", default=os.path.join(ROOT, "build/tools/gantry"))
    p.add_argument("--quick", action="store_true", help="CI's smoke run: a few steps, one repeat")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=3.0, help="rough length of one measurement")
    p.add_argument("--scaling", action="store_true")
    p.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    if args.quick:
        args.repeats = 1
    for name in args.cases.split(","):
        if name not in CASES:
            sys.exit(f"bench/steps.py: unknown case '{name}' (cases: {', '.join(CASES)})")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(2026)
    work = tempfile.mkdtemp(prefix="gantry-bench-")
    try:
        host = subprocess.run([args.gantry, "--version"], capture_output=True, text=True).stdout.strip().replace("\n", "; ")
        print(f"host: {host}; {os.cpu_count()} hardware threads", flush=True)
        sgemm = {t: sgemm_gflops(t) for t in args.threads}
        print("OpenBLAS sgemm 512³: " + ", ".join(f"{sgemm[t]:.0f} GFLOP/s on {t} thread(s)" for t in args.threads), flush=True)
        results, mismatches = [], 0
        for case in args.cases.split(","):
            r, ok = bench_case(args.gantry, case, args, work, rng)
            results.append(r)
            mismatches += not ok
        table = markdown(results, sgemm, args.threads)
        print("\n" + table)
        report = {"host": host, "date": time.strftime("%Y-%m-%d"), "sgemm": sgemm, "results": results, "quick": args.quick}
        if args.scaling:
            print("scaling:", flush=True)
            report["scaling"] = scaling(args.gantry, args, work)
        if not args.quick:  # the numbers first: the plot needs matplotlib (bench/steps.sh installs it)
            for name, text in (("steps.md", f"Host: {host}\n\n" + table), ("steps.json", json.dumps(report, indent=1))):
                with open(os.path.join(args.out, name + ".tmp"), "w") as f:
                    f.write(text)
                os.replace(os.path.join(args.out, name + ".tmp"), os.path.join(args.out, name))
        if args.scaling:
            plot_scaling(report["scaling"], os.path.join(args.out, "scaling.png"))
        if mismatches:
            print(f"bench/steps.py: {mismatches} case(s) where Gantry and PyTorch do not compute the same step", file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
