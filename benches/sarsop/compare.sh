#!/usr/bin/env bash
# Issue 22's side-by-side table: SARSOP's pomdpsol and `cirl solve --solver sarsop` on every classic file of
# tests/data/pomdp/, one after the other (one thread each, nothing else running), to precision 1e-3 or SECONDS
# (default 60). Prints a Markdown table: for each solver the seconds at which the bound gap at the initial belief
# first reached 1e-1, 1e-2 and 1e-3 ("–": not within the time), the bounds when it stopped and the peak memory.
#
# Usage: benches/sarsop/compare.sh [SECONDS]
#   with POMDPSOL=path/to/pomdpsol, or SARSOP_SRC=a checkout of github.com/AdaCompNUS/sarsop (built by build.sh).
# pomdpsol's times are its own progress lines (0.01 s resolution, after it has read the file); cirl's are its
# solver's clock (from the start of the solve, after the file is read), so both leave out parsing.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
if [ -z "${POMDPSOL:-}" ]; then
    POMDPSOL=$(bash benches/sarsop/build.sh)
fi
cargo build --release --quiet
cirl=target/release/cirl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash benches/sarsop/run-sarsop.sh "$POMDPSOL" "$secs" >"$tmp/sarsop.csv"
echo "problem,seconds_to_gap_0.1,seconds_to_gap_0.01,seconds_to_gap_0.001,lower,upper,gap,peak_mib" >"$tmp/cirl.csv"
for f in tests/data/pomdp/*.pomdp tests/data/pomdp/*.POMDP; do
    name=$(basename "$f")
    /usr/bin/time -f "%M" -o "$tmp/mem" timeout $((secs + 60)) \
        "$cirl" solve "$f" --solver sarsop --tolerance 1e-3 --timeout "$secs" --json >"$tmp/out.json" 2>/dev/null || true
    python3 - "$name" "$(tail -1 "$tmp/mem")" "$tmp/out.json" >>"$tmp/cirl.csv" <<'EOF'
import json, sys
name, mem, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
r = json.load(open(path))
a = r["anytime"]
t = [("%.3f" % a[k]["seconds"]) if a[k] else "" for k in ("gap_0_1", "gap_0_01", "gap_0_001")]
print(",".join([name, *t, "%.6g" % r["lower"], "%.6g" % r["upper"], "%.6g" % (r["upper"] - r["lower"]), "%.1f" % (mem / 1024)]))
EOF
done
python3 - "$tmp/sarsop.csv" "$tmp/cirl.csv" "$secs" <<'EOF'
import csv, sys
def load(p):
    return {r["problem"]: r for r in csv.DictReader(open(p))}
s, c, secs = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
order = ["tiger.95.POMDP", "shuttle.95.POMDP", "cheese.95.POMDP", "mini-hall2.pomdp", "4x3.95.POMDP",
         "4x4.95.POMDP", "RockSample_4_4.pomdp", "4x5x2.95.POMDP", "network.POMDP", "hallway.POMDP",
         "hallway2.POMDP", "TagAvoid.pomdp"]
order += sorted(set(s) - set(order))
def times(r):
    return " / ".join(r[k] or "–" for k in ("seconds_to_gap_0.1", "seconds_to_gap_0.01", "seconds_to_gap_0.001"))
def bounds(r):
    return f"[{r['lower']}, {r['upper']}] ({float(r['gap']):.3g})" if r["lower"] else "no answer"
print(f"| problem | SARSOP s to gap 0.1 / 0.01 / 0.001 | cirl s to gap 0.1 / 0.01 / 0.001 | SARSOP bounds (gap) at stop, ≤ {secs} s | cirl bounds (gap) at stop | peak MiB SARSOP / cirl |")
print("|---|---|---|---|---|---|")
for p in order:
    if p in s and p in c:
        print(f"| {p} | {times(s[p])} | {times(c[p])} | {bounds(s[p])} | {bounds(c[p])} | {s[p]['peak_mib']} / {c[p]['peak_mib']} |")
EOF
