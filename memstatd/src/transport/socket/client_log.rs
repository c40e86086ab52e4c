//! Log lines about clients, rate-limited: a client that sends bad requests
//! as fast as it can costs the log at most [`LINES`] lines per [`WINDOW`],
//! one saying that more are left out, and one with their count. Client
//! input in messages is cut to a short prefix (`protocol::excerpt`).

use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines about clients logged per window.
const LINES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(10);

struct Window {
    start: Option<Instant>,
    lines: u32,
    left_out: u64,
}

static WINDOW_NOW: Mutex<Window> = Mutex::new(Window {
    start: None,
    lines: 0,
    left_out: 0,
});

/// Logs `message` at `level`, unless this window's lines are used up. The
/// count of lines left out is logged with the first line of a later window.
pub(super) fn log(level: log::Level, message: impl Display) {
    if !log::log_enabled!(level) {
        return;
    }
    let mut w = WINDOW_NOW.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    if w.start.is_none_or(|s| now.duration_since(s) >= WINDOW) {
        if w.left_out > 0 {
            log::warn!(
                "{} more messages about clients were not logged (at most {LINES} per {} s)",
                w.left_out,
                WINDOW.as_secs()
            );
        }
        *w = Window {
            start: Some(now),
            lines: 0,
            left_out: 0,
        };
    }
    if w.lines < LINES {
        w.lines += 1;
        log::log!(level, "{message}");
        if w.lines == LINES {
            log::warn!(
                "more messages about clients are left out for the rest of these {} s (at most \
                 {LINES} per {} s); their count follows then",
                WINDOW.as_secs(),
                WINDOW.as_secs()
            );
        }
    } else {
        w.left_out += 1;
    }
}
