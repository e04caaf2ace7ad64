//! Header blocks that keep the original bytes of every field (RFC 5322 §2.2, §3.6).
//!
//! KOM-LE-A_2098-03 and the gematik FAQ require fields to be copied from the inner to the
//! outer message without reformatting; [`HeaderField`] therefore stores the field exactly as
//! received (name, colon, value with folding, line ending) and derives everything else from
//! those bytes.

use super::errors::MimeError;

/// One header field with its original bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The complete field: name, colon, raw value including folding, and the terminating
    /// line ending (absent only for a last field that ends the input).
    raw: Vec<u8>,
    /// Index of the colon in `raw`.
    colon: usize,
}

impl std::fmt::Debug for HeaderField {
    // The value may contain personal data; show only the name.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderField")
            .field("name", &self.name())
            .field("len", &self.raw.len())
            .finish()
    }
}

impl HeaderField {
    /// Builds a new field `Name: value` CRLF.
    ///
    /// The value is used as is; it must not contain CR or LF (use
    /// [`HeaderField::new_folded`] for values that need folding).
    pub fn new(name: &str, value: &str) -> Result<Self, MimeError> {
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(MimeError::InvalidArgument {
                name: "header value",
                reason: "contains a line break",
            });
        }
        Self::build(name, value)
    }

    /// Builds a new field and folds the value at spaces so that lines stay within 78
    /// characters where possible (RFC 5322 §2.2.3). The value must not contain CR or LF.
    pub fn new_folded(name: &str, value: &str) -> Result<Self, MimeError> {
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(MimeError::InvalidArgument {
                name: "header value",
                reason: "contains a line break",
            });
        }
        let mut folded = String::with_capacity(value.len() + 8);
        let mut line_len = name.len() + 2;
        for (i, word) in value.split(' ').enumerate() {
            if i > 0 {
                if line_len + 1 + word.len() > 78 && line_len > 1 {
                    folded.push_str("\r\n ");
                    line_len = 1;
                } else {
                    folded.push(' ');
                    line_len += 1;
                }
            }
            folded.push_str(word);
            line_len += word.len();
        }
        Self::build(name, &folded)
    }

    /// Builds an unstructured field (such as `Subject`) from text: printable ASCII is used
    /// as is, anything else is written as RFC 2047 UTF-8 encoded words, folded.
    pub fn new_unstructured(name: &str, text: &str) -> Result<Self, MimeError> {
        if text.chars().any(char::is_control) {
            return Err(MimeError::InvalidArgument {
                name: "header text",
                reason: "contains control characters",
            });
        }
        Self::build(name, &super::encoding::encode_header_text(text))
    }

    fn build(name: &str, value: &str) -> Result<Self, MimeError> {
        if name.is_empty() || !name.bytes().all(is_field_name_byte) {
            return Err(MimeError::InvalidArgument {
                name: "header name",
                reason: "empty or contains characters outside printable ASCII",
            });
        }
        let mut raw = Vec::with_capacity(name.len() + value.len() + 4);
        raw.extend_from_slice(name.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value.as_bytes());
        raw.extend_from_slice(b"\r\n");
        Ok(Self {
            raw,
            colon: name.len(),
        })
    }

    /// Parses one complete field (as produced by [`HeaderField::raw`]).
    pub fn from_raw(raw: &[u8]) -> Result<Self, MimeError> {
        let (block, end) = HeaderBlock::parse(raw)?;
        match block.fields.as_slice() {
            [field] if end == raw.len() => Ok(field.clone()),
            _ => Err(MimeError::MalformedHeader {
                offset: 0,
                reason: "expected exactly one header field",
            }),
        }
    }

    /// The field name as written (without trailing whitespace before the colon).
    pub fn name(&self) -> &str {
        let name = self.raw.get(..self.colon).unwrap_or_default();
        // The parser only accepts printable ASCII in names, so this cannot fail.
        std::str::from_utf8(name).unwrap_or_default().trim_end()
    }

    /// True if the field has this name (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name().eq_ignore_ascii_case(name)
    }

    /// The complete original bytes of the field, including the terminating line ending.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The raw value: everything after the colon up to (excluding) the final line ending,
    /// with folding line breaks kept.
    pub fn raw_value(&self) -> &[u8] {
        let end = self.raw.len() - line_ending_len(&self.raw);
        self.raw.get(self.colon + 1..end).unwrap_or_default()
    }

    /// The unfolded value (RFC 5322 §2.2.3: line breaks before whitespace removed) with
    /// leading and trailing whitespace trimmed, as bytes.
    pub fn value_bytes(&self) -> Vec<u8> {
        let unfolded: Vec<u8> = self
            .raw_value()
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n')
            .collect();
        unfolded.trim_ascii().to_vec()
    }

    /// The unfolded, trimmed value as text (invalid UTF-8 replaced by U+FFFD; encoded
    /// words are left as they are).
    pub fn value(&self) -> String {
        String::from_utf8_lossy(&self.value_bytes()).into_owned()
    }

    /// The same field with every line ending converted to CRLF.
    pub(crate) fn to_crlf(&self) -> Self {
        Self {
            raw: super::lines::to_crlf(&self.raw).into_owned(),
            colon: self.colon,
        }
    }

    /// The same field guaranteed to end with a line break (CRLF is added if the input ended
    /// without one).
    pub(crate) fn terminated(mut self) -> Self {
        if !self.raw.ends_with(b"\n") {
            self.raw.extend_from_slice(b"\r\n");
        }
        self
    }
}

