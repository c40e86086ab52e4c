#!/usr/bin/env bash
# Kernel memory of every BPF map memstat pins (every object, every group):
# memlock per map from fdinfo, per object and in total, on this machine and
# projected to 8 possible CPUs (per-CPU maps grow with the possible CPUs),
# against the goal of under 4 MiB in all. Needs root (BPF).
# Arguments go to the benchmark: [--cpus N] projects to N CPUs instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "map_memory.sh: needs root (BPF)" >&2
    exit 1
fi
bash scripts/setup.sh
cargo build -q --release -p memstat-tests --bin map_bench
exec "${CARGO_TARGET_DIR:-target}/release/map_bench" "$@"
