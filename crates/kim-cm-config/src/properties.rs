//! A reader for Java `.properties` files as `java.util.Properties.load` defines them:
//! `#`/`!` comment lines, `key=value`, `key: value` and `key value` separators, backslash
//! escapes (`\t`, `\n`, `\uXXXX`, `\=` …) and lines continued by an odd number of trailing
//! backslashes.
//!
//! Encoding: the Clientmodul's file is written by the vendor's Java tool (ISO-8859-1 with
//! `\u` escapes); files edited by hand are usually UTF-8. Input that is valid UTF-8 is read
//! as UTF-8, anything else as ISO-8859-1 (the rule of Java 9's `PropertyResourceBundle`).

use crate::error::CmConfigError;

/// One `key = value` entry with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key after unescaping.
    pub key: String,
    /// The value after unescaping (leading white space removed, trailing kept).
    pub value: String,
    /// Line number of the entry's first line.
    pub line: usize,
}

/// Decodes the file's bytes (UTF-8, else ISO-8859-1).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Parses the whole file into its entries, in file order (a later duplicate is reported
/// by the caller, not merged here).
///
/// # Errors
/// [`CmConfigError::Syntax`] for a malformed `\u` escape.
pub fn parse(text: &str) -> Result<Vec<Property>, CmConfigError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, first)) = lines.next() {
        let line_no = index + 1;
        let trimmed = first.trim_start_matches([' ', '\t', '\x0c']);
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut current = trimmed;
        loop {
            if ends_with_odd_backslashes(current) {
                logical.push_str(current.get(..current.len() - 1).unwrap_or_default());
                match lines.next() {
                    Some((_, next)) => current = next.trim_start_matches([' ', '\t', '\x0c']),
                    None => break,
                }
            } else {
                logical.push_str(current);
                break;
            }
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        out.push(Property {
            key: unescape(raw_key, line_no)?,
            value: unescape(raw_value, line_no)?,
            line: line_no,
        });
    }
    Ok(out)
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or white space; white space around the separator
/// belongs to neither part.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '=' | ':' | ' ' | '\t' | '\x0c') {
            key_end = i;
            break;
        }
    }
    let key = line.get(..key_end).unwrap_or(line);
    let rest = line.get(key_end..).unwrap_or_default();
    let rest = rest.trim_start_matches([' ', '\t', '\x0c']);
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest);
    (key, rest.trim_start_matches([' ', '\t', '\x0c']))
}

fn unescape(raw: &str, line: usize) -> Result<String, CmConfigError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                    .ok_or_else(|| CmConfigError::Syntax {
                        line,
                        reason: format!("malformed \\u escape \\u{hex}"),
                    })?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String, usize)> {
        parse(text)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.value, p.line))
            .collect()
    }

    #[test]
    fn separators_comments_and_blank_lines() {
        let got = pairs("# c\n! c\n\n a=1\nb : 2\nc 3\nd=\ne\n");
        let want = [
            ("a", "1", 4),
            ("b", "2", 5),
            ("c", "3", 6),
            ("d", "", 7),
            ("e", "", 8),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v, l), (wk, wv, wl)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str(), *l), (wk, wv, wl));
        }
    }

    #[test]
    fn escapes_and_continuations() {
        let got = pairs("url=https\\://h/x\\\n    /connector.sds\nk\\=y=\\u00e4\\t!\nodd=a\\\\\n");
        assert_eq!(got[0].0, "url");
        assert_eq!(got[0].1, "https://h/x/connector.sds");
        assert_eq!(got[1].0, "k=y");
        assert_eq!(got[1].1, "ä\t!");
        assert_eq!(
            got[2].1, "a\\",
            "an even number of backslashes does not continue"
        );
        assert_eq!(got[2].2, 4);
    }

    #[test]
    fn bad_unicode_escape_names_the_line() {
        let err = parse("a=1\nb=\\u12x4\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn latin1_and_utf8() {
        assert_eq!(decode(b"a=\xe4"), "a=ä");
        assert_eq!(decode("a=ä".as_bytes()), "a=ä");
        assert_eq!(decode("\u{feff}a=1".as_bytes()), "a=1");
    }

    #[test]
    fn chunks_of_a_continued_line_keep_trailing_spaces() {
        let got = pairs("k = v  \n");
        assert_eq!(got[0].1, "v  ");
    }
}
