//! A structural report of a KOM-LE message or CMS object without any key: the support
//! tool for "why can't this be decrypted?". Shows the KIM headers, version, algorithms,
//! recipient infos, the recipient-emails entries (which certificate each address was
//! encrypted for) and, for SignedData, the signer and whether the signature verifies.

use crate::cms::{
    self, AuthEnvelopedData, CertInfo, ContentInfo, RecipientEmails, RecipientInfo, SignedData,
    ber, oid,
};
use crate::mime::{self, OuterError, OuterMessage};
use std::fmt::Write;

/// What was inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KomLeMessage,
    OtherMail,
    AuthEnvelopedData,
    SignedData,
    SignedDataEntity,
    Unknown,
}

/// The report: readable text and the problems found (empty when everything conforms).
#[derive(Debug, Clone)]
pub struct Report {
    pub kind: Kind,
    pub text: String,
    pub problems: Vec<String>,
}

/// Inspects `bytes`: an outer KOM-LE message, another mail, a CMS ContentInfo (BER/DER)
/// or a signed-data MIME entity.
pub fn inspect(bytes: &[u8]) -> Report {
    let mut r = Report {
        kind: Kind::Unknown,
        text: String::new(),
        problems: Vec::new(),
    };
    if bytes.first() == Some(&0x30) {
        cms_report(bytes, &mut r);
        return r;
    }
    match OuterMessage::parse(bytes) {
        Ok(outer) => {
            r.kind = Kind::KomLeMessage;
            line(&mut r, "KOM-LE message");
            headers(&outer.header, &mut r);
            let version = outer.kom_le_version().to_string();
            if !mime::version_supported(&version) {
                r.problems.push(format!(
                    "X-KOM-LE-Version {version:?} is not supported (1.0, 1.5)"
                ));
            }
            line(&mut r, &format!("body: {} bytes of CMS", outer.cms.len()));
            cms_report(&outer.cms, &mut r);
            r.kind = Kind::KomLeMessage;
        }
        Err(OuterError::Malformed(e)) => {
            r.kind = Kind::KomLeMessage;
            line(
                &mut r,
                "KOM-LE message (X-KOM-LE-Version present) that does not follow the profile",
            );
            r.problems.push(e.to_string());
        }
        Err(OuterError::NotKomLe) => {
            if let Ok(der) = mime::parse_signed_data_entity(bytes) {
                r.kind = Kind::SignedDataEntity;
                line(&mut r, "signed-data MIME entity");
                cms_report(&der, &mut r);
                r.kind = Kind::SignedDataEntity;
            } else if let Ok((header, _)) = mime::HeaderBlock::parse(bytes) {
                r.kind = Kind::OtherMail;
                line(
                    &mut r,
                    "not a KOM-LE message (no X-KOM-LE-Version): passed through unchanged on receipt",
                );
                headers(&header, &mut r);
            } else {
                r.problems.push("neither a mail nor a CMS object".into());
            }
        }
    }
    r
}

fn line(r: &mut Report, text: &str) {
    r.text.push_str(text);
    r.text.push('\n');
}

fn headers(header: &mime::HeaderBlock, r: &mut Report) {
    for f in header.fields() {
        let name = f.name();
        let interesting = [
            "From",
            "Sender",
            "To",
            "Cc",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "Expires",
            "Content-Type",
        ]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
            || name.to_ascii_lowercase().starts_with("x-kim-")
            || name.eq_ignore_ascii_case("X-KOM-LE-Version");
        if interesting {
            line(r, &format!("  {}: {}", name, f.value()));
        }
    }
}

fn cms_report(bytes: &[u8], r: &mut Report) {
    let encoding = match ber::parse(bytes) {
        Ok(t) if t.indefinite => "BER (indefinite lengths)",
        Ok(_) => "definite lengths",
        Err(e) => {
            r.problems.push(format!("CMS: {e}"));
            return;
        }
    };
    let ci = match ContentInfo::parse(bytes) {
        Ok(ci) => ci,
        Err(e) => {
            r.problems.push(format!("CMS ContentInfo: {e}"));
            return;
        }
    };
    line(
        r,
        &format!("CMS {} , {encoding}", oid::name(&ci.content_type)),
    );
    if ci.content_type == oid::AUTH_ENVELOPED_DATA || ci.content_type == oid::ENVELOPED_DATA {
        r.kind = Kind::AuthEnvelopedData;
        match AuthEnvelopedData::parse(bytes) {
            Ok(env) => enveloped_report(&env, r),
            Err(e) => r.problems.push(e.to_string()),
        }
    } else if ci.content_type == oid::SIGNED_DATA {
        r.kind = Kind::SignedData;
        match SignedData::parse(bytes) {
            Ok(sd) => signed_report(&sd, r),
            Err(e) => r.problems.push(e.to_string()),
        }
    } else {
        r.problems.push(format!(
            "unexpected content type {}",
            oid::name(&ci.content_type)
        ));
    }
}

