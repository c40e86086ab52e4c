//! The binder service `memstat` (Android only): IMemStat declared as the
//! AIDL compiler's Rust backend declares an interface, with the codes and
//! parcelables of `aidl`; the binder dump for dumpsys and bugreports; the
//! caller's access, asking the permission service when it matters; and the
//! client the memstat CLI uses. Glue only: what each call does is `methods`.

use super::aidl::parcel::{self as wire, ParcelRead, ParcelWrite, WireError};
use super::aidl::parcelables::{DumpResult, SystemStats, UidStats};
use super::aidl::{self, Method, DESCRIPTOR, SERVICE_NAME};
use super::dump_fd::DumpFd;
use super::methods::{self, Exception};
use super::protocol::Status as End;
use crate::service::permission::{self, DUMP_PERMISSION};
use crate::service::{Caller, Service};
use binder::binder_impl::{
    Binder, BorrowedParcel, IBinderInternal, Parcel, TransactionCode, FIRST_CALL_TRANSACTION,
    FLAG_PRIVATE_LOCAL,
};
use binder::{
    declare_binder_interface, BinderFeatures, ExceptionCode, Interface, ParcelFileDescriptor,
    ProcessState, Status, StatusCode, Strong, ThreadState,
};
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const _: () = assert!(aidl::FIRST_CALL_TRANSACTION == FIRST_CALL_TRANSACTION);

/// `android.memstat.IMemStat`.
pub trait IMemStat: Interface + Send {
    fn get_uid_stats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>>;
    fn get_system_stats(&self) -> binder::Result<SystemStats>;
    fn reset(&self) -> binder::Result<i64>;
    fn snapshot(&self, name: &str) -> binder::Result<()>;
    fn dump_to(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult>;
}

declare_binder_interface! {
    IMemStat[DESCRIPTOR] {
        native: BnMemStat(on_transact),
        proxy: BpMemStat,
    }
}

fn on_transact(
    service: &dyn IMemStat,
    code: TransactionCode,
    data: &BorrowedParcel<'_>,
    reply: &mut BorrowedParcel<'_>,
) -> Result<(), StatusCode> {
    match Method::from_code(code) {
        Some(Method::GetUidStats) => {
            let uids: Vec<i32> = data.read()?;
            answer(reply, service.get_uid_stats(&uids))
        }
        Some(Method::GetSystemStats) => answer(reply, service.get_system_stats()),
        Some(Method::Reset) => answer(reply, service.reset()),
        Some(Method::Snapshot) => {
            let name: String = data.read()?;
            match service.snapshot(&name) {
                Ok(()) => reply.write(&Status::ok()),
                Err(status) => reply.write(&status),
            }
        }
        Some(Method::DumpTo) => {
            let fd: ParcelFileDescriptor = data.read()?;
            let args: Vec<String> = data.read()?;
            answer(reply, service.dump_to(&fd, &args))
        }
        None => Err(StatusCode::UNKNOWN_TRANSACTION),
    }
}

/// A reply as the backend writes one: an OK status and the result, or the
/// exception alone.
fn answer<T: binder::binder_impl::Serialize>(
    reply: &mut BorrowedParcel<'_>,
    result: binder::Result<T>,
) -> Result<(), StatusCode> {
    match result {
        Ok(value) => {
            reply.write(&Status::ok())?;
            reply.write(&value)
        }
        Err(status) => reply.write(&status),
    }
}

impl IMemStat for Binder<BnMemStat> {
    fn get_uid_stats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        self.0.get_uid_stats(uids)
    }
    fn get_system_stats(&self) -> binder::Result<SystemStats> {
        self.0.get_system_stats()
    }
    fn reset(&self) -> binder::Result<i64> {
        self.0.reset()
    }
    fn snapshot(&self, name: &str) -> binder::Result<()> {
        self.0.snapshot(name)
    }
    fn dump_to(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        self.0.dump_to(fd, args)
    }
}

