//! What every /proc and /sys reader shares: the root directory paths hang
//! from, the state of one file (read, missing, unreadable, malformed) and the
//! parse error. Readers never guess: a file that cannot be had is reported as
//! such, with the OS error.

use serde::Serialize;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// The directory `proc/...` and `sys/...` are looked up under: `/` on a live
/// system, a fake tree in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root(PathBuf);

impl Default for Root {
    fn default() -> Self {
        Root(PathBuf::from("/"))
    }
}

impl Root {
    /// A root at `dir`: a fake tree of `proc/` and `sys/` files.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Root(dir.into())
    }

    /// `rel` is relative to the root: `proc/vmstat`, not `/proc/vmstat`.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// `rel` left unopened because opening it could only fail here: it is
    /// reported `Unreadable`, with `why` and no errno. On Android a failed
    /// open would also log an SELinux denial at every report.
    pub(crate) fn withheld<T>(&self, rel: &str, why: &str) -> Reading<T> {
        Reading::Unreadable {
            path: self.path(rel).display().to_string(),
            errno: None,
            error: why.into(),
        }
    }

    /// Reads `rel` and parses it. Not-found is `Missing` (the kernel lacks
    /// the file); any other OS error is `Unreadable` (permissions, SELinux).
    pub(crate) fn read<T>(
        &self,
        rel: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Reading<T> {
        let path = self.path(rel);
        let shown = path.display().to_string();
        match std::fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Reading::Missing { path: shown },
            Err(e) => Reading::Unreadable {
                path: shown,
                errno: e.raw_os_error(),
                error: e.to_string(),
            },
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Err(_) => Reading::Malformed {
                    path: shown,
                    error: ParseError::whole(ErrorKind::NotUtf8),
                },
                Ok(text) => match parse(text) {
                    Ok(value) => Reading::Read { value },
                    Err(error) => Reading::Malformed { path: shown, error },
                },
            },
        }
    }
}

/// One file's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Reading<T> {
    Read {
        value: T,
    },
    /// The file does not exist: this kernel does not have it (a knob newer
    /// than the kernel, no PSI (CONFIG_PSI off or `psi=0`), no THP).
    Missing {
        path: String,
    },
    /// The file exists but could not be read (common on Android user builds).
    Unreadable {
        path: String,
        errno: Option<i32>,
        error: String,
    },
    /// The file was read but is not what the kernel writes.
    Malformed {
        path: String,
        error: ParseError,
    },
}

impl<T> Reading<T> {
    pub(crate) fn value(&self) -> Option<&T> {
        match self {
            Reading::Read { value } => Some(value),
            _ => None,
        }
    }

    /// The value turned into something else; a file that could not be had
    /// stays what it was, with its path and error.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Reading<U> {
        match self {
            Reading::Read { value } => Reading::Read { value: f(value) },
            Reading::Missing { path } => Reading::Missing { path },
            Reading::Unreadable { path, errno, error } => {
                Reading::Unreadable { path, errno, error }
            }
            Reading::Malformed { path, error } => Reading::Malformed { path, error },
        }
    }
}

/// Why a text is not what the kernel writes, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ParseError {
    /// 1-based line; 0 when the fault is the whole text (empty, or a
    /// required part missing).
    pub(crate) line: usize,
    #[serde(flatten)]
    pub(crate) kind: ErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ErrorKind {
    #[error("the text is empty")]
    Empty,
    /// The kernel ends every line with a newline; a text without one at the
    /// end was cut in the middle of its last line.
    #[error("the last line is cut short (no newline at the end)")]
    Truncated,
    #[error("the text is not UTF-8")]
    NotUtf8,
    #[error("{token:?} is not a number")]
    NotANumber { token: String },
    #[error("expected {expected} columns, found {found}")]
    Columns { expected: usize, found: usize },
    #[error("unexpected line {text:?}")]
    Unexpected { text: String },
    #[error("{name:?} appears twice")]
    Duplicate { name: String },
    #[error("{what} is missing")]
    Missing { what: String },
    #[error("{found} orders, more than the {max} any kernel has")]
    TooManyOrders { found: usize, max: usize },
}

