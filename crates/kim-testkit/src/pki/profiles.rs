//! Certificate profiles of the test PKI: which key usages, extended key usages and
//! policy OIDs each certificate type carries (gemSpec_PKI certificate profiles,
//! OIDs from gemSpec_OID Tab_PKI_404/405).
//!
//! | Type | Role OID | key usage (RSA / ECC) | EKU |
//! |---|---|---|---|
//! | C.HCI.AUT / C.HP.AUT | `oid_smc_b_aut` 1.2.276.0.76.4.77 / `oid_hba_aut` .75 | digitalSignature+keyEncipherment / digitalSignature | – |
//! | C.HCI.ENC / C.HP.ENC | `oid_smc_b_enc` .76 / `oid_hba_enc` .74 | keyEncipherment+dataEncipherment / keyAgreement | – |
//! | C.HCI.OSIG / C.HP.QES | `oid_smc_b_osig` .78 / `oid_hba_qes` .72 | nonRepudiation | – |
//! | C.AK.AUT (Konnektor TLS server) | `oid_ak_aut` .79 | digitalSignature | serverAuth |
//! | C.FD.TLS-S (Fachdienst TLS server) | `oid_fd_tls_s` .169 | digitalSignature | serverAuth |
//! | C.CM.TLS-CS (Clientmodul TLS client/server) | `oid_cm_tls_c` .175 | digitalSignature | clientAuth+serverAuth |
//!
//! Every leaf also carries `oid_policy_gem_or_cp` 1.2.276.0.76.4.163, as the gematik
//! samples do. C.HP.QES additionally carries the QC statements QcCompliance and
//! QcSSCD (ETSI EN 319 412-5).

use spki::ObjectIdentifier;
use x509_cert::ext::pkix::{KeyUsage, KeyUsages};

use super::keys::KeyAlgorithm;

/// Shorthand for an OID in the gematik arc 1.2.276.0.76.4.
const fn gem(oid: &str) -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap(oid)
}

/// `oid_policy_gem_or_cp`: policy for all certificates of the online roll-out.
pub const OID_POLICY_GEM_OR_CP: ObjectIdentifier = gem("1.2.276.0.76.4.163");
/// `oid_smc_b_aut` (C.HCI.AUT).
pub const OID_SMC_B_AUT: ObjectIdentifier = gem("1.2.276.0.76.4.77");
/// `oid_smc_b_enc` (C.HCI.ENC).
pub const OID_SMC_B_ENC: ObjectIdentifier = gem("1.2.276.0.76.4.76");
/// `oid_smc_b_osig` (C.HCI.OSIG).
pub const OID_SMC_B_OSIG: ObjectIdentifier = gem("1.2.276.0.76.4.78");
/// `oid_hba_aut` (C.HP.AUT).
pub const OID_HBA_AUT: ObjectIdentifier = gem("1.2.276.0.76.4.75");
/// `oid_hba_enc` (C.HP.ENC).
pub const OID_HBA_ENC: ObjectIdentifier = gem("1.2.276.0.76.4.74");
/// `oid_hba_qes` (C.HP.QES).
pub const OID_HBA_QES: ObjectIdentifier = gem("1.2.276.0.76.4.72");
/// `oid_ak_aut` (C.AK.AUT, the Konnektor's TLS identity).
pub const OID_AK_AUT: ObjectIdentifier = gem("1.2.276.0.76.4.79");
/// `oid_fd_tls_s` (C.FD.TLS-S).
pub const OID_FD_TLS_S: ObjectIdentifier = gem("1.2.276.0.76.4.169");
/// `oid_cm_tls_c` (C.CM.TLS-CS).
pub const OID_CM_TLS_C: ObjectIdentifier = gem("1.2.276.0.76.4.175");

/// `oid_praxis_arzt`: Betriebsstätte Arzt (institution, Tab_PKI_403).
pub const OID_PRAXIS_ARZT: ObjectIdentifier = gem("1.2.276.0.76.4.50");
/// `oid_zahnarztpraxis`: Zahnarztpraxis (institution).
pub const OID_ZAHNARZTPRAXIS: ObjectIdentifier = gem("1.2.276.0.76.4.51");
/// `oid_krankenhaus`: Krankenhaus (institution).
pub const OID_KRANKENHAUS: ObjectIdentifier = gem("1.2.276.0.76.4.53");
/// `oid_arzt`: Ärztin/Arzt (profession, Tab_PKI_402).
pub const OID_ARZT: ObjectIdentifier = gem("1.2.276.0.76.4.30");
/// `oid_zahnarzt`: Zahnärztin/Zahnarzt (profession).
pub const OID_ZAHNARZT: ObjectIdentifier = gem("1.2.276.0.76.4.31");

/// `id-kp-serverAuth`.
pub const ID_KP_SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// `id-kp-clientAuth`.
pub const ID_KP_CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// `id-pe-qcStatements`.
pub const ID_PE_QC_STATEMENTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.3");
/// `id-etsi-qcs-QcCompliance`.
pub const ID_ETSI_QCS_QC_COMPLIANCE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.1862.1.1");
/// `id-etsi-qcs-QcSSCD`.
pub const ID_ETSI_QCS_QC_SSCD: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.1862.1.4");

/// Kind of smart card whose keys the test PKI issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// SMC-B, the institution card (C.HCI.* certificates, SMC-B CA).
    Smcb,
    /// HBA, the health professional card (C.HP.* certificates, HBA CA).
    Hba,
}

impl CardKind {
    /// Lower-case tag used in labels and paths: `smcb` or `hba`.
    pub fn tag(self) -> &'static str {
        match self {
            CardKind::Smcb => "smcb",
            CardKind::Hba => "hba",
        }
    }
}

/// The three key roles of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKeyRole {
    /// Authentication (C.HCI.AUT / C.HP.AUT).
    Aut,
    /// Encryption (C.HCI.ENC / C.HP.ENC).
    Enc,
    /// Signature: C.HCI.OSIG on an SMC-B, C.HP.QES on an HBA.
    Sig,
}

impl CardKeyRole {
    /// All roles in card order.
    pub const ALL: [CardKeyRole; 3] = [CardKeyRole::Aut, CardKeyRole::Enc, CardKeyRole::Sig];

    /// Tag used in labels and file names: `aut`, `enc`, `osig` (SMC-B) or `qes` (HBA).
    pub fn tag(self, kind: CardKind) -> &'static str {
        match (self, kind) {
            (CardKeyRole::Aut, _) => "aut",
            (CardKeyRole::Enc, _) => "enc",
            (CardKeyRole::Sig, CardKind::Smcb) => "osig",
            (CardKeyRole::Sig, CardKind::Hba) => "qes",
        }
    }
}

/// TLS certificate types issued by the component CA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsProfile {
    /// Konnektor TLS server identity C.AK.AUT (`oid_ak_aut`), serverAuth.
    KonnektorServer,
    /// Fachdienst TLS server C.FD.TLS-S (`oid_fd_tls_s`), serverAuth.
    FachdienstServer,
    /// Clientmodul C.CM.TLS-CS (`oid_cm_tls_c`), clientAuth and serverAuth.
    ClientmodulClient,
}

/// What goes into one leaf certificate apart from names and keys.
#[derive(Debug, Clone)]
pub(crate) struct LeafProfile {
    /// gematik type name, e.g. `C.HCI.ENC`.
    pub type_name: &'static str,
    /// Role OID, asserted as certificate policy after `oid_policy_gem_or_cp`.
    pub role_oid: ObjectIdentifier,
    /// keyUsage bits (critical).
    pub key_usage: KeyUsage,
    /// extendedKeyUsage, empty for card certificates.
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// Whether to add the qcStatements extension (C.HP.QES).
    pub qc_statements: bool,
}

/// Profile of a card certificate.
pub(crate) fn card_profile(kind: CardKind, role: CardKeyRole, alg: KeyAlgorithm) -> LeafProfile {
    let rsa = alg == KeyAlgorithm::Rsa2048;
    let key_usage = match role {
        CardKeyRole::Aut if rsa => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
        CardKeyRole::Aut => KeyUsages::DigitalSignature.into(),
        CardKeyRole::Enc if rsa => KeyUsages::KeyEncipherment | KeyUsages::DataEncipherment,
        CardKeyRole::Enc => KeyUsages::KeyAgreement.into(),
        CardKeyRole::Sig => KeyUsages::NonRepudiation.into(),
    };
    let (type_name, role_oid) = match (kind, role) {
        (CardKind::Smcb, CardKeyRole::Aut) => ("C.HCI.AUT", OID_SMC_B_AUT),
        (CardKind::Smcb, CardKeyRole::Enc) => ("C.HCI.ENC", OID_SMC_B_ENC),
        (CardKind::Smcb, CardKeyRole::Sig) => ("C.HCI.OSIG", OID_SMC_B_OSIG),
        (CardKind::Hba, CardKeyRole::Aut) => ("C.HP.AUT", OID_HBA_AUT),
        (CardKind::Hba, CardKeyRole::Enc) => ("C.HP.ENC", OID_HBA_ENC),
        (CardKind::Hba, CardKeyRole::Sig) => ("C.HP.QES", OID_HBA_QES),
    };
    LeafProfile {
        type_name,
        role_oid,
        key_usage: KeyUsage(key_usage),
        extended_key_usage: Vec::new(),
        qc_statements: kind == CardKind::Hba && role == CardKeyRole::Sig,
    }
}

/// Profile of a TLS certificate.
pub(crate) fn tls_profile(profile: TlsProfile) -> LeafProfile {
    let (type_name, role_oid, eku) = match profile {
        TlsProfile::KonnektorServer => ("C.AK.AUT", OID_AK_AUT, vec![ID_KP_SERVER_AUTH]),
        TlsProfile::FachdienstServer => ("C.FD.TLS-S", OID_FD_TLS_S, vec![ID_KP_SERVER_AUTH]),
        TlsProfile::ClientmodulClient => (
            "C.CM.TLS-CS",
            OID_CM_TLS_C,
            vec![ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH],
        ),
    };
    LeafProfile {
        type_name,
        role_oid,
        key_usage: KeyUsage(KeyUsages::DigitalSignature.into()),
        extended_key_usage: eku,
        qc_statements: false,
    }
}

/// Human-readable profession item and chamber for the Admission extension of a
/// profession or institution OID; unknown OIDs get a generic TEST-ONLY text.
pub(crate) fn profession_texts(oid: &ObjectIdentifier) -> (&'static str, &'static str) {
    match oid.to_string().as_str() {
        "1.2.276.0.76.4.30" => ("Ärztin/Arzt", "Ärztekammer TEST-ONLY"),
        "1.2.276.0.76.4.31" => ("Zahnärztin/Zahnarzt", "Zahnärztekammer TEST-ONLY"),
        "1.2.276.0.76.4.50" => (
            "Betriebsstätte Arzt",
            "Kassenärztliche Vereinigung TEST-ONLY",
        ),
        "1.2.276.0.76.4.51" => ("Zahnarztpraxis", "Zahnärztekammer TEST-ONLY"),
        "1.2.276.0.76.4.53" => ("Krankenhaus", "Deutsche Krankenhausgesellschaft TEST-ONLY"),
        _ => ("Leistungserbringer TEST-ONLY", "Kammer TEST-ONLY"),
    }
}
