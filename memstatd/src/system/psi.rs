//! `/proc/pressure/memory` (kernel/sched/psi.c `psi_show`): the share of
//! wall time in which some, or all non-idle, tasks were stalled on memory:
//!
//! ```text
//! some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```
//!
//! Averages are percentages over 10 s, 60 s and 300 s; `total` is the stall
//! time in microseconds. The file is missing without CONFIG_PSI, and also
//! when PSI is disabled at boot (`psi=0`, or CONFIG_PSI_DEFAULT_DISABLED
//! without `psi=1`): every kernel from 5.10 on then does not create
//! /proc/pressure at all. Either way it is reported as `Missing`, not as no
//! pressure. `full` is read when present: memory has always had it, CPU
//! only since 5.13, so the parser does not insist on it.

use super::reading::{
    complete, excerpt, number, numbered, unexpected, ErrorKind, ParseError, Reading, Root,
};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Pressure {
    pub(crate) some: Stall,
    pub(crate) full: Option<Stall>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Stall {
    pub(crate) avg10: f64,
    pub(crate) avg60: f64,
    pub(crate) avg300: f64,
    pub(crate) total_us: u64,
}

pub(crate) fn parse(text: &str) -> Result<Pressure, ParseError> {
    complete(text)?;
    let mut some = None;
    let mut full = None;
    for (lineno, line) in numbered(text) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let (slot, fields) = match tokens.as_slice() {
            [] => continue,
            ["some", fields @ ..] => (&mut some, fields),
            ["full", fields @ ..] => (&mut full, fields),
            _ => return Err(unexpected(lineno, line)),
        };
        if slot.is_some() {
            return Err(ParseError::at(
                lineno,
                ErrorKind::Duplicate {
                    name: tokens[0].to_owned(),
                },
            ));
        }
        *slot = Some(stall(fields, lineno, line)?);
    }
    let some = some.ok_or_else(|| {
        ParseError::whole(ErrorKind::Missing {
            what: "the some line".into(),
        })
    })?;
    Ok(Pressure { some, full })
}

fn stall(fields: &[&str], lineno: usize, line: &str) -> Result<Stall, ParseError> {
    let value = |token: &str, key: &str| -> Result<String, ParseError> {
        token
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .map(str::to_owned)
            .ok_or_else(|| unexpected(lineno, line))
    };
    match fields {
        [a10, a60, a300, total] => Ok(Stall {
            avg10: percent(&value(a10, "avg10")?, lineno)?,
            avg60: percent(&value(a60, "avg60")?, lineno)?,
            avg300: percent(&value(a300, "avg300")?, lineno)?,
            total_us: number(&value(total, "total")?, lineno)?,
        }),
        _ => Err(unexpected(lineno, line)),
    }
}

/// `%lu.%02lu`: digits, a dot, digits. Stricter than `f64::from_str`, which
/// would take `inf` or `1e9`.
fn percent(token: &str, lineno: usize) -> Result<f64, ParseError> {
    let bad = || {
        ParseError::at(
            lineno,
            ErrorKind::NotANumber {
                token: excerpt(token),
            },
        )
    };
    let (whole, frac) = token.split_once('.').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    token.parse().map_err(|_| bad())
}

pub(crate) fn read(root: &Root) -> Reading<Pressure> {
    root.read("proc/pressure/memory", parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V5_10: &str = include_str!("../../tests/fixtures/system/pressure-memory-5.10");
    const V6_1: &str = include_str!("../../tests/fixtures/system/pressure-memory-6.1");
    const V6_18: &str = include_str!("../../tests/fixtures/system/pressure-memory-6.18");

    #[test]
    fn fixtures() {
        let p = parse(V6_18).unwrap();
        let idle = Stall {
            avg10: 0.0,
            avg60: 0.0,
            avg300: 0.0,
            total_us: 0,
        };
        assert_eq!(
            p,
            Pressure {
                some: idle,
                full: Some(idle)
            }
        );
        let p = parse(V5_10).unwrap();
        assert_eq!(
            p.some,
            Stall {
                avg10: 1.52,
                avg60: 0.87,
                avg300: 0.31,
                total_us: 48211934
            }
        );
        assert_eq!(p.full.map(|f| f.total_us), Some(13200512));
        let p = parse(V6_1).unwrap();
        assert_eq!(p.some.avg10, 12.81);
        assert_eq!(p.full.map(|f| f.avg300), Some(1.10));
        // Without a full line (the CPU file before 5.13 has this shape).
        let p = parse("some avg10=0.50 avg60=0.25 avg300=0.00 total=99\n").unwrap();
        assert_eq!((p.some.total_us, p.full), (99, None));
    }

    #[test]
    fn missing_without_psi() {
        let root = crate::testing::fixture_root("4.19");
        assert!(matches!(read(&root), Reading::Missing { .. }));
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        assert_eq!(kind(&V6_18[..60]), (2, ErrorKind::Truncated));
        assert_eq!(
            kind("full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            (
                0,
                ErrorKind::Missing {
                    what: "the some line".into()
                }
            )
        );
        for bad in ["inf", "1e3", "5", ".5", "5.", "-1.00", "nan"] {
            let text = format!("some avg10={bad} avg60=0.00 avg300=0.00 total=0\n");
            assert_eq!(
                kind(&text),
                (1, ErrorKind::NotANumber { token: bad.into() }),
                "{bad}"
            );
        }
        assert!(matches!(
            kind("some avg60=0.00 avg10=0.00 avg300=0.00 total=0\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("some avg10=0.00 avg60=0.00 avg300=0.00\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
            (2, ErrorKind::Duplicate { .. })
        ));
        assert!(matches!(
            kind("half avg10=0.00\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
    }

    #[test]
    fn live() {
        match read(&Root::default()) {
            Reading::Read { value } => {
                for s in std::iter::once(value.some).chain(value.full) {
                    for avg in [s.avg10, s.avg60, s.avg300] {
                        assert!((0.0..=100.0).contains(&avg), "{value:?}");
                    }
                }
            }
            // CONFIG_PSI off or psi=0 (no /proc/pressure); SELinux.
            Reading::Missing { .. } | Reading::Unreadable { .. } => {}
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(V5_10),
        ) {
            for text in [lines, bytes, mutated] {
                let _ = parse(&text);
            }
        }
    }
}
