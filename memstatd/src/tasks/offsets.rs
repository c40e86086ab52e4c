//! Where the exit program reads in the kernel's structs. The platform
//! loader does no CO-RE, so memstatd finds the offsets itself: from kernel
//! BTF (`/sys/kernel/btf/vmlinux`, 6.1+ GKI), else by self-calibration: the
//! exit program copies the `task_struct` of a thread of memstatd's own that
//! took a known number of faults, and the fault counters are the pair of
//! adjacent words that holds those numbers, in every one of a few rounds.

use super::btf::Btf;
use crate::abi::tasks::{TaskConfig, WINDOW_BYTES};
use std::time::Duration;

/// Where the offsets came from, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Kernel BTF.
    Btf,
    /// Self-calibration, because the kernel has no BTF (or it was asked for).
    Calibrated,
}

/// The offsets the exit program reads at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offsets {
    /// `sizeof(unsigned long)` in the kernel.
    pub word: u32,
    /// `task_struct.min_flt`.
    pub min_flt: u32,
    /// `task_struct.maj_flt`.
    pub maj_flt: u32,
    /// `task_struct.signal` and `signal_struct.maxrss`, where known.
    pub maxrss: Option<(u32, u32)>,
    /// Where they came from.
    pub origin: Origin,
}

impl Offsets {
    /// The exit program's config for these offsets.
    pub(crate) fn config(&self) -> TaskConfig {
        let (signal, maxrss) = self.maxrss.unwrap_or((0, 0));
        TaskConfig {
            configured: 1,
            calibrate_tid: 0,
            word: self.word,
            min_flt: self.min_flt,
            maj_flt: self.maj_flt,
            signal,
            maxrss,
            reserved: 0,
        }
    }
}

/// The offsets kernel BTF gives.
pub fn from_btf(bytes: &[u8]) -> Result<Offsets, String> {
    let btf = Btf::parse(bytes)?;
    let min = btf.member("task_struct", "min_flt")?;
    let maj = btf.member("task_struct", "maj_flt")?;
    if !matches!(min.size, 4 | 8) || maj.size != min.size {
        return Err(format!(
            "task_struct.min_flt is {} bytes and maj_flt {}: not unsigned longs",
            min.size, maj.size
        ));
    }
    let signal = btf.member("task_struct", "signal")?;
    let maxrss = btf.member("signal_struct", "maxrss")?;
    let maxrss = (signal.size == min.size && maxrss.size == min.size)
        .then_some((signal.offset, maxrss.offset));
    Ok(Offsets {
        word: min.size,
        min_flt: min.offset,
        maj_flt: maj.offset,
        maxrss,
        origin: Origin::Btf,
    })
}

/// How a calibration round's thread faults: pages it touched, and what
/// getrusage(RUSAGE_THREAD) said just before it exited.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Round {
    pub(crate) minor: u64,
    pub(crate) major: u64,
}

/// Faults a thread may take after its last getrusage and before the exit
/// hook (its exit path touching pages).
const SLACK: u64 = 64;

/// Offsets in `window` (a `task_struct` copy) of adjacent words holding
/// `round`'s minor and major faults.
pub(crate) fn candidates(window: &[u8], round: Round, word: usize) -> Vec<u32> {
    let at = |off: usize| -> Option<u64> {
        let b = window.get(off..off + word)?;
        Some(if word == 8 {
            u64::from_ne_bytes(b.try_into().ok()?)
        } else {
            u64::from(u32::from_ne_bytes(b.try_into().ok()?))
        })
    };
    let near = |v: u64, want: u64| (want..=want + SLACK).contains(&v);
    (0..window.len().saturating_sub(2 * word))
        .step_by(word)
        .filter(|&off| {
            at(off).is_some_and(|v| near(v, round.minor))
                && at(off + word).is_some_and(|v| near(v, round.major))
        })
        .map(|off| off as u32)
        .collect()
}

/// Pages each calibration round's thread touches: different counts, so
/// that only the fault counter follows all of them.
const ROUNDS: [usize; 3] = [97, 311, 613];

