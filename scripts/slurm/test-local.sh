#!/usr/bin/env bash
# End-to-end test on a real single-node Slurm: start the cluster (cluster.sh), submit a small sweep as a job
# array of 3 shards plus a dependent merge (submit.sh), wait for the merge, check that the merged results equal
# one unsharded run byte for byte, then stop the daemons it started. Exit 0 on success.
#
#   bash scripts/slurm/test-local.sh [CIRL_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cirl=$(realpath "${1:-$root/target/release/cirl}")
[ -x "$cirl" ] || { echo "error: build cirl first (cargo build --release)" >&2; exit 2; }
work=$(mktemp -d)
state=$work/slurm
cleanup() {
    bash "$root/scripts/slurm/cluster.sh" stop "$state" || true
    rm -rf "$work"
}
trap cleanup EXIT
started=$(date +%s%N)
bash "$root/scripts/slurm/cluster.sh" start "$state"
export SLURM_CONF=$state/slurm.conf

cat >"$work/sweep.toml" <<'TOML'
name = "slurm-sweep"
[sweep]
prior = "normal"
human = "boltzmann"
mu = [-0.25, 0.0, 0.25]
sigma = { start = 0.0, stop = 2.0, num = 81 }
beta = { start = 0.0, stop = 2.0, num = 81 }
[frontier]
along = "beta"
[[plot]]
kind = "heatmap"
x = "sigma"
y = "beta"
panels = "mu"
TOML

read -r array merge < <(CIRL=$cirl bash "$root/scripts/slurm/submit.sh" "$work/sweep.toml" 3 "$work/out")
echo "submitted array $array, merge $merge"
state_of() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
for _ in $(seq 600); do
    s=$(state_of "$merge")
    case $s in
        COMPLETED) break ;;
        FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
            echo "error: merge job $merge ended $s" >&2
            cat "$work/out/logs/"* >&2 || true
            exit 1 ;;
    esac
    sleep 0.2
done
[ "$(state_of "$merge")" = COMPLETED ] || { echo "error: merge job $merge did not finish in 120 s" >&2; exit 1; }
for k in 1 2 3; do
    [ "$(state_of "${array}_$k")" = COMPLETED ] || { echo "error: array task $k did not complete" >&2; exit 1; }
done

"$cirl" run "$work/sweep.toml" --out "$work/single" --quiet --threads 2 >/dev/null
for f in results.csv frontier.csv config.resolved.toml; do
    cmp "$work/single/$f" "$work/out/merged/$f" || { echo "error: merged $f differs from the single run" >&2; exit 1; }
done
for f in heatmap_sigma_beta.svg heatmap_sigma_beta.png summary.md; do
    [ -s "$work/out/merged/$f" ] || { echo "error: the merge did not write $f" >&2; exit 1; }
done
rows=$(($(wc -l <"$work/out/merged/results.csv") - 1))
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "slurm: 3 array tasks + merge on a single-node cluster; merged results.csv ($rows rows) and frontier.csv identical to the single run in ${elapsed_ms} ms"
