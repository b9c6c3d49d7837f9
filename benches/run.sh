#!/usr/bin/env bash
# Benchmarks side by side with reference implementations.
# Usage: bash benches/run.sh [offswitch|cirl|gate|fit] [PYTHON]
#   offswitch (default): the off-switch grid and Monte Carlo against SciPy and NumPy (issue 2);
#   cirl: naive vs generalized backups, solver scaling, and the comparison with pomdp_py (issue 3);
#   gate: cirl gate's latency per decision against reference hooks (issue 15);
#   fit: cirl fit on a 10⁷-record log, JSON Lines and SQLite (issue 17; writes 3.8 GB under target/bench);
#   population: environments/s per family and agent, the scaling table, the NumPy reference for the chain, and
#   10⁵ chain environments per condition through `cirl run` on both cores (issue 19);
#   formats: a 10⁶-row results table written as CSV and as Parquet, and the same sweep through `cirl run` in
#   each format (issue 20);
#   python: vectorized off-switch values from Python (the cirl package) against the NumPy reference (issue 20;
#   PYTHON needs the package: pip install ./python);
#   gridworlds: environment steps/s from Python, cirl's off-switch gridworld against the original pycolab one
#   (issue 20; AI_SAFETY_GRIDWORLDS names a checkout of google-deepmind/ai-safety-gridworlds; a venv of its own).
# PYTHON: an interpreter with the packages of notebooks/requirements.txt (and, for cirl, benches/requirements.txt);
# default .venv/bin/python, which `bash scripts/test.sh` creates.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-offswitch}
PY=${2:-.venv/bin/python}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p target/bench
if [ "$WHAT" = gate ]; then
    cargo build --release --quiet
    "$PY" benches/reference/gate_latency.py target/release/cirl 2000 | tee target/bench/gate.json
    exit 0
fi
if [ "$WHAT" = fit ]; then
    cargo build --release --quiet
    LOG=target/bench/fit-log.jsonl
    [ -f $LOG ] || python3 benches/reference/fit_log.py 10000000 $LOG
    [ -f target/bench/fit-log.sqlite ] || target/release/cirl log import $LOG --log target/bench/fit-log.sqlite
    for f in $LOG target/bench/fit-log.sqlite; do
        for i in 1 2 3; do
            /usr/bin/time -f "$f: %e s, %M KB" target/release/cirl fit $f \
                --scenario experiments/scenarios/coding-agent.toml --json > target/bench/fit.json
        done
    done
    exit 0
fi
if [ "$WHAT" = formats ]; then
    cargo bench --bench formats | tee target/bench/formats.md
    cargo build --release --quiet
    cat > target/bench/formats-sweep.toml <<'TOML'
name = "formats-sweep"
[sweep]
prior = "normal"
human = "boltzmann"
mu = { start = -1.0, stop = 1.0, num = 100 }
sigma = { start = 0.0, stop = 2.0, num = 100 }
beta = { start = 0.0, stop = 2.0, num = 100 }
TOML
    for i in 1 2 3; do
        for f in csv parquet; do
            rm -rf target/bench/formats-$f && sync
            /usr/bin/time -f "$f: %e s wall, %U s user, %S s system, %M KB" target/release/cirl run \
                target/bench/formats-sweep.toml --out target/bench/formats-$f --quiet --no-plots --format $f >/dev/null
        done
    done
    ls -l target/bench/formats-csv/results.csv target/bench/formats-parquet/results.parquet
    exit 0
fi
if [ "$WHAT" = gridworlds ]; then
    : "${AI_SAFETY_GRIDWORLDS:?set AI_SAFETY_GRIDWORLDS to a checkout of google-deepmind/ai-safety-gridworlds}"
    V=target/bench/venv-gridworlds
    [ -x $V/bin/python ] || python3 -m venv $V
    $V/bin/python -m pip install -q --disable-pip-version-check -r benches/requirements-gridworlds.txt ./python
    $V/bin/python benches/reference/gridworld_throughput.py | tee target/bench/gridworlds.md
    exit 0
fi
if [ "$WHAT" = python ]; then
    PYABS=$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")
    (cd benches/reference && "$PYABS" python_offswitch.py) | tee target/bench/python_offswitch.md
    exit 0