/// Calibrates with `capture`, which runs a thread of memstatd's that
/// touches `pages` fresh pages and exits, and returns its getrusage counts
/// and the exit program's copy of its `task_struct`.
pub(crate) fn calibrate(
    mut capture: impl FnMut(usize) -> Result<(Round, Vec<u8>), String>,
) -> Result<Offsets, String> {
    let word = std::mem::size_of::<libc::c_ulong>();
    let mut found: Option<Vec<u32>> = None;
    for pages in ROUNDS {
        let (round, window) = capture(pages)?;
        let now = candidates(&window, round, word);
        found = Some(match found {
            None => now,
            Some(before) => before.into_iter().filter(|o| now.contains(o)).collect(),
        });
    }
    match found.unwrap_or_default().as_slice() {
        [off] => Ok(Offsets {
            word: word as u32,
            min_flt: *off,
            maj_flt: off + word as u32,
            maxrss: None,
            origin: Origin::Calibrated,
        }),
        [] => Err(format!(
            "self-calibration found no fault counters in the first {WINDOW_BYTES} bytes of \
             task_struct"
        )),
        many => Err(format!(
            "self-calibration found {} places the fault counters could be ({many:?})",
            many.len()
        )),
    }
}

/// `RUSAGE_THREAD` of Linux (bionic has it; the libc crate's Android
/// bindings do not).
const RUSAGE_THREAD: libc::c_int = 1;

/// A calibration thread: touches `pages` fresh anonymous pages, reads its
/// own counters, tells `tid` first and the counters last, then exits.
pub(crate) fn fault_and_exit(
    pages: usize,
    tid: std::sync::mpsc::Sender<u32>,
    go: std::sync::mpsc::Receiver<()>,
    counts: std::sync::mpsc::Sender<Round>,
) {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() } as u32;
    if tid.send(me).is_err() || go.recv_timeout(Duration::from_secs(5)).is_err() {
        return;
    }
    let page = super::page_size() as usize;
    let len = pages * page;
    // SAFETY: a fresh private anonymous mapping, written only here and unmapped below.
    unsafe {
        let at = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if at == libc::MAP_FAILED {
            return;
        }
        for i in 0..pages {
            std::ptr::write_volatile((at as *mut u8).add(i * page), 1);
        }
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(RUSAGE_THREAD, &mut usage);
        libc::munmap(at, len);
        let _ = counts.send(Round {
            minor: usage.ru_minflt as u64,
            major: usage.ru_majflt as u64,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(words: &[(usize, u64)]) -> Vec<u8> {
        let mut w = vec![0u8; 4096];
        for &(at, v) in words {
            w[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        }
        w
    }

    #[test]
    fn btf_offsets_of_the_sample() {
        // The sample has task.min_flt but no task_struct: BTF says what is missing.
        let e = from_btf(&super::super::btf::tests::sample()).unwrap_err();
        assert_eq!(e, "kernel BTF has no struct task_struct");
    }

    #[test]
    fn only_the_counter_that_follows_every_round_is_kept() {
        // 120 at 0x40 is a decoy (like a priority) that fits the first round only.
        let rounds = [(100, 0x40, 0x300), (320, 0x500, 0x300), (650, 0x40, 0x300)];
        let mut i = 0;
        let found = calibrate(|pages| {
            let (minor, decoy_at, at) = rounds[i];
            i += 1;
            assert_eq!(pages, ROUNDS[i - 1]);
            let w = window(&[
                (decoy_at, minor + 3),
                (decoy_at + 8, 0),
                (at, minor + 1),
                (at + 8, 2),
            ]);
            Ok((Round { minor, major: 2 }, w))
        });
        let want = Offsets {
            word: 8,
            min_flt: 0x300,
            maj_flt: 0x308,
            maxrss: None,
            origin: Origin::Calibrated,
        };
        assert_eq!(found, Ok(want));
    }

    #[test]
    fn ambiguity_and_absence_are_errors() {
        let w = window(&[(0x100, 50), (0x200, 50)]);
        let e = calibrate(|_| {
            Ok((
                Round {
                    minor: 50,
                    major: 0,
                },
                w.clone(),
            ))
        })
        .unwrap_err();
        assert!(e.contains("found 2 places"), "{e}");
        let e = calibrate(|_| {
            Ok((
                Round {
                    minor: 5000,
                    major: 0,
                },
                w.clone(),
            ))
        })
        .unwrap_err();
        assert!(e.contains("found no fault counters"), "{e}");
    }
}