impl BpMemStat {
    fn call<T>(
        &self,
        method: Method,
        args: impl FnOnce(&mut BorrowedParcel<'_>) -> Result<(), StatusCode>,
        result: impl FnOnce(&Parcel) -> Result<T, StatusCode>,
    ) -> binder::Result<T> {
        let mut data = self.binder.prepare_transact()?;
        args(&mut data.borrowed())?;
        let reply = self
            .binder
            .submit_transact(method.code(), data, FLAG_PRIVATE_LOCAL)?;
        let status: Status = reply.read()?;
        if !status.is_ok() {
            return Err(status);
        }
        Ok(result(&reply)?)
    }
}

impl IMemStat for BpMemStat {
    fn get_uid_stats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        self.call(Method::GetUidStats, |d| d.write(uids), |r| r.read())
    }
    fn get_system_stats(&self) -> binder::Result<SystemStats> {
        self.call(Method::GetSystemStats, |_| Ok(()), |r| r.read())
    }
    fn reset(&self) -> binder::Result<i64> {
        self.call(Method::Reset, |_| Ok(()), |r| r.read())
    }
    fn snapshot(&self, name: &str) -> binder::Result<()> {
        self.call(Method::Snapshot, |d| d.write(name), |_| Ok(()))
    }
    fn dump_to(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        self.call(
            Method::DumpTo,
            |d| {
                d.write(fd)?;
                d.write(args)
            },
            |r| r.read(),
        )
    }
}

// ---- the parcelables on binder's Parcel

impl From<WireError> for StatusCode {
    fn from(e: WireError) -> Self {
        match e {
            WireError::BadValue => StatusCode::BAD_VALUE,
            WireError::NotEnoughData => StatusCode::NOT_ENOUGH_DATA,
            WireError::UnexpectedNull => StatusCode::UNEXPECTED_NULL,
        }
    }
}

struct Out<'p, 'a>(&'p mut BorrowedParcel<'a>);

impl ParcelWrite for Out<'_, '_> {
    type Error = StatusCode;

    fn write_i32(&mut self, v: i32) -> Result<(), StatusCode> {
        self.0.write(&v)
    }
    fn write_i64(&mut self, v: i64) -> Result<(), StatusCode> {
        self.0.write(&v)
    }
    fn write_bool(&mut self, v: bool) -> Result<(), StatusCode> {
        self.0.write(&v)
    }
    fn write_f64(&mut self, v: f64) -> Result<(), StatusCode> {
        self.0.write(&v)
    }
    fn write_str(&mut self, v: &str) -> Result<(), StatusCode> {
        self.0.write(v)
    }
    fn position(&self) -> i32 {
        self.0.get_data_position()
    }
    fn patch_i32(&mut self, at: i32, v: i32) -> Result<(), StatusCode> {
        let end = self.0.get_data_position();
        // SAFETY: `at` and `end` are positions this parcel has been written
        // up to, so both lie within its data.
        unsafe { self.0.set_data_position(at)? };
        self.0.write(&v)?;
        // SAFETY: as above.
        unsafe { self.0.set_data_position(end) }
    }
}

struct In<'p, 'a>(&'p BorrowedParcel<'a>);

impl ParcelRead for In<'_, '_> {
    type Error = StatusCode;

    fn read_i32(&mut self) -> Result<i32, StatusCode> {
        self.0.read()
    }
    fn read_i64(&mut self) -> Result<i64, StatusCode> {
        self.0.read()
    }
    fn read_bool(&mut self) -> Result<bool, StatusCode> {
        self.0.read()
    }
    fn read_f64(&mut self) -> Result<f64, StatusCode> {
        self.0.read()
    }
    fn read_string(&mut self) -> Result<String, StatusCode> {
        self.0.read()
    }
    fn position(&self) -> i32 {
        self.0.get_data_position()
    }
    fn size(&self) -> i32 {
        self.0.get_data_size()
    }
    fn seek(&mut self, pos: i32) -> Result<(), StatusCode> {
        if !(0..=self.size()).contains(&pos) {
            return Err(StatusCode::NOT_ENOUGH_DATA);
        }
        // SAFETY: pos lies within the parcel's data (checked above).
        unsafe { self.0.set_data_position(pos) }
    }
}

