#!/usr/bin/env bash
# The README's run command: sets up a fresh machine, builds, starts memstatd
# in host mode, runs a sample workload as two UIDs and prints what memstat
# reports, including a snapshot diff gated by --fail-if. The demo's memstatd
# has its own pins, socket and state, and stops at the end. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build -q --release --workspace --bins
bin=$PWD/target/release
pins=/sys/fs/bpf/memstat-demo
work=$(mktemp -d /tmp/memstat-demo.XXXXXX)
memstat() { "$bin/memstat" --socket "$work/memstatd.sock" "$@"; }
as_uid() { local uid=$1; shift; setpriv --reuid "$uid" --regid "$uid" --clear-groups "$@"; }
show() {
    printf '\n$ memstat'
    for a; do [[ $a =~ ^[[:alnum:]_.,:/=-]+$ ]] && printf ' %s' "$a" || printf " '%s'" "$a"; done
    printf '\n'
    memstat "$@"
}

"$bin/memstatd" --host --pin-root "$pins" --socket "$work/memstatd.sock" \
    --state-dir "$work/state" </dev/null >/dev/null 2>"$work/memstatd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon; rm -rf "$pins" "$work"' EXIT
until memstat --section header >/dev/null 2>&1; do
    kill -0 $daemon 2>/dev/null || { cat "$work/memstatd.log" >&2; exit 1; }
    sleep 0.1
done

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
echo "(memstat exited $status: 1 means a --fail-if threshold was crossed, or could not be decided)"
