#!/usr/bin/env bash
# The README's run command: sets up a fresh machine, builds, loads memstat's
# BPF objects with the host loader into /sys/fs/bpf/memstat, runs a sample
# workload as two UIDs and prints their per-syscall counts read through the
# pins. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build -q --release -p memstat-tests --bin pinread --bin workload

pins=/sys/fs/bpf/memstat
mkdir -p "$pins"
go=$(mktemp -u /tmp/memstat-demo.XXXXXX)
out=$(mktemp /tmp/memstat-demo-out.XXXXXX)
trap 'rm -f "$go" "$out"' EXIT

target/release/pinread "$pins" --load --wait-for "$go" >"$out" &
reader=$!
until grep -q '^attached$' "$out" 2>/dev/null; do
    kill -0 "$reader" 2>/dev/null || { echo "demo: the reader stopped" >&2; exit 1; }
    sleep 0.1
done

# UID 61501 makes 1000 getppid calls and 10 failing fchdir(-1) calls; 61502 half that.
setpriv --reuid 61501 --regid 61501 --clear-groups target/release/workload getppid:1000 badfd:10
setpriv --reuid 61502 --regid 61502 --clear-groups target/release/workload getppid:500 badfd:5
touch "$go"
wait "$reader"

printf '%-6s %-8s %8s %8s\n' UID SYSCALL COUNT ERRORS
awk -v getppid="$(printf '#include <sys/syscall.h>\nSYS_getppid' | cpp -P | tail -1)" \
    -v fchdir="$(printf '#include <sys/syscall.h>\nSYS_fchdir' | cpp -P | tail -1)" \
    '($1 == 61501 || $1 == 61502) && ($2 == getppid || $2 == fchdir) {
        printf "%-6s %-8s %8d %8d\n", $1, ($2 == getppid ? "getppid" : "fchdir"), $3, $4
    }
    /^overflow/ { overflow = $0 }
    END { print overflow }' "$out"
echo "(counters are cumulative across runs: the maps stay pinned in $pins)"
