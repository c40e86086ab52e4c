//! The live processes' own counters, from `/proc/<pid>/stat` (flags,
//! minflt, majflt and starttime, fields 9, 10, 12 and 22: the whole
//! process, its exited threads included), `/proc/<pid>/status` (the real
//! UID, `RssAnon`, `RssFile`, `RssShmem`, `VmHWM`, `VmPeak`) and
//! `/proc/<pid>/statm`. Nothing is written: `clear_refs` belongs to the
//! platform's `rss_hwm_reset`.
//!
//! A full walk (every report) reads `stat` of every process and `status`
//! of every user process. A poll reads only `statm` of the user processes
//! it knows (a third of `stat` + `status`'s CPU), and both others only where
//! `statm` changed or the pid is new: an unchanged `statm` means unchanged
//! sizes, so nothing a poll keeps (the RSS sums, the peaks, the UID moves
//! that come with new memory) can have moved. Kernel threads (root, no
//! memory) are skipped by polls.
//!
//! Files are opened relative to one `/proc` descriptor without following
//! links, read into one buffer up to a bound, and a process that vanishes
//! between its directory entry and its files is skipped: it is then gone,
//! which is what the exit program accounts.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// At most this many processes are read in one walk.
pub(crate) const MAX_PROCESSES: usize = 65536;
/// Bytes read of one file (`stat` and `statm` are far shorter; `status`
/// too unless a process has thousands of supplementary groups).
const MAX_FILE: usize = 16384;
/// `PF_KTHREAD` of `stat`'s flags (field 9).
const PF_KTHREAD: u64 = 0x0020_0000;

/// One process, as its files said.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Process {
    pub(crate) pid: u32,
    /// `starttime`, in clock ticks since boot: with the pid, which process.
    pub(crate) start: u64,
    pub(crate) uid: u32,
    pub(crate) minor: u64,
    pub(crate) major: u64,
    /// Bytes: anon, file, shmem (0 for kernel threads and zombies).
    pub(crate) rss: [u64; 3],
    /// Bytes: peak RSS since the process began or `clear_refs` last reset it.
    pub(crate) hwm: u64,
    /// Bytes: peak virtual size (never reset).
    pub(crate) vm_peak: u64,
    /// A kernel thread: root, no memory.
    pub(crate) kthread: bool,
    /// Pages: total_vm, rss, file + shmem, data + stack, as `statm` and
    /// `status` both tell them.
    pub(crate) shape: [u64; 4],
    /// Whether this walk read its `stat` and `status`; if not, every field
    /// but `pid` is the last read's (a poll found its `statm` unchanged).
    pub(crate) read: bool,
}

/// How much of each process a walk reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// `stat` and `status` of every process (for reports).
    Full,
    /// `statm` of known user processes; the rest only where it changed.
    Poll,
}

/// What a walk did, for its cost line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Walked {
    pub(crate) processes: usize,
    /// Processes whose `stat` (and `status`) it read.
    pub(crate) read: usize,
}

/// `/proc`, held open between walks, with the buffers walks reuse.
pub(crate) struct Walker {
    dir: OwnedFd,
    entries: Vec<u8>,
    file: Vec<u8>,
    pids: Vec<u32>,
    page_kib: u64,
    last: HashMap<u32, Process>,
}

fn digits(mut n: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[at..];
        }
    }
}

fn number(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn words(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty())
}

/// Flags, minflt, majflt and starttime of a `stat` line; `None` if malformed.
pub(crate) fn parse_stat(text: &[u8]) -> Option<[u64; 4]> {
    // The command (field 2) may hold spaces and parentheses: fields after
    // it start at the last ')'.
    let at = text.iter().rposition(|&b| b == b')')?;
    // The first word is field 3 (state).
    let mut f = words(&text[at + 1..]).skip(6);
    let flags = number(f.next()?)?;
    let minor = number(f.next()?)?;
    let major = number(f.nth(1)?)?;
    let start = number(f.nth(9)?)?;
    Some([flags, minor, major, start])
}

/// The [`Process::shape`] of a `statm` line; `None` if malformed.
pub(crate) fn parse_statm(text: &[u8]) -> Option<[u64; 4]> {
    let mut f = words(text).map(number);
    let (size, resident, shared) = (f.next()??, f.next()??, f.next()??);
    let data = f.nth(2)??;
    Some([size, resident, shared, data])
}