impl ParseError {
    pub(crate) fn at(line: usize, kind: ErrorKind) -> Self {
        ParseError { line, kind }
    }

    pub(crate) fn whole(kind: ErrorKind) -> Self {
        ParseError { line: 0, kind }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}", self.kind),
            n => write!(f, "line {n}: {}", self.kind),
        }
    }
}

impl std::error::Error for ParseError {}

/// At most this much of an offending text goes into an error.
const EXCERPT_CHARS: usize = 64;

pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(EXCERPT_CHARS).collect()
}

/// Numbered lines, 1-based.
pub(crate) fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l))
}

/// Not empty, and not cut in the middle of a line.
pub(crate) fn complete(text: &str) -> Result<(), ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::whole(ErrorKind::Empty));
    }
    if !text.ends_with('\n') {
        return Err(ParseError::at(text.lines().count(), ErrorKind::Truncated));
    }
    Ok(())
}

/// A decimal the kernel printed with `%lu`: digits only (no sign, no space),
/// which `str::parse` alone would not insist on.
pub(crate) fn number(token: &str, line: usize) -> Result<u64, ParseError> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    match digits.then(|| token.parse::<u64>().ok()).flatten() {
        Some(n) => Ok(n),
        None => Err(ParseError::at(
            line,
            ErrorKind::NotANumber {
                token: excerpt(token),
            },
        )),
    }
}

/// A decimal printed with `%d` or `%ld`: an optional minus, then digits.
pub(crate) fn signed(token: &str, line: usize) -> Result<i64, ParseError> {
    let (negative, digits) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let magnitude = number(digits, line).map_err(|_| {
        ParseError::at(
            line,
            ErrorKind::NotANumber {
                token: excerpt(token),
            },
        )
    })?;
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value.ok_or_else(|| {
        ParseError::at(
            line,
            ErrorKind::NotANumber {
                token: excerpt(token),
            },
        )
    })
}

pub(crate) fn unexpected(line: usize, text: &str) -> ParseError {
    ParseError::at(
        line,
        ErrorKind::Unexpected {
            text: excerpt(text),
        },
    )
}

/// The `Node N, zone NAME` start shared by buddyinfo, pagetypeinfo and
/// zoneinfo lines: the node, the zone name (without a trailing comma), whether
/// the name had one, and the tokens after it.
pub(crate) struct NodeZone<'a> {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) comma: bool,
    pub(crate) rest: Vec<&'a str>,
}

pub(crate) fn node_zone(line: &str, lineno: usize) -> Result<NodeZone<'_>, ParseError> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let (node, zone) = match tokens.as_slice() {
        ["Node", node, "zone", zone, ..] => (*node, *zone),
        _ => return Err(unexpected(lineno, line)),
    };
    let node = node
        .strip_suffix(',')
        .ok_or_else(|| unexpected(lineno, line))?;
    let node = u32::try_from(number(node, lineno)?).map_err(|_| {
        ParseError::at(
            lineno,
            ErrorKind::NotANumber {
                token: excerpt(node),
            },
        )
    })?;
    let (zone, comma) = match zone.strip_suffix(',') {
        Some(z) => (z, true),
        None => (zone, false),
    };
    if zone.is_empty() {
        return Err(unexpected(lineno, line));
    }
    Ok(NodeZone {
        node,
        zone: zone.to_owned(),
        comma,
        rest: tokens[4..].to_vec(),
    })
}

