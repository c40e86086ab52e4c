//! `android.memstat.IMemStat` on binder, declared as the AIDL compiler's
//! Rust backend declares an interface: the trait with the .aidl's method
//! names, `BnMemStat`/`BpMemStat` from `declare_binder_interface!`, and each
//! call's arguments and reply (an OK status and the result, or the
//! exception alone) in the .aidl's order.
#![allow(non_snake_case, missing_docs)]

use super::memstat::IMemStat::{transactions, DESCRIPTOR};
use super::parcelables::{DumpResult, SystemStats, UidStats};
use binder::binder_impl::{
    Binder, BorrowedParcel, IBinderInternal, Parcel, Serialize, TransactionCode,
    FIRST_CALL_TRANSACTION, FLAG_PRIVATE_LOCAL,
};
use binder::{declare_binder_interface, Interface, ParcelFileDescriptor, Status, StatusCode};

const _: () = assert!(transactions::FIRST_CALL_TRANSACTION == FIRST_CALL_TRANSACTION);

/// `android.memstat.IMemStat`.
pub trait IMemStat: Interface + Send {
    fn getUidStats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>>;
    fn getSystemStats(&self) -> binder::Result<SystemStats>;
    fn reset(&self) -> binder::Result<i64>;
    fn snapshot(&self, name: &str) -> binder::Result<()>;
    fn dumpTo(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult>;
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
    match code {
        transactions::getUidStats => {
            let uids: Vec<i32> = data.read()?;
            answer(reply, service.getUidStats(&uids))
        }
        transactions::getSystemStats => answer(reply, service.getSystemStats()),
        transactions::reset => answer(reply, service.reset()),
        transactions::snapshot => {
            let name: String = data.read()?;
            match service.snapshot(&name) {
                Ok(()) => reply.write(&Status::ok()),
                Err(status) => reply.write(&status),
            }
        }
        transactions::dumpTo => {
            let fd: ParcelFileDescriptor = data.read()?;
            let args: Vec<String> = data.read()?;
            answer(reply, service.dumpTo(&fd, &args))
        }
        _ => Err(StatusCode::UNKNOWN_TRANSACTION),
    }
}

fn answer<T: Serialize>(
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
    fn getUidStats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        self.0.getUidStats(uids)
    }
    fn getSystemStats(&self) -> binder::Result<SystemStats> {
        self.0.getSystemStats()
    }
    fn reset(&self) -> binder::Result<i64> {
        self.0.reset()
    }
    fn snapshot(&self, name: &str) -> binder::Result<()> {
        self.0.snapshot(name)
    }
    fn dumpTo(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        self.0.dumpTo(fd, args)
    }
}

impl BpMemStat {
    fn call<T>(
        &self,
        code: TransactionCode,
        args: impl FnOnce(&mut BorrowedParcel<'_>) -> Result<(), StatusCode>,
        result: impl FnOnce(&Parcel) -> Result<T, StatusCode>,
    ) -> binder::Result<T> {
        let mut data = self.binder.prepare_transact()?;
        args(&mut data.borrowed())?;
        let reply = self
            .binder
            .submit_transact(code, data, FLAG_PRIVATE_LOCAL)?;
        let status: Status = reply.read()?;
        if !status.is_ok() {
            return Err(status);
        }
        Ok(result(&reply)?)
    }
}

impl IMemStat for BpMemStat {
    fn getUidStats(&self, uids: &[i32]) -> binder::Result<Vec<UidStats>> {
        self.call(transactions::getUidStats, |d| d.write(uids), |r| r.read())
    }
    fn getSystemStats(&self) -> binder::Result<SystemStats> {
        self.call(transactions::getSystemStats, |_| Ok(()), |r| r.read())
    }
    fn reset(&self) -> binder::Result<i64> {
        self.call(transactions::reset, |_| Ok(()), |r| r.read())
    }
    fn snapshot(&self, name: &str) -> binder::Result<()> {
        self.call(transactions::snapshot, |d| d.write(name), |_| Ok(()))
    }
    fn dumpTo(&self, fd: &ParcelFileDescriptor, args: &[String]) -> binder::Result<DumpResult> {
        self.call(
            transactions::dumpTo,
            |d| {
                d.write(fd)?;
                d.write(args)
            },
            |r| r.read(),
        )
    }
}
