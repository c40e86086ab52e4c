//! The parcelables of `aidl/android/memstat/`, field for field in the
//! .aidl's order, and how each is made from the report model.

use super::parcel::{self, Fields, ParcelRead, ParcelWrite, Parcelable};
use super::TOP_SYSCALLS;
use crate::report::model::{Latency, Report, UidRow};
use crate::system::meminfo::MeminfoField;
use crate::system::vmstat_rates::{Rate, VmstatRates};

/// `UidStats.aidl`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UidStats {
    pub uid: i32,
    pub name: String,
    pub syscalls: i64,
    pub errors: i64,
    pub top_syscalls: Vec<SyscallCount>,
    pub latency_samples: i64,
    pub latency_p50_ns: i64,
    pub latency_p90_ns: i64,
    pub latency_p99_ns: i64,
}

/// `SyscallCount.aidl`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyscallCount {
    pub nr: i32,
    pub name: String,
    pub count: i64,
    pub errors: i64,
}

/// `SystemStats.aidl`. -1 stands for a value that could not be had.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SystemStats {
    pub generation: i64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub latency_mode: bool,
    pub overflow_syscalls: i64,
    pub overflow_errors: i64,
    pub mem_total_kb: i64,
    pub mem_free_kb: i64,
    pub mem_available_kb: i64,
    pub swap_total_kb: i64,
    pub swap_free_kb: i64,
    pub memory_some_avg10: f64,
    pub memory_some_avg60: f64,
    pub memory_full_avg10: f64,
    pub memory_full_avg60: f64,
    pub faults_per_sec: f64,
    pub major_faults_per_sec: f64,
    pub alloc_stalls_per_sec: f64,
    pub compact_stalls_per_sec: f64,
    pub swap_ins_per_sec: f64,
    pub swap_outs_per_sec: f64,
    pub oom_kills_per_sec: f64,
}

/// `DumpResult.aidl`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpResult {
    /// A `protocol::Status` as a number.
    pub status: i32,
    pub message: String,
}

impl Parcelable for UidStats {
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_i32(self.uid)?;
        w.write_str(&self.name)?;
        w.write_i64(self.syscalls)?;
        w.write_i64(self.errors)?;
        parcel::write_array(&self.top_syscalls, w)?;
        w.write_i64(self.latency_samples)?;
        w.write_i64(self.latency_p50_ns)?;
        w.write_i64(self.latency_p90_ns)?;
        w.write_i64(self.latency_p99_ns)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i32(&mut self.uid)?;
        f.string(&mut self.name)?;
        f.i64(&mut self.syscalls)?;
        f.i64(&mut self.errors)?;
        f.array(&mut self.top_syscalls)?;
        f.i64(&mut self.latency_samples)?;
        f.i64(&mut self.latency_p50_ns)?;
        f.i64(&mut self.latency_p90_ns)?;
        f.i64(&mut self.latency_p99_ns)
    }
}

impl Parcelable for SyscallCount {
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_i32(self.nr)?;
        w.write_str(&self.name)?;
        w.write_i64(self.count)?;
        w.write_i64(self.errors)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i32(&mut self.nr)?;
        f.string(&mut self.name)?;
        f.i64(&mut self.count)?;
        f.i64(&mut self.errors)
    }
}

impl Parcelable for SystemStats {
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_i64(self.generation)?;
        w.write_i64(self.window_start_ms)?;
        w.write_i64(self.window_end_ms)?;
        w.write_bool(self.latency_mode)?;
        w.write_i64(self.overflow_syscalls)?;
        w.write_i64(self.overflow_errors)?;
        w.write_i64(self.mem_total_kb)?;
        w.write_i64(self.mem_free_kb)?;
        w.write_i64(self.mem_available_kb)?;
        w.write_i64(self.swap_total_kb)?;
        w.write_i64(self.swap_free_kb)?;
        w.write_f64(self.memory_some_avg10)?;
        w.write_f64(self.memory_some_avg60)?;
        w.write_f64(self.memory_full_avg10)?;
        w.write_f64(self.memory_full_avg60)?;
        w.write_f64(self.faults_per_sec)?;
        w.write_f64(self.major_faults_per_sec)?;
        w.write_f64(self.alloc_stalls_per_sec)?;
        w.write_f64(self.compact_stalls_per_sec)?;
        w.write_f64(self.swap_ins_per_sec)?;
        w.write_f64(self.swap_outs_per_sec)?;
        w.write_f64(self.oom_kills_per_sec)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i64(&mut self.generation)?;
        f.i64(&mut self.window_start_ms)?;
        f.i64(&mut self.window_end_ms)?;
        f.bool(&mut self.latency_mode)?;
        f.i64(&mut self.overflow_syscalls)?;
        f.i64(&mut self.overflow_errors)?;
        f.i64(&mut self.mem_total_kb)?;
        f.i64(&mut self.mem_free_kb)?;
        f.i64(&mut self.mem_available_kb)?;
        f.i64(&mut self.swap_total_kb)?;
        f.i64(&mut self.swap_free_kb)?;
        f.f64(&mut self.memory_some_avg10)?;
        f.f64(&mut self.memory_some_avg60)?;
        f.f64(&mut self.memory_full_avg10)?;
        f.f64(&mut self.memory_full_avg60)?;
        f.f64(&mut self.faults_per_sec)?;
        f.f64(&mut self.major_faults_per_sec)?;
        f.f64(&mut self.alloc_stalls_per_sec)?;
        f.f64(&mut self.compact_stalls_per_sec)?;
        f.f64(&mut self.swap_ins_per_sec)?;
        f.f64(&mut self.swap_outs_per_sec)?;
        f.f64(&mut self.oom_kills_per_sec)
    }
}

