//! KIM versions as published in the VZD (`komLeData`, `kimData`; kim-spec §10, §11) and
//! registered via the Account Manager (`kimVersion`, §6.3).

use std::fmt;
use std::str::FromStr;

/// The KIM version of an address: the highest Clientmodul version its owner uses.
///
/// Ordered `1.0 < 1.5 < 1.5+`. [`Default`] is `1.0`, the version to assume when a VZD entry
/// carries no `komLeData` for an address (kim-spec §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum KimVersion {
    /// `1.0`: KOM-LE 1.0, no KAS.
    #[default]
    V1_0,
    /// `1.5`: can receive KIM 1.5 messages, including KIM-Attachment (KAS) references.
    V1_5,
    /// `1.5+`: as `1.5`, plus the owner's consent to receive large messages (> 15 MiB) via KAS
    /// (A_23505); a sending Clientmodul drops such recipients of large messages otherwise.
    V1_5Plus,
}

/// Why a string is not a known KIM version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KIM version {value:?} (known: 1.0, 1.5, 1.5+)")]
pub struct VersionError {
    value: String,
}

/// Longest value echoed back in a [`VersionError`]; VZD values are short, anything longer is
/// garbage not worth repeating in full.
const ECHO_MAX: usize = 16;

impl KimVersion {
    /// All versions in ascending order.
    pub const ALL: [Self; 3] = [Self::V1_0, Self::V1_5, Self::V1_5Plus];

    /// Parses `1.0`, `1.5` or `1.5+` (exactly; no surrounding whitespace).
    ///
    /// # Errors
    /// [`VersionError`] for anything else, including `2.0` (defined only by the FHIR
    /// directory).
    pub fn parse(input: &str) -> Result<Self, VersionError> {
        match input {
            "1.0" => Ok(Self::V1_0),
            "1.5" => Ok(Self::V1_5),
            "1.5+" => Ok(Self::V1_5Plus),
            other => Err(VersionError {
                value: other.chars().take(ECHO_MAX).collect(),
            }),
        }
    }

    /// The wire form: `1.0`, `1.5` or `1.5+`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
            Self::V1_5 => "1.5",
            Self::V1_5Plus => "1.5+",
        }
    }

    /// `true` only for `1.5+`: the owner accepts messages larger than 15 MiB.
    #[must_use]
    pub fn supports_large_messages(self) -> bool {
        self == Self::V1_5Plus
    }

    /// `true` for `1.5` and `1.5+`: the owner's Clientmodul can resolve KIM-Attachment (KAS)
    /// references.
    #[must_use]
    pub fn is_kas_capable(self) -> bool {
        self >= Self::V1_5
    }
}

impl fmt::Display for KimVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KimVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parse_display_and_capabilities() {
        let table = [
            ("1.0", KimVersion::V1_0, false, false),
            ("1.5", KimVersion::V1_5, false, true),
            ("1.5+", KimVersion::V1_5Plus, true, true),
        ];
        for (text, version, large, kas) in table {
            assert_eq!(KimVersion::parse(text), Ok(version));
            assert_eq!(version.to_string(), text);
            assert_eq!(version.supports_large_messages(), large, "{text}");
            assert_eq!(version.is_kas_capable(), kas, "{text}");
        }
    }

    #[test]
    fn ordering_and_default() {
        assert!(KimVersion::V1_0 < KimVersion::V1_5);
        assert!(KimVersion::V1_5 < KimVersion::V1_5Plus);
        let mut sorted = [KimVersion::V1_5Plus, KimVersion::V1_0, KimVersion::V1_5];
        sorted.sort();
        assert_eq!(sorted, KimVersion::ALL);
        assert_eq!(KimVersion::default(), KimVersion::V1_0);
    }

    #[test]
    fn rejects_unknown_values() {
        for bad in [
            "", "1", "1.5.2", "2.0", " 1.5", "1.5 ", "1.5++", "V1.0", "1,5",
        ] {
            assert!(KimVersion::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            KimVersion::parse("2.0").unwrap_err().to_string(),
            r#"unknown KIM version "2.0" (known: 1.0, 1.5, 1.5+)"#
        );
        let long = "9".repeat(100);
        let message = KimVersion::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 70, "{message}");
    }
}
