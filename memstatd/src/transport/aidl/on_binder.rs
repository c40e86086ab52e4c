//! The parcelables on binder's Parcel: `parcel`'s primitives over a
//! `BorrowedParcel`, and `binder::Parcelable` over `parcel`'s encoding.

use super::parcel::{self, ParcelRead, ParcelWrite, WireError};
use super::parcelables::{DumpResult, SyscallCount, SystemStats, UidStats};
use binder::binder_impl::BorrowedParcel;
use binder::StatusCode;

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

/// `binder::Parcelable` over the encoding of `parcel`; binder's own macros
/// add the non-null flag and arrays, as for generated parcelables.
macro_rules! parcelable {
    ($($t:ident),*) => {$(
        impl binder::Parcelable for $t {
            fn write_to_parcel(&self, parcel: &mut BorrowedParcel<'_>) -> Result<(), StatusCode> {
                parcel::write_body(self, &mut Out(parcel))
            }
            fn read_from_parcel(&mut self, parcel: &BorrowedParcel<'_>) -> Result<(), StatusCode> {
                *self = parcel::read_body(&mut In(parcel))?;
                Ok(())
            }
        }
        binder::impl_serialize_for_parcelable!($t);
        binder::impl_deserialize_for_parcelable!($t);
    )*};
}

parcelable!(UidStats, SyscallCount, SystemStats, DumpResult);
