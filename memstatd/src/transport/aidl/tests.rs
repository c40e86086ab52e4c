//! The hand-written interface against `aidl/android/memstat/*.aidl`: the
//! files are parsed here, and every method's code, every constant and every
//! parcelable's wire layout is checked against them. Parcelables are
//! written with the Rust encoding and read back by a reader that knows only
//! the .aidl, so a field out of order, missing, extra or of another type
//! fails.

use super::memstat::IMemStat::{self as interface, transactions, DESCRIPTOR};
use super::parcel::{self, ParcelRead, ParcelWrite, WireError};
use super::parcelables::{DumpResult, SyscallCount, SystemStats, UidStats};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A Parcel in memory, laid out as libbinder lays one out: little-endian,
/// every value padded to 4 bytes, strings as UTF-16 with a length in code
/// units (-1 for null) and a NUL.
#[derive(Default)]
struct TestParcel {
    data: Vec<u8>,
    pos: usize,
}

impl TestParcel {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if end > self.data.len() {
            self.data.resize(end, 0);
        }
        self.data[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
        while self.pos % 4 != 0 {
            self.put(&[0]);
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], WireError> {
        let end = self.pos + n;
        if end > self.data.len() {
            return Err(WireError::NotEnoughData);
        }
        let start = self.pos;
        self.pos = end.next_multiple_of(4).min(self.data.len());
        Ok(&self.data[start..end])
    }

    /// Starts reading from the beginning.
    fn rewind(mut self) -> Self {
        self.pos = 0;
        self
    }

    /// Where the next read or write goes.
    fn offset(&self) -> i32 {
        self.pos as i32
    }

    fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }
}

impl ParcelWrite for TestParcel {
    type Error = WireError;

    fn write_i32(&mut self, v: i32) -> Result<(), WireError> {
        self.put(&v.to_le_bytes());
        Ok(())
    }

    fn write_i64(&mut self, v: i64) -> Result<(), WireError> {
        self.put(&v.to_le_bytes());
        Ok(())
    }

    fn write_bool(&mut self, v: bool) -> Result<(), WireError> {
        self.write_i32(v as i32)
    }

    fn write_f64(&mut self, v: f64) -> Result<(), WireError> {
        self.put(&v.to_le_bytes());
        Ok(())
    }

    fn write_str(&mut self, v: &str) -> Result<(), WireError> {
        let units: Vec<u16> = v.encode_utf16().collect();
        self.write_i32(units.len() as i32)?;
        let bytes: Vec<u8> = units
            .iter()
            .chain([&0])
            .flat_map(|u| u.to_le_bytes())
            .collect();
        self.put(&bytes);
        Ok(())
    }

    fn position(&self) -> i32 {
        self.pos as i32
    }

    fn patch_i32(&mut self, at: i32, v: i32) -> Result<(), WireError> {
        let at = at as usize;
        self.data[at..at + 4].copy_from_slice(&v.to_le_bytes());
        Ok(())
    }
}

impl ParcelRead for TestParcel {
    type Error = WireError;

    fn read_i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn read_i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn read_bool(&mut self) -> Result<bool, WireError> {
        Ok(self.read_i32()? != 0)
    }

    fn read_f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn read_string(&mut self) -> Result<String, WireError> {
        let len = self.read_i32()?;
        if len < 0 {
            return Err(WireError::UnexpectedNull);
        }
        let bytes = self.take((len as usize + 1) * 2)?;
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        String::from_utf16(&units[..len as usize]).map_err(|_| WireError::BadValue)
    }

    fn position(&self) -> i32 {
        self.pos as i32
    }

    fn size(&self) -> i32 {
        self.data.len() as i32
    }

    fn seek(&mut self, pos: i32) -> Result<(), WireError> {
        self.pos = pos as usize;
        Ok(())
    }
}

// ---- the .aidl files

