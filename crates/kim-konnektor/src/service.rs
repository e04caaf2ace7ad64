//! The Konnektor base services KIM calls, their three-part versions and the body namespaces
//! that belong to them (konnektor.md §1.1).

use std::fmt;

use crate::model::ValueError;
use crate::xml::ns;

/// A Konnektor base service as named in `connector.sds` (`SI:Service/@Name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// EventService 7.2.
    EventService,
    /// CardService 8.1.
    CardService,
    /// CertificateService 6.0.
    CertificateService,
    /// SignatureService 7.4 / 7.5.
    SignatureService,
    /// EncryptionService 6.1.
    EncryptionService,
    /// AuthSignatureService 7.4.
    AuthSignatureService,
}

impl Service {
    /// Every service, in the order above.
    pub const ALL: &'static [Service] = &[
        Service::EventService,
        Service::CardService,
        Service::CertificateService,
        Service::SignatureService,
        Service::EncryptionService,
        Service::AuthSignatureService,
    ];

    /// The SDS name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::EventService => "EventService",
            Self::CardService => "CardService",
            Self::CertificateService => "CertificateService",
            Self::SignatureService => "SignatureService",
            Self::EncryptionService => "EncryptionService",
            Self::AuthSignatureService => "AuthSignatureService",
        }
    }

    /// Looks a service up by its SDS name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The WSDL target namespaces (as listed in `SI:Version/@TargetNamespace`) this crate
    /// implements for the service, with the major.minor they stand for.
    #[must_use]
    pub fn wsdl_namespaces(self) -> &'static [(&'static str, u32, u32)] {
        match self {
            Self::EventService => &[("http://ws.gematik.de/conn/EventService/WSDL/v7.2", 7, 2)],
            Self::CardService => &[("http://ws.gematik.de/conn/CardService/WSDL/v8.1", 8, 1)],
            Self::CertificateService => &[(
                "http://ws.gematik.de/conn/CertificateService/WSDL/v6.0",
                6,
                0,
            )],
            Self::SignatureService => &[
                ("http://ws.gematik.de/conn/SignatureService/WSDL/v7.5", 7, 5),
                ("http://ws.gematik.de/conn/SignatureService/WSDL/v7.4", 7, 4),
            ],
            Self::EncryptionService => &[(
                "http://ws.gematik.de/conn/EncryptionService/WSDL/v6.1",
                6,
                1,
            )],
            Self::AuthSignatureService => &[(
                "http://ws.gematik.de/conn/AuthSignatureService/WSDL/v7.4",
                7,
                4,
            )],
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A three-part WSDL version `major.minor.patch` (ordering is numeric per part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl ServiceVersion {
    /// Builds a version.
    #[must_use]
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `a.b.c` (each part 1..=3 digits).
    ///
    /// # Errors
    /// [`ValueError`] when the text is not three dot-separated numbers.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::new("Version", text, "must be three-part a.b.c");
        let mut parts = text.split('.');
        let mut next = || -> Result<u32, ValueError> {
            let p = parts.next().ok_or_else(bad)?;
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse().map_err(|_| bad())
        };
        let v = Self::new(next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(v)
    }
}

impl fmt::Display for ServiceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The two body namespaces of the SignatureService (konnektor.md §1.1): SignDocument,
/// VerifyDocument and GetJobNumber exist in both; ExternalAuthenticate only in v7.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigNamespace {
    /// `http://ws.gematik.de/conn/SignatureService/v7.4`.
    V7_4,
    /// `http://ws.gematik.de/conn/SignatureService/v7.5`.
    V7_5,
}

impl SigNamespace {
    /// The namespace URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::V7_4 => ns::SIG74,
            Self::V7_5 => ns::SIG75,
        }
    }

    /// The namespace for a negotiated SignatureService version (7.5.x → v7.5, else v7.4).
    #[must_use]
    pub fn for_version(version: &ServiceVersion) -> Self {
        if (version.major, version.minor) >= (7, 5) {
            Self::V7_5
        } else {
            Self::V7_4
        }
    }

    /// The namespace whose URI is `uri`.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        match uri {
            ns::SIG74 => Some(Self::V7_4),
            ns::SIG75 => Some(Self::V7_5),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn versions_order_numerically() {
        let a = ServiceVersion::parse("7.4.10").unwrap();
        let b = ServiceVersion::parse("7.5.1").unwrap();
        let c = ServiceVersion::parse("7.4.9").unwrap();
        assert!(c < a && a < b);
        assert_eq!(a.to_string(), "7.4.10");
        for bad in ["7.4", "7.4.1.2", "7..1", "a.b.c", "1234.0.0", ""] {
            assert!(ServiceVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sig_namespace_by_version() {
        assert_eq!(
            SigNamespace::for_version(&ServiceVersion::new(7, 5, 6)),
            SigNamespace::V7_5
        );
        assert_eq!(
            SigNamespace::for_version(&ServiceVersion::new(7, 4, 2)),
            SigNamespace::V7_4
        );
    }
}
