//! XML mapping of the structures shared by several operations: `CCTX:Context`,
//! `CONN:Status`, `GERROR:Error`, documents, `dss:Property`, `dss:SignatureObject`,
//! `CRYPT:KeyOnCardType`.

use crate::fault::{ErrorType, Severity, TelematikError, Trace};
use crate::model::{
    CardHandle, CmsProperty, Context, Crypt, DateTime, Document, KeyOnCard, ResultKind,
    SignatureObject, SignatureType, Status, ValueError,
};
use crate::xml::ns;
use crate::xml::read::{Node, SchemaError, SchemaProblem};
use crate::xml::write::XmlWriter;

/// Namespace declaration attribute for a conventional prefix.
pub(crate) fn decl(prefix: &'static str) -> (&'static str, &'static str) {
    match prefix {
        "CONN" => ("xmlns:CONN", ns::CONN),
        "CCTX" => ("xmlns:CCTX", ns::CCTX),
        "GERROR" => ("xmlns:GERROR", ns::GERROR),
        "EVT" => ("xmlns:EVT", ns::EVT),
        "CARD" => ("xmlns:CARD", ns::CARD),
        "CARDCMN" => ("xmlns:CARDCMN", ns::CARDCMN),
        "CERT" => ("xmlns:CERT", ns::CERT),
        "CERTCMN" => ("xmlns:CERTCMN", ns::CERTCMN),
        "CRYPT" => ("xmlns:CRYPT", ns::CRYPT),
        "dss" => ("xmlns:dss", ns::DSS),
        "vr" => ("xmlns:vr", ns::VR),
        "ds" => ("xmlns:ds", ns::DS),
        _ => ("xmlns:soap", ns::SOAP),
    }
}

/// Declarations for a list of prefixes.
pub(crate) fn decls(prefixes: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    prefixes.iter().map(|p| decl(p)).collect()
}

pub(crate) fn write_context(w: &mut XmlWriter, c: &Context) {
    w.start("CCTX:Context", &[]);
    w.leaf("CONN:MandantId", c.mandant_id());
    w.leaf("CONN:ClientSystemId", c.client_system_id());
    w.leaf("CONN:WorkplaceId", c.workplace_id());
    w.opt_leaf("CONN:UserId", c.user_id());
    w.end();
}

pub(crate) fn parse_context(n: Node<'_, '_>) -> Result<Context, SchemaError> {
    let mut s = n.seq();
    let m = s.req(ns::CONN, "MandantId")?;
    let c = s.req(ns::CONN, "ClientSystemId")?;
    let wp = s.req(ns::CONN, "WorkplaceId")?;
    let u = s.opt(ns::CONN, "UserId");
    s.end()?;
    let ctx = Context::new(m.node().text()?, c.node().text()?, wp.node().text()?)
        .map_err(|e| n.value_error(e))?;
    match u {
        Some(u) => ctx
            .with_user_id(u.node().text()?)
            .map_err(|e| n.value_error(e)),
        None => Ok(ctx),
    }
}

pub(crate) fn write_status(w: &mut XmlWriter, s: &Status) {
    w.start("CONN:Status", &[]);
    w.leaf("CONN:Result", s.result.as_str());
    if let Some(e) = &s.error {
        write_error(w, e, true);
    }
    w.end();
}

pub(crate) fn parse_status(n: Node<'_, '_>) -> Result<Status, SchemaError> {
    let mut s = n.seq();
    let result = s
        .req(ns::CONN, "Result")?
        .node()
        .parse_with(ResultKind::from_wire)?;
    let error = s
        .opt(ns::GERROR, "Error")
        .map(|e| parse_error(e.node()))
        .transpose()?;
    s.end()?;
    Ok(Status { result, error })
}