impl Parcelable for DumpResult {
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_i32(self.status)?;
        w.write_str(&self.message)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i32(&mut self.status)?;
        f.string(&mut self.message)
    }
}

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

impl From<&UidRow> for UidStats {
    fn from(row: &UidRow) -> Self {
        let latency = row.latency.as_ref();
        let latency_field = |f: fn(&Latency) -> u64| latency.map_or(0, |l| long(f(l)));
        UidStats {
            // A UID is a u32 and AIDL's int an i32: the same 32 bits.
            uid: row.uid as i32,
            name: row.name.clone().unwrap_or_default(),
            syscalls: long(row.syscalls),
            errors: long(row.errors),
            top_syscalls: row
                .calls
                .iter()
                .take(TOP_SYSCALLS)
                .map(|c| SyscallCount {
                    nr: c.nr as i32,
                    name: c.name.to_string(),
                    count: long(c.count),
                    errors: long(c.errors),
                })
                .collect(),
            latency_samples: latency_field(|l| l.samples),
            latency_p50_ns: latency_field(|l| l.p50_ns),
            latency_p90_ns: latency_field(|l| l.p90_ns),
            latency_p99_ns: latency_field(|l| l.p99_ns),
        }
    }
}

impl SystemStats {
    /// From a report of the header, overflow and system sections; a section
    /// the report lacks leaves its fields unknown.
    pub fn from_report(report: &Report) -> Self {
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
            window_start_ms: long_or_unknown(header.map(|h| h.window.start_ms)),
            window_end_ms: long_or_unknown(header.map(|h| h.window.end_ms)),
            latency_mode: header.is_some_and(|h| h.latency_mode),
            overflow_syscalls: long_or_unknown(overflow.map(|o| o.count)),
            overflow_errors: long_or_unknown(overflow.map(|o| o.errors)),
            mem_total_kb: kb(MeminfoField::MemTotal),
            mem_free_kb: kb(MeminfoField::MemFree),
            mem_available_kb: kb(MeminfoField::MemAvailable),
            swap_total_kb: kb(MeminfoField::SwapTotal),
            swap_free_kb: kb(MeminfoField::SwapFree),
            memory_some_avg10: double_or_unknown(pressure.map(|p| p.some.avg10)),
            memory_some_avg60: double_or_unknown(pressure.map(|p| p.some.avg60)),
            memory_full_avg10: double_or_unknown(pressure.and_then(|p| p.full).map(|s| s.avg10)),
            memory_full_avg60: double_or_unknown(pressure.and_then(|p| p.full).map(|s| s.avg60)),
            faults_per_sec: rate(|r| r.faults),
            major_faults_per_sec: rate(|r| r.major_faults),
            alloc_stalls_per_sec: rate(|r| r.allocstalls),
            compact_stalls_per_sec: rate(|r| r.compact_stalls),
            swap_ins_per_sec: rate(|r| r.swap_ins),
            swap_outs_per_sec: rate(|r| r.swap_outs),
            oom_kills_per_sec: rate(|r| r.oom_kills),
        }
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
        let app = UidStats::from(&rows[0]);
        assert_eq!((app.uid, app.name.as_str()), (10123, "u0_a123"));
        assert_eq!((app.syscalls, app.errors), ((100..108).sum(), (0..8).sum()));
        let top: Vec<(i32, i64, i64)> = app
            .top_syscalls
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
            app.latency_samples,
            app.latency_p50_ns,
            app.latency_p90_ns,
            app.latency_p99_ns,
        ];
        let want = [100, l.p50_ns as i64, l.p90_ns as i64, l.p99_ns as i64];
        assert_eq!(got, want);
        assert!(want[1] < want[2] && want[2] < want[3], "{l:?}");
        // A UID past i32::MAX keeps its 32 bits; a count past i64::MAX saturates.
        let odd = UidStats::from(&rows[1]);
        assert_eq!((odd.uid as u32, odd.name.as_str()), (u32::MAX - 1, ""));
        assert_eq!((odd.syscalls, odd.latency_samples), (i64::MAX, 0));
    }
}
