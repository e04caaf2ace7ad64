//! XML mapping of CertificateService 6.0 `ReadCardCertificate` (konnektor.md §6.3) and
//! `VerifyCertificate` (§6.4).

use super::common::{
    decls, parse_card_handle, parse_context, parse_error, parse_status, write_context, write_error,
    write_status,
};
use super::{
    ReadCardCertificate, ReadCardCertificateResponse, VerifyCertificate, VerifyCertificateResponse,
};
use crate::model::{
    CertRef, Crypt, DateTime, ValueError, VerificationResult, X509Data, X509DataInfo,
};
use crate::xml::ns;
use crate::xml::read::{Node, SchemaError};
use crate::xml::write::XmlWriter;

impl ReadCardCertificate {
    /// Writes `CERT:ReadCardCertificate`. `Crypt` is written only when set (send it only to
    /// CertificateService ≥ 6.0.1; older versions answer 4000).
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CERT:ReadCardCertificate",
            &decls(&["CERT", "CCTX", "CONN"]),
        );
        w.leaf("CONN:CardHandle", self.card_handle.as_str());
        write_context(w, &self.context);
        w.start("CERT:CertRefList", &[]);
        for r in &self.cert_refs {
            w.leaf("CERT:CertRef", r.as_str());
        }
        w.end();
        w.opt_leaf("CERT:Crypt", self.crypt.map(Crypt::as_str));
        w.end();
    }

    /// Parses `CERT:ReadCardCertificate`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation (also `Crypt=RSA_ECC`, which
    /// `CERT:CryptType` does not allow).
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let card_handle = parse_card_handle(s.req(ns::CONN, "CardHandle")?.node())?;
        let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
        let list = s.req(ns::CERT, "CertRefList")?;
        let crypt = s
            .opt(ns::CERT, "Crypt")
            .map(|c| c.node().parse_with(parse_cert_crypt))
            .transpose()?;
        s.end()?;
        let list = list.node();
        let mut ls = list.seq();
        let mut cert_refs = Vec::new();
        for r in ls.some(ns::CERT, "CertRef")? {
            cert_refs.push(r.node().parse_with(CertRef::from_wire)?);
        }
        ls.end()?;
        Ok(Self {
            card_handle,
            context,
            cert_refs,
            crypt,
        })
    }
}

fn parse_cert_crypt(t: &str) -> Result<Crypt, ValueError> {
    match Crypt::from_wire(t)? {
        Crypt::RsaEcc => Err(ValueError::new(
            "Crypt",
            t,
            "CertificateService allows only RSA or ECC",
        )),
        c => Ok(c),
    }
}

impl ReadCardCertificateResponse {
    /// Writes `CERT:ReadCardCertificateResponse`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CERT:ReadCardCertificateResponse",
            &decls(&["CERT", "CONN", "CERTCMN"]),
        );
        write_status(w, &self.status);
        w.start("CERTCMN:X509DataInfoList", &[]);
        for info in &self.infos {
            w.start("CERTCMN:X509DataInfo", &[]);
            w.leaf("CERTCMN:CertRef", info.cert_ref.as_str());
            if let Some(x) = &info.x509 {
                w.start("CERTCMN:X509Data", &[]);
                w.start("CERTCMN:X509IssuerSerial", &[]);
                w.leaf("CERTCMN:X509IssuerName", &x.issuer_name);
                w.leaf("CERTCMN:X509SerialNumber", &x.serial);
                w.end();
                w.leaf("CERTCMN:X509SubjectName", &x.subject_name);
                w.leaf_base64("CERTCMN:X509Certificate", &[], &x.certificate);
                w.end();
            }
            w.end();
        }
        w.end();
        w.end();
    }

    /// Parses `CERT:ReadCardCertificateResponse`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let list = s.req(ns::CERTCMN, "X509DataInfoList")?;
        s.end()?;
        let list = list.node();
        let mut ls = list.seq();
        let mut infos = Vec::new();
        for i in ls.some(ns::CERTCMN, "X509DataInfo")? {
            infos.push(parse_info(i.node())?);
        }
        ls.end()?;
        Ok(Self { status, infos })
    }
}