/// The real UID, sizes and shape of a `status` file into `p`; `None`
/// without a `Uid:` line.
pub(crate) fn parse_status(text: &[u8], page_kib: u64, p: &mut Process) -> Option<()> {
    let mut uid = None;
    let mut kib = [0u64; 5];
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        let first = || words(value).next().and_then(number);
        let slot = match key {
            b"Uid" => {
                uid = Some(u32::try_from(first()?).ok()?);
                continue;
            }
            b"RssAnon" => &mut p.rss[0],
            b"RssFile" => &mut p.rss[1],
            b"RssShmem" => &mut p.rss[2],
            b"VmHWM" => &mut p.hwm,
            b"VmPeak" => &mut p.vm_peak,
            b"VmSize" => &mut kib[0],
            b"VmRSS" => &mut kib[1],
            b"VmData" => &mut kib[3],
            b"VmStk" => &mut kib[4],
            _ => continue,
        };
        *slot = first().unwrap_or(0);
    }
    p.uid = uid?;
    kib[2] = p.rss[1].saturating_add(p.rss[2]);
    let page_kib = page_kib.max(1);
    p.shape = [kib[0], kib[1], kib[2], kib[3].saturating_add(kib[4])].map(|k| k / page_kib);
    for v in p.rss.iter_mut().chain([&mut p.hwm, &mut p.vm_peak]) {
        *v = v.saturating_mul(1024);
    }
    Some(())
}

/// Pids of a `getdents64` buffer's numeric names.
fn parse_entries(buf: &[u8], pids: &mut Vec<u32>) {
    // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name.
    let mut at = 0;
    while let Some(head) = buf.get(at..at + 19) {
        let len = usize::from(u16::from_ne_bytes([head[16], head[17]]));
        let Some(rec) = buf.get(at..at + len).filter(|_| len > 19) else {
            return;
        };
        let name = &rec[19..];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        if name.first().is_some_and(u8::is_ascii_digit) {
            if let Some(pid) = number(name).and_then(|n| u32::try_from(n).ok()) {
                pids.push(pid);
            }
        }
        at += len;
    }
}