/// Writes `GERROR:Error`; `declare` adds `xmlns:GERROR` on the element itself.
pub(crate) fn write_error(w: &mut XmlWriter, e: &TelematikError, declare: bool) {
    let attrs: &[(&str, &str)] = if declare {
        &[("xmlns:GERROR", ns::GERROR)]
    } else {
        &[]
    };
    w.start("GERROR:Error", attrs);
    w.leaf("GERROR:MessageID", &e.message_id);
    w.leaf("GERROR:Timestamp", e.timestamp.as_str());
    for t in &e.traces {
        w.start("GERROR:Trace", &[]);
        w.leaf("GERROR:EventID", &t.event_id);
        w.leaf("GERROR:Instance", &t.instance);
        w.leaf("GERROR:LogReference", &t.log_reference);
        w.leaf("GERROR:CompType", &t.comp_type);
        w.leaf("GERROR:Code", &t.code.to_string());
        w.leaf("GERROR:Severity", t.severity.as_str());
        w.leaf("GERROR:ErrorType", t.error_type.as_str());
        w.leaf("GERROR:ErrorText", &t.error_text);
        if let Some(d) = &t.detail {
            w.leaf_attrs("GERROR:Detail", &[("Encoding", "UTF-8")], d);
        }
        w.end();
    }
    w.end();
}

/// Parses `GERROR:Error` (any prefix, also in a default namespace).
pub(crate) fn parse_error(n: Node<'_, '_>) -> Result<TelematikError, SchemaError> {
    let g = ns::GERROR;
    let mut s = n.seq();
    let message_id = s.req(g, "MessageID")?.node().string()?;
    let timestamp = s.req(g, "Timestamp")?.node().parse_with(DateTime::new)?;
    let mut traces = Vec::new();
    for t in s.some(g, "Trace")? {
        traces.push(parse_trace(t.node())?);
    }
    s.end()?;
    Ok(TelematikError {
        message_id,
        timestamp,
        traces,
    })
}

fn parse_trace(n: Node<'_, '_>) -> Result<Trace, SchemaError> {
    let g = ns::GERROR;
    let mut s = n.seq();
    let event_id = s.req(g, "EventID")?.node().string()?;
    let instance = s.req(g, "Instance")?.node().string()?;
    let log_reference = s.req(g, "LogReference")?.node().string()?;
    let comp_type = s.req(g, "CompType")?.node().string()?;
    let code = s.req(g, "Code")?.node().uint()?;
    let severity = s.req(g, "Severity")?.node().parse_with(|t| {
        Severity::ALL
            .iter()
            .copied()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ValueError::new("Severity", t, "must be Info, Warning, Error or Fatal"))
    })?;
    let error_type = ErrorType::from_wire(s.req(g, "ErrorType")?.node().token()?);
    let error_text = s.req(g, "ErrorText")?.node().string()?;
    let detail = s.opt(g, "Detail").map(|d| d.node().string()).transpose()?;
    s.end()?;
    Ok(Trace {
        event_id,
        instance,
        log_reference,
        comp_type,
        code,
        severity,
        error_type,
        error_text,
        detail,
    })
}

/// Writes a `DocumentType` element `name` holding `dss:Base64Data`. `short_text` is written
/// only for `SIG:DocumentType` elements.
pub(crate) fn write_document(w: &mut XmlWriter, name: &str, d: &Document, short_text: bool) {
    let mut attrs = Vec::new();
    if short_text && let Some(st) = &d.short_text {
        attrs.push(("ShortText", st.as_str()));
    }
    w.start(name, &attrs);
    write_base64_data(w, d);
    w.end();
}

pub(crate) fn write_base64_data(w: &mut XmlWriter, d: &Document) {
    match &d.mime_type {
        Some(m) => w.leaf_base64("dss:Base64Data", &[("MimeType", m)], &d.data),
        None => w.leaf_base64("dss:Base64Data", &[], &d.data),
    }
}

/// Parses a `CONN:DocumentType` / `SIG:DocumentType` element (only `dss:Base64Data`).
pub(crate) fn parse_document(n: Node<'_, '_>, short_text: bool) -> Result<Document, SchemaError> {
    let mut s = n.seq();
    if s.opt(ns::CONN, "Base64XML").is_some() {
        return Err(n.error(SchemaProblem::Unsupported("CONN:Base64XML documents")));
    }
    let data = s.req(ns::DSS, "Base64Data")?;
    s.end()?;
    let mut doc = parse_base64_data(data.node())?;
    if short_text {
        doc.short_text = n.attr("ShortText").map(str::to_owned);
    }
    Ok(doc)
}