#[derive(Debug)]
struct AidlFile {
    package: String,
    imports: Vec<String>,
    name: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Interface {
        consts: Vec<(String, String, String)>,
        methods: Vec<AidlMethod>,
    },
    /// Fields as (type, name), in order.
    Parcelable(Vec<(String, String)>),
}

#[derive(Debug)]
struct AidlMethod {
    ret: String,
    name: String,
    /// (direction, type, name); direction is "" when not given.
    params: Vec<(String, String, String)>,
}

/// The package's .aidl files, by file name; built in, so the tests need no
/// source tree at run time.
const AIDL_FILES: [(&str, &str); 5] = [
    (
        "DumpResult.aidl",
        include_str!("../../../../aidl/android/memstat/DumpResult.aidl"),
    ),
    (
        "IMemStat.aidl",
        include_str!("../../../../aidl/android/memstat/IMemStat.aidl"),
    ),
    (
        "SyscallCount.aidl",
        include_str!("../../../../aidl/android/memstat/SyscallCount.aidl"),
    ),
    (
        "SystemStats.aidl",
        include_str!("../../../../aidl/android/memstat/SystemStats.aidl"),
    ),
    (
        "UidStats.aidl",
        include_str!("../../../../aidl/android/memstat/UidStats.aidl"),
    ),
];

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").expect("unterminated comment").1;
        } else if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c.is_alphanumeric() || c == '_' || c == '-' {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '-'))
                .unwrap_or(rest.len());
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        } else {
            assert!("{}()[];,=".contains(c), "unexpected {c:?} in an .aidl file");
            out.push(c.to_string());
            rest = &rest[1..];
        }
    }
    out
}

struct Tokens(std::iter::Peekable<std::vec::IntoIter<String>>);

impl Tokens {
    fn next(&mut self) -> String {
        self.0.next().expect("the .aidl file ends too early")
    }

    fn expect(&mut self, want: &str) {
        let got = self.next();
        assert_eq!(got, want, "expected {want:?}, found {got:?}");
    }

    fn eat(&mut self, t: &str) -> bool {
        self.0.next_if(|n| n == t).is_some()
    }

    /// A type: a name, maybe `[]`.
    fn ty(&mut self) -> String {
        let mut t = self.next();
        if self.eat("[") {
            self.expect("]");
            t.push_str("[]");
        }
        t
    }
}

fn parse(text: &str) -> AidlFile {
    let mut t = Tokens(tokens(text).into_iter().peekable());
    t.expect("package");
    let package = t.next();
    t.expect(";");
    let mut imports = Vec::new();
    while t.eat("import") {
        imports.push(t.next());
        t.expect(";");
    }
    let decl = t.next();
    let name = t.next();
    t.expect("{");
    let kind = match decl.as_str() {
        "interface" => {
            let (mut consts, mut methods) = (Vec::new(), Vec::new());
            while !t.eat("}") {
                if t.eat("const") {
                    let ty = t.ty();
                    let name = t.next();
                    t.expect("=");
                    consts.push((ty, name, t.next()));
                    t.expect(";");
                    continue;
                }
                let ret = t.ty();
                let name = t.next();
                t.expect("(");
                let mut params = Vec::new();
                while !t.eat(")") {
                    t.eat(",");
                    let dir = ["in", "out", "inout"]
                        .into_iter()
                        .find(|d| t.eat(d))
                        .unwrap_or("")
                        .to_owned();
                    let ty = t.ty();
                    params.push((dir, ty, t.next()));
                }
                t.expect(";");
                methods.push(AidlMethod { ret, name, params });
            }
            Kind::Interface { consts, methods }
        }
        "parcelable" => {
            let mut fields = Vec::new();
            while !t.eat("}") {
                let ty = t.ty();
                fields.push((ty, t.next()));
                t.expect(";");
            }
            Kind::Parcelable(fields)
        }
        other => panic!("{name}: {other:?} is neither an interface nor a parcelable"),
    };
    assert!(t.0.next().is_none(), "{name}: text after the declaration");
    AidlFile {
        package,
        imports,
        name,
        kind,
    }
}

