#!/usr/bin/env bash
# A single-node Slurm cluster for tests: munged, slurmctld and slurmd as the current (root) user, listening on
# 127.0.0.1 only, no systemd and no cgroups, every file under STATE_DIR.
#
#   scripts/slurm/cluster.sh start STATE_DIR    # then: export SLURM_CONF=STATE_DIR/slurm.conf
#   scripts/slurm/cluster.sh stop STATE_DIR     # stops the daemons it started, by their pid files
#
# Needs Debian's slurmctld slurmd slurm-client munge (installed with apt-get when missing and run as root).
# Ports: $CIRL_SLURM_PORT (slurmctld, default 16817) and the next one (slurmd).
set -euo pipefail
cmd=${1:?usage: $0 start|stop STATE_DIR} state=${2:?usage: $0 start|stop STATE_DIR}

stop() {
    for d in slurmd slurmctld munged; do
        local f="$state/$d.pid"
        [ -s "$f" ] || continue
        local pid
        pid=$(cat "$f")
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
}

start() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
        if [ "$(id -u)" != 0 ]; then
            echo "error: install slurmctld slurmd slurm-client munge first (as root)" >&2
            exit 2
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurmctld slurmd slurm-client munge >/dev/null
    fi
    mkdir -p "$state"
    state=$(realpath "$state")
    mkdir -p "$state/munge" "$state/ctld" "$state/spool"
    chmod 0711 "$state/munge"
    [ -s "$state/munge.key" ] || mungekey --create --keyfile="$state/munge.key" >/dev/null 2>&1 \
        || dd if=/dev/urandom of="$state/munge.key" bs=1024 count=1 status=none
    chmod 0600 "$state/munge.key"
    munged --force --key-file="$state/munge.key" --socket="$state/munge/munge.socket.2" \
        --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$state/munged.seed"
    local port=${CIRL_SLURM_PORT:-16817}
    cat >"$state/slurm.conf" <<CONF
ClusterName=cirl-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket.2
CommunicationParameters=NoCtldInAddrAny
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=$(hostname) CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld -c -f "$state/slurm.conf"
    slurmd -f "$state/slurm.conf" -N localhost
    export SLURM_CONF=$state/slurm.conf
    for _ in $(seq 100); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "slurm up: SLURM_CONF=$SLURM_CONF"
            return 0
        fi
        sleep 0.1
    done
    echo "error: the node did not come up; logs in $state" >&2
    tail -5 "$state/slurmctld.log" "$state/slurmd.log" >&2 || true
    stop
    exit 1
}

case $cmd in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