/// `binder::Parcelable` over the encoding of `aidl::parcel`; binder's own
/// macros add the non-null flag and arrays, as for generated parcelables.
macro_rules! parcelable {
    ($($t:ident),*) => {$(
        impl binder::Parcelable for $t {
            fn write_to_parcel(&self, parcel: &mut BorrowedParcel<'_>) -> Result<(), StatusCode> {
                wire::write_body(self, &mut Out(parcel))
            }
            fn read_from_parcel(&mut self, parcel: &BorrowedParcel<'_>) -> Result<(), StatusCode> {
                *self = wire::read_body(&mut In(parcel))?;
                Ok(())
            }
        }
        binder::impl_serialize_for_parcelable!($t);
        binder::impl_deserialize_for_parcelable!($t);
    )*};
}

parcelable!(UidStats, SystemStats, DumpResult);

// ---- the service

/// memstatd's side of `memstat`.
struct MemStat {
    service: Arc<Service>,
    /// How long one dump may take to write.
    limit: Duration,
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
}

/// Asks system_server's `permission` service; a caller it cannot vouch for
/// reads only its own UID.
fn holds_dump(pid: i32, uid: u32) -> bool {
    let answer = binder::get_interface::<dyn IPermissionController>("permission")
        .map_err(Status::from)
        .and_then(|c| c.check_permission(DUMP_PERMISSION, pid, uid as i32));
    answer.unwrap_or_else(|e| {
        log::warn!("uid {uid}: cannot check {DUMP_PERMISSION} ({e}); it sees only its own UID");
        false
    })
}

