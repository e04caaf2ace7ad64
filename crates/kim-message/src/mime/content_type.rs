//! `Content-Type` values (RFC 2045 §5.1): media type plus parameters.

use super::header::HeaderBlock;

/// A parsed `Content-Type` value. Type, subtype and parameter names are lower-cased;
/// parameter values are kept as written (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lower-case.
    pub mime_type: String,
    /// Parameters in order, names lower-case.
    pub params: Vec<(String, String)>,
}

impl ContentType {
    /// Parses an unfolded `Content-Type` value. Returns `None` if there is no `type/subtype`.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = split_params(value).into_iter();
        let mime_type = parts.next()?.trim().to_ascii_lowercase();
        let (top, sub) = mime_type.split_once('/')?;
        if top.is_empty() || sub.is_empty() || mime_type.contains(char::is_whitespace) {
            return None;
        }
        let params = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
            })
            .collect();
        Some(Self { mime_type, params })
    }

    /// The content type of an entity: its `Content-Type` field or the RFC 2045 default
    /// `text/plain; charset=us-ascii` when the field is absent or unparsable.
    pub fn of(header: &HeaderBlock) -> Self {
        header
            .value("Content-Type")
            .and_then(|v| Self::parse(&v))
            .unwrap_or_else(Self::default_text)
    }

    /// The default `text/plain; charset=us-ascii`.
    pub fn default_text() -> Self {
        Self {
            mime_type: "text/plain".to_owned(),
            params: vec![("charset".to_owned(), "us-ascii".to_owned())],
        }
    }

    /// A parameter value by (case-insensitive) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True if the media type equals `mime_type` (given in lower case).
    pub fn is(&self, mime_type: &str) -> bool {
        self.mime_type == mime_type
    }

    /// True for any `multipart/*` type.
    pub fn is_multipart(&self) -> bool {
        self.mime_type.starts_with("multipart/")
    }

    /// Serialises the value, quoting parameter values where RFC 2045 requires it.
    pub fn to_value(&self) -> String {
        let mut out = self.mime_type.clone();
        for (name, value) in &self.params {
            out.push_str("; ");
            out.push_str(name);
            out.push('=');
            if value.is_empty() || value.bytes().any(needs_quoting) {
                out.push('"');
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(value);
            }
        }
        out
    }

    /// Sets (or adds) a parameter.
    pub fn set_param(&mut self, name: &str, value: &str) {
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value.to_owned(),
            None => self
                .params
                .push((name.to_ascii_lowercase(), value.to_owned())),
        }
    }
}

/// RFC 2045 tspecials, space and controls must be quoted.
fn needs_quoting(b: u8) -> bool {
    b <= b' ' || b >= 0x7f || b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// Splits at semicolons outside quoted strings.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    parts.retain(|p| !p.trim().is_empty());
    parts
}

/// Removes surrounding quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_owned();
    };
    let inner = inner.strip_suffix('"').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped || c != '\\' {
            out.push(c);
            escaped = false;
        } else {
            escaped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_params_and_quotes() {
        let ct = ContentType::parse(
            "Multipart/Mixed; boundary=\"a;b \\\"c\"; Charset=UTF-8 ; format=flowed",
        )
        .unwrap();
        assert_eq!(ct.mime_type, "multipart/mixed");
        assert_eq!(ct.param("boundary"), Some("a;b \"c"));
        assert_eq!(ct.param("charset"), Some("UTF-8"));
        assert_eq!(ct.param("FORMAT"), Some("flowed"));
        assert!(ct.is_multipart());
    }

    #[test]
    fn rejects_missing_subtype() {
        assert!(ContentType::parse("text").is_none());
        assert!(ContentType::parse("text/").is_none());
        assert!(ContentType::parse("").is_none());
    }

    #[test]
    fn serialises_with_quoting() {
        let mut ct = ContentType::parse("text/plain; format=flowed").unwrap();
        ct.set_param("charset", "utf-8");
        ct.set_param("name", "a b.txt");
        assert_eq!(
            ct.to_value(),
            "text/plain; format=flowed; charset=utf-8; name=\"a b.txt\""
        );
    }
}
