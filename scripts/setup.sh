#!/usr/bin/env bash
# Installs what building and testing memstat needs on a fresh Debian-based
# machine, and mounts bpffs and tracefs. Idempotent. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (BPF, tracefs and apt-get need it)" >&2
    exit 1
fi

packages=(clang-19 cpp linux-libc-dev linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross strace bpftrace blueprint-tools libc6-dev-arm64-cross libclang1-14)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup component add rustfmt clippy >/dev/null 2>&1
rustup target add aarch64-linux-android armv7-unknown-linux-gnueabihf >/dev/null 2>&1
# The platform's rustc (Cargo.toml rust-version): CI builds with it as well.
rustup toolchain install 1.83.0 --profile minimal >/dev/null 2>&1
rustup target add aarch64-linux-android --toolchain 1.83.0 >/dev/null 2>&1

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing
