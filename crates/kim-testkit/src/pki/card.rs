//! Card and TLS end-entity certificates: subject DN, Admission, subjectAltName and the
//! profile extensions (see [`profiles`](super::profiles)).

use der::asn1::Ia5String;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::PkiError;
use super::admission::Admission;
use super::ca::{Ca, CertTemplate, ValidityPeriod, basic_constraints, key_usage, policies};
use super::issued::Issued;
use super::keys::{KeyAlgorithm, KeyPair};
use super::names::{COMMON_NAME, COUNTRY, ORGANIZATION, SERIAL_NUMBER, build_name};
use super::profiles::{
    CardKeyRole, CardKind, ID_ETSI_QCS_QC_COMPLIANCE, ID_ETSI_QCS_QC_SSCD, ID_PE_QC_STATEMENTS,
    LeafProfile, OID_POLICY_GEM_OR_CP, card_profile, profession_texts, tls_profile,
};
use super::spec::{CardSpec, TlsSpec};

/// A card (SMC-B or HBA) with its six certificates: AUT, ENC and OSIG (SMC-B) or QES
/// (HBA), each as RSA-2048 and brainpoolP256r1 variant.
#[derive(Debug, Clone)]
pub struct Card {
    /// What the card was generated from.
    pub spec: CardSpec,
    /// C.HCI.AUT / C.HP.AUT, RSA.
    pub aut_rsa: Issued,
    /// C.HCI.ENC / C.HP.ENC, RSA.
    pub enc_rsa: Issued,
    /// C.HCI.OSIG / C.HP.QES, RSA.
    pub osig_or_qes_rsa: Issued,
    /// C.HCI.AUT / C.HP.AUT, brainpoolP256r1.
    pub aut_ecc: Issued,
    /// C.HCI.ENC / C.HP.ENC, brainpoolP256r1.
    pub enc_ecc: Issued,
    /// C.HCI.OSIG / C.HP.QES, brainpoolP256r1.
    pub osig_or_qes_ecc: Issued,
}

impl Card {
    /// The authentication certificate (C.HCI.AUT / C.HP.AUT).
    pub fn aut(&self, algorithm: KeyAlgorithm) -> &Issued {
        match algorithm {
            KeyAlgorithm::Rsa2048 => &self.aut_rsa,
            KeyAlgorithm::BrainpoolP256r1 => &self.aut_ecc,
        }
    }

    /// The encryption certificate (C.HCI.ENC / C.HP.ENC).
    pub fn enc(&self, algorithm: KeyAlgorithm) -> &Issued {
        match algorithm {
            KeyAlgorithm::Rsa2048 => &self.enc_rsa,
            KeyAlgorithm::BrainpoolP256r1 => &self.enc_ecc,
        }
    }

    /// The signature certificate: C.HCI.OSIG on an SMC-B, C.HP.QES on an HBA.
    pub fn signing(&self, algorithm: KeyAlgorithm) -> &Issued {
        match algorithm {
            KeyAlgorithm::Rsa2048 => &self.osig_or_qes_rsa,
            KeyAlgorithm::BrainpoolP256r1 => &self.osig_or_qes_ecc,
        }
    }

    /// The certificate for `role` and `algorithm`.
    pub fn get(&self, role: CardKeyRole, algorithm: KeyAlgorithm) -> &Issued {
        match role {
            CardKeyRole::Aut => self.aut(algorithm),
            CardKeyRole::Enc => self.enc(algorithm),
            CardKeyRole::Sig => self.signing(algorithm),
        }
    }

    /// All six certificates with role and algorithm, RSA first.
    pub fn all(&self) -> Vec<(CardKeyRole, KeyAlgorithm, &Issued)> {
        KeyAlgorithm::ALL
            .iter()
            .flat_map(|alg| {
                CardKeyRole::ALL
                    .iter()
                    .map(move |role| (*role, *alg, self.get(*role, *alg)))
            })
            .collect()
    }
}

/// A TLS certificate with its spec.
#[derive(Debug, Clone)]
pub struct TlsEntity {
    /// What the certificate was generated from.
    pub spec: TlsSpec,
    /// Certificate, key and chain.
    pub issued: Issued,
}

/// Stable label of a card key: `<smcb|hba>/<Telematik-ID>/<aut|enc|osig|qes>/<rsa|ecc>`.
pub(crate) fn card_label(spec: &CardSpec, role: CardKeyRole, alg: KeyAlgorithm) -> String {
    format!(
        "{}/{}/{}/{}",
        spec.kind.tag(),
        spec.telematik_id,
        role.tag(spec.kind),
        alg.tag()
    )
}

/// Stable label of a TLS key: `tls/<name>`.
pub(crate) fn tls_label(spec: &TlsSpec) -> String {
    format!("tls/{}", spec.name)
}

