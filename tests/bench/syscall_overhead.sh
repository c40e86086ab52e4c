#!/usr/bin/env bash
# Per-syscall overhead of memstat's default syscall probe against nothing
# attached, an empty tracepoint program and a bpftrace one-liner. Needs root.
# Arguments go to the benchmark: [--rounds N] [--iterations N].
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "syscall_overhead.sh: needs root (BPF and tracefs)" >&2
    exit 1
fi
bash scripts/setup.sh
cargo build -q --release -p memstat-tests --bin syscall_bench
exec "${CARGO_TARGET_DIR:-target}/release/syscall_bench" "$@"
