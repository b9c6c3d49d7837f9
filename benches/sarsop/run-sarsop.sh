#!/usr/bin/env bash
# SARSOP's side of issue 22's table: pomdpsol on every classic file of tests/data/pomdp/, one at a time (one
# thread), to precision 1e-3 or for SECONDS (default 60), writing one CSV row per problem: the seconds at which
# its bound gap at the initial belief first reached 1e-1, 1e-2 and 1e-3 (empty: not within the time), the bounds
# when it stopped, and its peak memory. Times are pomdpsol's own progress lines (0.01 s resolution).
# Usage: benches/sarsop/run-sarsop.sh PATH/TO/pomdpsol [SECONDS] > sarsop.csv
set -euo pipefail
cd "$(dirname "$0")/../.."
sol=${1:?give the path of pomdpsol (benches/sarsop/build.sh prints it)}
secs=${2:-60}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "problem,seconds_to_gap_0.1,seconds_to_gap_0.01,seconds_to_gap_0.001,lower,upper,gap,peak_mib"
for f in tests/data/pomdp/*.pomdp tests/data/pomdp/*.POMDP; do
    name=$(basename "$f")
    /usr/bin/time -f "%M" -o "$tmp/mem" timeout $((secs + 60)) \
        "$sol" "$f" --precision 1e-3 --timeout "$secs" -o "$tmp/policy" >"$tmp/log" 2>&1 || true
    # Progress lines: time, trials, backups, lower, upper, gap, alphas, beliefs.
    awk -v name="$name" -v mem="$(tail -1 "$tmp/mem")" '
        $1 ~ /^[0-9.]+$/ && NF >= 8 { t = $1; lo = $4; up = $5; gap = $6
            if (t1 == "" && gap <= 0.1) t1 = t
            if (t2 == "" && gap <= 0.01) t2 = t
            if (t3 == "" && gap <= 0.001) t3 = t }
        END { printf "%s,%s,%s,%s,%s,%s,%s,%.1f\n", name, t1, t2, t3, lo, up, gap, mem / 1024 }
    ' "$tmp/log"
done
