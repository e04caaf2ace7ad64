//! Strict, path-aware access to an [`Element`] tree: child elements are consumed in schema
//! order, anything unknown, misplaced or missing is a [`SchemaError`] naming the path, e.g.
//! `SignDocument/SignRequest[1]/OptionalInputs: unexpected element {ns}Foo`.

use std::borrow::Cow;
use std::collections::HashMap;

use base64::Engine as _;

use crate::model::ValueError;
use crate::xml::ns;
use crate::xml::tree::Element;

/// Largest document the Konnektor accepts: 25 MB (TIP1-A_4500-02, A_19052-01). Larger
/// documents give [`SchemaProblem::TooLarge`] (Konnektor code 4280).
pub const MAX_DOCUMENT_SIZE: usize = 26_214_400;

/// What is wrong at a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaProblem {
    /// An element the schema does not allow here (wrong order, unknown, wrong namespace).
    #[error("unexpected element {found}{}", expected_suffix(.expected))]
    Unexpected {
        /// `{ns}local` of the element found.
        found: String,
        /// `{ns}local` of the element expected at this position, if one was required.
        expected: Option<String>,
    },
    /// A required element is missing.
    #[error("missing element {0}")]
    Missing(String),
    /// A required attribute is missing.
    #[error("missing attribute {0}")]
    MissingAttribute(&'static str),
    /// Text where only child elements are allowed, or child elements in a text-only element.
    #[error("unexpected text content")]
    UnexpectedText,
    /// A value violates its lexical rule.
    #[error("{0}")]
    Value(ValueError),
    /// Invalid base64.
    #[error("invalid base64: {0}")]
    Base64(String),
    /// A schema-valid construct this implementation does not support.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// An `xop:Include` refers to a MIME part that is not there.
    #[error("xop:Include refers to unknown MIME part {0:?}")]
    MissingPart(String),
    /// A document larger than [`MAX_DOCUMENT_SIZE`].
    #[error("document of {0} bytes exceeds the 25 MB limit")]
    TooLarge(usize),
}

fn expected_suffix(expected: &Option<String>) -> String {
    expected
        .as_ref()
        .map_or_else(String::new, |e| format!(", expected {e}"))
}

/// A schema violation at `path`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct SchemaError {
    /// Slash-separated local names from the body element, 1-based indexes for repeated
    /// elements.
    pub path: String,
    /// The problem.
    pub problem: SchemaProblem,
}

fn qname(ns: &str, local: &str) -> String {
    format!("{{{ns}}}{local}")
}

/// MTOM attachments by Content-ID (without `cid:` and angle brackets).
pub type Attachments<'a> = HashMap<String, &'a [u8]>;

/// An element together with its path and the request's MTOM attachments.
#[derive(Debug, Clone, Copy)]
pub struct Node<'t, 'a> {
    el: &'t Element<'a>,
    path: &'t str,
    parts: &'t Attachments<'a>,
}

/// Owns the path string of a [`Node`] handed out by a [`Seq`].
#[derive(Debug)]
pub struct Child<'t, 'a> {
    el: &'t Element<'a>,
    path: String,
    parts: &'t Attachments<'a>,
}

impl<'t, 'a> Child<'t, 'a> {
    /// Borrow as a [`Node`].
    #[must_use]
    pub fn node(&self) -> Node<'_, 'a> {
        Node {
            el: self.el,
            path: &self.path,
            parts: self.parts,
        }
    }
}

impl<'t, 'a> Node<'t, 'a> {
    /// A root node; `path` names it in errors.
    #[must_use]
    pub fn new(el: &'t Element<'a>, path: &'t str, parts: &'t Attachments<'a>) -> Self {
        Self { el, path, parts }
    }

    /// The element.
    #[must_use]
    pub fn element(&self) -> &'t Element<'a> {
        self.el
    }

    /// The path.
    #[must_use]
    pub fn path(&self) -> &str {
        self.path
    }

    /// An error at this node.
    #[must_use]
    pub fn error(&self, problem: SchemaProblem) -> SchemaError {
        SchemaError {
            path: self.path.to_owned(),
            problem,
        }
    }

