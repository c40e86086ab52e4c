//! Probe groups: for each, which pins it has, how it attaches, and how its
//! raw map entries become counters.

pub mod syscalls;
