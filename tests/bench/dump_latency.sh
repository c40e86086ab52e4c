#!/usr/bin/env bash
# Dump latency of memstatd with 1,000 and 10,000 active UIDs, and its RSS,
# against the targets (50 ms, 250 ms, 10 MB). Needs root.
# Arguments go to the benchmark: [--requests N].
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "dump_latency.sh: needs root (BPF, tracefs, setresuid)" >&2
    exit 1
fi
bash scripts/setup.sh
# dump_bench runs memstatd and workload from its own directory.
cargo build -q --release --workspace --bins
exec target/release/dump_bench "$@"