    /// Maps a [`ValueError`] to an error at this node.
    #[must_use]
    pub fn value_error(&self, e: ValueError) -> SchemaError {
        self.error(SchemaProblem::Value(e))
    }

    /// The first child named `{ns}local`, wherever it is (for lax content).
    #[must_use]
    pub fn find(&self, ns: &str, local: &str) -> Option<Child<'t, 'a>> {
        let el = self.el.children().iter().find(|c| c.is(ns, local))?;
        Some(Child {
            el,
            path: format!("{}/{}", self.path, el.local()),
            parts: self.parts,
        })
    }

    /// Like [`Node::find`] but required.
    ///
    /// # Errors
    /// [`SchemaProblem::Missing`].
    pub fn find_req(&self, ns: &str, local: &str) -> Result<Child<'t, 'a>, SchemaError> {
        self.find(ns, local)
            .ok_or_else(|| self.error(SchemaProblem::Missing(qname(ns, local))))
    }

    /// All children named `{ns}local`, wherever they are (for lax content).
    #[must_use]
    pub fn find_all(&self, ns: &str, local: &str) -> Vec<Child<'t, 'a>> {
        self.el
            .children()
            .iter()
            .filter(|c| c.is(ns, local))
            .enumerate()
            .map(|(i, el)| Child {
                el,
                path: format!("{}/{}[{}]", self.path, el.local(), i + 1),
                parts: self.parts,
            })
            .collect()
    }

    /// A cursor over the child elements in document order.
    #[must_use]
    pub fn seq(&self) -> Seq<'t, 'a> {
        Seq {
            el: self.el,
            path: self.path,
            parts: self.parts,
            pos: 0,
        }
    }