fn enveloped_report(env: &AuthEnvelopedData, r: &mut Report) {
    line(
        r,
        &format!(
            "  content encryption: {} (nonce {} bytes, tag {} bytes), {} bytes encrypted",
            env.content_encryption_algorithm,
            env.nonce.len(),
            env.mac.len(),
            env.encrypted_content.len()
        ),
    );
    line(
        r,
        &format!("  recipient infos: {}", env.recipient_infos.len()),
    );
    for info in &env.recipient_infos {
        match info {
            RecipientInfo::KeyTrans {
                rid,
                key_encryption_algorithm,
                ..
            } => {
                line(
                    r,
                    &format!("    key transport ({key_encryption_algorithm}) for {rid}"),
                );
            }
            RecipientInfo::KeyAgree {
                key_encryption_algorithm,
                recipients,
                ..
            } => {
                for (rid, _) in recipients {
                    line(
                        r,
                        &format!("    key agreement ({key_encryption_algorithm}) for {rid}"),
                    );
                }
            }
            RecipientInfo::Other { tag } => line(r, &format!("    other recipient info [{tag}]")),
        }
    }
    match env.recipient_emails() {
        Ok(emails) => emails_report("recipient-emails (unprotected)", &emails, r),
        Err(e) => r.problems.push(e.to_string()),
    }
    line(
        r,
        "  signer: inside the encrypted content (open with a recipient key to see it)",
    );
    r.problems.extend(env.profile_findings());
}

fn emails_report(title: &str, emails: &RecipientEmails, r: &mut Report) {
    line(r, &format!("  {title}:"));
    for e in &emails.0 {
        line(r, &format!("    {} -> {}", e.email, e.rid));
    }
}

fn signed_report(sd: &SignedData, r: &mut Report) {
    line(
        r,
        &format!(
            "  eContent: {} ({} bytes)",
            oid::name(&sd.econtent_type),
            sd.econtent.as_ref().map_or(0, Vec::len)
        ),
    );
    for c in &sd.certificates {
        match CertInfo::parse(c) {
            Ok(cert) => certificate_line(&cert, r),
            Err(e) => r.problems.push(e.to_string()),
        }
    }
    for si in &sd.signer_infos {
        line(
            r,
            &format!(
                "  signature: {} with {}",
                si.signature_algorithm, si.digest_algorithm
            ),
        );
        let names: Vec<String> = si.signed_attrs.iter().map(|a| oid::name(&a.oid)).collect();
        line(r, &format!("  signed attributes: {}", names.join(", ")));
        if let Some(a) = si.signed_attr(&oid::RECIPIENT_EMAILS) {
            match RecipientEmails::from_attribute(a) {
                Ok(emails) => emails_report("recipient-emails (signed)", &emails, r),
                Err(e) => r.problems.push(e.to_string()),
            }
        }
    }
    match sd.verify(&[]) {
        Ok(_) => line(
            r,
            "  signature: mathematically valid (certificate path not checked)",
        ),
        Err(f) => r.problems.push(format!(
            "signature: {f} (integrity ID {})",
            f.integrity_id()
        )),
    }
    r.problems.extend(sd.profile_findings());
}

fn certificate_line(cert: &CertInfo, r: &mut Report) {
    let mut s = String::new();
    let _ = write!(
        s,
        "  certificate: {} ({}), {}, valid {} to {}",
        cert.subject_text(),
        cert.key_description(),
        cert.issuer_serial,
        date(cert.not_before),
        date(cert.not_after)
    );
    if let Some(tid) = cert.telematik_id() {
        let _ = write!(s, ", Telematik-ID {tid}");
    }
    line(r, &s);
}

fn date(unix: i64) -> String {
    let (y, m, d, ..) = cms::der::civil_from_unix(unix);
    format!("{y:04}-{m:02}-{d:02}")
}