/// An ordered list of header fields as found at the start of a message or MIME entity.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderBlock {
    fields: Vec<HeaderField>,
}

impl std::fmt::Debug for HeaderBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.fields.iter().map(HeaderField::name))
            .finish()
    }
}

impl HeaderBlock {
    /// Parses the header block at the start of `input`.
    ///
    /// Returns the block and the offset of the body: the byte after the empty line that ends
    /// the header (CRLF or LF), or `input.len()` if the input ends after the last field.
    /// Lines may end with CRLF or LF. A line that is neither a field, a continuation nor the
    /// empty line is an error.
    pub fn parse(input: &[u8]) -> Result<(Self, usize), MimeError> {
        let mut fields = Vec::new();
        let mut pos = 0;
        loop {
            let Some(rest) = input.get(pos..) else {
                return Err(MimeError::MalformedHeader {
                    offset: pos,
                    reason: "offset outside input",
                });
            };
            if rest.is_empty() {
                return Ok((Self { fields }, input.len()));
            }
            if rest.starts_with(b"\r\n") {
                return Ok((Self { fields }, pos + 2));
            }
            if rest.starts_with(b"\n") {
                return Ok((Self { fields }, pos + 1));
            }
            let len = field_len(rest).map_err(|reason| MimeError::MalformedHeader {
                offset: pos,
                reason,
            })?;
            let raw = rest.get(..len).unwrap_or_default().to_vec();
            let colon = raw.iter().position(|&b| b == b':').unwrap_or_default();
            fields.push(HeaderField { raw, colon });
            pos += len;
        }
    }

    /// All fields in order.
    pub fn fields(&self) -> &[HeaderField] {
        &self.fields
    }

