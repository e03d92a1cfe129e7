#!/usr/bin/env python3
"""Random variations of the pattern passes/Reassociate.h rewrites, each evaluated before and after the pass.

Each case is a small function around the penalty's head: a mask, a column scale (a broadcast or a product of a
splat column with v^T), U = P^T select(mask, scale, 0), Y = P W, its masked select and a column sum (a
reduce_sum or a product with a splat column), with random variations that must stop the rewrite or be handled:
transposes on every product, the other mask, the select's branches swapped, zeros of 0, -0 and 0.5, U reading W
instead of P, U anywhere after its select, Y or its select also returned. The pass must keep the function
valid (--verify-each) and its values (the reference interpreter, double precision, compared to 1e-4 relative as
printed, -0 as 0), and must both rewrite and leave alone a fair share of the cases.

  reassociate_random.py GANTRY WORKDIR [CASES] [SEED]
"""
import os
import random
import re
import subprocess
import sys


def product_shape(a, b, ta, tb):
    m, ka = (a[1], a[0]) if ta else a
    kb, n = (b[1], b[0]) if tb else b
    return (m, n) if ka == kb else None


def type_text(shape, dtype="f32"):
    return f"{dtype}[{','.join(map(str, shape))}]"


def transposes(ta, tb):
    flags = [name for name, on in (("transpose_a = true", ta), ("transpose_b = true", tb)) if on]
    return " {" + ", ".join(flags) + "}" if flags else ""


def generate(rng):
    """One function's text, or None when the random choices do not fit together."""
    b, i, n = (rng.choice([1, 2, 3]) for _ in range(3))
    types = {"p": (b, i) if rng.random() < 0.8 else (i, b), "w": (i, n) if rng.random() < 0.8 else (n, i),
             "h": (b, n), "h2": (b, n)}
    params = dict(types)
    body = []

    def op(name, text, shape, dtype="f32"):
        types[name] = shape
        body.append(f"  %{name} = {text} : {type_text(shape, dtype)}")

    op("zero", f"constant {{value = {rng.choice(['0.0', '0.0', '0.0', '-0.0', '0.5'])}}}", (b, n))
    op("zero2", "constant {value = 0.0}", (b, n))
    op("m", "compare %h, %zero2 {pred = gt}", (b, n), "i1")
    op("m2", "compare %h2, %zero2 {pred = gt}", (b, n), "i1")
    if rng.random() < 0.5:
        params["v"] = (n,)
        op("bc", "broadcast %v {dims = [1]}", (b, n))
    else:
        ta, tb = rng.random() < 0.2, rng.random() < 0.8
        params["v"] = (n, 1) if tb else (1, n)
        ones = (1, b) if ta else (b, 1)
        op("ones", f"constant {{value = {rng.choice(['1.0', '2.0', '-0.5'])}}}", ones)
        shape = product_shape(ones, params["v"], ta, tb)
        if shape is None:
            return None
        op("bc", f"matmul %ones, %v{transposes(ta, tb)}", shape)
    mask_g, zero_g = rng.choice(["m"] * 5 + ["m2"]), rng.choice(["zero", "zero", "zero2"])
    if rng.random() < 0.9:
        op("g", f"select %{mask_g}, %bc, %{zero_g}", (b, n))
    else:
        op("g", f"select %{mask_g}, %{zero_g}, %bc", (b, n))
    g_at = len(body)
    uta, utb, u_left = rng.random() < 0.85, rng.random() < 0.15, rng.choice(["p"] * 6 + ["w"])
    u_shape = product_shape(types[u_left], types["g"], uta, utb)
    if u_shape is None:
        return None
    yta, ytb = rng.random() < 0.1, rng.random() < 0.1
    if product_shape(types["p"], types["w"], yta, ytb) != (b, n):
        return None
    op("y", f"matmul %p, %w{transposes(yta, ytb)}", (b, n))
    op("s", f"select %{rng.choice(['m'] * 5 + ['m2'])}, %y, %{rng.choice(['zero', 'zero2'])}", (b, n))
    kind = rng.choice(["rows", "rows", "columns", "product", "product"])
    if kind == "rows":
        op("dv", "reduce_sum %s {axes = [0]}", (n,))
    elif kind == "columns":
        op("dv", "reduce_sum %s {axes = [1]}", (b,))
    else:
        cta, ctb = rng.random() < 0.85, rng.random() < 0.15
        column = (1, b) if ctb else (b, 1)
        op("c", f"constant {{value = {rng.choice(['1.0', '3.0'])}}}", column)
        shape = product_shape(types["s"], column, cta, ctb)
        if shape is None:
            return None
        op("dv", f"matmul %s, %c{transposes(cta, ctb)}", shape)
    types["dw"] = u_shape
    body.insert(rng.randint(g_at, len(body)), f"  %dw = matmul %{u_left}, %g{transposes(uta, utb)} : {type_text(u_shape)}")
    results = ["dw", "dv"] + ([rng.choice(["y", "s"])] if rng.random() < 0.15 else [])
    inputs = ", ".join(f"input %{name}: {type_text(shape)}" for name, shape in params.items())
    outputs = ", ".join(f"{name}: {type_text(types[name])}" for name in results)
    returned = ", ".join("%" + name for name in results)
    return f"func @f({inputs}) -> ({outputs}) {{\n" + "\n".join(body) + f"\n  return {returned}\n}}\n"


