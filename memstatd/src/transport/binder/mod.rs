//! The binder service `memstat` (Android only): memstatd's side (`service`:
//! IMemStat's methods and the binder dump for dumpsys and bugreports, with
//! each caller's access) and the memstat CLI's (`client`). Glue only: what
//! each call does is `methods`. Written once against the API of the
//! platform's libbinder_rs; `libbinder` adapts what binder_ndk 0.2 lacks.

mod client;
mod libbinder;
mod service;

pub use client::Client;
pub use service::{serve, unregistered, Registered};

/// The name memstatd registers with the service manager.
pub const SERVICE_NAME: &str = "memstat";