    /// The first field with this name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&HeaderField> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// All fields with this name (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HeaderField> + 'a {
        self.fields.iter().filter(move |f| f.is(name))
    }

    /// The unfolded, trimmed value of the first field with this name.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(HeaderField::value)
    }

    /// True if a field with this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The fields' bytes concatenated; for a parsed block this reproduces the input up to
    /// (excluding) the empty line exactly.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.fields.iter().map(|f| f.raw.len()).sum());
        self.write_to(&mut out);
        out
    }

    /// Appends the fields' bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for field in &self.fields {
            out.extend_from_slice(&field.raw);
        }
    }

    /// Appends a field at the end. A last field without line ending gets one first.
    pub fn push(&mut self, field: HeaderField) {
        self.terminate_last();
        self.fields.push(field);
    }

    /// Inserts a field at `index` (clamped to the number of fields).
    pub fn insert(&mut self, index: usize, field: HeaderField) {
        self.terminate_last();
        let index = index.min(self.fields.len());
        self.fields.insert(index, field.terminated());
    }

    /// Removes every field with this name; returns how many were removed.
    pub fn remove_all(&mut self, name: &str) -> usize {
        let before = self.fields.len();
        self.fields.retain(|f| !f.is(name));
        before - self.fields.len()
    }

    /// Replaces the first field with this name by `field` (same position) and removes the
    /// other fields of that name; appends `field` if there was none.
    pub fn replace(&mut self, name: &str, field: HeaderField) {
        match self.fields.iter().position(|f| f.is(name)) {
            Some(index) => {
                self.remove_all(name);
                self.insert(index, field);
            }
            None => self.push(field),
        }
    }

    /// Keeps only the fields for which `keep` returns true.
    pub fn retain(&mut self, keep: impl FnMut(&HeaderField) -> bool) {
        self.fields.retain(keep);
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Adds CRLF to a last field that ends without a line break (a header-only input).
    pub(crate) fn terminate_last(&mut self) {
        if let Some(last) = self.fields.pop() {
            self.fields.push(last.terminated());
        }
    }
}

/// Length of the field (including continuation lines and the final line ending) at the
/// start of `rest`.
fn field_len(rest: &[u8]) -> Result<usize, &'static str> {
    if matches!(rest.first(), Some(b' ' | b'\t')) {
        return Err("continuation line without a preceding field");
    }
    let colon = rest
        .iter()
        .position(|&b| b == b':' || b == b'\n')
        .filter(|&i| rest.get(i) == Some(&b':'))
        .ok_or("line is not a header field (no colon)")?;
    let name = rest.get(..colon).unwrap_or_default().trim_ascii_end();
    if name.is_empty() || !name.iter().copied().all(is_field_name_byte) {
        return Err("invalid character in header field name");
    }
    let mut end = colon;
    let len = loop {
        match rest
            .get(end..)
            .and_then(|r| r.iter().position(|&b| b == b'\n'))
        {
            None => break rest.len(),
            Some(nl) => {
                end += nl + 1;
                if !matches!(rest.get(end), Some(b' ' | b'\t')) {
                    break end;
                }
            }
        }
    };
    // RFC 5322 2.2: CR only as part of CRLF. A bare CR inside a field would turn into a line
    // break wherever the field is copied with CRLF line endings.
    let field = rest.get(..len).unwrap_or_default();
    let bare_cr = field
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && field.get(i + 1) != Some(&b'\n'));
    if bare_cr {
        return Err("bare CR in a header field");
    }
    Ok(len)
}

/// RFC 5322 ftext: printable US-ASCII except colon.
fn is_field_name_byte(b: u8) -> bool {
    (33..=126).contains(&b) && b != b':'
}

