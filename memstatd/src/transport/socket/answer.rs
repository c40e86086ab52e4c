//! One client, from its request to the end of its answer, within the
//! request's time limit: read the request, build the answer into a spool
//! (charged to the answer budget), then send it.

use super::budget::Budget;
use super::client_log;
use super::deadline::Deadlined;
use crate::service::permission::Access;
use crate::service::{Caller, Service};
use crate::transport::protocol::{self, FrameWriter, Status};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// How long an end frame may take once a request's own time is up.
const GRACE: Duration = Duration::from_millis(100);

/// Serves `stream`, whose caller is `caller`, until `deadline`. The
/// service is held only while the answer is built: a daemon that stops
/// waits for no client that is still sending or reading.
pub(super) fn handle(
    stream: UnixStream,
    caller: Caller,
    service: &Weak<Service>,
    budget: &Arc<Budget>,
    deadline: Instant,
    limit: Duration,
) {
    let who = format!("uid {} pid {}", caller.uid, caller.pid);
    let args = match protocol::read_request(&mut Deadlined::new(&stream, deadline)) {
        Ok(args) => args,
        Err(why) => {
            client_log::log(log::Level::Info, format_args!("{who}: {why}"));
            return end(&stream, Status::Unavailable, &why);
        }
    };
    let building = match budget.build(caller.access == Access::Full, deadline) {
        Ok(b) => b,
        Err(why) => return end(&stream, Status::Unavailable, &why),
    };
    let Some(service) = service.upgrade() else {
        return end(&stream, Status::Unavailable, "memstatd is stopping");
    };
    let mut spool = building.spool();
    let mut out = FrameWriter::new(&mut spool);
    let dumped = service.dump(&mut out, &args, caller);
    drop(service);
    // The answer is built: the model it came from is gone.
    drop(building);
    let (status, message) = match protocol::ending(dumped) {
        Ok(ended) => ended,
        Err(e) => {
            // Nothing was sent: the answer is the reason alone (over the
            // budget, the one way a spool's write fails).
            client_log::log(log::Level::Info, format_args!("{who}: {e}"));
            return end(&stream, Status::Unavailable, &e.to_string());
        }
    };
    if Instant::now() >= deadline {
        let why = format!(
            "the request ran past its time limit of {} s",
            limit.as_secs()
        );
        client_log::log(log::Level::Info, format_args!("{who}: {why}"));
        return end(&stream, Status::Unavailable, &why);
    }
    if let Err(e) = out.finish(status, &message) {
        // The end frame did not fit in the budget: it replaces the answer.
        spool.clear();
        return end(&stream, Status::Unavailable, &e.to_string());
    }
    if let Err(e) = spool.send(&mut Deadlined::new(&stream, deadline)) {
        // A client that does not read its answer in time is cut off.
        client_log::log(
            log::Level::Info,
            format_args!("{who}: answer not sent: {e}"),
        );
    }
}

/// An end frame alone, sent within [`GRACE`].
fn end(stream: &UnixStream, status: Status, message: &str) {
    let out = Deadlined::new(stream, Instant::now() + GRACE);
    if let Err(e) = FrameWriter::new(out).finish(status, message) {
        client_log::log(log::Level::Debug, format_args!("end frame not sent: {e}"));
    }
}

/// Tells a client there is no place for it, within [`GRACE`].
pub(super) fn refuse(stream: &UnixStream, caller: Caller, why: &str) {
    client_log::log(
        log::Level::Debug,
        format_args!("uid {} pid {}: {why}", caller.uid, caller.pid),
    );
    end(stream, Status::Unavailable, why);
}
