//! memstatd's side of `memstat`: IMemStat's methods and the binder dump on
//! the service core, each call counted while in progress, and the caller's
//! access, asking the permission service when it matters.

use super::libbinder::check_interface;
use super::SERVICE_NAME;
use crate::service::permission::{self, DUMP_PERMISSION};
use crate::service::{Caller, Service};
use crate::transport::aidl::memstat::DumpResult::DumpResult;
use crate::transport::aidl::memstat::IMemStat::{BnMemStat, IMemStat};
use crate::transport::aidl::memstat::SystemStats::SystemStats;
use crate::transport::aidl::memstat::UidStats::UidStats;
use crate::transport::aidl::os::IPermissionController::IPermissionController;
use crate::transport::methods::{self, Exception};
use crate::transport::protocol::Status as End;
use binder::{
    BinderFeatures, ExceptionCode, ParcelFileDescriptor, ProcessState, SpIBinder, Status, Strong,
    ThreadState,
};
use std::ffi::CStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// memstatd's side of `memstat`.
pub(super) struct MemStat {
    service: Arc<Service>,
    /// How long one dump may take to write.
    pub(super) limit: Duration,
    in_flight: Arc<AtomicUsize>,
}

/// A call in progress, counted until it ends however it ends.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl MemStat {
    /// Counts the call in progress, and says who makes it and what it may do.
    fn enter(&self) -> (InFlight, Caller) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let slot = InFlight(Arc::clone(&self.in_flight));
        let uid = ThreadState::get_calling_uid();
        let pid = ThreadState::get_calling_pid();
        let access = permission::binder_caller(uid, || holds_dump(pid, uid));
        (slot, Caller { uid, pid, access })
    }

    /// The binder dump (`dumpsys memstat ARGS`, bugreports) to `out`.
    pub(super) fn write_dump(&self, out: &mut dyn Write, args: &[&CStr]) {
        let (_slot, caller) = self.enter();
        let r = methods::dump(&self.service, out, args, caller, self.limit);
        log_end(caller, "dump", &r);
    }
}

/// Asks system_server's `permission` service; a caller it cannot vouch for
/// reads only its own UID.
fn holds_dump(pid: i32, uid: u32) -> bool {
    let answer = check_interface::<dyn IPermissionController>("permission")
        .map_err(Status::from)
        .and_then(|c| c.checkPermission(DUMP_PERMISSION, pid, uid as i32));
    answer.unwrap_or_else(|e| {
        log::warn!("uid {uid}: cannot check {DUMP_PERMISSION} ({e}); it sees only its own UID");
        false
    })
}

/// A refused call as the AIDL exception Java and C++ clients expect.
fn exception(caller: Caller, method: &str, e: Exception) -> Status {
    let (code, message) = match e {
        Exception::Security(m) => (ExceptionCode::SECURITY, m),
        Exception::IllegalArgument(m) => (ExceptionCode::ILLEGAL_ARGUMENT, m),
        Exception::IllegalState(m) => (ExceptionCode::ILLEGAL_STATE, m),
    };
    log::info!("uid {} pid {}: {method}: {message}", caller.uid, caller.pid);
    Status::new_exception_str(code, Some(message))
}

fn log_end(caller: Caller, what: &str, r: &DumpResult) {
    if r.status != End::Ok as i32 && r.status != End::ThresholdCrossed as i32 {
        log::info!(
            "uid {} pid {}: {what}: {}",
            caller.uid,
            caller.pid,
            r.message
        );
    }
}

impl IMemStat for MemStat {
    fn getUidStats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        let (_slot, caller) = self.enter();
        methods::uid_stats(&self.service, uids, caller)
            .map_err(|e| exception(caller, "getUidStats", e))
    }

    fn getSystemStats(&self) -> binder::Result<SystemStats> {
        let (_slot, caller) = self.enter();
        methods::system_stats(&self.service, caller)
            .map_err(|e| exception(caller, "getSystemStats", e))
    }

    fn reset(&self) -> binder::Result<i64> {
        let (_slot, caller) = self.enter();
        methods::reset(&self.service, caller).map_err(|e| exception(caller, "reset", e))
    }

    fn snapshot(&self, name: &str) -> binder::Result<()> {
        let (_slot, caller) = self.enter();
        methods::snapshot(&self.service, name, caller).map_err(|e| exception(caller, "snapshot", e))
    }

    fn dumpTo(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        let (_slot, caller) = self.enter();
        let r = methods::dump_to(&self.service, fd.as_ref().as_fd(), args, caller, self.limit);
        log_end(caller, "dumpTo", &r);
        Ok(r)
    }
}

fn new_binder(
    service: Arc<Service>,
    limit: Duration,
    in_flight: Arc<AtomicUsize>,
) -> Strong<dyn IMemStat> {
    let memstat = MemStat {
        service,
        limit,
        in_flight,
    };
    BnMemStat::new_binder(memstat, BinderFeatures::default())
}

/// The registered service, serving on binder's thread pool.
pub struct Registered {
    _binder: Strong<dyn IMemStat>,
    in_flight: Arc<AtomicUsize>,
}

/// Registers `memstat` with the service manager and starts `threads`
/// binder threads to serve it; each dump may take `limit` to write.
pub fn serve(service: Arc<Service>, threads: usize, limit: Duration) -> Result<Registered, String> {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let binder = new_binder(service, limit, Arc::clone(&in_flight));
    binder::add_service(SERVICE_NAME, binder.as_binder()).map_err(|e| {
        format!(
            "cannot register the binder service {SERVICE_NAME:?} ({e}): is memstatd running in \
             its own SELinux domain with add_service(memstatd, memstat_service)?"
        )
    })?;
    ProcessState::set_thread_pool_max_thread_count(threads as u32);
    ProcessState::start_thread_pool();
    Ok(Registered {
        _binder: binder,
        in_flight,
    })
}

/// The service's binder object, registered with nobody: what a fuzzer
/// calls as the service manager's clients would.
pub fn unregistered(service: Arc<Service>, limit: Duration) -> SpIBinder {
    new_binder(service, limit, Arc::default()).as_binder()
}

impl Registered {
    /// Waits, at most `limit`, for the calls in progress to end.
    pub fn drain(&self, limit: Duration) {
        let waited = Instant::now();
        while self.in_flight.load(Ordering::SeqCst) > 0 && waited.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
