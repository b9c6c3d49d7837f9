"""Vectorized off-switch values from Python: `cirl.offswitch.evaluate` (the Rust library through PyO3, all cores,
the GIL released) against the NumPy Gauss-Hermite reference (benches/reference/numpy_gh.py) on the issue-2 grid
(mu in [-2, 2], sigma and beta in [0.05, 2], 100 values each: 10^6 normal x Boltzmann games), side by side in
one process. Also the largest difference between cirl's Delta from Python and from the CLI's sweep is checked
elsewhere (python/tests); here only time and the reference's accuracy against cirl.

Usage: python benches/reference/python_offswitch.py   (prints a Markdown table)
"""
import os
import time

import numpy as np

import cirl
from numpy_gh import grid, moments, rule


def best(f, reps=3):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    M, S, B = grid()
    n = M.size
    t_cirl, b = best(lambda: cirl.offswitch.evaluate(M, S, beta=B))
    # cirl's E[U pi] is v_wait (cost 0); the reference's error is measured against it, relative to max(sigma, |mu|).
    scale = np.maximum(S, np.abs(M))
    rows = [("cirl.offswitch.evaluate (Rust, %d threads)" % os.cpu_count(), t_cirl, 0.0)]
    for nodes in (32, 256):
        x, w = rule(nodes)
        t, (e_pi, e_u_pi) = best(lambda: moments(M, S, B, x, w))
        err = float(np.max(np.maximum(np.abs(e_pi - b.p_allow), np.abs(e_u_pi - b.v_wait) / scale)))
        rows.append((f"NumPy Gauss-Hermite, {nodes} nodes", t, err))
    print(f"{n} games (normal x Boltzmann), best of 3, one process")
    print("| implementation | time | games/s | ratio to cirl | largest error vs cirl |")
    print("|---|---|---|---|---|")
    for name, t, err in rows:
        print(f"| {name} | {t:.3f} s | {n / t:.3g} | {t / t_cirl:.1f}x | {err:.1e} |")


if __name__ == "__main__":
    main()
