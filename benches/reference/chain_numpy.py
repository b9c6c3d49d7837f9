"""A NumPy reference for the sequential off-switch chain's Bayes-optimal value (issue 19), side by side with cirl.

Reads target/bench/chains.json (written by `cargo bench --bench population`): chains with cirl's Bayes value and
first-step incentive to defer. Recomputes both independently — its own composite Gauss-Legendre quadrature of the
normal belief (the same rule: 24 panels over mu +/- 12 sigma, 8 points each, split at every kink of the payoffs and
the Boltzmann human's breaks), then backward induction over the tree of answers with NumPy vectors over the
quadrature nodes — and prints the largest differences and the environments per second of each.

Usage: python benches/reference/chain_numpy.py [target/bench/chains.json]
"""

import json
import sys
import time

import numpy as np

BREAKS = (-25.0, -5.0, -1.0, 0.0, 1.0, 5.0, 25.0)


def belief(c):
    mu, sigma = c["mu"], c["sigma"]
    lo, hi = mu - 12 * sigma, mu + 12 * sigma
    cuts = list(np.linspace(lo, hi, 25))
    for off, irr in zip(c["offsets"], c["irreversible"]):
        cuts.append(-off)
        if not irr:
            cuts.append(-off - c["undo_cost"])
        cuts.extend(k * c["beta"] - off for k in BREAKS)
    cuts = sorted(x for x in cuts if lo <= x <= hi)
    merged = [cuts[0]]
    for x in cuts[1:]:
        if abs(x - merged[-1]) > 1e-12 * sigma:
            merged.append(x)
    x, w = np.polynomial.legendre.leggauss(8)
    a, b = np.array(merged[:-1]), np.array(merged[1:])
    m, h = 0.5 * (a + b), 0.5 * (b - a)
    theta = (m[:, None] + h[:, None] * x[None, :]).ravel()
    weight = (h[:, None] * w[None, :]).ravel() * np.exp(-0.5 * ((theta - mu) / sigma) ** 2)
    return theta, weight / weight.sum()


def solve(c):
    theta, w0 = belief(c)
    q, cost = c["presence"], c["ask_cost"]
    T = len(c["offsets"])
    u, pi = [], []
    for off, irr in zip(c["offsets"], c["irreversible"]):
        v = theta + off
        u.append(v if irr else np.maximum(v, -c["undo_cost"]))
        pi.append(1.0 / (1.0 + np.exp(-v / c["beta"])))

    def value(t, w):
        """W(t, w): P(history) x E[return from t] under the belief (returns also Q's at the node)."""
        act_now = float(w @ u[t])
        ask_now = float(w @ (pi[t] * u[t])) - cost * float(w.sum())
        if t + 1 < T:
            nxt = value(t + 1, w)[0]
            ans = value(t + 1, w * pi[t])[0] + value(t + 1, w * (1 - pi[t]))[0]
        else:
            nxt = ans = 0.0
        q_act, q_off, q_ask = act_now + nxt, nxt, ask_now + ans
        present = max(q_act, q_off, q_ask)
        absent = max(q_act, q_off)
        return q * present + (1 - q) * absent, q_act, q_off, q_ask

    v, q_act, q_off, q_ask = value(0, w0)
    return v, (q_ask - max(q_act, q_off)) / w0.sum()


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "target/bench/chains.json"
    data = json.load(open(path))
    chains = data["chains"]
    start = time.perf_counter()
    out = [solve(c) for c in chains]
    seconds = time.perf_counter() - start
    dv = max(abs(v - c["value"]) for (v, _), c in zip(out, chains))
    di = max(abs(i - c["incentive"]) for (_, i), c in zip(out, chains))
    result = {
        "chains": len(chains),
        "steps": len(chains[0]["offsets"]),
        "numpy_env_per_s": len(chains) / seconds,
        "cirl_env_per_s": len(chains) / data["cirl_seconds"],
        "speedup": seconds / data["cirl_seconds"],
        "max_abs_value_diff": dv,
        "max_abs_incentive_diff": di,
    }
    print(json.dumps(result, indent=1))
    if dv > 1e-9 or di > 1e-9:
        sys.exit("the reference and cirl disagree")


if __name__ == "__main__":
    main()
