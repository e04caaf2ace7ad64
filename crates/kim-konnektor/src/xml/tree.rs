//! A namespace-aware XML reader that builds a small element tree over the input bytes.
//!
//! Text content is **borrowed** from the input whenever it contains no entity or character
//! reference and no CR (a 25 MB base64 document is not copied). Names, namespaces and
//! attribute values are small and owned.
//!
//! Hardening (konnektor.md §2, gemSpec_Kon A_15601): the input must be UTF-8 and an XML
//! declaration may only name UTF-8; DOCTYPE (so no entity definitions: no XXE, no billion
//! laughs), processing instructions and references other than the five predefined entities
//! and character references are rejected; nesting deeper than [`MAX_DEPTH`] is rejected.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};

/// Maximum element nesting depth accepted.
pub const MAX_DEPTH: usize = 64;

/// The input is not well-formed XML or uses a forbidden construct.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not UTF-8.
    #[error("XML is not UTF-8 (invalid byte sequence at offset {0})")]
    NotUtf8(usize),
    /// The declaration names another encoding.
    #[error("XML declaration names encoding {0:?}; only UTF-8 is accepted")]
    Encoding(String),
    /// A DOCTYPE declaration.
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// A processing instruction other than the XML declaration.
    #[error("processing instructions are not allowed")]
    ProcessingInstruction,
    /// A reference to an entity other than the predefined ones.
    #[error("entity reference &{0}; is not allowed (only the predefined entities)")]
    Entity(String),
    /// Nesting too deep.
    #[error("elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// The input ends inside an element.
    #[error("XML is truncated: element <{0}> is not closed")]
    Truncated(String),
    /// No document element.
    #[error("XML has no document element")]
    NoRoot,
    /// Elements or text after the document element.
    #[error("content after the document element")]
    TrailingContent,
    /// An element prefix without namespace declaration.
    #[error("namespace prefix of {0:?} is not declared")]
    UnboundPrefix(String),
    /// Text next to child elements.
    #[error("element <{0}> mixes text and child elements")]
    MixedContent(String),
    /// Any other well-formedness error reported by the tokenizer.
    #[error("XML is not well-formed at byte {position}: {message}")]
    Syntax {
        /// Byte offset where the tokenizer stopped.
        position: u64,
        /// The tokenizer's message.
        message: String,
    },
}

/// An attribute: namespace (None = no namespace), local name, normalised value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI.
    pub ns: Option<Arc<str>>,
    /// Local name.
    pub local: String,
    /// Value after entity resolution and attribute-value normalisation.
    pub value: String,
}

/// An element with its namespace, attributes, child elements and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    ns: Option<Arc<str>>,
    local: String,
    attrs: Vec<Attribute>,
    children: Vec<Element<'a>>,
    text: Cow<'a, str>,
}

impl<'a> Element<'a> {
    /// Namespace URI; `""` for no namespace.
    #[must_use]
    pub fn ns(&self) -> &str {
        self.ns.as_deref().unwrap_or("")
    }

    /// Local name.
    #[must_use]
    pub fn local(&self) -> &str {
        &self.local
    }

    /// `{ns}local` for messages.
    #[must_use]
    pub fn expanded_name(&self) -> String {
        format!("{{{}}}{}", self.ns(), self.local)
    }

    /// Whether the element has this namespace and local name.
    #[must_use]
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns() == ns && self.local == local
    }

    /// Attributes in document order (namespace declarations excluded).
    #[must_use]
    pub fn attributes(&self) -> &[Attribute] {
        &self.attrs
    }

    /// The value of the un-namespaced attribute `local`.
    #[must_use]
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// Child elements in document order.
    #[must_use]
    pub fn children(&self) -> &[Element<'a>] {
        &self.children
    }

    /// Text content (empty when the element has child elements).
    #[must_use]
    pub fn text(&self) -> &Cow<'a, str> {
        &self.text
    }

    /// Takes the text out (to move a large borrowed or owned text without copying).
    pub fn take_text(&mut self) -> Cow<'a, str> {
        std::mem::take(&mut self.text)
    }
}