/// Every .aidl file of the package, by declared name.
fn aidl_files() -> BTreeMap<String, AidlFile> {
    let mut files = BTreeMap::new();
    for (path, text) in AIDL_FILES {
        let file = parse(text);
        assert_eq!(Some(file.name.as_str()), path.strip_suffix(".aidl"));
        assert_eq!(file.package, "android.memstat", "{path}");
        files.insert(file.name.clone(), file);
    }
    files
}

fn parcelable_fields(files: &BTreeMap<String, AidlFile>, name: &str) -> Vec<(String, String)> {
    match &files
        .get(name)
        .unwrap_or_else(|| panic!("no {name}.aidl"))
        .kind
    {
        Kind::Parcelable(fields) => fields.clone(),
        k => panic!("{name} is not a parcelable: {k:?}"),
    }
}

// ---- reading by the .aidl alone

#[derive(Clone, Debug, PartialEq)]
enum Value {
    Int(i32),
    Long(i64),
    Bool(bool),
    Double(f64),
    Str(String),
    Array(Vec<Value>),
    Parcelable(BTreeMap<String, Value>),
}

/// Reads a `ty` as the .aidl declares it. A parcelable must hold exactly
/// its declared fields: its size must end where the last one does.
fn read_as(ty: &str, p: &mut TestParcel, files: &BTreeMap<String, AidlFile>) -> Value {
    if let Some(elem) = ty.strip_suffix("[]") {
        let len = p.read_i32().expect("array length");
        return Value::Array((0..len).map(|_| read_as(elem, p, files)).collect());
    }
    match ty {
        "int" => Value::Int(p.read_i32().expect("int")),
        "long" => Value::Long(p.read_i64().expect("long")),
        "boolean" => Value::Bool(p.read_bool().expect("boolean")),
        "double" => Value::Double(p.read_f64().expect("double")),
        "String" => Value::Str(p.read_string().expect("String")),
        name => {
            assert_eq!(p.read_i32(), Ok(parcel::NON_NULL), "{name}: null flag");
            let start = p.offset();
            let size = p.read_i32().expect("size");
            let fields = parcelable_fields(files, name)
                .into_iter()
                .map(|(ty, field)| {
                    let v = read_as(&ty, p, files);
                    (field, v)
                })
                .collect();
            assert_eq!(
                p.offset() - start,
                size,
                "{name}: its size does not end where its declared fields do"
            );
            Value::Parcelable(fields)
        }
    }
}

fn written<P: parcel::Parcelable>(v: &P) -> TestParcel {
    let mut p = TestParcel::default();
    parcel::write(v, &mut p).expect("write");
    p.rewind()
}

