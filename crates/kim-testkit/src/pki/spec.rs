//! [`PkiSpec`]: the input of [`TestPki::generate`](super::TestPki::generate).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use der::DateTime;
use der::asn1::PrintableStringRef;
use spki::ObjectIdentifier;

use super::PkiError;
use super::ca::ValidityPeriod;
use super::keys::KeyAlgorithm;
use super::profiles::{CardKind, OID_ARZT, OID_PRAXIS_ARZT, OID_ZAHNARZTPRAXIS, TlsProfile};

/// Upper bound of `commonName` (RFC 5280 `ub-common-name`).
const UB_COMMON_NAME: usize = 64;

/// Seed of [`PkiSpec::small_default`].
pub const DEFAULT_SEED: [u8; 32] = *b"kim-testkit default test PKI v1.";

/// Everything that determines a test PKI. Same spec, same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiSpec {
    /// Master seed; every key and serial number derives from it and a stable label.
    pub seed: [u8; 32],
    /// Validity of every certificate (CAs included).
    pub validity: ValidityPeriod,
    /// Cards (SMC-B, HBA) to issue; each gets RSA and brainpool AUT, ENC, OSIG/QES.
    pub cards: Vec<CardSpec>,
    /// TLS certificates to issue from the component CA.
    pub tls: Vec<TlsSpec>,
}

/// One SMC-B or HBA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSpec {
    /// SMC-B (institution) or HBA (person).
    pub kind: CardKind,
    /// Name of the institution or person; becomes the subject `commonName` (max. 64).
    pub holder: String,
    /// Telematik-ID; goes into the Admission `registrationNumber`. PrintableString
    /// characters without `/` and space.
    pub telematik_id: String,
    /// Institution (SMC-B, gemSpec_OID Tab_PKI_403) or profession (HBA, Tab_PKI_402) OID.
    pub profession_oid: ObjectIdentifier,
    /// ICCSN of the card, 20 digits starting with `80276`; the subject
    /// `serialNumber` attribute is `75.<ICCSN>` as on the gematik samples.
    pub iccsn: String,
    /// Optional rfc822Name for subjectAltName.
    pub email: Option<String>,
}

/// One TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSpec {
    /// Stable name: label part and file stem (`[A-Za-z0-9._-]+`).
    pub name: String,
    /// Certificate type (key usage, EKU, policy).
    pub profile: TlsProfile,
    /// Subject `commonName`.
    pub common_name: String,
    /// subjectAltName dNSName entries.
    pub dns_names: Vec<String>,
    /// subjectAltName iPAddress entries.
    pub ip_addresses: Vec<IpAddr>,
    /// Key algorithm; RSA-2048 unless a brainpool TLS endpoint is wanted (issued by the
    /// ECC component CA then).
    pub algorithm: KeyAlgorithm,
}

impl PkiSpec {
    /// A spec with no cards and no TLS entities, valid 2025-01-01 to 2045-12-31.
    pub fn new(seed: [u8; 32]) -> PkiSpec {
        PkiSpec {
            seed,
            validity: default_validity(),
            cards: Vec::new(),
            tls: Vec::new(),
        }
    }

    /// Like [`PkiSpec::new`] with the seed `u64` big-endian in the last eight bytes.
    pub fn from_u64_seed(seed: u64) -> PkiSpec {
        let mut bytes = [0u8; 32];
        for (dst, src) in bytes.iter_mut().skip(24).zip(seed.to_be_bytes()) {
            *dst = src;
        }
        PkiSpec::new(bytes)
    }

    /// Replaces the validity period (e.g. with one in the past for expiry tests).
    pub fn with_validity(mut self, not_before: DateTime, not_after: DateTime) -> PkiSpec {
        self.validity = ValidityPeriod {
            not_before,
            not_after,
        };
        self
    }

    /// The PKI most tests use: all CAs, two SMC-B practices, one HBA doctor and the
    /// Konnektor, Fachdienst and Clientmodul TLS certificates (16 RSA keys in total).
    ///
    /// | Card | Telematik-ID | Profession |
    /// |---|---|---|
    /// | SMC-B "Arztpraxis Dr. Alice Schmidt TEST-ONLY" | `1-2.58.00000040` | Betriebsstätte Arzt |
    /// | SMC-B "Zahnarztpraxis Dr. Bernd Weber TEST-ONLY" | `2-2.58.00000041` | Zahnarztpraxis |
    /// | HBA "Dr. Alice Schmidt TEST-ONLY" | `1-1.58.00000050` | Ärztin/Arzt |
    ///
    /// TLS names: `konnektor`, `fachdienst`, `clientmodul`; all carry `localhost`,
    /// `127.0.0.1` and `::1` in subjectAltName.
    pub fn small_default() -> PkiSpec {
        let mut spec = PkiSpec::new(DEFAULT_SEED);
        spec.cards = vec![
            CardSpec {
                kind: CardKind::Smcb,
                holder: "Arztpraxis Dr. Alice Schmidt TEST-ONLY".into(),
                telematik_id: "1-2.58.00000040".into(),
                profession_oid: OID_PRAXIS_ARZT,
                iccsn: "80276883110000100001".into(),
                email: Some("praxis.schmidt@test.kim.telematik".into()),
            },
            CardSpec {
                kind: CardKind::Smcb,
                holder: "Zahnarztpraxis Dr. Bernd Weber TEST-ONLY".into(),
                telematik_id: "2-2.58.00000041".into(),
                profession_oid: OID_ZAHNARZTPRAXIS,
                iccsn: "80276883110000100002".into(),
                email: Some("zahnarzt.weber@test.kim.telematik".into()),
            },
            CardSpec {
                kind: CardKind::Hba,
                holder: "Dr. Alice Schmidt TEST-ONLY".into(),
                telematik_id: "1-1.58.00000050".into(),
                profession_oid: OID_ARZT,
                iccsn: "80276883110000200001".into(),
                email: Some("alice.schmidt@test.kim.telematik".into()),
            },
        ];
        spec.tls = vec![
            TlsSpec::localhost("konnektor", TlsProfile::KonnektorServer, "konnektor.test"),
            TlsSpec::localhost(
                "fachdienst",
                TlsProfile::FachdienstServer,
                "fachdienst.test.kim.telematik",
            ),
            TlsSpec::localhost(
                "clientmodul",
                TlsProfile::ClientmodulClient,
                "clientmodul.test",
            ),
        ];
        spec
    }