/// Parses `input` into its document element.
///
/// # Errors
/// [`XmlError`] naming the first problem found.
pub fn parse(input: &[u8]) -> Result<Element<'_>, XmlError> {
    let text = std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Builder::default().run(text)
}

#[derive(Default)]
struct Builder<'a> {
    stack: Vec<Element<'a>>,
    root: Option<Element<'a>>,
    interned: HashMap<Box<str>, Arc<str>>,
}

impl<'a> Builder<'a> {
    fn run(mut self, text: &'a str) -> Result<Element<'a>, XmlError> {
        let mut reader = NsReader::from_str(text);
        loop {
            let (resolved, event) = match reader.read_resolved_event() {
                Ok(pair) => pair,
                Err(e) => return Err(syntax(&reader, &e.to_string())),
            };
            let ns = match (&resolved, &event) {
                (_, Event::Start(_) | Event::Empty(_)) => Some(self.intern(&resolved)?),
                _ => None,
            };
            drop(resolved);
            match event {
                Event::Decl(d) => check_decl(&d)?,
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::PI(_) => return Err(XmlError::ProcessingInstruction),
                Event::Start(e) => {
                    let el = self.open(&reader, &e, ns.flatten())?;
                    self.stack.push(el);
                }
                Event::Empty(e) => {
                    let el = self.open(&reader, &e, ns.flatten())?;
                    self.attach(el)?;
                }
                Event::End(_) => {
                    let el = self.stack.pop().ok_or(XmlError::TrailingContent)?;
                    self.attach(finish(el)?)?;
                }
                Event::Text(t) => self.text(t.xml10_content())?,
                Event::CData(c) => self.text(c.xml10_content())?,
                Event::GeneralRef(r) => {
                    let ch = resolve_ref(&r)?;
                    self.text(Cow::Owned(ch.to_string()))?;
                }
                Event::Comment(_) => {}
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            return Err(XmlError::Truncated(open.local.clone()));
        }
        self.root.ok_or(XmlError::NoRoot)
    }

    fn intern(&mut self, resolved: &ResolveResult<'_>) -> Result<Option<Arc<str>>, XmlError> {
        match resolved {
            ResolveResult::Unbound => Ok(None),
            ResolveResult::Bound(ns) => Ok(Some(self.intern_str(ns.as_ref()))),
            ResolveResult::Unknown(prefix) => Err(XmlError::UnboundPrefix(prefix.clone())),
        }
    }

    fn intern_str(&mut self, uri: &str) -> Arc<str> {
        if let Some(a) = self.interned.get(uri) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(uri);
        self.interned.insert(uri.into(), a.clone());
        a
    }

    fn open(
        &mut self,
        reader: &NsReader<&'a [u8]>,
        start: &BytesStart<'_>,
        ns: Option<Arc<str>>,
    ) -> Result<Element<'a>, XmlError> {
        if self.root.is_some() {
            return Err(XmlError::TrailingContent);
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        let local = start.local_name().as_ref().to_owned();
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            let attr = attr.map_err(|e| syntax(reader, &e.to_string()))?;
            let key: QName<'_> = attr.key;
            if key.as_namespace_binding().is_some() {
                continue;
            }
            let (res, attr_local) = reader.resolver().resolve_attribute(key);
            let attr_ns = match res {
                ResolveResult::Unbound => None,
                ResolveResult::Bound(n) => Some(n.as_ref().to_owned()),
                ResolveResult::Unknown(p) => return Err(XmlError::UnboundPrefix(p)),
            };
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(esc) => XmlError::Entity(esc.to_string()),
                    other => syntax(reader, &other.to_string()),
                })?
                .into_owned();
            let attr_ns = attr_ns.map(|n| self.intern_str(&n));
            attrs.push(Attribute {
                ns: attr_ns,
                local: attr_local.as_ref().to_owned(),
                value,
            });
        }
        Ok(Element {
            ns,
            local,
            attrs,
            children: Vec::new(),
            text: Cow::Borrowed(""),
        })
    }

    fn attach(&mut self, el: Element<'a>) -> Result<(), XmlError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None if self.root.is_none() => self.root = Some(el),
            None => return Err(XmlError::TrailingContent),
        }
        Ok(())
    }

    fn text(&mut self, piece: Cow<'a, str>) -> Result<(), XmlError> {
        let Some(el) = self.stack.last_mut() else {
            // Outside the document element only whitespace may appear.
            return if piece.trim().is_empty() {
                Ok(())
            } else {
                Err(XmlError::TrailingContent)
            };
        };
        if el.text.is_empty() {
            el.text = piece;
        } else {
            el.text.to_mut().push_str(&piece);
        }
        Ok(())
    }
}

