//! The simplified OASIS DSS-X verification report (`vr:VerificationReport`) of
//! VerifyDocument (konnektor.md §6.7): per signer FormatOK, SigMathOK, PathValiditySummary and
//! the signer certificate's issuer/serial, which KIM maps to 4112/4115/4206.
//!
//! Writing produces the minimal schema-valid structure; parsing is lax (reports from real
//! Konnektors carry many more optional parts, which are skipped).

use super::{SignerReport, VerificationReport};
use crate::model::{DateTime, DetailResult, ValueError};
use crate::xml::ns;
use crate::xml::read::{Node, SchemaError};
use crate::xml::write::XmlWriter;

fn write_result(w: &mut XmlWriter, name: &str, r: DetailResult) {
    w.start(name, &[]);
    w.leaf("vr:ResultMajor", r.as_str());
    w.end();
}

pub(crate) fn write_report(w: &mut XmlWriter, r: &VerificationReport) {
    w.start("vr:VerificationReport", &[]);
    if let Some(t) = &r.verification_time {
        w.start("dss:VerificationTimeInfo", &[]);
        w.leaf("dss:VerificationTime", t.as_str());
        w.end();
    }
    for s in &r.signers {
        w.start("vr:IndividualReport", &[]);
        w.empty("vr:SignedObjectIdentifier", &[]);
        w.start("dss:Result", &[]);
        w.leaf("dss:ResultMajor", &s.result_major);
        w.end();
        w.start("vr:Details", &[]);
        w.start("vr:DetailedSignatureReport", &[]);
        write_result(w, "vr:FormatOK", s.format_ok);
        w.start("vr:SignatureOK", &[]);
        write_result(w, "vr:SigMathOK", s.sig_math_ok);
        w.end();
        w.start("vr:CertificatePathValidity", &[]);
        write_result(w, "vr:PathValiditySummary", s.path_validity);
        w.start("vr:CertificateIdentifier", &[]);
        w.leaf("ds:X509IssuerName", &s.signer_issuer);
        w.leaf("ds:X509SerialNumber", &s.signer_serial);
        w.end();
        w.end();
        w.end();
        w.end();
        w.end();
    }
    w.end();
}

fn result_of(n: Node<'_, '_>, result_ns: &str) -> Result<DetailResult, SchemaError> {
    n.find_req(result_ns, "ResultMajor")?
        .node()
        .parse_with(DetailResult::from_uri_lenient)
}

pub(crate) fn parse_report(n: Node<'_, '_>) -> Result<VerificationReport, SchemaError> {
    let verification_time = match n.find(ns::DSS, "VerificationTimeInfo") {
        Some(ti) => Some(
            ti.node()
                .find_req(ns::DSS, "VerificationTime")?
                .node()
                .parse_with(DateTime::new)?,
        ),
        None => None,
    };
    let mut signers = Vec::new();
    for ir in n.find_all(ns::VR, "IndividualReport") {
        let ir = ir.node();
        let result = ir.find_req(ns::DSS, "Result")?;
        let result_major = result
            .node()
            .find_req(ns::DSS, "ResultMajor")?
            .node()
            .token()?
            .to_owned();
        let Some(details) = ir.find(ns::VR, "Details") else {
            continue;
        };
        let details = details.node();
        let Some(dsr) = details.find(ns::VR, "DetailedSignatureReport") else {
            continue;
        };
        signers.push(parse_detailed(dsr.node(), result_major)?);
    }
    Ok(VerificationReport {
        verification_time,
        signers,
    })
}

fn parse_detailed(n: Node<'_, '_>, result_major: String) -> Result<SignerReport, SchemaError> {
    let format_ok = result_of(n.find_req(ns::VR, "FormatOK")?.node(), ns::VR)?;
    let sig_ok = n.find_req(ns::VR, "SignatureOK")?;
    let sig_math_ok = result_of(sig_ok.node().find_req(ns::VR, "SigMathOK")?.node(), ns::VR)?;
    let cpv = n.find_req(ns::VR, "CertificatePathValidity")?;
    let cpv = cpv.node();
    let path_validity = result_of(cpv.find_req(ns::VR, "PathValiditySummary")?.node(), ns::VR)?;
    let id = cpv.find_req(ns::VR, "CertificateIdentifier")?;
    let id = id.node();
    let signer_issuer = id.find_req(ns::DS, "X509IssuerName")?.node().string()?;
    let signer_serial = id
        .find_req(ns::DS, "X509SerialNumber")?
        .node()
        .parse_with(|t| {
            let digits = t.strip_prefix('-').unwrap_or(t);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(t.to_owned())
            } else {
                Err(ValueError::new(
                    "X509SerialNumber",
                    t,
                    "must be a decimal integer",
                ))
            }
        })?;
    Ok(SignerReport {
        result_major,
        format_ok,
        sig_math_ok,
        path_validity,
        signer_issuer,
        signer_serial,
    })
}
