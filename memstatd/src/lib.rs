//! memstatd: per-UID syscall and memory statistics from BPF tracepoint
//! programs. The pipeline, one module per stage (see DESIGN.md):
//! `abi` (the BPF ABI mirror) → `loader` (host mode only: the platform
//! bpfloader's rules, load, pin) → `bpf` (open pins, attach, read maps) →
//! `probes` (one module per probe group) → `stats` (windows, generations,
//! snapshots, metrics, diffs), with `system` (/proc and /sys) and `uid`
//! (names) beside it, and `advisor` over both → `report` (the model, text
//! and JSON) → `service` (`dump(out, args, caller)`) → `transport`.

pub mod abi;
pub mod advisor;
pub mod bpf;
#[cfg(not(target_os = "android"))]
pub mod loader;
mod math;
pub mod memcg;
pub mod probes;
pub mod report;
pub mod service;
pub mod stats;
pub mod system;
pub mod tasks;
#[cfg(test)]
mod testing;
pub mod transport;
mod trusted_dir;
pub mod uid;
