//! The parcelables of `aidl/android/memstat/`, field for field in the
//! .aidl's order, as the AIDL compiler's Rust backend declares them: the
//! .aidl's field names, `Debug` and `Default` (the backend derives no more).
#![allow(non_snake_case, missing_docs)]

use super::parcel::{self, Fields, ParcelRead, ParcelWrite, Parcelable};

/// `UidStats.aidl`.
#[derive(Debug, Default)]
pub struct UidStats {
    pub uid: i32,
    pub name: String,
    pub syscalls: i64,
    pub errors: i64,
    pub topSyscalls: Vec<SyscallCount>,
    pub latencySamples: i64,
    pub latencyP50Ns: i64,
    pub latencyP90Ns: i64,
    pub latencyP99Ns: i64,
}

/// `SyscallCount.aidl`.
#[derive(Debug, Default)]
pub struct SyscallCount {
    pub nr: i32,
    pub name: String,
    pub count: i64,
    pub errors: i64,
}

/// `SystemStats.aidl`. -1 stands for a value that could not be had.
#[derive(Debug, Default)]
pub struct SystemStats {
    pub generation: i64,
    pub windowStartMs: i64,
    pub windowEndMs: i64,
    pub latencyMode: bool,
    pub overflowSyscalls: i64,
    pub overflowErrors: i64,
    pub memTotalKb: i64,
    pub memFreeKb: i64,
    pub memAvailableKb: i64,
    pub swapTotalKb: i64,
    pub swapFreeKb: i64,
    pub memorySomeAvg10: f64,
    pub memorySomeAvg60: f64,
    pub memoryFullAvg10: f64,
    pub memoryFullAvg60: f64,
    pub faultsPerSec: f64,
    pub majorFaultsPerSec: f64,
    pub allocStallsPerSec: f64,
    pub compactStallsPerSec: f64,
    pub swapInsPerSec: f64,
    pub swapOutsPerSec: f64,
    pub oomKillsPerSec: f64,
}

/// `DumpResult.aidl`.
#[derive(Debug, Default)]
pub struct DumpResult {
    pub status: i32,
    pub message: String,
}

impl Parcelable for UidStats {
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error> {
        w.write_i32(self.uid)?;
        w.write_str(&self.name)?;
        w.write_i64(self.syscalls)?;
        w.write_i64(self.errors)?;
        parcel::write_array(&self.topSyscalls, w)?;
        w.write_i64(self.latencySamples)?;
        w.write_i64(self.latencyP50Ns)?;
        w.write_i64(self.latencyP90Ns)?;
        w.write_i64(self.latencyP99Ns)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i32(&mut self.uid)?;
        f.string(&mut self.name)?;
        f.i64(&mut self.syscalls)?;
        f.i64(&mut self.errors)?;
        f.array(&mut self.topSyscalls)?;
        f.i64(&mut self.latencySamples)?;
        f.i64(&mut self.latencyP50Ns)?;
        f.i64(&mut self.latencyP90Ns)?;
        f.i64(&mut self.latencyP99Ns)
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
        w.write_i64(self.windowStartMs)?;
        w.write_i64(self.windowEndMs)?;
        w.write_bool(self.latencyMode)?;
        w.write_i64(self.overflowSyscalls)?;
        w.write_i64(self.overflowErrors)?;
        w.write_i64(self.memTotalKb)?;
        w.write_i64(self.memFreeKb)?;
        w.write_i64(self.memAvailableKb)?;
        w.write_i64(self.swapTotalKb)?;
        w.write_i64(self.swapFreeKb)?;
        w.write_f64(self.memorySomeAvg10)?;
        w.write_f64(self.memorySomeAvg60)?;
        w.write_f64(self.memoryFullAvg10)?;
        w.write_f64(self.memoryFullAvg60)?;
        w.write_f64(self.faultsPerSec)?;
        w.write_f64(self.majorFaultsPerSec)?;
        w.write_f64(self.allocStallsPerSec)?;
        w.write_f64(self.compactStallsPerSec)?;
        w.write_f64(self.swapInsPerSec)?;
        w.write_f64(self.swapOutsPerSec)?;
        w.write_f64(self.oomKillsPerSec)
    }

    fn read_fields<R: ParcelRead>(&mut self, f: &mut Fields<'_, R>) -> Result<(), R::Error> {
        f.i64(&mut self.generation)?;
        f.i64(&mut self.windowStartMs)?;
        f.i64(&mut self.windowEndMs)?;
        f.bool(&mut self.latencyMode)?;
        f.i64(&mut self.overflowSyscalls)?;
        f.i64(&mut self.overflowErrors)?;
        f.i64(&mut self.memTotalKb)?;
        f.i64(&mut self.memFreeKb)?;
        f.i64(&mut self.memAvailableKb)?;
        f.i64(&mut self.swapTotalKb)?;
        f.i64(&mut self.swapFreeKb)?;
        f.f64(&mut self.memorySomeAvg10)?;
        f.f64(&mut self.memorySomeAvg60)?;
        f.f64(&mut self.memoryFullAvg10)?;
        f.f64(&mut self.memoryFullAvg60)?;
        f.f64(&mut self.faultsPerSec)?;
        f.f64(&mut self.majorFaultsPerSec)?;
        f.f64(&mut self.allocStallsPerSec)?;
        f.f64(&mut self.compactStallsPerSec)?;
        f.f64(&mut self.swapInsPerSec)?;
        f.f64(&mut self.swapOutsPerSec)?;
        f.f64(&mut self.oomKillsPerSec)
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