    /// Checks every field that ends up in a certificate or a file name.
    pub fn validate(&self) -> Result<(), PkiError> {
        if self.validity.not_before >= self.validity.not_after {
            return Err(invalid(
                "validity: notBefore must be before notAfter".into(),
            ));
        }
        let mut ids = HashSet::new();
        for card in &self.cards {
            card.validate()?;
            if !ids.insert(card.telematik_id.as_str()) {
                return Err(invalid(format!(
                    "Telematik-ID {:?} appears twice",
                    card.telematik_id
                )));
            }
        }
        let mut names = HashSet::new();
        for tls in &self.tls {
            tls.validate()?;
            if !names.insert(tls.name.as_str()) {
                return Err(invalid(format!("TLS name {:?} appears twice", tls.name)));
            }
        }
        Ok(())
    }
}

impl CardSpec {
    fn validate(&self) -> Result<(), PkiError> {
        check_common_name(&self.holder)?;
        let tid = &self.telematik_id;
        if tid.is_empty()
            || PrintableStringRef::new(tid).is_err()
            || tid.contains(['/', ' '])
            || tid.starts_with('.')
        {
            return Err(invalid(format!(
                "Telematik-ID {tid:?}: need non-empty PrintableString characters without '/' or space"
            )));
        }
        if self.iccsn.len() != 20
            || !self.iccsn.starts_with("80276")
            || !self.iccsn.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid(format!(
                "ICCSN {:?}: need 20 digits starting with 80276",
                self.iccsn
            )));
        }
        if let Some(email) = &self.email {
            check_email(email)?;
        }
        Ok(())
    }
}

impl TlsSpec {
    /// A TLS spec for `name` with `common_name` and the subjectAltNames `localhost`,
    /// `common_name`, `127.0.0.1` and `::1`, RSA-2048.
    pub fn localhost(name: &str, profile: TlsProfile, common_name: &str) -> TlsSpec {
        TlsSpec {
            name: name.into(),
            profile,
            common_name: common_name.into(),
            dns_names: vec!["localhost".into(), common_name.into()],
            ip_addresses: vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ],
            algorithm: KeyAlgorithm::Rsa2048,
        }
    }

    fn validate(&self) -> Result<(), PkiError> {
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            || self.name.starts_with('.')
        {
            return Err(invalid(format!(
                "TLS name {:?}: need [A-Za-z0-9._-]+ not starting with '.'",
                self.name
            )));
        }
        check_common_name(&self.common_name)?;
        for dns in &self.dns_names {
            if dns.is_empty()
                || !dns
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-*".contains(&b))
            {
                return Err(invalid(format!("TLS {}: DNS name {dns:?}", self.name)));
            }
        }
        Ok(())
    }
}

fn check_common_name(cn: &str) -> Result<(), PkiError> {
    let chars = cn.chars().count();
    if chars == 0 || chars > UB_COMMON_NAME {
        return Err(invalid(format!(
            "commonName {cn:?}: need 1 to {UB_COMMON_NAME} characters, got {chars}"
        )));
    }
    Ok(())
}

fn check_email(email: &str) -> Result<(), PkiError> {
    let ok = email.is_ascii()
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("e-mail address {email:?}")))
    }
}

fn invalid(what: String) -> PkiError {
    PkiError::InvalidSpec { what }
}

/// 2025-01-01T00:00:00Z to 2045-12-31T23:59:59Z.
fn default_validity() -> ValidityPeriod {
    ValidityPeriod {
        not_before: DateTime::new(2025, 1, 1, 0, 0, 0).unwrap_or(DateTime::INFINITY),
        not_after: DateTime::new(2045, 12, 31, 23, 59, 59).unwrap_or(DateTime::INFINITY),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn small_default_is_valid() {
        PkiSpec::small_default().validate().unwrap();
        assert_eq!(
            default_validity().not_before,
            DateTime::new(2025, 1, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn rejects_duplicate_telematik_id() {
        let mut spec = PkiSpec::small_default();
        let first = spec.cards.first().unwrap().clone();
        spec.cards.push(first);
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains("appears twice"), "{err}");
    }

    #[test]
    fn rejects_bad_fields() {
        let base = PkiSpec::small_default();
        let mut spec = base.clone();
        spec.cards.first_mut().unwrap().iccsn = "123".into();
        assert!(spec.validate().unwrap_err().to_string().contains("ICCSN"));
        let mut spec = base.clone();
        spec.cards.first_mut().unwrap().telematik_id = "a/b".into();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("Telematik-ID")
        );
        let mut spec = base.clone();
        spec.tls.first_mut().unwrap().name = "../x".into();
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("TLS name")
        );
        let mut spec = base.clone();
        spec.cards.first_mut().unwrap().holder = "x".repeat(65);
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("commonName")
        );
        let spec = base.with_validity(
            DateTime::new(2030, 1, 1, 0, 0, 0).unwrap(),
            DateTime::new(2020, 1, 1, 0, 0, 0).unwrap(),
        );
        assert!(
            spec.validate()
                .unwrap_err()
                .to_string()
                .contains("notBefore")
        );
    }
}
