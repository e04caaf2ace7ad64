//! XML mapping of EncryptionService 6.1 `EncryptDocument` (konnektor.md §6.8) and
//! `DecryptDocument` (§6.9). Note the response orders: `CRYPT:OptionalOutputs` comes before
//! `CONN:Document` in EncryptDocumentResponse and after it in DecryptDocumentResponse.

use super::common::{
    decls, parse_context, parse_document, parse_key_on_card, parse_status, write_context,
    write_document, write_key_on_card, write_properties, write_status,
};
use super::sig::parse_property_list;
use super::{
    DecryptDocument, DecryptDocumentResponse, EncryptDocument, EncryptDocumentResponse,
    RecipientKeys,
};
use crate::model::EncryptionType;
use crate::xml::ns;
use crate::xml::read::{Node, SchemaError, SchemaProblem};
use crate::xml::write::XmlWriter;

impl EncryptDocument {
    /// Writes `CRYPT:EncryptDocument`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CRYPT:EncryptDocument",
            &decls(&["CRYPT", "CCTX", "CONN", "dss"]),
        );
        write_context(w, &self.context);
        w.start("CRYPT:RecipientKeys", &[]);
        if let Some(k) = &self.recipient_keys.certificate_on_card {
            write_key_on_card(w, "CRYPT:CertificateOnCard", k);
        }
        for c in &self.recipient_keys.certificates {
            w.leaf_base64("CRYPT:Certificate", &[], c);
        }
        w.end();
        write_document(w, "CONN:Document", &self.document, false);
        if self.encryption_type.is_some() || !self.unprotected_properties.is_empty() {
            w.start("CRYPT:OptionalInputs", &[]);
            w.opt_leaf(
                "CRYPT:EncryptionType",
                self.encryption_type.map(EncryptionType::as_str),
            );
            if !self.unprotected_properties.is_empty() {
                w.start("CRYPT:UnprotectedProperties", &[]);
                write_properties(w, &self.unprotected_properties);
                w.end();
            }
            w.end();
        }
        w.end();
    }

    /// Parses `CRYPT:EncryptDocument`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation (`CRYPT:Element`, used only for
    /// XML encryption, is reported as unsupported).
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let c = ns::CRYPT;
        let mut s = n.seq();
        let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
        let rk = s.req(c, "RecipientKeys")?;
        let document = parse_document(s.req(ns::CONN, "Document")?.node(), false)?;
        let inputs = s.opt(c, "OptionalInputs");
        s.end()?;
        let rk = rk.node();
        let mut rs = rk.seq();
        let certificate_on_card = rs
            .opt(c, "CertificateOnCard")
            .map(|k| parse_key_on_card(k.node()))
            .transpose()?;
        let certificates = rs
            .many(c, "Certificate")
            .iter()
            .map(|x| x.node().base64())
            .collect::<Result<Vec<_>, _>>()?;
        rs.end()?;
        let (mut encryption_type, mut unprotected_properties) = (None, Vec::new());
        if let Some(i) = inputs {
            let i = i.node();
            let mut is = i.seq();
            encryption_type = is
                .opt(c, "EncryptionType")
                .map(|t| t.node().parse_with(EncryptionType::from_wire))
                .transpose()?;
            if let Some(e) = is.many(c, "Element").first() {
                return Err(e
                    .node()
                    .error(SchemaProblem::Unsupported("CRYPT:Element (XML encryption)")));
            }
            if let Some(up) = is.opt(c, "UnprotectedProperties") {
                unprotected_properties = parse_property_list(up.node())?;
            }
            is.end()?;
        }
        Ok(Self {
            context,
            recipient_keys: RecipientKeys {
                certificate_on_card,
                certificates,
            },
            document,
            encryption_type,
            unprotected_properties,
        })
    }
}

impl EncryptDocumentResponse {
    /// Writes `CRYPT:EncryptDocumentResponse` (no `OptionalOutputs`).
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CRYPT:EncryptDocumentResponse",
            &decls(&["CRYPT", "CONN", "dss"]),
        );
        write_status(w, &self.status);
        if let Some(d) = &self.document {
            write_document(w, "CONN:Document", d, false);
        }
        w.end();
    }

    /// Parses `CRYPT:EncryptDocumentResponse` (`CRYPT:OptionalOutputs` is skipped).
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let _outputs = s.opt(ns::CRYPT, "OptionalOutputs");
        let document = s
            .opt(ns::CONN, "Document")
            .map(|d| parse_document(d.node(), false))
            .transpose()?;
        s.end()?;
        Ok(Self { status, document })
    }
}

impl DecryptDocument {
    /// Writes `CRYPT:DecryptDocument`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CRYPT:DecryptDocument",
            &decls(&["CRYPT", "CCTX", "CONN", "dss"]),
        );
        write_context(w, &self.context);
        write_key_on_card(w, "CRYPT:PrivateKeyOnCard", &self.private_key_on_card);
        write_document(w, "CONN:Document", &self.document, false);
        w.end();
    }

    /// Parses `CRYPT:DecryptDocument` (the untyped `CRYPT:OptionalInputs` is skipped).
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
        let private_key_on_card = parse_key_on_card(s.req(ns::CRYPT, "PrivateKeyOnCard")?.node())?;
        let document = parse_document(s.req(ns::CONN, "Document")?.node(), false)?;
        let _inputs = s.opt(ns::CRYPT, "OptionalInputs");
        s.end()?;
        Ok(Self {
            context,
            private_key_on_card,
            document,
        })
    }
}

impl DecryptDocumentResponse {
    /// Writes `CRYPT:DecryptDocumentResponse` (no `OptionalOutputs`).
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CRYPT:DecryptDocumentResponse",
            &decls(&["CRYPT", "CONN", "dss"]),
        );
        write_status(w, &self.status);
        if let Some(d) = &self.document {
            write_document(w, "CONN:Document", d, false);
        }
        w.end();
    }

    /// Parses `CRYPT:DecryptDocumentResponse` (`CRYPT:OptionalOutputs` is skipped).
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let document = s
            .opt(ns::CONN, "Document")
            .map(|d| parse_document(d.node(), false))
            .transpose()?;
        let _outputs = s.opt(ns::CRYPT, "OptionalOutputs");
        s.end()?;
        Ok(Self { status, document })
    }
}