    /// The value of the un-namespaced attribute `name`.
    #[must_use]
    pub fn attr(&self, name: &str) -> Option<&'t str> {
        self.el.attr(name)
    }

    /// The un-namespaced attribute `name`, required.
    ///
    /// # Errors
    /// [`SchemaProblem::MissingAttribute`].
    pub fn req_attr(&self, name: &'static str) -> Result<&'t str, SchemaError> {
        self.attr(name)
            .ok_or_else(|| self.error(SchemaProblem::MissingAttribute(name)))
    }

    /// Raw text of a text-only element (`xs:string`: not trimmed).
    ///
    /// # Errors
    /// [`SchemaProblem::Unexpected`] when the element has child elements.
    pub fn text(&self) -> Result<&'t Cow<'a, str>, SchemaError> {
        if let Some(first) = self.el.children().first() {
            return Err(self.error(SchemaProblem::Unexpected {
                found: first.expanded_name(),
                expected: None,
            }));
        }
        Ok(self.el.text())
    }

    /// Text as an owned `String`.
    ///
    /// # Errors
    /// As [`Node::text`].
    pub fn string(&self) -> Result<String, SchemaError> {
        self.text().map(|t| t.as_ref().to_owned())
    }

    /// Whitespace-collapsed text of a token/enum/number element.
    ///
    /// # Errors
    /// As [`Node::text`].
    pub fn token(&self) -> Result<&'t str, SchemaError> {
        self.text().map(|t| t.trim())
    }

    /// Parses the token with `f`, mapping its [`ValueError`] to this path.
    ///
    /// # Errors
    /// As [`Node::text`], or the value error.
    pub fn parse_with<T>(
        &self,
        f: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<T, SchemaError> {
        let t = self.token()?;
        f(t).map_err(|e| self.value_error(e))
    }

    /// `xs:boolean`.
    ///
    /// # Errors
    /// Not `true|false|1|0`.
    pub fn boolean(&self) -> Result<bool, SchemaError> {
        self.parse_with(|t| match t {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(ValueError::new(
                "boolean",
                other,
                "must be true, false, 1 or 0",
            )),
        })
    }

    /// Unsigned integer (`xs:nonNegativeInteger` etc. within u32).
    ///
    /// # Errors
    /// Not a decimal number that fits u32.
    pub fn uint(&self) -> Result<u32, SchemaError> {
        self.parse_with(|t| {
            let digits = t.strip_prefix('+').unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ValueError::new(
                    "integer",
                    t,
                    "must be a non-negative decimal integer",
                ));
            }
            digits
                .parse()
                .map_err(|_| ValueError::new("integer", t, "out of range"))
        })
    }

    /// `xs:base64Binary` content, or the referenced MTOM part when the element holds a single
    /// `xop:Include`. Rejects more than [`MAX_DOCUMENT_SIZE`] decoded bytes.
    ///
    /// # Errors
    /// Invalid base64, missing MIME part, too large.
    pub fn base64(&self) -> Result<Vec<u8>, SchemaError> {
        if let [include] = self.el.children()
            && include.is(ns::XOP, "Include")
        {
            return self.xop(include);
        }
        let text = self.text()?;
        decode_base64(text).map_err(|p| self.error(p))
    }

    fn xop(&self, include: &Element<'_>) -> Result<Vec<u8>, SchemaError> {
        let href = include
            .attr("href")
            .ok_or_else(|| self.error(SchemaProblem::MissingAttribute("href")))?;
        let cid = href.strip_prefix("cid:").unwrap_or(href);
        let cid = percent_decode(cid);
        let part = self
            .parts
            .get(&cid)
            .ok_or_else(|| self.error(SchemaProblem::MissingPart(cid.clone())))?;
        if part.len() > MAX_DOCUMENT_SIZE {
            return Err(self.error(SchemaProblem::TooLarge(part.len())));
        }
        Ok(part.to_vec())
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decodes `xs:base64Binary` text (whitespace allowed anywhere), enforcing the 25 MB limit.
///
/// # Errors
/// [`SchemaProblem::Base64`] or [`SchemaProblem::TooLarge`].
pub fn decode_base64(text: &str) -> Result<Vec<u8>, SchemaProblem> {
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = text.as_bytes();
    let has_ws = bytes.iter().any(u8::is_ascii_whitespace);
    let compact: Cow<'_, [u8]> = if has_ws {
        Cow::Owned(
            bytes
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect(),
        )
    } else {
        Cow::Borrowed(bytes)
    };
    let estimated = compact.len() / 4 * 3;
    if estimated > MAX_DOCUMENT_SIZE + 2 {
        return Err(SchemaProblem::TooLarge(estimated));
    }
    let out = engine
        .decode(&compact)
        .map_err(|e| SchemaProblem::Base64(e.to_string()))?;
    if out.len() > MAX_DOCUMENT_SIZE {
        return Err(SchemaProblem::TooLarge(out.len()));
    }
    Ok(out)
}

/// A cursor over child elements in schema order.
#[derive(Debug)]
pub struct Seq<'t, 'a> {
    el: &'t Element<'a>,
    path: &'t str,
    parts: &'t Attachments<'a>,
    pos: usize,
}

impl<'t, 'a> Seq<'t, 'a> {
    fn peek(&self) -> Option<&'t Element<'a>> {
        self.el.children().get(self.pos)
    }

    fn child(&self, el: &'t Element<'a>, index: Option<usize>) -> Child<'t, 'a> {
        let path = match index {
            Some(i) => format!("{}/{}[{i}]", self.path, el.local()),
            None => format!("{}/{}", self.path, el.local()),
        };
        Child {
            el,
            path,
            parts: self.parts,
        }
    }

    fn err(&self, problem: SchemaProblem) -> SchemaError {
        SchemaError {
            path: self.path.to_owned(),
            problem,
        }
    }

    /// The next child if it is `{ns}local`.
    pub fn opt(&mut self, ns: &str, local: &str) -> Option<Child<'t, 'a>> {
        let el = self.peek().filter(|e| e.is(ns, local))?;
        self.pos += 1;
        Some(self.child(el, None))
    }

    /// The next child, which must be `{ns}local`.
    ///
    /// # Errors
    /// [`SchemaProblem::Unexpected`] when another element is next, [`SchemaProblem::Missing`]
    /// when there is none.
    pub fn req(&mut self, ns: &str, local: &str) -> Result<Child<'t, 'a>, SchemaError> {
        if let Some(c) = self.opt(ns, local) {
            return Ok(c);
        }
        Err(match self.peek() {
            Some(other) => self.err(SchemaProblem::Unexpected {
                found: other.expanded_name(),
                expected: Some(qname(ns, local)),
            }),
            None => self.err(SchemaProblem::Missing(qname(ns, local))),
        })
    }

