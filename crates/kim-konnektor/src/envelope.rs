//! SOAP 1.1 envelopes (konnektor.md §2): writing, parsing, faults with `GERROR:Error`
//! (§5.2), and MTOM/XOP request bodies (`multipart/related; type="application/xop+xml"`,
//! TIP1-A_5694-03).
//!
//! Parsing accepts an absent or empty `soap:Header` (any header content is ignored), requires
//! exactly one element in `soap:Body`, and recognises `GERROR:Error` by namespace only (also
//! in a default namespace).

use memchr::memmem;

use crate::fault::{FaultCode, SoapFault};
use crate::ops::common::{parse_error, write_error};
use crate::xml::read::{Attachments, Node, SchemaError, SchemaProblem};
use crate::xml::tree::{Element, XmlError, parse};
use crate::xml::{XmlWriter, ns};

/// A parsed SOAP envelope whose body holds exactly one element.
#[derive(Debug)]
pub struct Envelope<'a> {
    root: Element<'a>,
}

/// Why a byte string is not a usable SOAP 1.1 envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not well-formed or hostile XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// Well-formed, but not a SOAP 1.1 envelope with one body element.
    #[error("invalid SOAP envelope: {0}")]
    Structure(SchemaError),
}

impl<'a> Envelope<'a> {
    /// Parses and checks the envelope structure.
    ///
    /// # Errors
    /// [`EnvelopeError`] naming what is wrong.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let root = parse(bytes)?;
        let structure = |problem| {
            EnvelopeError::Structure(SchemaError {
                path: "Envelope".into(),
                problem,
            })
        };
        if !root.is(ns::SOAP, "Envelope") {
            let problem = SchemaProblem::Unexpected {
                found: root.expanded_name(),
                expected: Some(format!("{{{}}}Envelope", ns::SOAP)),
            };
            return Err(structure(problem));
        }
        let parts = Attachments::new();
        let node = Node::new(&root, "Envelope", &parts);
        let mut s = node.seq();
        let _header = s.opt(ns::SOAP, "Header");
        let body = s.req(ns::SOAP, "Body").map_err(EnvelopeError::Structure)?;
        s.end().map_err(EnvelopeError::Structure)?;
        match body.node().element().children() {
            [_] => {}
            [] => {
                return Err(EnvelopeError::Structure(
                    body.node()
                        .error(SchemaProblem::Missing("body element".into())),
                ));
            }
            [_, second, ..] => {
                let problem = SchemaProblem::Unexpected {
                    found: second.expanded_name(),
                    expected: None,
                };
                return Err(EnvelopeError::Structure(body.node().error(problem)));
            }
        }
        Ok(Self { root })
    }

    /// The single element inside `soap:Body`.
    #[must_use]
    pub fn body(&self) -> &Element<'a> {
        self.root
            .children()
            .iter()
            .find(|c| c.is(ns::SOAP, "Body"))
            .and_then(|b| b.children().first())
            .unwrap_or(&self.root)
    }

    /// The fault in the body, if the body is a `soap:Fault`.
    #[must_use]
    pub fn fault(&self) -> Option<SoapFault> {
        let body = self.body();
        body.is(ns::SOAP, "Fault").then(|| parse_fault(body))
    }
}

/// Writes `<soap:Envelope><soap:Body>…</soap:Body></soap:Envelope>` around `body`.
pub fn write_envelope(capacity: usize, body: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    let mut w = XmlWriter::with_capacity(capacity + 512);
    w.start("soap:Envelope", &[("xmlns:soap", ns::SOAP)]);
    w.start("soap:Body", &[]);
    body(&mut w);
    w.end();
    w.end();
    w.finish()
}

const MTOM_ROOT_ID: &str = "root@kim-konnektor";