fn syntax(reader: &NsReader<&[u8]>, message: &str) -> XmlError {
    XmlError::Syntax {
        position: reader.buffer_position(),
        message: message.to_owned(),
    }
}

fn finish(mut el: Element<'_>) -> Result<Element<'_>, XmlError> {
    if !el.children.is_empty() {
        if !el.text.trim().is_empty() {
            return Err(XmlError::MixedContent(el.local));
        }
        el.text = Cow::Borrowed("");
    }
    Ok(el)
}

fn check_decl(decl: &quick_xml::events::BytesDecl<'_>) -> Result<(), XmlError> {
    match decl.encoding() {
        None => Ok(()),
        Some(Ok(enc)) if enc.eq_ignore_ascii_case("UTF-8") || enc.eq_ignore_ascii_case("UTF8") => {
            Ok(())
        }
        Some(Ok(enc)) => Err(XmlError::Encoding(enc.into_owned())),
        Some(Err(e)) => Err(XmlError::Syntax {
            position: 0,
            message: e.to_string(),
        }),
    }
}

fn resolve_ref(r: &quick_xml::events::BytesRef<'_>) -> Result<char, XmlError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c),
            _ => Err(XmlError::Entity(r.xml10_content().into_owned())),
        };
    }
    match r.xml10_content().as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        other => Err(XmlError::Entity(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn namespaces_resolve_regardless_of_prefix() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<a:Root xmlns:a="urn:a" xmlns="urn:d"><Child x="1&amp;2">t&lt;&#65;</Child><a:Other/></a:Root>"#;
        let root = parse(xml).unwrap();
        assert!(root.is("urn:a", "Root"));
        let c = &root.children()[0];
        assert!(c.is("urn:d", "Child"));
        assert_eq!(c.attr("x"), Some("1&2"));
        assert_eq!(c.text(), "t<A");
        assert!(root.children()[1].is("urn:a", "Other"));
    }

    #[test]
    fn large_text_is_borrowed() {
        let xml = b"<r><d>QUJD</d></r>";
        let root = parse(xml).unwrap();
        assert!(matches!(root.children()[0].text(), Cow::Borrowed("QUJD")));
    }

    #[test]
    fn rejects_hostile_input() {
        type Case<'a> = (&'a [u8], fn(&XmlError) -> bool);
        let cases: &[Case<'_>] = &[
            (
                b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>",
                |e| matches!(e, XmlError::Encoding(_)),
            ),
            (b"<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>", |e| {
                matches!(e, XmlError::Doctype)
            }),
            (b"<r>&x;</r>", |e| matches!(e, XmlError::Entity(_))),
            (b"<r><a>", |e| {
                matches!(e, XmlError::Truncated(_) | XmlError::Syntax { .. })
            }),
            (b"<r/><s/>", |e| {
                matches!(e, XmlError::TrailingContent | XmlError::Syntax { .. })
            }),
            (b"<p:r/>", |e| matches!(e, XmlError::UnboundPrefix(_))),
            (b"<r>x<a/></r>", |e| matches!(e, XmlError::MixedContent(_))),
            (b"<r>\xff</r>", |e| matches!(e, XmlError::NotUtf8(3))),
            (b"", |e| matches!(e, XmlError::NoRoot)),
            (b"<?pi x?><r/>", |e| {
                matches!(e, XmlError::ProcessingInstruction)
            }),
        ];
        for (input, check) in cases {
            let err = parse(input).unwrap_err();
            assert!(
                check(&err),
                "{:?} gave {err:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(deep.as_bytes()).unwrap_err(), XmlError::TooDeep);
    }
}
