#!/usr/bin/env bash
# Submits a cirl sweep to Slurm as a job array of N shards and a merge job that runs when every shard has
# succeeded (and is cancelled if one fails).
#
#   scripts/slurm/submit.sh CONFIG N OUT [sbatch options...]
#
# OUT/shard-K/ holds shard K, OUT/merged/ the merged outputs (identical to one unsharded `cirl run`),
# OUT/logs/ the jobs' output. sbatch options (e.g. --partition=short --time=1:00:00 --cpus-per-task=4) apply
# to both jobs. The cirl binary is $CIRL, else `cirl` on PATH, else target/release/cirl; it and OUT must be on a
# file system every node sees. Prints the two job ids: ARRAY_ID MERGE_ID.
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG N OUT [sbatch options...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
config=$(realpath "$1") n=$2 out=$3
shift 3
case $n in '' | *[!0-9]* | 0) echo "error: N must be a positive integer, got '$n'" >&2; exit 2 ;; esac
[ -f "$config" ] || { echo "error: no config at $config" >&2; exit 2; }
cirl=${CIRL:-$(command -v cirl || echo "$here/../../target/release/cirl")}
cirl=$(realpath "$cirl")
[ -x "$cirl" ] || { echo "error: no cirl binary at $cirl (build it or set CIRL)" >&2; exit 2; }
# Refuse a bad config before anything is queued (exit 2 with cirl's own message).
"$cirl" run "$config" --shard "1/$n" --dry-run >&2
mkdir -p "$out/logs"
out=$(realpath "$out")
array=$(sbatch --parsable --array="1-$n" --output="$out/logs/shard-%a.out" "$@" \
    "$here/shard.sbatch" "$cirl" "$config" "$n" "$out")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$out/logs/merge.out" "$@" "$here/merge.sbatch" "$cirl" "$n" "$out")
echo "${array} ${merge%%;*}"