impl Walker {
    /// Opens `proc_root` (`/proc`).
    pub(crate) fn open(proc_root: &Path, page_size: u64) -> io::Result<Self> {
        let mut path = proc_root.as_os_str().as_bytes().to_vec();
        path.push(0);
        let path = CStr::from_bytes_with_nul(&path)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: path is NUL-terminated; the result is checked.
        let fd = unsafe { libc::open(path.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Walker {
            // SAFETY: fd was just opened and is owned by nothing else.
            dir: unsafe { OwnedFd::from_raw_fd(fd) },
            entries: vec![0; 32768],
            file: vec![0; MAX_FILE],
            pids: Vec::new(),
            page_kib: page_size / 1024,
            last: HashMap::new(),
        })
    }

    /// Every process (thread groups: /proc lists tgids), at most
    /// [`MAX_PROCESSES`], sorted by pid, into `out`.
    pub(crate) fn walk(&mut self, depth: Depth, out: &mut Vec<Process>) -> io::Result<Walked> {
        self.list()?;
        out.clear();
        let mut walked = Walked::default();
        let pids = std::mem::take(&mut self.pids);
        for &pid in &pids {
            let known = self.last.get(&pid).copied();
            let p = match (depth, known) {
                (Depth::Poll, Some(p)) if p.kthread => Some(Process { read: false, ..p }),
                (Depth::Poll, Some(p)) => match self.statm(pid) {
                    None => None,
                    Some(shape) if shape == p.shape => Some(Process { read: false, ..p }),
                    Some(_) => self.process(pid),
                },
                _ => self.process(pid),
            };
            if let Some(p) = p {
                walked.read += usize::from(p.read);
                out.push(p);
            }
        }
        self.pids = pids;
        walked.processes = out.len();
        self.last.clear();
        self.last.extend(out.iter().map(|p| (p.pid, *p)));
        Ok(walked)
    }

    fn list(&mut self) -> io::Result<()> {
        self.pids.clear();
        let fd = self.dir.as_raw_fd();
        // SAFETY: fd is an open directory.
        if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let (at, len) = (self.entries.as_mut_ptr(), self.entries.len());
            // SAFETY: the buffer is valid for len bytes.
            let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, at, len) };
            let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
            if n == 0 {
                break;
            }
            parse_entries(&self.entries[..n.min(len)], &mut self.pids);
        }
        self.pids.sort_unstable();
        self.pids.truncate(MAX_PROCESSES);
        Ok(())
    }

    /// `/proc/<pid>/<name>` into the buffer; `None` if it cannot be read.
    fn read(&mut self, pid: u32, name: &[u8]) -> Option<&[u8]> {
        let mut path = [0u8; 40];
        let mut d = [0u8; 20];
        let d = digits(pid.into(), &mut d);
        let mut at = 0;
        for part in [d, b"/", name] {
            path.get_mut(at..at + part.len())?.copy_from_slice(part);
            at += part.len();
        }
        let path = CStr::from_bytes_until_nul(&path).ok()?;
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: path is NUL-terminated; the result is checked.
        let fd = unsafe { libc::openat(self.dir.as_raw_fd(), path.as_ptr(), flags) };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just opened and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut filled = 0;
        while filled < self.file.len() {
            let rest = &mut self.file[filled..];
            // SAFETY: rest is valid for rest.len() bytes.
            let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
            match usize::try_from(n) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(_) if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(&self.file[..filled])
    }

    fn statm(&mut self, pid: u32) -> Option<[u64; 4]> {
        parse_statm(self.read(pid, b"statm")?)
    }

    /// One process's `stat`, and `status` unless it is a kernel thread;
    /// `None` if it is gone or its files unreadable.
    pub(crate) fn process(&mut self, pid: u32) -> Option<Process> {
        let [flags, minor, major, start] = parse_stat(self.read(pid, b"stat")?)?;
        let mut p = Process {
            pid,
            start,
            minor,
            major,
            kthread: flags & PF_KTHREAD != 0,
            read: true,
            ..Process::default()
        };
        if !p.kthread {
            // A pid reused between the two reads (within microseconds,
            // after a wrap of the pid space) would lend this one its UID
            // and sizes.
            let page_kib = self.page_kib;
            parse_status(self.read(pid, b"status")?, page_kib, &mut p)?;
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_past_a_command_with_parentheses() {
        let line = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1234 99 7 0 5 6 0 0 20 0 1 0 \
                    777 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat(line), Some([4194560, 1234, 7, 777]));
        assert_eq!(parse_stat(b"1 (x) S 1 2"), None);
        assert_eq!(parse_stat(b"no parenthesis"), None);
    }

    #[test]
    fn parses_statm_and_status_to_the_same_shape() {
        assert_eq!(
            parse_statm(b"2500 1250 500 10 0 300 0\n"),
            Some([2500, 1250, 500, 300])
        );
        assert_eq!(parse_statm(b"1 2 3"), None);
        let text = b"Name:\tx\nUid:\t68001\t0\t0\t0\nVmPeak:\t  9000 kB\nVmSize:\t 10000 kB\n\
                    VmHWM:\t  6000 kB\nVmRSS:\t  5000 kB\nRssAnon:\t  3000 kB\n\
                    RssFile:\t  1996 kB\nRssShmem:\t  4 kB\nVmData:\t  1000 kB\nVmStk:\t 200 kB\n";
        let mut p = Process::default();
        assert_eq!(parse_status(text, 4, &mut p), Some(()));
        assert_eq!(p.uid, 68001);
        assert_eq!(p.rss, [3000 * 1024, 1996 * 1024, 4 * 1024]);
        assert_eq!((p.hwm, p.vm_peak), (6000 * 1024, 9000 * 1024));
        assert_eq!(p.shape, [2500, 1250, 500, 300]);
        // A zombie: a UID, no sizes.
        let mut k = Process::default();
        assert_eq!(
            parse_status(b"Name:\tz\nUid:\t0\t0\t0\t0\n", 4, &mut k),
            Some(())
        );
        assert_eq!((k.uid, k.rss, k.hwm, k.shape), (0, [0; 3], 0, [0; 4]));
        assert_eq!(
            parse_status(b"Name:\tx\n", 4, &mut Process::default()),
            None
        );
    }

    #[test]
    fn parses_numeric_directory_entries() {
        let mut buf = Vec::new();
        for name in ["1", "self", "4242", "99999999999", "12a"] {
            let len = (19 + name.len() + 1).next_multiple_of(8);
            let mut rec = vec![0u8; len];
            rec[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
            rec[19..19 + name.len()].copy_from_slice(name.as_bytes());
            buf.extend(rec);
        }
        let mut pids = Vec::new();
        parse_entries(&buf, &mut pids);
        assert_eq!(pids, [1, 4242]);
    }

    #[test]
    fn reads_this_process_and_polls_it_unchanged() {
        let me = std::process::id();
        let mut w = Walker::open(Path::new("/proc"), crate::tasks::page_size()).unwrap();
        let mut walked = Vec::new();
        let full = w.walk(Depth::Full, &mut walked).unwrap();
        assert_eq!((full.processes, full.read), (walked.len(), walked.len()));
        let p = *walked.iter().find(|p| p.pid == me).expect("this process");
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        assert_eq!(p.uid, uid);
        assert!(p.read && !p.kthread && p.minor > 0 && p.rss[0] > 0 && p.hwm > 0);
        assert_eq!(
            p.shape[1] * crate::tasks::page_size(),
            p.rss.iter().sum::<u64>()
        );
        // Kernel threads are read at full depth (root, no memory) and
        // skipped by polls.
        let kthreads: Vec<Process> = walked.iter().filter(|p| p.kthread).copied().collect();
        assert!(kthreads.iter().all(|k| k.uid == 0 && k.shape == [0; 4]));
        w.walk(Depth::Poll, &mut walked).unwrap();
        for k in &kthreads {
            if let Some(p) = walked.iter().find(|p| p.pid == k.pid) {
                assert_eq!(*p, Process { read: false, ..*k });
            }
        }
        assert_eq!(w.process(u32::MAX), None);
    }
}