fi
if [ "$WHAT" = population ]; then
    cargo bench --bench population | tee target/bench/population.md
    "$PY" benches/reference/chain_numpy.py target/bench/chains.json | tee target/bench/chain_numpy.json
    cargo build --release --quiet
    /usr/bin/time -f "%e s wall, %M KB" target/release/cirl run benches/population-100k.toml \
        --out target/bench/population-100k --quiet --no-plots --force
    exit 0
fi
if [ "$WHAT" = cirl ]; then
    cargo bench --bench cirl | tee target/bench/cirl.md
    "$PY" -m pip install -q --disable-pip-version-check -r benches/requirements.txt
    cargo build --release --quiet
    "$PY" benches/reference/pomdp_py_compare.py target/release/cirl > target/bench/pomdp_py.json
    "$PY" - <<'PY'
import json
d = json.load(open("target/bench/pomdp_py.json"))
def f(t):
    if t is None: return "—"
    return f"{t:.2f} s" if t >= 1 else (f"{t*1e3:.2f} ms" if t >= 1e-3 else f"{t*1e6:.0f} µs")
print("| horizon | value (cirl) | value (pomdp_py) | cirl exact VI | pomdp_py `value` (belief tree) | pomdp_py `ValueIteration.plan` |")
print("|---|---|---|---|---|---|")
for r in d["tiger"]:
    v = r.get("pomdp_py_value")
    print(f"| {r['horizon']} | {r['cirl_value']:.6f} | {'—' if v is None else f'{v:.6f}'} | {f(r['cirl_s'])} | {f(r.get('pomdp_py_value_s'))} | {f(r.get('pomdp_py_vi_s'))} |")
rb = d["red_blue"]
print()
print(f"red-blue ({rb['pomdp_states']} states, {rb['pomdp_actions']} actions, {rb['pomdp_observations']} observations): "
      f"pomdp_py {rb['pomdp_py_value']:.6f} in {f(rb['pomdp_py_value_s'])}; cirl naive {rb['cirl_naive_value']:.6f} in {f(rb['cirl_naive_s'])}; "
      f"cirl exact {rb['cirl_exact_value']:.6f} in {f(rb['cirl_exact_s'])}")
PY
    exit 0
fi

cargo bench --bench offswitch
"$PY" benches/reference/scipy_quad.py > target/bench/scipy.json
"$PY" benches/reference/numpy_gh.py > target/bench/numpy.json
"$PY" - <<'PY'
import json
r = json.load(open("target/bench/rust.json"))
sq = json.load(open("target/bench/scipy.json"))
ng = json.load(open("target/bench/numpy.json"))
full, smooth = ng["full"], ng["smooth"]
print()
print(f"| comparison | reference | reference error | cirl 1 thread | ratio | cirl {r['threads']} threads | ratio |")
print("|---|---|---|---|---|---|---|")
def row(name, ref_us, ref_err, ns1, ns2):
    print(f"| {name} | {ref_us:.3f} µs/point | {ref_err:.1e} | {ns1:.0f} ns | {ref_us*1e3/ns1:.0f}× | {ns2:.0f} ns | {ref_us*1e3/ns2:.0f}× |")
row(f"SciPy quad loop ({sq['points']} sampled points)", sq["us_per_point"], sq["max_diff_vs_cirl"], r["serial_ns_per_point"], r["parallel_ns_per_point"])
row(f"NumPy Gauss–Hermite, full grid, {full['nodes']} nodes", full["us_per_point"], full["max_error"], r["serial_ns_per_point"], r["parallel_ns_per_point"])
row(f"NumPy Gauss–Hermite, σ ≤ β half, {smooth['nodes']} nodes", smooth["us_per_point"], smooth["max_error"], r["smooth_serial_ns_per_point"], r["smooth_parallel_ns_per_point"])
print()
print(f"cirl max error on the sample: {r['max_error']:.1e}; Monte Carlo: {r['mc_games_per_s']:.3e} games/s on {r['threads']} threads")
print(f"NumPy Gauss–Hermite error beyond 256 nodes (full grid sample): {full['error_beyond_256_nodes']}")
PY
