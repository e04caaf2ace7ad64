//! A VZD entry as the Clientmodul needs it (kim-spec §10): Telematik-ID, names, addresses
//! with their KIM versions, and the ENC certificates split by key algorithm.
//!
//! Reading is tolerant where the spec says so: a missing `komLeData`/`kimData` value for an
//! address means KIM 1.0; `kimData` (newer) wins over `komLeData` for the same address;
//! unreadable version values and certificates are skipped and counted, never fatal. A missing
//! `telematikID` makes the entry unusable.

use std::collections::HashMap;

use kim_message::cms::CertInfo;
use kim_message::cms::oid::{EC_PUBLIC_KEY, RSA_ENCRYPTION};
use kim_types::{KimAddress, KimVersion, TelematikId, VzdVersionEntry};

use crate::VzdError;

/// Key algorithm of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// `rsaEncryption`.
    Rsa,
    /// `id-ecPublicKey` (brainpoolP256r1 in the TI).
    Ecc,
    /// Anything else.
    Other,
}

/// One `userCertificate;binary` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VzdCertificate {
    /// The DER certificate.
    pub der: Vec<u8>,
    /// Its subject key algorithm.
    pub algorithm: KeyAlgorithm,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Telematik-ID from the Admission extension (registrationNumber), if any.
    pub telematik_id: Option<String>,
}

impl VzdCertificate {
    /// Parses a DER certificate.
    ///
    /// # Errors
    /// A description of the unreadable field.
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let info = CertInfo::parse(der).map_err(|e| e.to_string())?;
        let algorithm = if info.key_algorithm == RSA_ENCRYPTION {
            KeyAlgorithm::Rsa
        } else if info.key_algorithm == EC_PUBLIC_KEY {
            KeyAlgorithm::Ecc
        } else {
            KeyAlgorithm::Other
        };
        Ok(Self {
            der: der.to_vec(),
            algorithm,
            not_before: info.not_before,
            not_after: info.not_after,
            telematik_id: info.telematik_id(),
        })
    }

    /// Whether `now` (Unix seconds) lies in the validity window.
    #[must_use]
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }
}

/// The Admission extension (1.3.36.8.3.3, Common PKI):
/// Certificates of an entry whose Admission Telematik-ID differs from (or lacks) the
/// entry's: the Clientmodul's error 4005 case (kim-spec §10).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} certificate(s) of entry {entry} carry another or no Telematik-ID: {found:?}", found.len())]
pub struct TelematikIdMismatch {
    /// The entry's Telematik-ID.
    pub entry: String,
    /// The Telematik-IDs found in the offending certificates (`None`: no Admission).
    pub found: Vec<Option<String>>,
}

/// A directory entry found for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VzdEntry {
    /// DN of the entry.
    pub dn: String,
    /// `telematikID`.
    pub telematik_id: TelematikId,
    /// `displayName` (falls back to `cn`).
    pub display_name: Option<String>,
    /// `personalEntry` (`TRUE` = person/HBA); `None` when absent or unreadable.
    pub personal_entry: Option<bool>,
    /// `mail` values that are KIM addresses.
    pub mail: Vec<KimAddress>,
    /// Versions announced in `kimData`/`komLeData`, by address.
    versions: HashMap<KimAddress, KimVersion>,
    /// Readable certificates.
    pub certificates: Vec<VzdCertificate>,
    /// Values skipped as unreadable (addresses, versions, certificates).
    pub skipped_values: usize,
}

/// Attributes of an entry: lower-cased names (options such as `;binary` removed) → values.
pub type RawAttributes = HashMap<String, Vec<Vec<u8>>>;