    /// All following children named `{ns}local` (paths get 1-based indexes).
    pub fn many(&mut self, ns: &str, local: &str) -> Vec<Child<'t, 'a>> {
        let mut out = Vec::new();
        while let Some(el) = self.peek().filter(|e| e.is(ns, local)) {
            self.pos += 1;
            out.push(self.child(el, Some(out.len() + 1)));
        }
        out
    }

    /// Like [`Seq::many`] but at least one.
    ///
    /// # Errors
    /// As [`Seq::req`] when there is none.
    pub fn some(&mut self, ns: &str, local: &str) -> Result<Vec<Child<'t, 'a>>, SchemaError> {
        let out = self.many(ns, local);
        if out.is_empty() {
            self.req(ns, local)?;
        }
        Ok(out)
    }

    /// The remaining children of an `xs:all` group: each must be one of `allowed` and appear at
    /// most once. Returns one slot per `allowed` entry.
    ///
    /// # Errors
    /// [`SchemaProblem::Unexpected`] for unknown or repeated elements.
    pub fn all(
        &mut self,
        allowed: &[(&str, &str)],
    ) -> Result<Vec<Option<Child<'t, 'a>>>, SchemaError> {
        let mut slots: Vec<Option<Child<'t, 'a>>> = allowed.iter().map(|_| None).collect();
        while let Some(el) = self.peek() {
            let idx = allowed.iter().position(|(n, l)| el.is(n, l));
            let slot = idx.and_then(|i| slots.get_mut(i)).filter(|s| s.is_none());
            let Some(slot) = slot else {
                return Err(self.err(SchemaProblem::Unexpected {
                    found: el.expanded_name(),
                    expected: None,
                }));
            };
            self.pos += 1;
            *slot = Some(Child {
                el,
                path: format!("{}/{}", self.path, el.local()),
                parts: self.parts,
            });
        }
        Ok(slots)
    }

    /// Skips the remaining children (for untyped or lax content).
    pub fn skip_rest(&mut self) {
        self.pos = self.el.children().len();
    }

    /// Asserts that no children are left.
    ///
    /// # Errors
    /// [`SchemaProblem::Unexpected`] naming the first extra child.
    pub fn end(self) -> Result<(), SchemaError> {
        match self.peek() {
            Some(el) => Err(self.err(SchemaProblem::Unexpected {
                found: el.expanded_name(),
                expected: None,
            })),
            None => {
                if self.el.children().is_empty() && !self.el.text().trim().is_empty() {
                    return Err(self.err(SchemaProblem::UnexpectedText));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::xml::tree::parse;

    #[test]
    fn seq_reports_paths() {
        let root = parse(b"<r xmlns='urn:x'><a>1</a><b/><b/><c/></r>").unwrap();
        let parts = Attachments::new();
        let node = Node::new(&root, "R", &parts);
        let mut s = node.seq();
        assert_eq!(s.req("urn:x", "a").unwrap().node().uint().unwrap(), 1);
        let bs = s.many("urn:x", "b");
        assert_eq!(bs.get(1).unwrap().path, "R/b[2]");
        let err = s.req("urn:x", "d").unwrap_err();
        assert_eq!(
            err.to_string(),
            "R: unexpected element {urn:x}c, expected {urn:x}d"
        );
        let mut s2 = node.seq();
        s2.req("urn:x", "a").unwrap();
        assert_eq!(
            s2.end().unwrap_err().to_string(),
            "R: unexpected element {urn:x}b"
        );
    }

    #[test]
    fn base64_with_whitespace_and_errors() {
        assert_eq!(decode_base64(" QU\nJD ").unwrap(), b"ABC");
        assert!(matches!(
            decode_base64("QUJ*"),
            Err(SchemaProblem::Base64(_))
        ));
        assert!(matches!(
            decode_base64("QUJ"),
            Err(SchemaProblem::Base64(_))
        ));
    }
}
