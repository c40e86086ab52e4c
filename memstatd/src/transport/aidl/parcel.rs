//! What the AIDL encoding needs of a Parcel, and the framing the AIDL
//! compiler's Rust backend gives every parcelable: a non-null flag, then the
//! parcelable's size in bytes (counting the size itself), then its fields in
//! declaration order. A reader reads only the fields that fit in that size
//! and skips whatever follows them, so either side may know fields the other
//! does not (fields are only ever appended). binder's Parcel implements the
//! primitives on Android (`on_binder`); the tests use an in-memory one.

/// binder's `NON_NULL_PARCELABLE_FLAG`: a parcelable follows.
pub const NON_NULL: i32 = 1;
/// binder's `NULL_PARCELABLE_FLAG`: none does.
pub const NULL: i32 = 0;

/// What is wrong with a parcel, as binder's status codes name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// A size or length that cannot be.
    BadValue,
    /// A parcelable that claims more bytes than the parcel holds.
    NotEnoughData,
    /// Null where the interface allows none.
    UnexpectedNull,
}

/// A Parcel being written, as the encoding needs it.
pub trait ParcelWrite {
    /// The parcel's own error, which a [`WireError`] becomes.
    type Error: From<WireError>;
    /// An AIDL `int`.
    fn write_i32(&mut self, v: i32) -> Result<(), Self::Error>;
    /// An AIDL `long`.
    fn write_i64(&mut self, v: i64) -> Result<(), Self::Error>;
    /// An AIDL `boolean`.
    fn write_bool(&mut self, v: bool) -> Result<(), Self::Error>;
    /// An AIDL `double`.
    fn write_f64(&mut self, v: f64) -> Result<(), Self::Error>;
    /// A non-null UTF-16 string on the wire.
    fn write_str(&mut self, v: &str) -> Result<(), Self::Error>;
    /// Where the next value goes, in bytes from the start.
    fn position(&self) -> i32;
    /// Overwrites the i32 written at `at`; the position stays where it is.
    fn patch_i32(&mut self, at: i32, v: i32) -> Result<(), Self::Error>;
}

/// A Parcel being read, as the encoding needs it.
pub trait ParcelRead {
    /// The parcel's own error, which a [`WireError`] becomes.
    type Error: From<WireError>;
    /// An AIDL `int`.
    fn read_i32(&mut self) -> Result<i32, Self::Error>;
    /// An AIDL `long`.
    fn read_i64(&mut self) -> Result<i64, Self::Error>;
    /// An AIDL `boolean`.
    fn read_bool(&mut self) -> Result<bool, Self::Error>;
    /// An AIDL `double`.
    fn read_f64(&mut self) -> Result<f64, Self::Error>;
    /// A non-null string; null is `UnexpectedNull`.
    fn read_string(&mut self) -> Result<String, Self::Error>;
    /// Where the next value is read from, in bytes from the start.
    fn position(&self) -> i32;
    /// Bytes in the parcel.
    fn size(&self) -> i32;
    /// Moves to `pos`, at most [`ParcelRead::size`].
    fn seek(&mut self, pos: i32) -> Result<(), Self::Error>;
}

/// A structured parcelable: its fields, in the order the .aidl declares them.
pub trait Parcelable: Default {
    /// Writes every field.
    fn write_fields<W: ParcelWrite>(&self, w: &mut W) -> Result<(), W::Error>;
    /// Reads the fields the writer sent.
    fn read_fields<R: ParcelRead>(&mut self, r: &mut Fields<'_, R>) -> Result<(), R::Error>;
}

/// The backend's `write_to_parcel`: the size, then the fields.
pub fn write_body<P: Parcelable, W: ParcelWrite>(p: &P, w: &mut W) -> Result<(), W::Error> {
    let start = w.position();
    w.write_i32(0)?;
    p.write_fields(w)?;
    let size = w.position() - start;
    w.patch_i32(start, size)
}

/// A parcelable as a value: the non-null flag, then its body.
pub fn write<P: Parcelable, W: ParcelWrite>(p: &P, w: &mut W) -> Result<(), W::Error> {
    w.write_i32(NON_NULL)?;
    write_body(p, w)
}

/// `P[]`: the length, then each element as a value.
pub fn write_array<P: Parcelable, W: ParcelWrite>(ps: &[P], w: &mut W) -> Result<(), W::Error> {
    w.write_i32(i32::try_from(ps.len()).map_err(|_| WireError::BadValue)?)?;
    ps.iter().try_for_each(|p| write(p, w))
}

/// The backend's `read_from_parcel`: the fields that fit in the size, then
/// on past any this side does not know.
pub fn read_body<P: Parcelable, R: ParcelRead>(r: &mut R) -> Result<P, R::Error> {
    let start = r.position();
    let size = r.read_i32()?;
    if size < 4 {
        return Err(WireError::BadValue.into());
    }
    let end = start.checked_add(size).ok_or(WireError::BadValue)?;
    if end > r.size() {
        return Err(WireError::NotEnoughData.into());
    }
    let mut p = P::default();
    p.read_fields(&mut Fields { r, end })?;
    r.seek(end)?;
    Ok(p)
}

/// A parcelable as a value: the non-null flag, then its body; null is
/// `UnexpectedNull`.
pub fn read<P: Parcelable, R: ParcelRead>(r: &mut R) -> Result<P, R::Error> {
    match r.read_i32()? {
        NULL => Err(WireError::UnexpectedNull.into()),
        _ => read_body(r),
    }
}

/// `P[]`: the length, then each element as a value; a null array is
/// `UnexpectedNull`.
pub fn read_array<P: Parcelable, R: ParcelRead>(r: &mut R) -> Result<Vec<P>, R::Error> {
    let len = r.read_i32()?;
    if len < 0 {
        return Err(WireError::UnexpectedNull.into());
    }
    // Grown as elements arrive: a length alone never allocates.
    let mut ps = Vec::new();
    for _ in 0..len {
        ps.push(read(r)?);
    }
    Ok(ps)
}

/// A parcelable's fields being read: each is read only while the body has
/// bytes left, and keeps its default otherwise (a writer that knew fewer).
pub struct Fields<'a, R> {
    r: &'a mut R,
    end: i32,
}

impl<R: ParcelRead> Fields<'_, R> {
    fn more(&self) -> bool {
        self.r.position() < self.end
    }

    /// An `int` field.
    pub fn i32(&mut self, into: &mut i32) -> Result<(), R::Error> {
        if self.more() {
            *into = self.r.read_i32()?;
        }
        Ok(())
    }

    /// A `long` field.
    pub fn i64(&mut self, into: &mut i64) -> Result<(), R::Error> {
        if self.more() {
            *into = self.r.read_i64()?;
        }
        Ok(())
    }

    /// A `boolean` field.
    pub fn bool(&mut self, into: &mut bool) -> Result<(), R::Error> {
        if self.more() {
            *into = self.r.read_bool()?;
        }
        Ok(())
    }

    /// A `double` field.
    pub fn f64(&mut self, into: &mut f64) -> Result<(), R::Error> {
        if self.more() {
            *into = self.r.read_f64()?;
        }
        Ok(())
    }

    /// A `String` field.
    pub fn string(&mut self, into: &mut String) -> Result<(), R::Error> {
        if self.more() {
            *into = self.r.read_string()?;
        }
        Ok(())
    }

    /// A parcelable array field.
    pub fn array<P: Parcelable>(&mut self, into: &mut Vec<P>) -> Result<(), R::Error> {
        if self.more() {
            *into = read_array(self.r)?;
        }
        Ok(())
    }
}