impl VzdEntry {
    /// Builds an entry from its raw attributes.
    ///
    /// # Errors
    /// [`VzdError::BadData`] when `telematikID` is missing or invalid.
    pub fn from_attributes(dn: &str, attrs: &RawAttributes) -> Result<Self, VzdError> {
        let bad = |reason: String| VzdError::BadData {
            dn: dn.to_owned(),
            reason,
        };
        let texts = |name: &str| -> Vec<String> {
            attrs
                .get(name)
                .map(|vs| {
                    vs.iter()
                        .filter_map(|v| std::str::from_utf8(v).ok().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let tid_text = texts("telematikid")
            .into_iter()
            .next()
            .ok_or_else(|| bad("no telematikID".into()))?;
        let telematik_id =
            TelematikId::parse(&tid_text).map_err(|e| bad(format!("telematikID: {e}")))?;
        let mut skipped = 0;
        let mut mail = Vec::new();
        for m in texts("mail") {
            match KimAddress::parse(&m) {
                Ok(a) if !mail.contains(&a) => mail.push(a),
                Ok(_) => {}
                Err(_) => skipped += 1,
            }
        }
        let mut versions = HashMap::new();
        for v in texts("komledata") {
            match VzdVersionEntry::parse_kom_le_data(&v) {
                Ok(e) => drop(versions.insert(e.address().clone(), e.version())),
                Err(_) => skipped += 1,
            }
        }
        for v in texts("kimdata") {
            match VzdVersionEntry::parse_kim_data(&v) {
                Ok(e) => drop(versions.insert(e.address().clone(), e.version())),
                Err(_) => skipped += 1,
            }
        }
        let mut certificates = Vec::new();
        for der in attrs.get("usercertificate").into_iter().flatten() {
            match VzdCertificate::parse(der) {
                Ok(c) => certificates.push(c),
                Err(_) => skipped += 1,
            }
        }
        let personal_entry = match texts("personalentry").first().map(String::as_str) {
            Some(v) if v.eq_ignore_ascii_case("TRUE") => Some(true),
            Some(v) if v.eq_ignore_ascii_case("FALSE") => Some(false),
            _ => None,
        };
        let display_name = texts("displayname")
            .into_iter()
            .next()
            .or_else(|| texts("cn").into_iter().next());
        Ok(Self {
            dn: dn.to_owned(),
            telematik_id,
            display_name,
            personal_entry,
            mail,
            versions,
            certificates,
            skipped_values: skipped,
        })
    }

    /// The KIM version of `address` in this entry: from `kimData`, else `komLeData`, else
    /// `1.0` (kim-spec §10: missing ⇒ 1.0).
    #[must_use]
    pub fn version_of(&self, address: &KimAddress) -> KimVersion {
        self.versions.get(address).copied().unwrap_or_default()
    }

    /// Every address with an announced version (from `kimData` or `komLeData`).
    pub fn versions(&self) -> impl Iterator<Item = (&KimAddress, KimVersion)> {
        self.versions.iter().map(|(a, v)| (a, *v))
    }

    /// Certificates with an RSA key.
    pub fn rsa_certificates(&self) -> impl Iterator<Item = &VzdCertificate> {
        self.by_algorithm(KeyAlgorithm::Rsa)
    }

    /// Certificates with an ECC key.
    pub fn ecc_certificates(&self) -> impl Iterator<Item = &VzdCertificate> {
        self.by_algorithm(KeyAlgorithm::Ecc)
    }

    fn by_algorithm(&self, alg: KeyAlgorithm) -> impl Iterator<Item = &VzdCertificate> {
        self.certificates.iter().filter(move |c| c.algorithm == alg)
    }

    /// ENC certificates usable at `now` (Unix seconds): inside their validity window and
    /// carrying this entry's Telematik-ID.
    #[must_use]
    pub fn usable_certificates(&self, now: i64) -> Vec<&VzdCertificate> {
        self.certificates
            .iter()
            .filter(|c| c.is_valid_at(now))
            .filter(|c| c.telematik_id.as_deref() == Some(self.telematik_id.as_str()))
            .collect()
    }

    /// [`VzdEntry::usable_certificates`] at the current system time.
    #[must_use]
    pub fn usable_certificates_now(&self) -> Vec<&VzdCertificate> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.usable_certificates(now)
    }

    /// Checks that every certificate carries the entry's Telematik-ID (Admission).
    ///
    /// # Errors
    /// [`TelematikIdMismatch`] listing the deviating IDs (the 4005 case).
    pub fn check_telematik_ids(&self) -> Result<(), TelematikIdMismatch> {
        let found: Vec<Option<String>> = self
            .certificates
            .iter()
            .filter(|c| c.telematik_id.as_deref() != Some(self.telematik_id.as_str()))
            .map(|c| c.telematik_id.clone())
            .collect();
        if found.is_empty() {
            Ok(())
        } else {
            Err(TelematikIdMismatch {
                entry: self.telematik_id.as_str().to_owned(),
                found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn attrs(pairs: &[(&str, &[&[u8]])]) -> RawAttributes {
        pairs
            .iter()
            .map(|(k, vs)| ((*k).to_owned(), vs.iter().map(|v| v.to_vec()).collect()))
            .collect()
    }

    #[test]
    fn versions_default_to_1_0_and_kim_data_wins() {
        let a = attrs(&[
            ("telematikid", &[b"1-2.58.1"]),
            (
                "mail",
                &[
                    b"a@x.kim.telematik",
                    b"b@x.kim.telematik",
                    b"c@x.kim.telematik",
                ],
            ),
            (
                "komledata",
                &[b"1.5,a@x.kim.telematik", b"1.5,b@x.kim.telematik", b"junk"],
            ),
            ("kimdata", &[b"b@x.kim.telematik,1.5+,eEB;V1.0"]),
        ]);
        let e = VzdEntry::from_attributes("uid=1", &a).unwrap();
        let addr = |s: &str| KimAddress::parse(s).unwrap();
        assert_eq!(e.version_of(&addr("A@x.kim.telematik")), KimVersion::V1_5);
        assert_eq!(
            e.version_of(&addr("b@x.kim.telematik")),
            KimVersion::V1_5Plus
        );
        assert_eq!(e.version_of(&addr("c@x.kim.telematik")), KimVersion::V1_0);
        assert_eq!(e.mail.len(), 3);
        assert_eq!(e.skipped_values, 1);
        assert!(e.certificates.is_empty());
    }

    #[test]
    fn admission_registration_number_is_the_telematik_id_of_every_test_card() {
        use kim_testkit::pki::{KeyAlgorithm as Alg, TestPki};
        let pki = TestPki::shared_default().unwrap();
        for card in &pki.cards {
            for alg in Alg::ALL {
                let c = VzdCertificate::parse(&card.enc(alg).certificate_der).unwrap();
                assert_eq!(
                    c.telematik_id.as_deref(),
                    Some(card.spec.telematik_id.as_str())
                );
                let want = if alg == Alg::Rsa2048 {
                    KeyAlgorithm::Rsa
                } else {
                    KeyAlgorithm::Ecc
                };
                assert_eq!(c.algorithm, want);
            }
        }
    }

    #[test]
    fn missing_telematik_id_is_bad_data() {
        let a = attrs(&[("mail", &[b"a@x.kim.telematik"])]);
        let err = VzdEntry::from_attributes("uid=1", &a).unwrap_err();
        assert!(matches!(err, VzdError::BadData { .. }), "{err}");
    }

    #[test]
    fn unreadable_certificate_is_skipped() {
        let a = attrs(&[
            ("telematikid", &[b"1-2.58.1"]),
            ("usercertificate", &[b"\x30\x03\x02\x01\x01"]),
            ("personalentry", &[b"true"]),
        ]);
        let e = VzdEntry::from_attributes("uid=1", &a).unwrap();
        assert_eq!((e.certificates.len(), e.skipped_values), (0, 1));
        assert_eq!(e.personal_entry, Some(true));
        assert!(e.check_telematik_ids().is_ok());
    }
}