/// Length of the line ending at the end of `raw` (2 for CRLF, 1 for LF, 0 for none).
fn line_ending_len(raw: &[u8]) -> usize {
    if raw.ends_with(b"\r\n") {
        2
    } else if raw.ends_with(b"\n") {
        1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const SAMPLE: &[u8] =
        b"From: A <a@x.de>\r\nSubject: one\r\n two\r\nX-Empty:\r\nto : b@x.de\r\n\r\nbody";

    /// Found by the `open` fuzz target: a bare CR inside a field became a line break in the
    /// error mail that copied the field.
    #[test]
    fn bare_cr_in_a_field_is_rejected() {
        let input = b"From: a@x.de\r\nDate: Mon, 23 Nov 2026\r\x01 x\r\n\r\nbody";
        let err = HeaderBlock::parse(input).unwrap_err();
        assert!(err.to_string().contains("bare CR"), "{err}");
        assert!(HeaderBlock::parse(b"Subject: a\r\n b\r\n\r\n").is_ok());
    }

    #[test]
    fn parse_keeps_raw_bytes_and_body_offset() {
        let (block, body) = HeaderBlock::parse(SAMPLE).unwrap();
        assert_eq!(block.len(), 4);
        assert_eq!(&SAMPLE[body..], b"body");
        assert_eq!(block.to_bytes(), &SAMPLE[..body - 2]);
        let subject = block.get("SUBJECT").unwrap();
        assert_eq!(subject.raw_value(), b" one\r\n two");
        assert_eq!(subject.value(), "one two");
        assert_eq!(block.get("To").unwrap().name(), "to");
        assert_eq!(block.value("x-empty").unwrap(), "");
    }

    #[test]
    fn parse_accepts_lf_and_header_only() {
        let (block, body) = HeaderBlock::parse(b"A: 1\nB: 2\n\nx").unwrap();
        assert_eq!(block.len(), 2);
        assert_eq!(body, 11);
        let (block, body) = HeaderBlock::parse(b"A: 1\r\nB: 2").unwrap();
        assert_eq!(block.len(), 2);
        assert_eq!(body, 10);
        assert_eq!(block.to_bytes(), b"A: 1\r\nB: 2");
    }

    #[test]
    fn parse_rejects_non_fields() {
        assert!(HeaderBlock::parse(b" cont: x\r\n\r\n").is_err());
        assert!(HeaderBlock::parse(b"From someone Mon\r\n\r\n").is_err());
        assert!(HeaderBlock::parse(b"no colon here\r\n\r\n").is_err());
        assert!(HeaderBlock::parse(b"A: 1\r\nbad line\r\n\r\n").is_err());
        assert!(HeaderBlock::parse(b": novalue\r\n").is_err());
    }

    #[test]
    fn get_all_and_edit() {
        let (mut block, _) =
            HeaderBlock::parse(b"Received: 1\r\nX: a\r\nreceived: 2\r\n\r\n").unwrap();
        let all: Vec<String> = block.get_all("RECEIVED").map(|f| f.value()).collect();
        assert_eq!(all, ["1", "2"]);
        block.replace("x", HeaderField::new("X", "b").unwrap());
        assert_eq!(block.to_bytes(), b"Received: 1\r\nX: b\r\nreceived: 2\r\n");
        block.insert(0, HeaderField::new("Return-Path", "<a@b>").unwrap());
        assert_eq!(block.remove_all("received"), 2);
        block.push(HeaderField::new("Y", "c").unwrap());
        assert_eq!(block.to_bytes(), b"Return-Path: <a@b>\r\nX: b\r\nY: c\r\n");
    }

    #[test]
    fn push_terminates_unterminated_last_field() {
        let (mut block, _) = HeaderBlock::parse(b"A: 1").unwrap();
        block.push(HeaderField::new("B", "2").unwrap());
        assert_eq!(block.to_bytes(), b"A: 1\r\nB: 2\r\n");
    }

    #[test]
    fn new_rejects_injection_and_folds() {
        assert!(HeaderField::new("X", "a\r\nBcc: evil").is_err());
        assert!(HeaderField::new("Bad Name", "a").is_err());
        let long = ["<word>"; 30].join(" ");
        let field = HeaderField::new_folded("X-KIM-KONVersion", &long).unwrap();
        for line in field.raw().split(|&b| b == b'\n') {
            assert!(line.len() <= 79, "line too long: {}", line.len());
        }
        assert_eq!(field.value(), long);
    }

    #[test]
    fn from_raw_round_trip() {
        let field = HeaderField::from_raw(b"Date: Wed, 1 Jan\r\n 2020\r\n").unwrap();
        assert_eq!(field.raw(), b"Date: Wed, 1 Jan\r\n 2020\r\n");
        assert!(HeaderField::from_raw(b"A: 1\r\nB: 2\r\n").is_err());
    }
}