/// A refused call as the AIDL exception Java and C++ clients expect.
fn exception(caller: Caller, method: Method, e: Exception) -> Status {
    let (code, message) = match e {
        Exception::Security(m) => (ExceptionCode::SECURITY, m),
        Exception::IllegalArgument(m) => (ExceptionCode::ILLEGAL_ARGUMENT, m),
        Exception::IllegalState(m) => (ExceptionCode::ILLEGAL_STATE, m),
    };
    log::info!(
        "uid {} pid {}: {}: {message}",
        caller.uid,
        caller.pid,
        method.name()
    );
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

impl Interface for MemStat {
    /// `dumpsys memstat ARGS` and bugreports (`-a`).
    fn dump(&self, file: &File, args: &[&CStr]) -> Result<(), StatusCode> {
        let (_slot, caller) = self.enter();
        let mut out = DumpFd::new(file.as_fd(), self.limit);
        let r = methods::dump(&self.service, &mut out, args, caller, self.limit);
        log_end(caller, "dump", &r);
        Ok(())
    }
}

impl IMemStat for MemStat {
    fn get_uid_stats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        let (_slot, caller) = self.enter();
        methods::uid_stats(&self.service, uids, caller)
            .map_err(|e| exception(caller, Method::GetUidStats, e))
    }

    fn get_system_stats(&self) -> binder::Result<SystemStats> {
        let (_slot, caller) = self.enter();
        methods::system_stats(&self.service, caller)
            .map_err(|e| exception(caller, Method::GetSystemStats, e))
    }

    fn reset(&self) -> binder::Result<i64> {
        let (_slot, caller) = self.enter();
        methods::reset(&self.service, caller).map_err(|e| exception(caller, Method::Reset, e))
    }

    fn snapshot(&self, name: &str) -> binder::Result<()> {
        let (_slot, caller) = self.enter();
        methods::snapshot(&self.service, name, caller)
            .map_err(|e| exception(caller, Method::Snapshot, e))
    }

    fn dump_to(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        let (_slot, caller) = self.enter();
        let r = methods::dump_to(&self.service, fd.as_ref().as_fd(), args, caller, self.limit);
        log_end(caller, Method::DumpTo.name(), &r);
        Ok(r)
    }
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
    let memstat = MemStat {
        service,
        limit,
        in_flight: Arc::clone(&in_flight),
    };
    let binder = BnMemStat::new_binder(memstat, BinderFeatures::default());
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

impl Registered {
    /// Waits, at most `limit`, for the calls in progress to end.
    pub fn drain(&self, limit: Duration) {
        let waited = Instant::now();
        while self.in_flight.load(Ordering::SeqCst) > 0 && waited.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

// ---- android.os.IPermissionController, served by system_server

/// Only `checkPermission`, the interface's first method.
pub trait IPermissionController: Interface + Send {
    fn check_permission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool>;
}

declare_binder_interface! {
    IPermissionController["android.os.IPermissionController"] {
        native: BnPermissionController(serve_no_permissions),
        proxy: BpPermissionController,
    }
}

/// memstatd only asks: it serves no permission controller.
fn serve_no_permissions(
    _: &dyn IPermissionController,
    _: TransactionCode,
    _: &BorrowedParcel<'_>,
    _: &mut BorrowedParcel<'_>,
) -> Result<(), StatusCode> {
    Err(StatusCode::UNKNOWN_TRANSACTION)
}

impl IPermissionController for Binder<BnPermissionController> {
    fn check_permission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool> {
        self.0.check_permission(permission, pid, uid)
    }
}

impl IPermissionController for BpPermissionController {
    fn check_permission(&self, permission: &str, pid: i32, uid: i32) -> binder::Result<bool> {
        let mut data = self.binder.prepare_transact()?;
        data.write(permission)?;
        data.write(&pid)?;
        data.write(&uid)?;
        // checkPermission(String, int, int) is method 0.
        let reply =
            self.binder
                .submit_transact(FIRST_CALL_TRANSACTION, data, FLAG_PRIVATE_LOCAL)?;
        let status: Status = reply.read()?;
        if !status.is_ok() {
            return Err(status);
        }
        Ok(reply.read()?)
    }
}

// ---- the memstat CLI's side

/// How long the CLI waits for memstatd to take or answer a request, as on
/// the socket.
const CLIENT_PATIENCE: Duration = Duration::from_secs(60);

/// memstatd's binder service, as the memstat CLI reaches it.
pub struct Client(Strong<dyn IMemStat>);

impl Client {
    /// Looks the service up; libbinder waits up to 5 s for it to appear.
    pub fn connect() -> Result<Self, String> {
        binder::get_interface::<dyn IMemStat>(SERVICE_NAME)
            .map(Client)
            .map_err(|e| match e {
                StatusCode::NAME_NOT_FOUND => format!(
                    "no memstatd: the binder service {SERVICE_NAME:?} did not appear within 5 s. \
                     Start it as root with `start memstatd`; `logcat -s memstatd` says why \
                     it is not running"
                ),
                e => format!("cannot reach memstatd's binder service {SERVICE_NAME:?}: {e:?}"),
            })
    }

    /// The dump of `args`, written to a pipe as dumpsys has it written, copied
    /// to `out`; then how it ended. An error is one of `out`, or a memstatd
    /// that stopped answering.
    pub fn request(&self, args: &[String], out: &mut impl Write) -> io::Result<(End, String)> {
        let (read, write) = pipe()?;
        let service = self.0.clone();
        let args = args.to_vec();
        // The call returns when the dump is written; its pipe end closes then.
        let call = std::thread::spawn(move || {
            service.dump_to(&ParcelFileDescriptor::new(File::from(write)), &args)
        });
        copy(File::from(read), out)?;
        let answer = call
            .join()
            .map_err(|_| io::Error::other("the binder call's thread panicked"))?;
        Ok(match answer {
            Ok(r) => (
                End::from_byte(u8::try_from(r.status).unwrap_or(u8::MAX)).unwrap_or(End::Failed),
                r.message,
            ),
            Err(status) => (
                End::Unavailable,
                format!("memstatd's binder service {SERVICE_NAME:?} failed the call: {status}"),
            ),
        })
    }
}

/// Copies `from` to `out` until every writer has closed its end.
fn copy(mut from: File, out: &mut impl Write) -> io::Result<()> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        wait_readable(&from, CLIENT_PATIENCE)?;
        match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn wait_readable(f: &File, patience: Duration) -> io::Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "memstatd sent nothing for {} s; `logcat -s memstatd` may say why",
                    patience.as_secs()
                ),
            ));
        }
        let mut p = libc::pollfd {
            fd: f.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: p is one valid pollfd for the call's duration.
        match unsafe { libc::poll(&mut p, 1, ms) } {
            n if n > 0 => return Ok(()),
            0 => continue,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are new descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