/// Strategies for the parsers' property tests: arbitrary text, lines built
/// from the tokens these files are made of, and real files with a cut, a
/// deletion or an insertion somewhere.
#[cfg(test)]
pub(crate) mod arbitrary {
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    const TOKENS: &[&str] = &[
        "Node",
        "0,",
        "1,",
        "4294967296,",
        "zone",
        "DMA",
        "DMA32,",
        "Normal",
        "Normal,",
        "type",
        "Movable",
        "Unmovable",
        "CMA",
        "0",
        "1",
        "9",
        "42",
        "100000",
        ">100000",
        ">",
        ">x",
        "18446744073709551615",
        "18446744073709551616",
        "-1",
        "-",
        "kB",
        "MB",
        "MemTotal:",
        "HugePages_Total:",
        ":",
        "pages",
        "free",
        "min",
        "low",
        "high",
        "boost",
        "promo",
        "spanned",
        "present",
        "managed",
        "cma",
        "protection:",
        "(0,",
        "1,",
        "0)",
        "()",
        "(",
        "per-node",
        "stats",
        "pagesets",
        "cpu:",
        "count:",
        "vm",
        "threshold:",
        "node_unreclaimable:",
        "start_pfn:",
        "some",
        "full",
        "avg10=0.00",
        "avg60=1.50",
        "avg300=99.99",
        "total=9",
        "avg10=",
        "=",
        "[madvise]",
        "[",
        "]",
        "[]",
        "always",
        "never",
        "Page",
        "block",
        "order:",
        "Pages",
        "per",
        "block:",
        "Free",
        "count",
        "migrate",
        "at",
        "Number",
        "of",
        "blocks",
        "mixed",
        "nr_free_pages",
        "pgfault",
        "allocstall_normal",
        "pgalloc_normal",
        "pgalloc_",
        "workingset_refault_anon",
        "\u{0}",
        "é",
        "\t",
    ];

