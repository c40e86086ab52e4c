//! Transparent huge page settings, `/sys/kernel/mm/transparent_hugepage/`:
//! `enabled`, `defrag` and `shmem_enabled` list the choices with the one in
//! force in brackets (`always [madvise] never`); `khugepaged/defrag` is a
//! 0-or-1 flag. The whole directory is missing on kernels without THP (many
//! Android kernels), and each file is then `Missing`.

use super::reading::{complete, excerpt, number, unexpected, ErrorKind, ParseError, Reading, Root};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Choice {
    pub(crate) selected: String,
    /// Every choice, in the kernel's order.
    pub(crate) choices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ThpSettings {
    pub(crate) enabled: Reading<Choice>,
    pub(crate) defrag: Reading<Choice>,
    pub(crate) shmem_enabled: Reading<Choice>,
    pub(crate) khugepaged_defrag: Reading<bool>,
}

/// A choice file: exactly one word in brackets.
pub(crate) fn parse(text: &str) -> Result<Choice, ParseError> {
    complete(text)?;
    if text.lines().count() != 1 {
        return Err(unexpected(2, text.lines().nth(1).unwrap_or_default()));
    }
    let mut selected = None;
    let mut choices = Vec::new();
    for token in text.split_whitespace() {
        let choice = match token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Some(inner) => {
                if selected.replace(inner).is_some() {
                    return Err(unexpected(1, text));
                }
                inner
            }
            None => token,
        };
        if choice.is_empty() || choice.contains(['[', ']']) {
            return Err(unexpected(1, text));
        }
        choices.push(choice.to_owned());
    }
    let selected = selected.ok_or_else(|| {
        ParseError::at(
            1,
            ErrorKind::Missing {
                what: "a [selected] choice".into(),
            },
        )
    })?;
    Ok(Choice {
        selected: selected.to_owned(),
        choices,
    })
}

/// A 0-or-1 file.
pub(crate) fn parse_flag(text: &str) -> Result<bool, ParseError> {
    complete(text)?;
    match text.split_whitespace().collect::<Vec<_>>().as_slice() {
        [v] if text.lines().count() == 1 => match number(v, 1)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(unexpected(1, text)),
        },
        _ => Err(ParseError::at(
            1,
            ErrorKind::Unexpected {
                text: excerpt(text),
            },
        )),
    }
}

pub(crate) fn read(root: &Root) -> ThpSettings {
    let dir = "sys/kernel/mm/transparent_hugepage";
    ThpSettings {
        enabled: root.read(&format!("{dir}/enabled"), parse),
        defrag: root.read(&format!("{dir}/defrag"), parse),
        shmem_enabled: root.read(&format!("{dir}/shmem_enabled"), parse),
        khugepaged_defrag: root.read(&format!("{dir}/khugepaged/defrag"), parse_flag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::fixture_root as root;

    fn selected(r: &Reading<Choice>) -> &str {
        &r.value().unwrap().selected
    }

    #[test]
    fn this_machine() {
        let t = read(&root("6.18"));
        assert_eq!(selected(&t.enabled), "madvise");
        assert_eq!(
            t.defrag.value().unwrap().choices,
            ["always", "defer", "defer+madvise", "madvise", "never"]
        );
        assert_eq!(selected(&t.defrag), "madvise");
        assert_eq!(selected(&t.shmem_enabled), "never");
        assert_eq!(
            t.shmem_enabled.value().unwrap().choices,
            ["always", "within_size", "advise", "never", "deny", "force"]
        );
        assert_eq!(t.khugepaged_defrag.value(), Some(&true));
    }

    #[test]
    fn other_kernels() {
        let t = read(&root("5.4"));
        assert_eq!(selected(&t.enabled), "always");
        assert_eq!(selected(&t.defrag), "madvise");
        // No THP at all: every file missing.
        let t = read(&root("4.19"));
        assert!(matches!(t.enabled, Reading::Missing { .. }));
        assert!(matches!(t.defrag, Reading::Missing { .. }));
        assert!(matches!(t.shmem_enabled, Reading::Missing { .. }));
        assert!(matches!(t.khugepaged_defrag, Reading::Missing { .. }));
    }

    #[test]
    fn malformed() {
        assert_eq!(parse("").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(
            parse("always [madv").unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            parse("always madvise never\n").unwrap_err(),
            ParseError::at(
                1,
                ErrorKind::Missing {
                    what: "a [selected] choice".into()
                }
            )
        );
        for bad in [
            "[always] [never]\n",
            "always [madvise never\n",
            "[] never\n",
            "al]ways [never]\n",
            "[always]\nnever\n",
        ] {
            assert!(
                matches!(parse(bad).unwrap_err().kind, ErrorKind::Unexpected { .. }),
                "{bad:?}"
            );
        }
        assert_eq!(parse_flag("0\n"), Ok(false));
        assert_eq!(parse_flag("1\n"), Ok(true));
        assert!(parse_flag("2\n").is_err());
        assert!(parse_flag("yes\n").is_err());
        assert!(parse_flag("1\n1\n").is_err());
        assert_eq!(parse_flag("1").unwrap_err().kind, ErrorKind::Truncated);
    }

    #[test]
    fn live() {
        let t = read(&Root::default());
        for choice in [&t.enabled, &t.defrag, &t.shmem_enabled] {
            match choice {
                Reading::Read { value } => assert!(value.choices.contains(&value.selected)),
                Reading::Missing { .. } => {}
                other => panic!("{other:?}"),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(
                include_str!("../../tests/fixtures/system/root-6.18/sys/kernel/mm/transparent_hugepage/shmem_enabled")
            ),
        ) {
            for text in [lines, bytes, mutated] {
                let _ = parse(&text);
                let _ = parse_flag(&text);
            }
        }
    }
}
