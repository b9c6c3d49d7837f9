"""cirl's exact solvers side by side with pomdp_py (issue 3), on Tiger and on the red-blue assistance game.

pomdp_py (https://github.com/h2r/pomdp-py) is a Python POMDP library. Its exact tools are
`pomdp_py.value` (expectimax over the belief tree: exponential in the horizon) and `pomdp_py.ValueIteration`
(enumerates conditional plans without pruning). Both models are read from the `.pomdp` files cirl writes
(`cirl export`), so both libraries solve exactly the same tables; this script parses the subset of the format
cirl's writer emits (full matrices, `R: a : s : * : * r` rows).

Usage: python benches/reference/pomdp_py_compare.py CIRL_BINARY   (prints one JSON object)
"""

import json
import subprocess
import sys
import tempfile
import time

import pomdp_py


def parse(path):
    lines = [l.split("#")[0].strip() for l in open(path)]
    lines = [l for l in lines if l]
    m = {"T": {}, "O": {}, "R": {}}
    i = 0

    def names(v):
        parts = v.split()
        if len(parts) == 1 and parts[0].isdigit():
            return [str(k) for k in range(int(parts[0]))]
        return parts

    while i < len(lines):
        line = lines[i]
        key, _, rest = line.partition(":")
        key = key.strip()
        if key == "discount":
            m["discount"] = float(rest)
        elif key in ("states", "actions", "observations"):
            m[key] = names(rest)
        elif key == "start":
            m["start"] = [float(x) for x in rest.split()]
        elif key in ("T", "O"):
            a = rest.strip()
            n = len(m["states"])
            m[key][a] = [[float(x) for x in lines[i + 1 + r].split()] for r in range(n)]
            i += n
        elif key == "R":
            parts = rest.split(":")
            a, s = parts[0].strip(), parts[1].strip()
            r = float(parts[3].split()[-1])
            m["R"][(a, s)] = r
        elif key == "values":
            pass
        i += 1
    return m


class S(pomdp_py.State):
    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, S) and self.name == other.name

    def __repr__(self):
        return self.name


class A(pomdp_py.Action):
    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, A) and self.name == other.name

    def __repr__(self):
        return self.name


class O(pomdp_py.Observation):
    def __init__(self, name):
        self.name = name

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return isinstance(other, O) and self.name == other.name

    def __repr__(self):
        return self.name


def build(m):
    from pomdp_py.utils.templates import (
        TabularObservationModel,
        TabularRewardModel,
        TabularTransitionModel,
    )

    states = [S(n) for n in m["states"]]
    actions = [A(n) for n in m["actions"]]
    obs = [O(n) for n in m["observations"]]
    T = TabularTransitionModel(
        {
            (s, a, sp): m["T"][a.name][i][j]
            for a in actions
            for i, s in enumerate(states)
            for j, sp in enumerate(states)
        }
    )
    Om = TabularObservationModel(
        {
            (sp, a, o): m["O"][a.name][j][k]
            for a in actions
            for j, sp in enumerate(states)
            for k, o in enumerate(obs)
        }
    )
    R = TabularRewardModel({(s, a): m["R"].get((a.name, s.name), 0.0) for a in actions for s in states})
    b0 = pomdp_py.Histogram({s: p for s, p in zip(states, m["start"])})
    return states, actions, obs, T, Om, R, b0


def cirl_solve(binary, model, *args):
    out = subprocess.run([binary, "solve", model, "--json", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def belief_tree(states, actions, obs, T, Om, R, b0, gamma, h):
    t = time.perf_counter()
    v = pomdp_py.value(b0, states, actions, obs, T, Om, R, gamma, horizon=h)
    return v, time.perf_counter() - t


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp()
    result = {"pomdp_py": pomdp_py.__version__ if hasattr(pomdp_py, "__version__") else "1.3.5.1"}

    # Tiger, finite horizons.
    subprocess.run([binary, "export", "tiger", f"{tmp}/tiger.pomdp"], check=True, capture_output=True)
    tiger = parse(f"{tmp}/tiger.pomdp")
    states, actions, obs, T, Om, R, b0 = build(tiger)
    rows = []
    for h in range(1, 8):
        c = cirl_solve(binary, "tiger", "--set", f"horizon={h}")
        row = {"horizon": h, "cirl_value": c["value"], "cirl_s": c["seconds"]}
        if h <= 6:
            v, t = belief_tree(states, actions, obs, T, Om, R, b0, tiger["discount"], h)
            row.update({"pomdp_py_value": v, "pomdp_py_value_s": t})
        if h <= 3:
            from pomdp_py.problems.tiger.tiger_problem import TigerProblem, TigerState

            problem = TigerProblem(
                0.15,
                TigerState("tiger-left"),
                pomdp_py.Histogram({TigerState("tiger-left"): 0.5, TigerState("tiger-right"): 0.5}),
            )
            vi = pomdp_py.ValueIteration(horizon=h, discount_factor=tiger["discount"])
            t = time.perf_counter()
            a = vi.plan(problem.agent)
            row.update({"pomdp_py_vi_s": time.perf_counter() - t, "pomdp_py_vi_action": str(a)})
        rows.append(row)
    result["tiger"] = rows

    # Red-blue (Shah et al. 2020): the fixed-human reduction, horizon 4.
    subprocess.run([binary, "export", "red-blue", f"{tmp}/rb.pomdp"], check=True, capture_output=True)
    rb = parse(f"{tmp}/rb.pomdp")
    states, actions, obs, T, Om, R, b0 = build(rb)
    v, t = belief_tree(states, actions, obs, T, Om, R, b0, rb["discount"], 4)
    naive = cirl_solve(binary, "red-blue", "--solver", "naive")
    exact = cirl_solve(binary, "red-blue")
    result["red_blue"] = {
        "pomdp_states": len(states),
        "pomdp_actions": len(actions),
        "pomdp_observations": len(obs),
        "pomdp_py_value": v,
        "pomdp_py_value_s": t,
        "cirl_naive_value": naive["value"],
        "cirl_naive_s": naive["seconds"],
        "cirl_exact_value": exact["value"],
        "cirl_exact_s": exact["seconds"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
