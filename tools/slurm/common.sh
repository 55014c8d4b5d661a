# Helpers of tools/slurm/start.sh and stop.sh (sourced, not run).

say() { echo "slurm: $*"; }

die() {
    echo "$(basename "$0"): error: $*" >&2
    exit 1
}

last_line() {
    [[ -s $1 ]] && tail -1 "$1" || echo "(empty)"
}

# running PIDFILE NAME: the process in PIDFILE is alive and is NAME (not a reused pid)
running() {
    local pid
    [[ -s $1 ]] || return 1
    pid="$(cat "$1")"
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2"* ]]
}

# stop_pid PIDFILE NAME: SIGTERM the daemon in PIDFILE and wait up to 30 s for it to exit
stop_pid() {
    local pid
    if ! running "$1" "$2"; then
        say "$2 is not running"
        return 0
    fi
    pid="$(cat "$1")"
    kill -TERM "$pid"
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || {
            say "stopped $2 (pid $pid)"
            return 0
        }
        sleep 0.5
    done
    die "$2 (pid $pid) did not exit within 30 s of SIGTERM"
}

# daemon CMD...: start CMD detached from this shell (for daemons that do not fork themselves)
daemon() {
    setsid nohup "$@" </dev/null >/dev/null 2>&1 &
}

# wait_for WHAT SECONDS CMD...: run CMD once a second until it succeeds (1 when it never does)
wait_for() {
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq "$seconds"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    say "$what: not ready after $seconds s"
    return 1
}

# install_file PATH CONTENT MODE OWNER: write PATH when its content differs (0: written, 1: same)
install_file() {
    if [[ -f $1 ]] && [[ "$(cat "$1")" == "$(printf '%s' "$2")" ]]; then
        return 1
    fi
    printf '%s' "$2" >"$1.tmp"
    chmod "$3" "$1.tmp"
    chown "$4" "$1.tmp"
    mv "$1.tmp" "$1"
    say "wrote $1"
}
