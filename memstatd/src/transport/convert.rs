//! The interface's parcelables from the report model: what getUidStats and
//! getSystemStats answer.

use super::aidl::memstat::IMemStat::TOP_SYSCALLS;
use super::aidl::memstat::SyscallCount::SyscallCount;
use super::aidl::memstat::SystemStats::SystemStats;
use super::aidl::memstat::UidStats::UidStats;
use crate::report::model::{Latency, Report, UidRow};
use crate::system::meminfo::MeminfoField;
use crate::system::vmstat_rates::{Rate, VmstatRates};

/// Counters are u64 and AIDL has no unsigned types: a count past i64::MAX
/// (never reached in practice) reads as i64::MAX rather than negative.
fn long(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A value that could not be had is -1.
fn long_or_unknown(v: Option<u64>) -> i64 {
    v.map_or(-1, long)
}

fn double_or_unknown(v: Option<f64>) -> f64 {
    v.unwrap_or(-1.0)
}

/// One row of the report's UIDS section.
pub fn uid_stats(row: &UidRow) -> UidStats {
    let latency = row.latency.as_ref();
    let latency_field = |f: fn(&Latency) -> u64| latency.map_or(0, |l| long(f(l)));
    UidStats {
        // A UID is a u32 and AIDL's int an i32: the same 32 bits.
        uid: row.uid as i32,
        name: row.name.clone().unwrap_or_default(),
        syscalls: long(row.syscalls),
        errors: long(row.errors),
        topSyscalls: row
            .calls
            .iter()
            .take(TOP_SYSCALLS as usize)
            .map(|c| SyscallCount {
                nr: c.nr as i32,
                name: c.name.to_string(),
                count: long(c.count),
                errors: long(c.errors),
            })
            .collect(),
        latencySamples: latency_field(|l| l.samples),
        latencyP50Ns: latency_field(|l| l.p50_ns),
        latencyP90Ns: latency_field(|l| l.p90_ns),
        latencyP99Ns: latency_field(|l| l.p99_ns),
    }
}

/// From a report of the header, overflow and system sections; a section the
/// report lacks leaves its fields unknown.
pub fn system_stats(report: &Report) -> SystemStats {
    let header = report.header.as_ref();
    let meminfo = report.system.as_ref().and_then(|s| s.meminfo.value());
    let kb = |f| long_or_unknown(meminfo.and_then(|m| m.kb(f)));
    let pressure = report.system.as_ref().and_then(|s| s.pressure.value());
    let rates = report.system.as_ref().and_then(|s| s.vmstat_rates.as_ref());
    let rate = |pick: fn(&VmstatRates) -> Rate| {
        double_or_unknown(rates.and_then(|r| match pick(r) {
            Rate::PerSecond { value } => Some(value),
            Rate::Absent | Rate::Reset => None,
        }))
    };
    let overflow = report.overflow.as_ref().map(|o| &o.counters);
    SystemStats {
        generation: long_or_unknown(header.map(|h| h.generation.id)),
        windowStartMs: long_or_unknown(header.map(|h| h.window.start_ms)),
        windowEndMs: long_or_unknown(header.map(|h| h.window.end_ms)),
        latencyMode: header.is_some_and(|h| h.latency_mode),
        overflowSyscalls: long_or_unknown(overflow.map(|o| o.count)),
        overflowErrors: long_or_unknown(overflow.map(|o| o.errors)),
        memTotalKb: kb(MeminfoField::MemTotal),
        memFreeKb: kb(MeminfoField::MemFree),
        memAvailableKb: kb(MeminfoField::MemAvailable),
        swapTotalKb: kb(MeminfoField::SwapTotal),
        swapFreeKb: kb(MeminfoField::SwapFree),
        memorySomeAvg10: double_or_unknown(pressure.map(|p| p.some.avg10)),
        memorySomeAvg60: double_or_unknown(pressure.map(|p| p.some.avg60)),
        memoryFullAvg10: double_or_unknown(pressure.and_then(|p| p.full).map(|s| s.avg10)),
        memoryFullAvg60: double_or_unknown(pressure.and_then(|p| p.full).map(|s| s.avg60)),
        faultsPerSec: rate(|r| r.faults),
        majorFaultsPerSec: rate(|r| r.major_faults),
        allocStallsPerSec: rate(|r| r.allocstalls),
        compactStallsPerSec: rate(|r| r.compact_stalls),
        swapInsPerSec: rate(|r| r.swap_ins),
        swapOutsPerSec: rate(|r| r.swap_outs),
        oomKillsPerSec: rate(|r| r.oom_kills),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::LATENCY_BUCKETS;
    use crate::report::model::uid_rows;
    use crate::stats::counters::{CallCounts, Counters};

    #[test]
    fn a_uid_row_keeps_its_top_syscalls_and_latency() {
        let mut window = Counters::default();
        for nr in 0..8u32 {
            let c = CallCounts {
                count: 100 + u64::from(nr),
                errors: u64::from(nr),
            };
            window.syscalls.insert((10123, nr), c);
        }
        // Spread so that p50, p90 and p99 fall in different buckets.
        let mut hist = [0u64; LATENCY_BUCKETS];
        (hist[10], hist[12], hist[20]) = (50, 40, 10);
        window.latency.insert(10123, hist);
        window.syscalls.insert(
            (u32::MAX - 1, 0),
            CallCounts {
                count: u64::MAX,
                errors: 0,
            },
        );
        let rows = uid_rows(
            &window,
            &[],
            &|uid| (uid == 10123).then(|| "u0_a123".into()),
            "uid",
        );
        let app = uid_stats(&rows[0]);
        assert_eq!((app.uid, app.name.as_str()), (10123, "u0_a123"));
        assert_eq!((app.syscalls, app.errors), ((100..108).sum(), (0..8).sum()));
        let top: Vec<(i32, i64, i64)> = app
            .topSyscalls
            .iter()
            .map(|c| (c.nr, c.count, c.errors))
            .collect();
        assert_eq!(
            top,
            [
                (7, 107, 7),
                (6, 106, 6),
                (5, 105, 5),
                (4, 104, 4),
                (3, 103, 3)
            ]
        );
        let l = rows[0].latency.as_ref().expect("latency");
        let got = [
            app.latencySamples,
            app.latencyP50Ns,
            app.latencyP90Ns,
            app.latencyP99Ns,
        ];
        let want = [100, l.p50_ns as i64, l.p90_ns as i64, l.p99_ns as i64];
        assert_eq!(got, want);
        assert!(want[1] < want[2] && want[2] < want[3], "{l:?}");
        // A UID past i32::MAX keeps its 32 bits; a count past i64::MAX saturates.
        let odd = uid_stats(&rows[1]);
        assert_eq!((odd.uid as u32, odd.name.as_str()), (u32::MAX - 1, ""));
        assert_eq!((odd.syscalls, odd.latencySamples), (i64::MAX, 0));
    }
}
