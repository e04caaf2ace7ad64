//! A small XML writer: fixed prefixes declared by the caller, two-space indentation between
//! elements (never inside text), text and attribute escaping.
//!
//! Invariant: the output is well-formed UTF-8 XML. Characters XML 1.0 cannot carry (C0
//! controls other than TAB/LF/CR) are replaced by U+FFFD; CR and attribute TAB/LF are written
//! as character references so they survive end-of-line and attribute normalisation.

use base64::Engine as _;

/// Streaming writer producing an indented document.
#[derive(Debug, Default)]
pub struct XmlWriter {
    out: String,
    open: Vec<(String, bool)>,
    /// MTOM parts (Content-ID, bytes) when XOP optimisation is on.
    parts: Option<Vec<(String, Vec<u8>)>>,
}

/// Binary values from this size on become MTOM parts when XOP optimisation is on.
pub const MTOM_THRESHOLD: usize = 1024;

impl XmlWriter {
    /// A writer that starts with the XML declaration.
    #[must_use]
    pub fn new() -> Self {
        Self {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            open: Vec::new(),
            parts: None,
        }
    }

    /// A writer with a capacity hint (for large documents).
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let mut w = Self::new();
        w.out.reserve(capacity);
        w
    }

    fn newline(&mut self) {
        if let Some((_, has_children)) = self.open.last_mut() {
            *has_children = true;
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v, true);
            self.out.push('"');
        }
    }

    /// Opens `<name attrs…>`; `name` is a prefixed name the caller has declared.
    pub fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.newline();
        self.tag(name, attrs);
        self.out.push('>');
        self.open.push((name.to_owned(), false));
    }

    /// Closes the innermost open element.
    pub fn end(&mut self) {
        if let Some((name, has_children)) = self.open.pop() {
            if has_children {
                self.newline_close();
            }
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
        }
    }

    fn newline_close(&mut self) {
        self.out.push('\n');
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// `<name attrs…/>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.newline();
        self.tag(name, attrs);
        self.out.push_str("/>");
    }

    /// `<name attrs…>text</name>` with escaping.
    pub fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.newline();
        self.tag(name, attrs);
        self.out.push('>');
        escape_into(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.leaf_attrs(name, &[], text);
    }

    /// `<name>text</name>` when `text` is `Some`.
    pub fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, t);
        }
    }

    /// Turns on XOP optimisation: later binary values of at least [`MTOM_THRESHOLD`] bytes
    /// are written as `xop:Include` and collected as MIME parts (see [`XmlWriter::finish_mtom`]).
    pub fn enable_mtom(&mut self) {
        self.parts.get_or_insert_with(Vec::new);
    }

    /// `<name attrs…>base64(bytes)</name>`, encoded straight into the output (or an
    /// `xop:Include` of a new MIME part when XOP optimisation is on and `bytes` is large).
    pub fn leaf_base64(&mut self, name: &str, attrs: &[(&str, &str)], bytes: &[u8]) {
        self.newline();
        self.tag(name, attrs);
        self.out.push('>');
        if let Some(parts) = self
            .parts
            .as_mut()
            .filter(|_| bytes.len() >= MTOM_THRESHOLD)
        {
            let cid = format!("part{}@kim-konnektor", parts.len() + 1);
            self.out.push_str(
                r#"<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:"#,
            );
            self.out.push_str(&cid.replace('@', "%40"));
            self.out.push_str(r#""/>"#);
            parts.push((cid, bytes.to_vec()));
        } else {
            base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut self.out);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Closes all open elements and returns the document bytes (ending with a newline).
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.finish_mtom().0
    }

    /// Like [`XmlWriter::finish`], also returning the MTOM parts (Content-ID, bytes).
    #[must_use]
    pub fn finish_mtom(mut self) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
        while !self.open.is_empty() {
            self.end();
        }
        self.out.push('\n');
        (self.out.into_bytes(), self.parts.unwrap_or_default())
    }
}

fn escape_into(out: &mut String, text: &str, attr: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::xml::tree::parse;

    #[test]
    fn escapes_round_trip() {
        let nasty = "a<b>&\"c'\r\n\td\u{1}";
        let mut w = XmlWriter::new();
        w.start("r", &[("x", nasty)]);
        w.leaf("t", nasty);
        w.empty("e", &[]);
        let bytes = w.finish();
        let root = parse(&bytes).unwrap();
        let expect = "a<b>&\"c'\r\n\td\u{fffd}";
        assert_eq!(root.attr("x"), Some(expect));
        assert_eq!(root.children().first().unwrap().text(), expect);
    }

    #[test]
    fn layout() {
        let mut w = XmlWriter::new();
        w.start("a", &[]);
        w.start("b", &[]);
        w.end();
        w.leaf_base64("c", &[("T", "1")], b"ABC");
        let s = String::from_utf8(w.finish()).unwrap();
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a>\n  <b></b>\n  <c T=\"1\">QUJD</c>\n</a>\n"
        );
    }
}