fn fields(pairs: Vec<(&str, Value)>) -> Value {
    Value::Parcelable(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn str(s: &str) -> Value {
    Value::Str(s.to_owned())
}

// ---- samples: every field a distinct value

fn getppid() -> (SyscallCount, Value) {
    use Value::*;
    (
        SyscallCount {
            nr: 110,
            name: "getppid".into(),
            count: 1000,
            errors: 3,
        },
        fields(vec![
            ("nr", Int(110)),
            ("name", str("getppid")),
            ("count", Long(1000)),
            ("errors", Long(3)),
        ]),
    )
}

fn fchdir() -> (SyscallCount, Value) {
    use Value::*;
    (
        SyscallCount {
            nr: 81,
            name: "fchdir".into(),
            count: 10,
            errors: 9,
        },
        fields(vec![
            ("nr", Int(81)),
            ("name", str("fchdir")),
            ("count", Long(10)),
            ("errors", Long(9)),
        ]),
    )
}

fn uid_stats() -> (UidStats, Value) {
    use Value::*;
    let (a, av) = getppid();
    let (b, bv) = fchdir();
    (
        UidStats {
            uid: 10123,
            name: "u0_a123 ünïcode".into(),
            syscalls: 5_000_000_001,
            errors: 12,
            topSyscalls: vec![a, b],
            latencySamples: 21,
            latencyP50Ns: 22,
            latencyP90Ns: 23,
            latencyP99Ns: 24,
        },
        fields(vec![
            ("uid", Int(10123)),
            ("name", str("u0_a123 ünïcode")),
            ("syscalls", Long(5_000_000_001)),
            ("errors", Long(12)),
            ("topSyscalls", Array(vec![av, bv])),
            ("latencySamples", Long(21)),
            ("latencyP50Ns", Long(22)),
            ("latencyP90Ns", Long(23)),
            ("latencyP99Ns", Long(24)),
        ]),
    )
}

fn system_stats() -> (SystemStats, Value) {
    use Value::*;
    (
        SystemStats {
            generation: 2,
            windowStartMs: 1_700_000_000_001,
            windowEndMs: 1_700_000_000_002,
            latencyMode: true,
            overflowSyscalls: 31,
            overflowErrors: 32,
            memTotalKb: 41,
            memFreeKb: 42,
            memAvailableKb: 43,
            swapTotalKb: 44,
            swapFreeKb: -1,
            memorySomeAvg10: 51.5,
            memorySomeAvg60: 52.5,
            memoryFullAvg10: 53.5,
            memoryFullAvg60: -1.0,
            faultsPerSec: 61.25,
            majorFaultsPerSec: 62.25,
            allocStallsPerSec: 63.25,
            compactStallsPerSec: 64.25,
            swapInsPerSec: 65.25,
            swapOutsPerSec: 66.25,
            oomKillsPerSec: 67.25,
        },
        fields(vec![
            ("generation", Long(2)),
            ("windowStartMs", Long(1_700_000_000_001)),
            ("windowEndMs", Long(1_700_000_000_002)),
            ("latencyMode", Bool(true)),
            ("overflowSyscalls", Long(31)),
            ("overflowErrors", Long(32)),
            ("memTotalKb", Long(41)),
            ("memFreeKb", Long(42)),
            ("memAvailableKb", Long(43)),
            ("swapTotalKb", Long(44)),
            ("swapFreeKb", Long(-1)),
            ("memorySomeAvg10", Double(51.5)),
            ("memorySomeAvg60", Double(52.5)),
            ("memoryFullAvg10", Double(53.5)),
            ("memoryFullAvg60", Double(-1.0)),
            ("faultsPerSec", Double(61.25)),
            ("majorFaultsPerSec", Double(62.25)),
            ("allocStallsPerSec", Double(63.25)),
            ("compactStallsPerSec", Double(64.25)),
            ("swapInsPerSec", Double(65.25)),
            ("swapOutsPerSec", Double(66.25)),
            ("oomKillsPerSec", Double(67.25)),
        ]),
    )
}

fn dump_result() -> (DumpResult, Value) {
    use Value::*;
    (
        DumpResult {
            status: 3,
            message: "permission denied: uid 10123 may see only its own UID".into(),
        },
        fields(vec![
            ("status", Int(3)),
            (
                "message",
                str("permission denied: uid 10123 may see only its own UID"),
            ),
        ]),
    )
}

/// A parcelable's every field, as text: the backend derives no `PartialEq`,
/// and `Debug` shows each field exactly (floats as they round-trip).
fn text<T: Debug, E>(v: Result<T, E>) -> Result<String, E> {
    v.map(|v| format!("{v:?}"))
}

/// Checks `v` against the .aidl of `name` and that it reads back as itself.
fn check<P: parcel::Parcelable + Debug>(
    name: &str,
    (v, expected): (P, Value),
    files: &BTreeMap<String, AidlFile>,
) {
    let mut p = written(&v);
    assert_eq!(read_as(name, &mut p, files), expected, "{name}");
    assert!(p.at_end(), "{name}: bytes after it");
    let mut p = written(&v);
    assert_eq!(
        text(parcel::read::<P, _>(&mut p)),
        text(Ok(v)),
        "{name} read back"
    );
    assert!(p.at_end(), "{name}: read back short");
}

// ---- the tests

#[test]
fn every_parcelable_is_laid_out_as_its_aidl_declares() {
    let files = aidl_files();
    check("SyscallCount", getppid(), &files);
    check("UidStats", uid_stats(), &files);
    check("SystemStats", system_stats(), &files);
    check("DumpResult", dump_result(), &files);
    let parcelables: Vec<&str> = files
        .values()
        .filter(|f| matches!(f.kind, Kind::Parcelable(_)))
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        parcelables,
        ["DumpResult", "SyscallCount", "SystemStats", "UidStats"],
        "a parcelable without a Rust twin checked here"
    );
}

#[test]
fn an_array_of_parcelables_is_a_length_then_each_as_a_value() {
    use Value::*;
    let files = aidl_files();
    let (a, av) = uid_stats();
    let b = UidStats::default();
    let both = text::<_, WireError>(Ok([&a, &b]));
    let bv = fields(vec![
        ("uid", Int(0)),
        ("name", str("")),
        ("syscalls", Long(0)),
        ("errors", Long(0)),
        ("topSyscalls", Array(vec![])),
        ("latencySamples", Long(0)),
        ("latencyP50Ns", Long(0)),
        ("latencyP90Ns", Long(0)),
        ("latencyP99Ns", Long(0)),
    ]);
    let mut p = TestParcel::default();
    parcel::write_array(&[a, b], &mut p).expect("write");
    let mut p = p.rewind();
    assert_eq!(
        read_as("UidStats[]", &mut p, &files),
        Value::Array(vec![av, bv])
    );
    let mut p = p.rewind();
    assert_eq!(text(parcel::read_array::<UidStats, _>(&mut p)), both);
}

#[test]
fn the_interface_matches_its_aidl() {
    let files = aidl_files();
    let file = &files["IMemStat"];
    assert_eq!(format!("{}.{}", file.package, file.name), DESCRIPTOR);
    let Kind::Interface { consts, methods } = &file.kind else {
        panic!("IMemStat is not an interface");
    };
    // As `interface` reads each call's arguments and writes its result, in
    // the order of `transactions`: name, return type, (direction, type) of
    // each parameter.
    type Signature = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    let signatures: [Signature; 5] = [
        ("getUidStats", "UidStats[]", &[("in", "int[]")]),
        ("getSystemStats", "SystemStats", &[]),
        ("reset", "long", &[]),
        ("snapshot", "void", &[("", "String")]),
        (
            "dumpTo",
            "DumpResult",
            &[("in", "ParcelFileDescriptor"), ("in", "String[]")],
        ),
    ];
    let codes = [
        transactions::getUidStats,
        transactions::getSystemStats,
        transactions::reset,
        transactions::snapshot,
        transactions::dumpTo,
    ];
    assert_eq!(methods.len(), codes.len(), "methods in IMemStat.aidl");
    for (i, ((code, aidl), (name, ret, params))) in
        codes.into_iter().zip(methods).zip(signatures).enumerate()
    {
        assert_eq!(code, 1 + i as u32, "{}", aidl.name);
        assert_eq!((aidl.name.as_str(), aidl.ret.as_str()), (name, ret));
        let got: Vec<(&str, &str)> = aidl
            .params
            .iter()
            .map(|(d, t, _)| (d.as_str(), t.as_str()))
            .collect();
        assert_eq!(got, params, "{name}'s parameters");
    }

    let expected: BTreeMap<String, i64> = [
        ("MAX_UIDS", interface::MAX_UIDS),
        ("TOP_SYSCALLS", interface::TOP_SYSCALLS),
        ("STATUS_OK", interface::STATUS_OK),
        (
            "STATUS_THRESHOLD_CROSSED",
            interface::STATUS_THRESHOLD_CROSSED,
        ),
        ("STATUS_USAGE", interface::STATUS_USAGE),
        ("STATUS_DENIED", interface::STATUS_DENIED),
        ("STATUS_FAILED", interface::STATUS_FAILED),
        ("STATUS_UNAVAILABLE", interface::STATUS_UNAVAILABLE),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), i64::from(v)))
    .collect();
    let got: BTreeMap<String, i64> = consts
        .iter()
        .map(|(ty, name, value)| {
            assert_eq!(ty, "int", "{name}");
            (name.clone(), value.parse().expect("an int constant"))
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn imports_name_files_of_the_package() {
    let files = aidl_files();
    for f in files.values() {
        for import in &f.imports {
            let name = import
                .strip_prefix("android.memstat.")
                .unwrap_or_else(|| panic!("{}: import {import} is not ours", f.name));
            assert!(files.contains_key(name), "{}: no {name}.aidl", f.name);
        }
    }
}

#[test]
fn fields_a_newer_writer_added_are_skipped() {
    let (v, _) = dump_result();
    let mut p = TestParcel::default();
    p.write_i32(parcel::NON_NULL).unwrap();
    let start = p.offset();
    p.write_i32(0).unwrap();
    parcel::Parcelable::write_fields(&v, &mut p).unwrap();
    p.write_i64(77).unwrap(); // a field this side does not know
    let size = p.offset() - start;
    p.patch_i32(start, size).unwrap();
    p.write_i32(-12345).unwrap(); // what follows the parcelable
    let mut p = p.rewind();
    assert_eq!(text(parcel::read::<DumpResult, _>(&mut p)), text(Ok(v)));
    assert_eq!(p.read_i32(), Ok(-12345));
}

#[test]
fn fields_an_older_writer_lacked_keep_their_defaults() {
    let mut p = TestParcel::default();
    p.write_i32(parcel::NON_NULL).unwrap();
    let start = p.offset();
    p.write_i32(0).unwrap();
    p.write_i32(10123).unwrap();
    p.write_str("u0_a123").unwrap();
    let size = p.offset() - start;
    p.patch_i32(start, size).unwrap();
    p.write_i32(-12345).unwrap();
    let mut p = p.rewind();
    let expected = UidStats {
        uid: 10123,
        name: "u0_a123".into(),
        ..UidStats::default()
    };
    assert_eq!(
        text(parcel::read::<UidStats, _>(&mut p)),
        text::<_, WireError>(Ok(expected))
    );
    assert_eq!(p.read_i32(), Ok(-12345));
}

#[test]
fn malformed_parcels_are_refused() {
    let parcel_of = |words: &[i32]| {
        let mut p = TestParcel::default();
        words.iter().for_each(|&w| p.write_i32(w).unwrap());
        p.rewind()
    };
    let read = |words: &[i32]| text(parcel::read::<DumpResult, _>(&mut parcel_of(words)));
    assert_eq!(read(&[parcel::NULL]), Err(WireError::UnexpectedNull));
    assert_eq!(read(&[parcel::NON_NULL, 3]), Err(WireError::BadValue));
    assert_eq!(read(&[parcel::NON_NULL, -8]), Err(WireError::BadValue));
    assert_eq!(
        read(&[parcel::NON_NULL, 400, 0]),
        Err(WireError::NotEnoughData)
    );
    // A size that fits, but a string that runs past the data.
    assert_eq!(
        read(&[parcel::NON_NULL, 16, 0, 100, 0]),
        Err(WireError::NotEnoughData)
    );
    assert_eq!(
        text(parcel::read_array::<DumpResult, _>(&mut parcel_of(&[-1]))),
        Err(WireError::UnexpectedNull)
    );
    // A length alone does not make the reader allocate or loop for long.
    assert_eq!(
        text(parcel::read_array::<DumpResult, _>(&mut parcel_of(&[
            i32::MAX
        ]))),
        Err(WireError::NotEnoughData)
    );
}
