//! Readers of the machine's own state in /proc and /sys: what the report's
//! header and self section need, and the system memory view.
//!
//! The memory view has one module per source, each a pure
//! `parse(text) -> Result<T, ParseError>` and a thin `read(&Root)`: buddyinfo,
//! pagetypeinfo, zoneinfo, vmstat, meminfo, psi (`/proc/pressure/memory`),
//! vm_knobs (`/proc/sys/vm/`) and thp; fragmentation and vmstat_rates compute
//! from their samples. `reading` holds what they share: the root paths hang
//! from and the state of one file (read, missing, unreadable, malformed).

pub mod buddyinfo;
pub mod fragmentation;
pub mod meminfo;
pub mod pagetypeinfo;
pub mod psi;
pub mod reading;
pub mod thp;
pub mod view;
pub mod vm_knobs;
pub mod vmstat;
pub mod vmstat_rates;
pub mod zoneinfo;

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

fn read_trimmed(path: &str) -> io::Result<String> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

fn invalid(path: &str, text: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{path}: cannot parse {text:?}"),
    )
}

/// Whether this process runs as root, which alone may read 0400 files such
/// as `/proc/pagetypeinfo`.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The kernel release, as `uname -r` prints it. From uname(2), not
/// `/proc/sys/kernel/osrelease`, which Android's policy lets no core domain read.
pub(crate) fn kernel_release() -> io::Result<String> {
    uname(|uts| &uts.release)
}

/// The kernel's architecture, as `uname -m` prints it (`x86_64`, `aarch64`).
#[cfg(not(target_os = "android"))]
pub(crate) fn machine() -> io::Result<String> {
    uname(|uts| &uts.machine)
}

/// One field of uname(2)'s answer.
fn uname(field: impl FnOnce(&libc::utsname) -> &[libc::c_char]) -> io::Result<String> {
    // SAFETY: utsname is plain bytes, for which all zeroes is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes only into the struct it is given.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel NUL-terminates every utsname field.
    let value = unsafe { std::ffi::CStr::from_ptr(field(&uts).as_ptr()) };
    Ok(value.to_string_lossy().into_owned())
}

/// This boot's random id: it changes at every boot.
pub(crate) fn boot_id() -> io::Result<String> {
    read_trimmed("/proc/sys/kernel/random/boot_id")
}

/// Seconds since boot.
pub(crate) fn uptime_s() -> io::Result<f64> {
    let path = "/proc/uptime";
    let text = read_trimmed(path)?;
    parse_uptime(&text).ok_or_else(|| invalid(path, &text))
}

fn parse_uptime(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

/// Whether the kernel keeps BPF run counts and times (`kernel.bpf_stats_enabled`).
pub(crate) fn bpf_stats_enabled() -> io::Result<bool> {
    Ok(read_trimmed("/proc/sys/kernel/bpf_stats_enabled")? == "1")
}

/// Resident and peak resident memory of this process, in bytes.
pub(crate) fn self_memory() -> io::Result<(u64, u64)> {
    let path = "/proc/self/status";
    let text = read_trimmed(path)?;
    let rss = status_kb(&text, "VmRSS:").ok_or_else(|| invalid(path, "VmRSS"))?;
    let hwm = status_kb(&text, "VmHWM:").ok_or_else(|| invalid(path, "VmHWM"))?;
    Ok((rss * 1024, hwm * 1024))
}

/// A `Name:   123 kB` field of a /proc status file, in kB.
pub fn status_kb(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Wall-clock time in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Nanoseconds of CLOCK_BOOTTIME, the clock of a BPF program's load time.
pub(crate) fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec; CLOCK_BOOTTIME exists on every kernel we run on.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The wall-clock time (Unix ms) of a CLOCK_BOOTTIME instant.
pub(crate) fn boottime_to_ms(boot_ns: u64) -> u64 {
    let ago_ms = boottime_ns().saturating_sub(boot_ns) / 1_000_000;
    now_ms().saturating_sub(ago_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_fields() {
        assert_eq!(parse_uptime("12345.67 54321.00"), Some(12345.67));
        assert_eq!(parse_uptime(""), None);
        let status = "Name:\tmemstatd\nVmHWM:\t    4096 kB\nVmRSS:\t    3000 kB\n";
        assert_eq!(status_kb(status, "VmRSS:"), Some(3000));
        assert_eq!(status_kb(status, "VmHWM:"), Some(4096));
        assert_eq!(status_kb(status, "VmSwap:"), None);
    }

    #[test]
    fn live_values_are_sane() {
        #[cfg(not(target_os = "android"))]
        assert!(!machine().unwrap().is_empty());
        let release = kernel_release().unwrap();
        assert!(
            release.starts_with(|c: char| c.is_ascii_digit()),
            "{release}"
        );
        #[cfg(not(target_os = "android"))]
        assert_eq!(release, read_trimmed("/proc/sys/kernel/osrelease").unwrap());
        assert_eq!(boot_id().unwrap().len(), 36);
        assert!(uptime_s().unwrap() > 0.0);
        let (rss, hwm) = self_memory().unwrap();
        assert!(rss > 0 && hwm >= rss);
        let ms = boottime_to_ms(boottime_ns() - 1_000_000_000);
        assert!(now_ms() - ms >= 999 && now_ms() - ms < 2000);
    }
}