fn parse_info(n: Node<'_, '_>) -> Result<X509DataInfo, SchemaError> {
    let c = ns::CERTCMN;
    let mut s = n.seq();
    let cert_ref = s.req(c, "CertRef")?.node().parse_with(CertRef::from_wire)?;
    let data = s.opt(c, "X509Data");
    s.end()?;
    let x509 = match data {
        None => None,
        Some(d) => {
            let d = d.node();
            let mut ds = d.seq();
            let is = ds.req(c, "X509IssuerSerial")?;
            let subject_name = ds.req(c, "X509SubjectName")?.node().string()?;
            let certificate = ds.req(c, "X509Certificate")?.node().base64()?;
            ds.end()?;
            let is = is.node();
            let mut iss = is.seq();
            let issuer_name = iss.req(c, "X509IssuerName")?.node().string()?;
            let serial = iss.req(c, "X509SerialNumber")?.node().token()?.to_owned();
            iss.end()?;
            Some(X509Data {
                issuer_name,
                serial,
                subject_name,
                certificate,
            })
        }
    };
    Ok(X509DataInfo { cert_ref, x509 })
}

impl VerifyCertificate {
    /// Writes `CERT:VerifyCertificate`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CERT:VerifyCertificate",
            &decls(&["CERT", "CCTX", "CONN", "CERTCMN"]),
        );
        write_context(w, &self.context);
        w.leaf_base64("CERTCMN:X509Certificate", &[], &self.certificate);
        w.opt_leaf(
            "CERT:VerificationTime",
            self.verification_time.as_ref().map(DateTime::as_str),
        );
        w.end();
    }

    /// Parses `CERT:VerifyCertificate`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
        let certificate = s.req(ns::CERTCMN, "X509Certificate")?.node().base64()?;
        let verification_time = s
            .opt(ns::CERT, "VerificationTime")
            .map(|t| t.node().parse_with(DateTime::new))
            .transpose()?;
        s.end()?;
        Ok(Self {
            context,
            certificate,
            verification_time,
        })
    }
}

impl VerifyCertificateResponse {
    /// Writes `CERT:VerifyCertificateResponse`. The schema requires at least one `CERT:Role`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start("CERT:VerifyCertificateResponse", &decls(&["CERT", "CONN"]));
        write_status(w, &self.status);
        w.start("CERT:VerificationStatus", &[]);
        w.leaf("CERT:VerificationResult", self.verification_result.as_str());
        if let Some(e) = &self.verification_error {
            write_error(w, e, true);
        }
        w.end();
        w.start("CERT:RoleList", &[]);
        for r in &self.roles {
            w.leaf("CERT:Role", r);
        }
        w.end();
        w.end();
    }

    /// Parses `CERT:VerifyCertificateResponse` (an empty `RoleList` is tolerated).
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let vs = s.req(ns::CERT, "VerificationStatus")?;
        let rl = s.req(ns::CERT, "RoleList")?;
        s.end()?;
        let vs = vs.node();
        let mut vss = vs.seq();
        let verification_result = vss
            .req(ns::CERT, "VerificationResult")?
            .node()
            .parse_with(VerificationResult::from_wire)?;
        let verification_error = vss
            .opt(ns::GERROR, "Error")
            .map(|e| parse_error(e.node()))
            .transpose()?;
        vss.end()?;
        let rl = rl.node();
        let mut rls = rl.seq();
        let roles = rls
            .many(ns::CERT, "Role")
            .iter()
            .map(|r| r.node().string())
            .collect::<Result<Vec<_>, _>>()?;
        rls.end()?;
        Ok(Self {
            status,
            verification_result,
            verification_error,
            roles,
        })
    }
}