    /// 128 cases unless PROPTEST_CASES says otherwise.
    pub fn config() -> Config {
        Config {
            cases: cases(std::env::var("PROPTEST_CASES").ok().as_deref()),
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// The case count PROPTEST_CASES asks for, or 128 when it is unset or
    /// not a number.
    pub(crate) fn cases(env: Option<&str>) -> u32 {
        env.and_then(|v| v.trim().parse().ok()).unwrap_or(128)
    }

    /// Up to 12 lines of up to 16 tokens, with or without a final newline.
    pub fn lines() -> impl Strategy<Value = String> {
        let line =
            prop::collection::vec(prop::sample::select(TOKENS), 0..16).prop_map(|t| t.join(" "));
        (prop::collection::vec(line, 0..12), any::<bool>()).prop_map(|(lines, newline)| {
            let mut text = lines.join("\n");
            if newline {
                text.push('\n');
            }
            text
        })
    }

    /// Any bytes, taken as text the way a reader would get them.
    pub fn bytes() -> impl Strategy<Value = String> {
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// `text` cut short, with a range deleted, or with a token inserted, at
    /// an arbitrary place (the fixtures are ASCII, so any index is a char
    /// boundary).
    pub fn mutated(text: &'static str) -> impl Strategy<Value = String> {
        let len = text.len();
        (0..=len, 0..=len, prop::sample::select(TOKENS), 0..3u8).prop_map(
            move |(a, b, token, op)| {
                let (lo, hi) = (a.min(b), a.max(b));
                match op {
                    0 => text[..lo].to_owned(),
                    1 => format!("{}{}", &text[..lo], &text[hi..]),
                    _ => format!("{}{}{}", &text[..lo], token, &text[lo..]),
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(number("42", 1), Ok(42));
        assert_eq!(number("18446744073709551615", 1), Ok(u64::MAX));
        for bad in ["", "+1", "-1", "1.0", "18446744073709551616", "0x10", " 1"] {
            assert_eq!(
                number(bad, 3),
                Err(ParseError::at(
                    3,
                    ErrorKind::NotANumber {
                        token: bad.to_owned()
                    }
                )),
                "{bad:?}"
            );
        }
        assert_eq!(signed("-5", 1), Ok(-5));
        assert_eq!(signed("-9223372036854775808", 1), Ok(i64::MIN));
        assert!(signed("9223372036854775808", 1).is_err());
        assert!(signed("--5", 1).is_err());
        assert!(signed("-", 1).is_err());
    }

    #[test]
    fn node_zone_prefixes() {
        let nz = node_zone("Node    0, zone   Normal, type    Movable  1 2", 1).unwrap();
        assert_eq!((nz.node, nz.zone.as_str(), nz.comma), (0, "Normal", true));
        assert_eq!(nz.rest, ["type", "Movable", "1", "2"]);
        let nz = node_zone("Node 1, zone    DMA32 ", 1).unwrap();
        assert_eq!((nz.node, nz.zone.as_str(), nz.comma), (1, "DMA32", false));
        assert!(nz.rest.is_empty());
        for bad in [
            "Node 0 zone DMA",
            "Node x, zone DMA",
            "node 0, zone DMA",
            "Node 0,",
            "",
        ] {
            assert!(node_zone(bad, 1).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = ParseError::at(
            7,
            ErrorKind::Columns {
                expected: 11,
                found: 3,
            },
        );
        assert_eq!(e.to_string(), "line 7: expected 11 columns, found 3");
        assert_eq!(
            ParseError::whole(ErrorKind::Empty).to_string(),
            "the text is empty"
        );
        let json = serde_json::to_value(ParseError::at(3, ErrorKind::Truncated)).unwrap();
        assert_eq!(json, serde_json::json!({"line": 3, "kind": "truncated"}));
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"line": 7, "kind": "columns", "expected": 11, "found": 3})
        );
        let long = "x".repeat(500);
        assert_eq!(excerpt(&long).len(), EXCERPT_CHARS);
    }

    #[test]
    fn reading_states() {
        let root = Root::new(std::env::temp_dir().join("memstat-no-such-root"));
        assert_eq!(
            root.read("proc/vmstat", |t| Ok(t.len())),
            Reading::Missing {
                path: root.path("proc/vmstat").display().to_string()
            }
        );
        // A directory cannot be read as a file: an OS error other than
        // not-found, reported with its errno.
        let dir = crate::testing::TempDir::new("reading");
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        std::fs::write(dir.path().join("proc/vmstat"), "nr_free_pages 1\n").unwrap();
        let root = Root::new(dir.path());
        match root.read("proc", |t| Ok(t.len())) {
            Reading::Unreadable { errno, .. } => assert_eq!(errno, Some(libc::EISDIR)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            root.read("proc/vmstat", |t| Ok(t.len())),
            Reading::Read { value: 16 }
        );
        let read = root.read("proc/vmstat", |_| {
            Err::<(), _>(ParseError::whole(ErrorKind::Empty))
        });
        assert!(matches!(read, Reading::Malformed { .. }));
        assert_eq!(read.value(), None);
    }

    #[test]
    fn map_keeps_the_state() {
        let read: Reading<u32> = Reading::Read { value: 21 };
        assert_eq!(read.map(|v| v * 2), Reading::Read { value: 42 });
        // The value is moved into the closure, not borrowed.
        let read = Reading::Read {
            value: vec![String::from("DMA"), String::from("Normal")],
        };
        assert_eq!(
            read.map(|zones| zones.into_iter().last()),
            Reading::Read {
                value: Some(String::from("Normal"))
            }
        );
        let missing: Reading<u32> = Reading::Missing {
            path: "/proc/pressure/memory".into(),
        };
        assert_eq!(
            missing.map(|v| v.to_string()),
            Reading::Missing {
                path: "/proc/pressure/memory".into()
            }
        );
        let unreadable: Reading<u32> = Reading::Unreadable {
            path: "/proc/pagetypeinfo".into(),
            errno: Some(libc::EACCES),
            error: "Permission denied (os error 13)".into(),
        };
        assert_eq!(
            unreadable.map(|v| v + 1),
            Reading::Unreadable {
                path: "/proc/pagetypeinfo".into(),
                errno: Some(libc::EACCES),
                error: "Permission denied (os error 13)".into(),
            }
        );
        let malformed: Reading<u32> = Reading::Malformed {
            path: "/proc/vmstat".into(),
            error: ParseError::at(3, ErrorKind::Truncated),
        };
        assert_eq!(
            malformed.map(|_| panic!("not called")),
            Reading::<()>::Malformed {
                path: "/proc/vmstat".into(),
                error: ParseError::at(3, ErrorKind::Truncated),
            }
        );
    }

    #[test]
    fn proptest_cases_follow_the_environment() {
        assert_eq!(arbitrary::cases(None), 128);
        assert_eq!(arbitrary::cases(Some("1000")), 1000);
        assert_eq!(arbitrary::cases(Some(" 16\n")), 16);
        assert_eq!(arbitrary::cases(Some("lots")), 128);
        assert_eq!(arbitrary::cases(Some("")), 128);
    }
}
