//! Telematik-ID: the unique id of an institution or person in the TI, carried in the VZD
//! attribute `telematikID` and in the Admission extension of certificates (kim-spec §10).

use std::fmt;
use std::str::FromStr;

use crate::id::{IdError, check_id};

/// Maximum length of a Telematik-ID in characters.
pub const TELEMATIK_ID_MAX_LEN: usize = 128;

/// A Telematik-ID such as `1-2-ARZT-1234` or `5-2-123456789`, kept exactly as given.
///
/// The content is opaque here (the prefix scheme varies by issuer); it is non-empty, at most
/// 128 characters of printable ASCII without whitespace and without `#`, and compared exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TelematikId(String);

impl TelematikId {
    /// Validates and wraps a Telematik-ID.
    ///
    /// # Errors
    /// [`IdError`] of kind `"Telematik-ID"` if the value is empty, too long or contains a
    /// character outside printable ASCII, whitespace or `#`.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        check_id(input, TELEMATIK_ID_MAX_LEN)
            .map_err(|problem| IdError::new("Telematik-ID", problem))?;
        Ok(Self(input.to_owned()))
    }

    /// The Telematik-ID exactly as parsed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TelematikId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TelematikId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::id::IdProblem;

    #[test]
    fn accepts_known_shapes() {
        let max = "9".repeat(128);
        for input in [
            "1-2-ARZT-1234",
            "5-2-123456789",
            "2-290002-NOT-VALID",
            "1-20014060625",
            "3-SMC-B-Testkarte-883110000092568",
            "9-2.58.00000040",
            "*",
            &max,
        ] {
            let id = TelematikId::parse(input).unwrap();
            assert_eq!(id.as_str(), input);
            assert_eq!(id.to_string(), input);
        }
    }

    #[test]
    fn rejects_with_reason() {
        let long = "9".repeat(129);
        let cases: &[(&str, IdProblem)] = &[
            ("", IdProblem::Empty),
            (&long, IdProblem::TooLong { len: 129, max: 128 }),
            (
                "1-2-ARZT 1234",
                IdProblem::InvalidChar {
                    ch: ' ',
                    position: 8,
                },
            ),
            (
                "1-2#3",
                IdProblem::InvalidChar {
                    ch: '#',
                    position: 3,
                },
            ),
            (
                "1-2-ÄRZT",
                IdProblem::InvalidChar {
                    ch: 'Ä',
                    position: 4,
                },
            ),
            (
                "1-2\n",
                IdProblem::InvalidChar {
                    ch: '\n',
                    position: 3,
                },
            ),
        ];
        for (input, problem) in cases {
            let err = TelematikId::parse(input).unwrap_err();
            assert_eq!(err.problem(), *problem, "{input:?}");
            assert_eq!(err.kind(), "Telematik-ID");
        }
        assert_eq!(
            TelematikId::parse("").unwrap_err().to_string(),
            "Telematik-ID: empty"
        );
    }

    #[test]
    fn comparison_is_exact() {
        let a = TelematikId::parse("1-2-arzt-1234").unwrap();
        let b = TelematikId::parse("1-2-ARZT-1234").unwrap();
        assert_ne!(a, b);
        assert_eq!(a, "1-2-arzt-1234".parse().unwrap());
    }
}
