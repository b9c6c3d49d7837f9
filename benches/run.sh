#!/usr/bin/env bash
# The off-switch benchmark side by side with the reference implementations (issue 2).
# Usage: bash benches/run.sh [PYTHON]   (PYTHON: an interpreter with numpy and scipy; default .venv/bin/python)
# Python runs single-threaded (BLAS threads pinned to 1); cirl is timed on 1 thread and on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
cargo bench --bench offswitch
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
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
