//! Dienstkennung, the `X-KIM-Dienstkennung` header value (kim-spec §2.7, A_19488-02).
//!
//! Format `<Fachanwendung>;<Kategorie>;<Version>`: exactly three non-empty `;`-separated
//! fields of printable ASCII without whitespace. The value is opaque (the version token
//! formats of known values differ: `V1.0`, `V2.1`, `1.1.0`) and compared exactly.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A Dienstkennung such as `eAU;Lieferung;V1.0`, kept exactly as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dienstkennung {
    value: Cow<'static, str>,
    /// Byte index of the first `;`.
    first: usize,
    /// Byte index of the second `;`.
    second: usize,
}

/// Why a string is not a Dienstkennung.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DienstkennungError {
    /// The input is empty.
    #[error("empty")]
    Empty,
    /// Whitespace, a control character or a non-ASCII character.
    #[error("contains {ch:?} at position {position}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its 0-based character position.
        position: usize,
    },
    /// Not exactly three `;`-separated fields.
    #[error(
        "must have exactly 3 ';'-separated fields (<Fachanwendung>;<Kategorie>;<Version>), found {found}"
    )]
    FieldCount {
        /// Number of fields found.
        found: usize,
    },
    /// One of the three fields is empty.
    #[error("field {name} is empty")]
    EmptyField {
        /// `Fachanwendung`, `Kategorie` or `Version`.
        name: &'static str,
    },
}

impl Dienstkennung {
    /// `KIM-Mail;Default;V1.0`, inserted by the Clientmodul when the client set none
    /// (A_19488-02).
    pub const DEFAULT: Self = Self {
        value: Cow::Borrowed("KIM-Mail;Default;V1.0"),
        first: 8,
        second: 16,
    };

    /// `KIM-Mail;Abwesend;V1.0`, used for out-of-office replies.
    pub const ABWESEND: Self = Self {
        value: Cow::Borrowed("KIM-Mail;Abwesend;V1.0"),
        first: 8,
        second: 17,
    };

    /// Validates a Dienstkennung.
    ///
    /// # Errors
    /// [`DienstkennungError`] naming the first rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, DienstkennungError> {
        if input.is_empty() {
            return Err(DienstkennungError::Empty);
        }
        if let Some((position, ch)) = input
            .chars()
            .enumerate()
            .find(|&(_, c)| !c.is_ascii_graphic())
        {
            return Err(DienstkennungError::InvalidChar { ch, position });
        }
        let separators: Vec<usize> = input.match_indices(';').map(|(i, _)| i).collect();
        let [first, second] = separators[..] else {
            return Err(DienstkennungError::FieldCount {
                found: separators.len() + 1,
            });
        };
        let parsed = Self {
            value: Cow::Owned(input.to_owned()),
            first,
            second,
        };
        for (name, field) in [
            ("Fachanwendung", parsed.fachanwendung()),
            ("Kategorie", parsed.kategorie()),
            ("Version", parsed.version()),
        ] {
            if field.is_empty() {
                return Err(DienstkennungError::EmptyField { name });
            }
        }
        Ok(parsed)
    }

    /// The whole value exactly as parsed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// First field, e.g. `KIM-Mail`, `eAU`, `Arztbrief`.
    #[must_use]
    pub fn fachanwendung(&self) -> &str {
        self.value.get(..self.first).unwrap_or_default()
    }

    /// Second field, e.g. `Default`, `Lieferung`.
    #[must_use]
    pub fn kategorie(&self) -> &str {
        self.value
            .get(self.first + 1..self.second)
            .unwrap_or_default()
    }

    /// Third field, e.g. `V1.0` or `1.1.0`.
    #[must_use]
    pub fn version(&self) -> &str {
        self.value.get(self.second + 1..).unwrap_or_default()
    }
}

impl fmt::Display for Dienstkennung {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for Dienstkennung {
    type Err = DienstkennungError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn constants_equal_their_parsed_form() {
        for (constant, text, fields) in [
            (
                Dienstkennung::DEFAULT,
                "KIM-Mail;Default;V1.0",
                ("KIM-Mail", "Default", "V1.0"),
            ),
            (
                Dienstkennung::ABWESEND,
                "KIM-Mail;Abwesend;V1.0",
                ("KIM-Mail", "Abwesend", "V1.0"),
            ),
        ] {
            let parsed = Dienstkennung::parse(text).unwrap();
            assert_eq!(constant, parsed);
            assert_eq!(constant.as_str(), text);
            let got = (
                constant.fachanwendung(),
                constant.kategorie(),
                constant.version(),
            );
            assert_eq!(got, fields);
        }
    }

    #[test]
    fn accepts_known_values() {
        let cases = [
            ("eAU;Lieferung;V1.0", ("eAU", "Lieferung", "V1.0")),
            ("eAU;Storno-Arzt;V1.0", ("eAU", "Storno-Arzt", "V1.0")),
            (
                "Arztbrief;VHitG-Versand;V1.2",
                ("Arztbrief", "VHitG-Versand", "V1.2"),
            ),
            (
                "eNachricht;Lieferung;V2.1",
                ("eNachricht", "Lieferung", "V2.1"),
            ),
            (
                "1ClickAbrechnung;Lieferung;V2.0",
                ("1ClickAbrechnung", "Lieferung", "V2.0"),
            ),
            ("EBZ;ANW;1.1.0", ("EBZ", "ANW", "1.1.0")),
        ];
        for (text, (a, k, v)) in cases {
            let d: Dienstkennung = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!((d.fachanwendung(), d.kategorie(), d.version()), (a, k, v));
        }
    }

    #[test]
    fn rejects_with_reason() {
        use DienstkennungError as E;
        let cases: &[(&str, DienstkennungError)] = &[
            ("", E::Empty),
            (
                "KIM-Mail; Default;V1.0",
                E::InvalidChar {
                    ch: ' ',
                    position: 9,
                },
            ),
            (
                "KIM-Mail;Default;V1.0\r\n",
                E::InvalidChar {
                    ch: '\r',
                    position: 21,
                },
            ),
            (
                "eAU;Bestätigung;V1.0",
                E::InvalidChar {
                    ch: 'ä',
                    position: 8,
                },
            ),
            ("eEB;V1.0", E::FieldCount { found: 2 }),
            ("KIM-Mail", E::FieldCount { found: 1 }),
            ("a;b;c;d", E::FieldCount { found: 4 }),
            (
                ";Default;V1.0",
                E::EmptyField {
                    name: "Fachanwendung",
                },
            ),
            ("KIM-Mail;;V1.0", E::EmptyField { name: "Kategorie" }),
            ("KIM-Mail;Default;", E::EmptyField { name: "Version" }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Dienstkennung::parse(input).as_ref(),
                Err(expected),
                "{input:?}"
            );
        }
        assert_eq!(
            Dienstkennung::parse("eEB;V1.0").unwrap_err().to_string(),
            "must have exactly 3 ';'-separated fields (<Fachanwendung>;<Kategorie>;<Version>), found 2"
        );
    }

    #[test]
    fn comparison_is_exact() {
        let lower = Dienstkennung::parse("kim-mail;default;v1.0").unwrap();
        assert_ne!(lower, Dienstkennung::DEFAULT);
    }
}