NUMBER = re.compile(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)")


def numbers(text):
    # The summary lines after the result's name and type; -0 reads as 0.
    values = []
    for line in text.splitlines():
        if "=" in line:
            for token in NUMBER.findall(line.split("=", 1)[1]):
                values.append(token.lstrip("-") if token.lstrip("-") in ("0", "nan") else token)
    return values


def same(before, after):
    a, b = numbers(before), numbers(after)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        if "nan" in (x, y) or "inf" in x or "inf" in y:
            return False
        if abs(float(x) - float(y)) > 1e-4 * (1 + abs(float(x))):
            return False
    return True


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    gantry, work = sys.argv[1], sys.argv[2]
    cases = int(sys.argv[3]) if len(sys.argv) > 3 else 600
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    os.makedirs(work, exist_ok=True)
    counts = {"rewritten": 0, "kept": 0, "skipped": 0}
    failures = []
    for t in range(cases):
        text = generate(rng)
        source, output = os.path.join(work, f"case{t}.gir"), os.path.join(work, f"case{t}.out.gir")
        if text is None:
            counts["skipped"] += 1
            continue
        with open(source, "w") as f:
            f.write(text)
        before = run([gantry, "ir", source, "--eval", "--seed", "3"])
        if before.returncode != 0:  # a combination the verifier rejects (e.g. a select of two types)
            counts["skipped"] += 1
            continue
        rewritten = run([gantry, "ir", source, "--passes=reassociate,dce", "--verify-each", "-o", output])
        if rewritten.returncode != 0:
            failures.append(f"{source}: the pass failed: {rewritten.stderr.strip()[:300]}")
            continue
        after = run([gantry, "ir", output, "--eval", "--seed", "3"])
        if after.returncode != 0 or not same(before.stdout, after.stdout):
            failures.append(f"{source}: values changed\nbefore:\n{before.stdout}after:\n{after.stdout}{after.stderr}")
            continue
        with open(output) as f:
            fewer = f.read().count("= matmul") < text.count("= matmul")
        counts["rewritten" if fewer else "kept"] += 1
        os.remove(source)
        os.remove(output)
    print(f"{cases} cases: {counts['rewritten']} rewritten, {counts['kept']} left alone, {counts['skipped']} not valid IR, "
          f"{len(failures)} failed")
    for failure in failures[:5]:
        print(failure)
    if failures:
        return 1
    # Both outcomes must be exercised, or the generator has stopped testing the pass.
    if counts["rewritten"] < cases // 20 or counts["kept"] < cases // 20:
        print("too few cases rewritten or left alone: the generator no longer exercises the pass")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