pub(crate) fn parse_base64_data(n: Node<'_, '_>) -> Result<Document, SchemaError> {
    Ok(Document {
        data: n.base64()?,
        mime_type: n.attr("MimeType").map(str::to_owned),
        short_text: None,
    })
}

pub(crate) fn write_property(w: &mut XmlWriter, p: &CmsProperty) {
    w.start("dss:Property", &[]);
    w.leaf("dss:Identifier", &p.identifier);
    w.start("dss:Value", &[]);
    w.leaf_base64("CMSAttribute", &[], &p.attribute_der);
    w.end();
    w.end();
}

/// Parses a `dss:Property` whose value is one un-namespaced `CMSAttribute`.
pub(crate) fn parse_property(n: Node<'_, '_>) -> Result<CmsProperty, SchemaError> {
    let mut s = n.seq();
    let identifier = s.req(ns::DSS, "Identifier")?.node().token()?.to_owned();
    let value = s.req(ns::DSS, "Value")?;
    s.end()?;
    let value = value.node();
    let mut vs = value.seq();
    let attr = vs.req("", "CMSAttribute")?;
    vs.end()?;
    Ok(CmsProperty {
        identifier,
        attribute_der: attr.node().base64()?,
    })
}

pub(crate) fn write_properties(w: &mut XmlWriter, list: &[CmsProperty]) {
    for p in list {
        write_property(w, p);
    }
}

pub(crate) fn write_signature_object(w: &mut XmlWriter, sig: &SignatureObject) {
    w.start("dss:SignatureObject", &[]);
    match &sig.signature_type {
        Some(t) => w.leaf_base64("dss:Base64Signature", &[("Type", t.as_str())], &sig.data),
        None => w.leaf_base64("dss:Base64Signature", &[], &sig.data),
    }
    w.end();
}

pub(crate) fn parse_signature_object(n: Node<'_, '_>) -> Result<SignatureObject, SchemaError> {
    let mut s = n.seq();
    let Some(b) = s.opt(ns::DSS, "Base64Signature") else {
        return match s.req(ns::DSS, "Base64Signature") {
            Err(SchemaError {
                problem: SchemaProblem::Unexpected { .. },
                ..
            }) => Err(n.error(SchemaProblem::Unsupported(
                "dss:SignatureObject other than dss:Base64Signature",
            ))),
            Err(e) => Err(e),
            Ok(_) => Err(n.error(SchemaProblem::Unsupported("dss:SignatureObject"))),
        };
    };
    s.end()?;
    let b = b.node();
    Ok(SignatureObject {
        signature_type: b.attr("Type").map(SignatureType::new),
        data: b.base64()?,
    })
}

pub(crate) fn write_key_on_card(w: &mut XmlWriter, name: &str, k: &KeyOnCard) {
    w.start(name, &[]);
    w.leaf("CONN:CardHandle", k.card_handle.as_str());
    w.opt_leaf("CRYPT:KeyReference", k.key_reference.as_deref());
    w.opt_leaf("CRYPT:Crypt", k.crypt.map(Crypt::as_str));
    w.end();
}

pub(crate) fn parse_key_on_card(n: Node<'_, '_>) -> Result<KeyOnCard, SchemaError> {
    let mut s = n.seq();
    let card_handle = parse_card_handle(s.req(ns::CONN, "CardHandle")?.node())?;
    let key_reference = s
        .opt(ns::CRYPT, "KeyReference")
        .map(|k| k.node().string())
        .transpose()?;
    let crypt = s
        .opt(ns::CRYPT, "Crypt")
        .map(|c| c.node().parse_with(Crypt::from_wire))
        .transpose()?;
    s.end()?;
    Ok(KeyOnCard {
        card_handle,
        key_reference,
        crypt,
    })
}

pub(crate) fn parse_card_handle(n: Node<'_, '_>) -> Result<CardHandle, SchemaError> {
    CardHandle::new(n.text()?).map_err(|e| n.value_error(e))
}
