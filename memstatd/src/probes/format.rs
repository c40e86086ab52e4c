//! Tracepoint record layouts as the running kernel states them in
//! `<tracefs>/events/<category>/<event>/format`. The platform loader does no
//! CO-RE, so each program reads fields at fixed offsets; before a program is
//! attached, every field it reads is checked against this file, and a
//! mismatch is reported with both layouts rather than counting garbage.

use std::fmt;
use std::path::Path;

/// One `field:` line of a format file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) decl: String,
    pub(crate) offset: u32,
    pub(crate) size: u32,
}

/// A parsed format file: its fields and its print format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Format {
    pub(crate) fields: Vec<Field>,
    pub(crate) print_fmt: String,
}

/// A field a program reads: name, offset and size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    pub(crate) name: &'static str,
    pub(crate) offset: u32,
    pub(crate) size: u32,
}

/// Shorthand for [`Read`] in static tables.
pub(crate) const fn read(name: &'static str, offset: u32, size: u32) -> Read {
    Read { name, offset, size }
}

impl fmt::Display for Read {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} ({} bytes)", self.name, self.offset, self.size)
    }
}

impl Format {
    pub(crate) fn read(tracefs_root: &Path, event: &str) -> std::io::Result<Self> {
        let path = tracefs_root.join("events").join(event).join("format");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(Self::parse(&text))
    }

    /// Parses the text of a format file; lines it does not know are skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let mut format = Format::default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(fmt) = line.strip_prefix("print fmt:") {
                format.print_fmt = fmt.trim().to_owned();
            } else if let Some(field) = parse_field(line) {
                format.fields.push(field);
            }
        }
        format
    }

    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether every read agrees with this layout; if not, what differs.
    pub(crate) fn check(&self, reads: &[Read]) -> Result<(), String> {
        let wrong: Vec<String> = reads
            .iter()
            .filter_map(|r| match self.field(r.name) {
                None => Some(format!("reads {r}, the record has no {}", r.name)),
                Some(f) if f.offset != r.offset || f.size != r.size => Some(format!(
                    "reads {r}, the record has `{}` at {} ({} bytes)",
                    f.decl, f.offset, f.size
                )),
                Some(_) => None,
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    }

    /// The `{value, "name"}` pairs of the `__print_symbolic` applied to
    /// `REC->field` in the print format, if there is one.
    pub(crate) fn symbols(&self, field: &str) -> Option<Vec<(i64, String)>> {
        let needle = format!("__print_symbolic(REC->{field},");
        let start = self.print_fmt.find(&needle)? + needle.len();
        let rest = &self.print_fmt[start..];
        let mut out = Vec::new();
        let mut depth = 0usize;
        let mut item = String::new();
        for c in rest.chars() {
            match c {
                '{' => {
                    depth += 1;
                    item.clear();
                }
                '}' if depth == 1 => {
                    depth = 0;
                    let (value, name) = item.split_once(',')?;
                    let name = name.trim().trim_matches('"').to_owned();
                    out.push((value.trim().parse().ok()?, name));
                }
                ')' if depth == 0 => break,
                _ if depth == 1 => item.push(c),
                _ => {}
            }
        }
        Some(out)
    }
}

/// `field:unsigned int order;\toffset:16;\tsize:4;\tsigned:0;`
fn parse_field(line: &str) -> Option<Field> {
    let mut parts = line.split(';').map(str::trim);
    let decl = parts.next()?.strip_prefix("field:")?.trim();
    let mut offset = None;
    let mut size = None;
    for part in parts {
        if let Some(v) = part.strip_prefix("offset:") {
            offset = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.parse().ok();
        }
    }
    // The name is the last word of the declaration, without any array suffix.
    let last = decl.rsplit([' ', '*']).next()?;
    let name = last.split('[').next()?.to_owned();
    if name.is_empty() {
        return None;
    }
    Some(Field {
        name,
        decl: decl.to_owned(),
        offset: offset?,
        size: size?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kmem:mm_page_alloc as this machine's 6.18 kernel prints it (print
    /// format shortened).
    const PAGE_ALLOC_6_18: &str = "name: mm_page_alloc
ID: 500
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:unsigned long pfn;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned int order;\toffset:16;\tsize:4;\tsigned:0;
\tfield:unsigned long gfp_flags;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int migratetype;\toffset:32;\tsize:4;\tsigned:1;

print fmt: \"page=%p pfn=0x%lx order=%d migratetype=%d\", REC->pfn, REC->order, REC->migratetype
";

    /// The same event on 5.10 (Pixel 6, android12-5.10).
    const PAGE_ALLOC_5_10: &str = "\tfield:unsigned long pfn;\toffset:8;\tsize:8;\tsigned:0;
\tfield:unsigned int order;\toffset:16;\tsize:4;\tsigned:0;
\tfield:gfp_t gfp_flags;\toffset:20;\tsize:4;\tsigned:0;
\tfield:int migratetype;\toffset:24;\tsize:4;\tsigned:1;
";

    #[test]
    fn parses_fields_and_print_format() {
        let f = Format::parse(PAGE_ALLOC_6_18);
        assert_eq!(f.fields.len(), 8);
        let mt = f.field("migratetype").unwrap();
        assert_eq!(
            (mt.offset, mt.size, mt.decl.as_str()),
            (32, 4, "int migratetype")
        );
        assert!(f.print_fmt.starts_with("\"page=%p"));
        let arrays = Format::parse("\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n");
        assert_eq!(arrays.fields[0].name, "comm");
        let loc = Format::parse("\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;");
        assert_eq!(
            (loc.fields[0].name.as_str(), loc.fields[0].offset),
            ("name", 24)
        );
    }

    #[test]
    fn check_names_every_difference() {
        let reads = [read("order", 16, 4), read("migratetype", 32, 4)];
        assert_eq!(Format::parse(PAGE_ALLOC_6_18).check(&reads), Ok(()));
        let err = Format::parse(PAGE_ALLOC_5_10).check(&reads).unwrap_err();
        assert_eq!(
            err,
            "reads migratetype at 32 (4 bytes), the record has `int migratetype` at 24 (4 bytes)"
        );
        let err = Format::parse("").check(&reads[..1]).unwrap_err();
        assert_eq!(err, "reads order at 16 (4 bytes), the record has no order");
    }

    #[test]
    fn symbols_of_a_field() {
        let f = Format::parse(
            "print fmt: \"status=%s\", __print_symbolic(REC->status, {1, \"skipped\"}, \
             {8, \"success\"}, {0, \"not_suitable_zone\"}), REC->x",
        );
        assert_eq!(
            f.symbols("status").unwrap(),
            vec![
                (1, "skipped".to_owned()),
                (8, "success".to_owned()),
                (0, "not_suitable_zone".to_owned())
            ]
        );
        assert_eq!(f.symbols("other"), None);
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "field:",
            "field:int;offset:x;size:4;",
            "print fmt:",
            "\u{0}field:int a;",
        ] {
            let f = Format::parse(text);
            assert!(f.check(&[read("a", 0, 4)]).is_err());
            let _ = f.symbols("a");
        }
    }
}
