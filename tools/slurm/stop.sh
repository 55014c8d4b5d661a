#!/usr/bin/env bash
# Stop the single-node SLURM cluster started by tools/slurm/start.sh: cancel its jobs, then stop
# slurmd, slurmctld, slurmdbd, MariaDB and munged (each by its pid file). Idempotent: a daemon
# that is not running is skipped. Installed packages, configuration and state stay.
set -euo pipefail

RUN=/run/slurm
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=tools/slurm/common.sh
source "$HERE/common.sh"

[[ $(id -u) == 0 ]] || die "run as root: it stops daemons that root started"

if running "$RUN/slurmctld.pid" slurmctld; then
    jobs="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')"
    if [[ -n ${jobs// /} ]]; then
        say "cancelling jobs $jobs"
        # shellcheck disable=SC2086
        scancel $jobs || true
        for _ in $(seq 30); do
            [[ -z "$(squeue -h -o %A 2>/dev/null)" ]] && break
            sleep 1
        done
    fi
fi
stop_pid "$RUN/slurmd.pid" slurmd
stop_pid "$RUN/slurmctld.pid" slurmctld
stop_pid "$RUN/slurmdbd.pid" slurmdbd
stop_pid /run/mysqld/mysqld.pid mariadbd
stop_pid /run/munge/munged.pid munged
say "stopped"
