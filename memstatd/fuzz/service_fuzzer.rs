//! memstatd's binder service `memstat` under the platform's service fuzzer
//! (binder_random_parcel_rs's `fuzz_service`): random transactions, parcels,
//! file descriptors and calling UIDs against the real service, as memstatd
//! serves it before any counters exist: no pins, a state directory of its
//! own. Built by Soong as `memstatd_service_fuzzer` (Android.bp).
#![no_main]

use binder::SpIBinder;
use binder_random_parcel_rs::fuzz_service;
use libfuzzer_sys::fuzz_target;
use memstatd::probes::Probes;
use memstatd::service::{Mode, Service};
use memstatd::transport::binder::unregistered;
use memstatd::uid::UidNames;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How long one dump may take to write: a pipe nobody reads (the fuzzer
/// passes non-blocking ones) costs a call at most this.
const DUMP_LIMIT: Duration = Duration::from_millis(100);

/// The service, made once per fuzzing process.
fn memstat() -> &'static SpIBinder {
    static SERVICE: OnceLock<SpIBinder> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let state =
            std::env::temp_dir().join(format!("memstatd_service_fuzzer-{}", std::process::id()));
        let probes = Probes::open(
            &state.join("no-pins"),
            Err("no tracefs for the fuzzer".into()),
            &HashMap::new(),
        );
        let names = UidNames::android(Path::new("/data/system/packages.list"));
        let service = Service::new(Mode::Device, probes, &state, names)
            .unwrap_or_else(|e| panic!("memstatd's service on {}: {e}", state.display()));
        unregistered(Arc::new(service), DUMP_LIMIT)
    })
}

fuzz_target!(|data: &[u8]| {
    fuzz_service(&mut memstat().clone(), data);
});
