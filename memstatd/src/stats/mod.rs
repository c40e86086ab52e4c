//! The per-UID model: counters detached from the maps, generations
//! (baselines) and snapshots kept on disk, named metrics, thresholds and
//! diffs.

pub mod counters;
pub mod diff;
pub mod measure;
pub mod metrics;
pub mod state;
