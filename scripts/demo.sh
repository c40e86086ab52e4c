#!/usr/bin/env bash
# The README's run command: sets up a fresh machine, builds, starts memstatd
# in host mode (unless one already serves), runs a sample workload as two
# UIDs and prints what memstat reports, including a snapshot diff gated by
# --fail-if. Needs root. memstatd keeps running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build -q --release --workspace --bins
bin=target/release
memstat() { "$bin/memstat" "$@"; }
as_uid() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"; }

if ! memstat --section header >/dev/null 2>&1; then
    log=/tmp/memstatd-demo.log
    "$bin/memstatd" --host </dev/null >/dev/null 2>"$log" &
    echo "started memstatd --host (pid $!, log $log); stop it with: kill $!"
    until memstat --section header >/dev/null 2>&1; do
        kill -0 $! 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
fi

show() { printf '\n$ memstat %s\n' "$*"; memstat "$@"; }

memstat --reset >/dev/null
# UID 61501 makes 1000 getppid calls and 10 failing fchdir(-1) calls; 61502 half that.
as_uid 61501 "$bin/workload" getppid:1000 badfd:10
as_uid 61502 "$bin/workload" getppid:500 badfd:5
show --uid 61501,61502
memstat --snapshot demo >/dev/null
# A "regression": 61501 now fails twice as often per run.
as_uid 61501 "$bin/workload" getppid:1000 badfd:20
status=0
show --diff demo --uid 61501 --fail-if 'syscalls.fchdir.errors>+50%' || status=$?
echo "(memstat exited $status: 1 means a --fail-if threshold was crossed)"