/// Writes the envelope as an MTOM/XOP `multipart/related` message (SOAP 1.1 MTOM,
/// TIP1-A_5694-03): binary values of at least [`crate::xml::write::MTOM_THRESHOLD`] bytes
/// become binary MIME parts. Returns the HTTP `Content-Type` and the body.
pub fn write_mtom_envelope(
    capacity: usize,
    body: impl FnOnce(&mut XmlWriter),
) -> (String, Vec<u8>) {
    let mut w = XmlWriter::with_capacity(capacity / 2 + 512);
    w.enable_mtom();
    w.start("soap:Envelope", &[("xmlns:soap", ns::SOAP)]);
    w.start("soap:Body", &[]);
    body(&mut w);
    w.end();
    w.end();
    let (xml, parts) = w.finish_mtom();
    let contains = |boundary: &str| {
        std::iter::once(&xml[..])
            .chain(parts.iter().map(|(_, b)| &b[..]))
            .any(|b| memmem::find(b, boundary.as_bytes()).is_some())
    };
    let mut n = 0u32;
    let mut boundary = format!("MIMEBoundary_kim_konnektor_{n}");
    while contains(&boundary) {
        n += 1;
        boundary = format!("MIMEBoundary_kim_konnektor_{n}");
    }
    let mut out = Vec::with_capacity(
        xml.len() + parts.iter().map(|(_, b)| b.len() + 200).sum::<usize>() + 300,
    );
    let mut part = |headers: String, content: &[u8]| {
        out.extend_from_slice(format!("--{boundary}\r\n{headers}\r\n").as_bytes());
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    };
    part(
        format!(
            "Content-Type: application/xop+xml; charset=UTF-8; type=\"text/xml\"\r\n\
             Content-Transfer-Encoding: binary\r\nContent-ID: <{MTOM_ROOT_ID}>\r\n"
        ),
        &xml,
    );
    for (cid, bytes) in &parts {
        part(
            format!(
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\
                 Content-ID: <{cid}>\r\n"
            ),
            bytes,
        );
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let content_type = format!(
        "multipart/related; type=\"application/xop+xml\"; start=\"<{MTOM_ROOT_ID}>\"; \
         start-info=\"text/xml\"; boundary=\"{boundary}\""
    );
    (content_type, out)
}

impl SoapFault {
    /// The complete SOAP envelope carrying this fault (send with HTTP 500).
    #[must_use]
    pub fn to_envelope(&self) -> Vec<u8> {
        write_envelope(0, |w| {
            w.start("soap:Fault", &[]);
            w.leaf("faultcode", &format!("soap:{}", self.fault_code.as_str()));
            w.leaf("faultstring", &self.fault_string);
            if let Some(e) = &self.error {
                w.start("detail", &[]);
                write_error(w, e, true);
                w.end();
            }
            w.end();
        })
    }
}

/// Reads a `soap:Fault` leniently: `faultcode` local part `Client` (or SOAP 1.2 `Sender`)
/// gives [`FaultCode::Client`], anything else [`FaultCode::Server`]; a `GERROR:Error` directly
/// inside `detail` is read if it is schema-valid, otherwise the fault carries no error.
fn parse_fault(el: &Element<'_>) -> SoapFault {
    let child = |name: &str| {
        el.children()
            .iter()
            .find(|c| c.local() == name && (c.ns().is_empty() || c.ns() == ns::SOAP))
    };
    let code_text = child("faultcode")
        .map(|c| c.text().trim().to_owned())
        .unwrap_or_default();
    let local = code_text.rsplit(':').next().unwrap_or_default();
    let fault_code = if matches!(local, "Client" | "Sender") {
        FaultCode::Client
    } else {
        FaultCode::Server
    };
    let fault_string = child("faultstring")
        .map(|c| c.text().as_ref().to_owned())
        .unwrap_or_default();
    let parts = Attachments::new();
    let error = child("detail")
        .and_then(|d| d.children().iter().find(|c| c.is(ns::GERROR, "Error")))
        .and_then(|e| parse_error(Node::new(e, "Fault/detail/Error", &parts)).ok());
    SoapFault {
        fault_code,
        fault_string,
        error,
    }
}

/// Why an HTTP request body could not be taken apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MtomError {
    /// Content-Type not `text/xml` (or `application/xml`) nor MTOM multipart.
    #[error("unsupported Content-Type {0:?}")]
    ContentType(String),
    /// A charset other than UTF-8.
    #[error("charset {0:?} is not accepted; only UTF-8")]
    Charset(String),
    /// Multipart structure broken.
    #[error("malformed multipart/related body: {0}")]
    Multipart(&'static str),
}

/// The SOAP envelope bytes of an HTTP request body and its MTOM attachments.
#[derive(Debug)]
pub struct HttpBody<'a> {
    /// The XML envelope (the root part for MTOM).
    pub envelope: &'a [u8],
    /// MIME parts by Content-ID (empty for plain `text/xml`).
    pub attachments: Attachments<'a>,
    /// Whether the body was MTOM.
    pub mtom: bool,
}

