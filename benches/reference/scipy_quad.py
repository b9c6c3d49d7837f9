"""Reference 1: what a researcher would write with SciPy — one adaptive `quad` call per expectation.

For each sampled grid point (mu, sigma, beta) it computes E[pi_H] and E[U pi_H] under U ~ N(mu, sigma^2) for the
Boltzmann human pi_H(u) = 1/(1 + exp(-u/beta)), integrating over mu +- 40 sigma with the logistic's centre u = 0
as a break point, at absolute tolerance 1e-11 x max(sigma, |mu|). Reports the time per point and the largest
difference from cirl's values (target/bench/grid_sample.csv, written by `cargo bench --bench offswitch`).

Usage: python benches/reference/scipy_quad.py [N_POINTS]   (prints one JSON line)
"""
import csv
import json
import math
import sys
import time

from scipy.integrate import quad

SQRT2PI = math.sqrt(2 * math.pi)


def logistic(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def moments(mu, sigma, beta):
    scale = max(sigma, abs(mu))
    lo, hi = mu - 40 * sigma, mu + 40 * sigma
    pts = [0.0] if lo < 0.0 < hi else None

    def dens(u):
        z = (u - mu) / sigma
        return math.exp(-0.5 * z * z) / (sigma * SQRT2PI)

    e_pi = quad(lambda u: logistic(u / beta) * dens(u), lo, hi, points=pts, epsabs=1e-11, epsrel=0, limit=200)[0]
    e_u_pi = quad(lambda u: u * logistic(u / beta) * dens(u), lo, hi, points=pts, epsabs=1e-11 * scale, epsrel=0,
                  limit=200)[0]
    return e_pi, e_u_pi


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2005
    with open("target/bench/grid_sample.csv") as f:
        rows = [tuple(float(r[k]) for k in ("mu", "sigma", "beta", "e_pi", "e_u_pi")) for r in csv.DictReader(f)]
    rows = rows[:n]
    t = time.perf_counter()
    out = [moments(mu, s, b) for (mu, s, b, _, _) in rows]
    dt = time.perf_counter() - t
    err = max(max(abs(p - rp), abs(u - ru) / max(s, abs(mu))) for (mu, s, b, rp, ru), (p, u) in zip(rows, out))
    print(json.dumps({"impl": "scipy-quad", "points": len(rows), "seconds": dt, "us_per_point": dt / len(rows) * 1e6,
                      "max_diff_vs_cirl": err}))


if __name__ == "__main__":
    main()