/// Issues one card certificate for `key` (which must have been derived from
/// [`card_label`]).
pub(crate) fn issue_card_certificate(
    seed: &[u8; 32],
    ca: &Ca,
    spec: &CardSpec,
    role: CardKeyRole,
    key: &KeyPair,
    validity: ValidityPeriod,
) -> Result<Issued, PkiError> {
    let profile = card_profile(spec.kind, role, key.algorithm());
    let serial_number = format!("75.{}", spec.iccsn);
    let organization = format!("{}-NOT-VALID", spec.telematik_id);
    let subject = match spec.kind {
        CardKind::Smcb => build_name(&[
            (COUNTRY, "DE"),
            (ORGANIZATION, &organization),
            (SERIAL_NUMBER, &serial_number),
            (COMMON_NAME, &spec.holder),
        ])?,
        CardKind::Hba => build_name(&[
            (COUNTRY, "DE"),
            (SERIAL_NUMBER, &serial_number),
            (COMMON_NAME, &spec.holder),
        ])?,
    };
    let (item, chamber) = profession_texts(&spec.profession_oid);
    let admission = Admission {
        authority: Some(build_name(&[(COUNTRY, "DE"), (ORGANIZATION, chamber)])?),
        profession_items: vec![item.to_string()],
        profession_oids: vec![spec.profession_oid],
        registration_number: Some(spec.telematik_id.clone()),
    };
    let mut extensions = vec![admission.to_extension()?];
    extensions.extend(profile_extensions(&profile)?);
    if let Some(email) = &spec.email {
        let san = SubjectAltName(vec![GeneralName::Rfc822Name(Ia5String::new(email)?)]);
        extensions.push(super::ca::raw_extension(
            const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
            false,
            &san,
        )?);
    }
    if profile.qc_statements {
        extensions.push(qc_statements()?);
    }
    let label = card_label(spec, role, key.algorithm());
    ca.issue(
        seed,
        key,
        CertTemplate {
            label: &label,
            subject,
            validity,
            extensions,
        },
    )
}

/// Issues a TLS certificate for `key` (derived from [`tls_label`]).
pub(crate) fn issue_tls_certificate(
    seed: &[u8; 32],
    ca: &Ca,
    spec: &TlsSpec,
    key: &KeyPair,
    validity: ValidityPeriod,
) -> Result<Issued, PkiError> {
    let profile = tls_profile(spec.profile);
    let subject = build_name(&[
        (COUNTRY, "DE"),
        (ORGANIZATION, "kim-rs Test-PKI NOT-VALID"),
        (COMMON_NAME, &spec.common_name),
    ])?;
    let mut extensions = profile_extensions(&profile)?;
    let mut names = Vec::with_capacity(spec.dns_names.len() + spec.ip_addresses.len());
    for dns in &spec.dns_names {
        names.push(GeneralName::DnsName(Ia5String::new(dns)?));
    }
    for ip in &spec.ip_addresses {
        names.push(GeneralName::from(*ip));
    }
    if !names.is_empty() {
        extensions.push(super::ca::raw_extension(
            const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(names),
        )?);
    }
    let label = tls_label(spec);
    ca.issue(
        seed,
        key,
        CertTemplate {
            label: &label,
            subject,
            validity,
            extensions,
        },
    )
}

/// keyUsage, extendedKeyUsage, certificatePolicies and basicConstraints, in the order
/// of the gematik samples.
fn profile_extensions(profile: &LeafProfile) -> Result<Vec<Extension>, PkiError> {
    let mut extensions = vec![key_usage(profile.key_usage)?];
    if !profile.extended_key_usage.is_empty() {
        extensions.push(super::ca::raw_extension(
            const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &x509_cert::ext::pkix::ExtendedKeyUsage(profile.extended_key_usage.clone()),
        )?);
    }
    extensions.push(policies(&[OID_POLICY_GEM_OR_CP, profile.role_oid])?);
    extensions.push(basic_constraints(false, None)?);
    Ok(extensions)
}

/// `QCStatement ::= SEQUENCE { statementId OID, statementInfo ANY OPTIONAL }` (RFC 3739).
#[derive(der::Sequence)]
struct QcStatement {
    statement_id: spki::ObjectIdentifier,
}

/// `QCStatements` with QcCompliance and QcSSCD (RFC 3739, ETSI EN 319 412-5), for
/// C.HP.QES.
fn qc_statements() -> Result<Extension, PkiError> {
    let statements: Vec<QcStatement> = [ID_ETSI_QCS_QC_COMPLIANCE, ID_ETSI_QCS_QC_SSCD]
        .into_iter()
        .map(|statement_id| QcStatement { statement_id })
        .collect();
    super::ca::raw_extension(ID_PE_QC_STATEMENTS, false, &statements)
}