/// Splits a request body by its `Content-Type` header: plain `text/xml` or MTOM
/// `multipart/related; type="application/xop+xml"`.
///
/// # Errors
/// [`MtomError`] naming the problem.
pub fn split_http_body<'a>(content_type: &str, body: &'a [u8]) -> Result<HttpBody<'a>, MtomError> {
    let (media, params) = parse_content_type(content_type);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    match media.as_str() {
        "text/xml" | "application/xml" | "" => {
            if let Some(cs) = param("charset")
                && !cs.eq_ignore_ascii_case("utf-8")
            {
                return Err(MtomError::Charset(cs.to_owned()));
            }
            Ok(HttpBody {
                envelope: body,
                attachments: Attachments::new(),
                mtom: false,
            })
        }
        "multipart/related" => {
            let boundary =
                param("boundary").ok_or(MtomError::Multipart("no boundary parameter"))?;
            let parts = split_multipart(body, boundary)?;
            let start = param("start").map(|s| s.trim_matches(|c| c == '<' || c == '>').to_owned());
            let root_index = match &start {
                Some(id) => parts
                    .iter()
                    .position(|p| p.id.as_deref() == Some(id.as_str()))
                    .ok_or(MtomError::Multipart("start part not found"))?,
                None => 0,
            };
            let mut attachments = Attachments::new();
            let mut envelope = None;
            for (i, p) in parts.into_iter().enumerate() {
                if i == root_index {
                    envelope = Some(p.content);
                } else if let Some(id) = p.id {
                    attachments.insert(id, p.content);
                }
            }
            let envelope = envelope.ok_or(MtomError::Multipart("no root part"))?;
            Ok(HttpBody {
                envelope,
                attachments,
                mtom: true,
            })
        }
        other => Err(MtomError::ContentType(other.to_owned())),
    }
}

/// Media type (lower-case) and parameters (quotes removed).
fn parse_content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut rest = value;
    let media_end = rest.find(';').unwrap_or(rest.len());
    let media = rest
        .get(..media_end)
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    rest = rest.get(media_end..).unwrap_or_default();
    let mut params = Vec::new();
    while let Some(r) = rest.strip_prefix(';') {
        let r = r.trim_start();
        let Some(eq) = r.find('=') else { break };
        let key = r.get(..eq).unwrap_or_default().trim().to_owned();
        let after = r.get(eq + 1..).unwrap_or_default().trim_start();
        let (val, remaining) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (
                q.get(..end).unwrap_or_default().to_owned(),
                q.get(end + 1..).unwrap_or_default(),
            )
        } else {
            let end = after.find(';').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or_default().trim().to_owned(),
                after.get(end..).unwrap_or_default(),
            )
        };
        params.push((key, val));
        rest = remaining.trim_start();
        if !rest.starts_with(';') {
            break;
        }
    }
    (media, params)
}

struct Part<'a> {
    id: Option<String>,
    content: &'a [u8],
}

fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MtomError> {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n--{boundary}");
    let first =
        memmem::find(body, delim.as_bytes()).ok_or(MtomError::Multipart("boundary not found"))?;
    let mut pos = first + delim.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(pos..).ok_or(MtomError::Multipart("truncated"))?;
        if rest.starts_with(b"--") {
            break;
        }
        let line_end =
            memmem::find(rest, b"\r\n").ok_or(MtomError::Multipart("truncated after boundary"))?;
        let part_start = pos + line_end + 2;
        let part_area = body
            .get(part_start..)
            .ok_or(MtomError::Multipart("truncated"))?;
        let end = memmem::find(part_area, next_delim.as_bytes())
            .ok_or(MtomError::Multipart("missing closing boundary"))?;
        let part = part_area
            .get(..end)
            .ok_or(MtomError::Multipart("truncated"))?;
        parts.push(parse_part(part)?);
        pos = part_start + end + next_delim.len();
    }
    if parts.is_empty() {
        return Err(MtomError::Multipart("no parts"));
    }
    Ok(parts)
}

fn parse_part(part: &[u8]) -> Result<Part<'_>, MtomError> {
    let (headers, content) = if let Some(rest) = part.strip_prefix(b"\r\n") {
        (&b""[..], rest)
    } else {
        let split = memmem::find(part, b"\r\n\r\n")
            .ok_or(MtomError::Multipart("part without header end"))?;
        (
            part.get(..split).unwrap_or_default(),
            part.get(split + 4..).unwrap_or_default(),
        )
    };
    let headers = std::str::from_utf8(headers)
        .map_err(|_| MtomError::Multipart("part headers are not UTF-8"))?;
    let mut id = None;
    for line in headers.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.trim().eq_ignore_ascii_case("Content-ID") {
            id = Some(value.trim_matches(|c| c == '<' || c == '>').to_owned());
        } else if name
            .trim()
            .eq_ignore_ascii_case("Content-Transfer-Encoding")
            && !matches!(
                value.to_ascii_lowercase().as_str(),
                "binary" | "8bit" | "7bit"
            )
        {
            return Err(MtomError::Multipart(
                "only binary/8bit/7bit MIME parts are supported",
            ));
        }
    }
    Ok(Part { id, content })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn content_type_params() {
        let (m, p) = parse_content_type(
            r#"Multipart/Related; type="application/xop+xml"; boundary="uuid:1;x"; start="<root>""#,
        );
        assert_eq!(m, "multipart/related");
        assert_eq!(
            p.get(1).unwrap(),
            &("boundary".to_owned(), "uuid:1;x".to_owned())
        );
        assert_eq!(p.get(2).unwrap().1, "<root>");
    }

    #[test]
    fn charset_must_be_utf8() {
        assert!(split_http_body("text/xml; charset=UTF-8", b"<x/>").is_ok());
        assert_eq!(
            split_http_body("text/xml; charset=ISO-8859-1", b"<x/>").unwrap_err(),
            MtomError::Charset("ISO-8859-1".into())
        );
        assert!(matches!(
            split_http_body("application/json", b"{}"),
            Err(MtomError::ContentType(_))
        ));
    }

    #[test]
    fn multipart_split() {
        let body = b"--b1\r\nContent-Type: application/xop+xml\r\nContent-ID: <root>\r\n\r\n<env/>\r\n--b1\r\nContent-ID: <p1@x>\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\r\n--b1--\r\n";
        let r = split_http_body(
            r#"multipart/related; type="application/xop+xml"; boundary=b1; start="<root>""#,
            body,
        )
        .unwrap();
        assert_eq!(r.envelope, b"<env/>");
        assert_eq!(r.attachments.get("p1@x").copied(), Some(&b"\x00\x01"[..]));
        assert!(r.mtom);
        assert!(split_http_body("multipart/related; boundary=zz", body).is_err());
    }
}
