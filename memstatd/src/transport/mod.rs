//! Transports: thin carriers of the dump call. The host socket here; binder
//! comes with the Android integration.

pub mod protocol;
pub mod socket;
