//! The rule shared by opaque identifiers (Telematik-ID, Konnektor call-context ids,
//! KonnektorId): non-empty, bounded length, printable ASCII without whitespace and without
//! `#` (the user-name field separator).

/// What is wrong with an identifier, independent of which identifier it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdProblem {
    /// The value is empty.
    #[error("empty")]
    Empty,
    /// The value is longer than allowed.
    #[error("too long ({len} characters, at most {max})")]
    TooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// The value contains whitespace, `#`, a control or a non-ASCII character.
    #[error("contains {ch:?} at position {position}")]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its 0-based character position.
        position: usize,
    },
    /// The value is exactly `*`, which user names use as the placeholder for "not given".
    #[error("'*' is reserved as the placeholder for \"not given\"")]
    Placeholder,
}

/// An identifier that failed validation: which kind of identifier, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {problem}")]
pub struct IdError {
    kind: &'static str,
    problem: IdProblem,
}

impl IdError {
    pub(crate) fn new(kind: &'static str, problem: IdProblem) -> Self {
        Self { kind, problem }
    }

    /// The name of the identifier, e.g. `"MandantId"` or `"Telematik-ID"`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// What is wrong with it.
    #[must_use]
    pub fn problem(&self) -> IdProblem {
        self.problem
    }
}

/// Checks `value` against the shared identifier rule with at most `max` characters.
pub(crate) fn check_id(value: &str, max: usize) -> Result<(), IdProblem> {
    if value.is_empty() {
        return Err(IdProblem::Empty);
    }
    let allowed = |c: char| c.is_ascii_graphic() && c != '#';
    if let Some((position, ch)) = value.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(IdProblem::InvalidChar { ch, position });
    }
    // All ASCII from here on, so bytes are characters.
    if value.len() > max {
        return Err(IdProblem::TooLong {
            len: value.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_id_table() {
        let long = "x".repeat(9);
        let cases: &[(&str, Result<(), IdProblem>)] = &[
            ("a", Ok(())),
            (
                "!~*'\"$%&()+,-./:;<=>?@[]^_`{|}",
                Err(IdProblem::TooLong { len: 30, max: 8 }),
            ),
            ("KOM_LE", Ok(())),
            ("12345678", Ok(())),
            (&long, Err(IdProblem::TooLong { len: 9, max: 8 })),
            ("", Err(IdProblem::Empty)),
            (
                "a b",
                Err(IdProblem::InvalidChar {
                    ch: ' ',
                    position: 1,
                }),
            ),
            (
                "a#b",
                Err(IdProblem::InvalidChar {
                    ch: '#',
                    position: 1,
                }),
            ),
            (
                "a\tb",
                Err(IdProblem::InvalidChar {
                    ch: '\t',
                    position: 1,
                }),
            ),
            (
                "\u{7f}",
                Err(IdProblem::InvalidChar {
                    ch: '\u{7f}',
                    position: 0,
                }),
            ),
            (
                "Straße",
                Err(IdProblem::InvalidChar {
                    ch: 'ß',
                    position: 4,
                }),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(&check_id(input, 8), expected, "{input:?}");
        }
        assert_eq!(check_id("!~*'\"$%&()+,-./:;<=>?@[]^_`{|}", 64), Ok(()));
    }

    #[test]
    fn error_display_names_kind_and_problem() {
        let e = IdError::new(
            "MandantId",
            IdProblem::InvalidChar {
                ch: ' ',
                position: 3,
            },
        );
        assert_eq!(e.to_string(), "MandantId: contains ' ' at position 3");
        assert_eq!(e.kind(), "MandantId");
    }
}
