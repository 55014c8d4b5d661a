#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this host, for `rerankscale sweep --executor slurm`
# and tests/test_slurm.py (`make test-slurm`):
#
#   munged              authentication between the SLURM daemons and commands
#   MariaDB + slurmdbd  accounting, so that `sacct` works (submitit polls job states with it)
#   slurmctld           the controller, partition "debug" with this one node
#   slurmd              the node: CPUs from nproc, memory from free; no cgroups, no systemd
#
# Idempotent: packages already installed are not installed again, daemons already running with
# the same configuration are left running (a changed slurm.conf restarts slurmctld and slurmd).
# Everything listens on 127.0.0.1 only. Needs root (apt-get, daemons). Stop it with
# tools/slurm/stop.sh. Logs: /var/log/slurm/.
set -euo pipefail

CLUSTER=rerankscale
PARTITION=debug
ETC=/etc/slurm
LOGS=/var/log/slurm
RUN=/run/slurm
DB_SOCKET=/run/mysqld/mysqld.sock
PACKAGES=(slurm-wlm slurm-client slurmdbd munge mariadb-server)
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tools/slurm/common.sh
source "$HERE/common.sh"

need_root() {
    [[ $(id -u) == 0 ]] || die "run as root: it installs packages and starts daemons"
}

install_packages() {
    local missing=()
    for cmd in sinfo sacct slurmctld slurmd slurmdbd munged mariadbd; do
        command -v "$cmd" >/dev/null || missing+=("$cmd")
    done
    ((${#missing[@]} == 0)) && return 0
    say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
    command -v apt-get >/dev/null || die "no apt-get: install ${PACKAGES[*]} by hand"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${PACKAGES[@]}"; } >"$LOGS/apt.log" 2>&1; then
        die "apt-get install ${PACKAGES[*]} failed; see $LOGS/apt.log: $(tail -1 "$LOGS/apt.log")"
    fi
}

prepare_dirs() {
    mkdir -p "$ETC" "$LOGS" "$RUN" /run/munge /var/log/munge /run/mysqld /var/spool/slurmctld /var/spool/slurmd
    chown slurm:slurm "$LOGS" "$RUN" /var/spool/slurmctld
    chown munge:munge /run/munge /var/log/munge
    chown mysql:mysql /run/mysqld
}

# ------------------------------------------------------------------------------------ munge

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        say "creating /etc/munge/munge.key"
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 600 /etc/munge/munge.key
    fi
    if ! running /run/munge/munged.pid munged; then
        say "starting munged"
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid \
            --log-file=/var/log/munge/munged.log ||
            die "munged did not start; see /var/log/munge/munged.log: $(last_line /var/log/munge/munged.log)"
    fi
    wait_for "munge credentials" 20 bash -c "munge -n | unmunge >/dev/null 2>&1" ||
        die "munge -n | unmunge fails; see /var/log/munge/munged.log: $(last_line /var/log/munge/munged.log)"
}

# ------------------------------------------------------------------------- MariaDB, slurmdbd

start_mariadb() {
    if [[ ! -d /var/lib/mysql/mysql ]]; then
        say "initialising MariaDB in /var/lib/mysql"
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$LOGS/mariadb-install.log" 2>&1 ||
            die "mariadb-install-db failed; see $LOGS/mariadb-install.log"
    fi
    if ! running /run/mysqld/mysqld.pid mariadbd; then
        say "starting MariaDB (socket only, no TCP port)"
        daemon /usr/sbin/mariadbd --user=mysql --skip-networking --socket="$DB_SOCKET" \
            --pid-file=/run/mysqld/mysqld.pid --log-error="$LOGS/mariadb.log" \
            --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900
    fi
    wait_for "MariaDB" 60 mariadb-admin --socket="$DB_SOCKET" ping ||
        die "MariaDB does not answer on $DB_SOCKET; see $LOGS/mariadb.log: $(last_line "$LOGS/mariadb.log")"
    # slurmdbd runs as the slurm user and logs in as MariaDB user slurm through the socket
    # (unix_socket authentication: no password to keep)
    mariadb --socket="$DB_SOCKET" -e "
        CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED VIA unix_socket;
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" ||
        die "could not create the accounting database slurm_acct_db in MariaDB"
}

write_slurmdbd_conf() {
    local conf
    conf="# written by tools/slurm/start.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
PidFile=$RUN/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=0
StorageUser=slurm
StorageLoc=slurm_acct_db
"
    install_file "$ETC/slurmdbd.conf" "$conf" 600 slurm:slurm || true
}

start_slurmdbd() {
    if ! running "$RUN/slurmdbd.pid" slurmdbd; then
        say "starting slurmdbd"
        slurmdbd || die "slurmdbd did not start; see $LOGS/slurmdbd.log: $(last_line "$LOGS/slurmdbd.log")"
    fi
    wait_for "slurmdbd" 60 sacctmgr -n list cluster ||
        die "sacctmgr cannot reach slurmdbd; see $LOGS/slurmdbd.log: $(last_line "$LOGS/slurmdbd.log")"
    if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
        sacctmgr -i add cluster "$CLUSTER" >/dev/null || die "sacctmgr add cluster $CLUSTER failed"
    fi
}

# ---------------------------------------------------------------------- slurmctld, slurmd

write_slurm_conf() {
    local node cpus mem_mb conf
    node="$(hostname -s)"
    cpus="$(nproc)"
    mem_mb="$(free -m | awk '/^Mem:/ {print $2}')"
    [[ $cpus =~ ^[0-9]+$ && $mem_mb =~ ^[0-9]+$ ]] ||
        die "cannot read CPUs ($cpus) or memory ($mem_mb MB) with nproc and free"
    conf="# written by tools/slurm/start.sh: one node ($node, $cpus CPUs, $mem_mb MB), no cgroups
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# a requeued job may start again after cred_expire seconds (default 120)
AuthInfo=cred_expire=30
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ReturnToService=2
# no cgroups, no systemd: processes are tracked through /proc, tasks are not confined
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
# accounting through slurmdbd: sacct reports job states (submitit polls them)
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
# jobs may be requeued (scontrol requeue, node failure); killed 10 s after SIGTERM
JobRequeue=1
KillWait=10
MinJobAge=300
DefMemPerCPU=$((mem_mb / cpus))
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
"
    if install_file "$ETC/slurm.conf" "$conf" 644 root:root; then
        CONF_CHANGED=1
    fi
    NODE="$node"
}

start_slurmctld() {
    if running "$RUN/slurmctld.pid" slurmctld && [[ -n ${CONF_CHANGED:-} ]]; then
        say "slurm.conf changed: restarting slurmctld"
        stop_pid "$RUN/slurmctld.pid" slurmctld
    fi
    if ! running "$RUN/slurmctld.pid" slurmctld; then
        say "starting slurmctld"
        slurmctld || die "slurmctld did not start; see $LOGS/slurmctld.log: $(last_line "$LOGS/slurmctld.log")"
    fi
    wait_for "slurmctld" 60 scontrol ping ||
        die "slurmctld does not answer scontrol ping; see $LOGS/slurmctld.log: $(last_line "$LOGS/slurmctld.log")"
}

start_slurmd() {
    if running "$RUN/slurmd.pid" slurmd && [[ -n ${CONF_CHANGED:-} ]]; then
        say "slurm.conf changed: restarting slurmd"
        stop_pid "$RUN/slurmd.pid" slurmd
    fi
    if ! running "$RUN/slurmd.pid" slurmd; then
        say "starting slurmd"
        slurmd || die "slurmd did not start; see $LOGS/slurmd.log: $(last_line "$LOGS/slurmd.log")"
    fi
}

node_state() {
    sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1
}

wait_for_node() {
    local state
    for _ in $(seq 60); do
        state="$(node_state)"
        case "$state" in
        idle | mixed | allocated | completing) return 0 ;;
        drain* | down* | fail*)
            scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    die "node $NODE is '${state:-unknown}' after 60 s ($(sinfo -h -R -o '%E' | head -1)); see $LOGS/slurmd.log: $(last_line "$LOGS/slurmd.log")"
}

check_a_job() {
    local out
    out="$(timeout 60 srun --job-name=start-check --time=1 --mem=16 hostname 2>&1)" ||
        die "a test job (srun hostname) failed: $out; see $LOGS/slurmctld.log and $LOGS/slurmd.log"
    wait_for "the test job in sacct" 20 bash -c \
        "sacct -n -X -P --name=start-check -o State -S now-1hours | grep -q COMPLETED" ||
        die "sacct does not list the test job; see $LOGS/slurmdbd.log: $(last_line "$LOGS/slurmdbd.log")"
}

need_root
mkdir -p "$LOGS"
install_packages
prepare_dirs
start_munge
start_mariadb
write_slurm_conf  # sacctmgr reads it too
write_slurmdbd_conf
start_slurmdbd
start_slurmctld
start_slurmd
wait_for_node
check_a_job
say "up: $(sinfo -h -o 'partition %P, node %N, %c CPUs, %m MB, %T')"
