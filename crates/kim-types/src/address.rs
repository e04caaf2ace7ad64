//! KIM e-mail addresses (kim-spec §1: FAQ "Zeichensatz KIM-Adressen", A_21455-01).
//!
//! Two rule sets exist:
//!
//! * **Reading** ([`KimAddress::parse`]) is tolerant, because addresses arrive from foreign
//!   systems and from gematik's own samples (`mustersender@komle.de`,
//!   `erik.mustermann@hrst_domain.kim.telematik`): exactly one `@`; local part 1–64
//!   characters of `A-Z a-z 0-9 . _ -`; domain 1–189 characters of letters (either case),
//!   digits, `.`, `-` and `_`, made of non-empty labels that neither start nor end with `-`;
//!   the whole address at most 254 characters.
//!
//!   Accepting `_` in the domain is a deliberate deviation from the letter of §1 (which allows
//!   only `a-z 0-9 . -` there): the spec's own user-name examples use the domain
//!   `hrst_domain.kim.telematik`, and an address we cannot read is an address we cannot answer.
//! * **Registration** ([`KimAddress::parse_for_registration`]) is what a Fachdienst accepts for
//!   a new account: local part 1–59 characters of ASCII letters (no umlauts), digits, `.`, `_`,
//!   `-`, where `.`, `_`, `-` neither start nor end it; domain as for reading but lower case
//!   only and without `_` (§1: `a-z 0-9 . -`), ending in `.kim.telematik` (production) or
//!   `.kim.telematik-test` (reference and test environments); whole at most 254 characters.
//!
//! Addresses are compared ASCII-case-insensitively but never rewritten (FAQ): `as_str` and
//! `Display` return exactly what was parsed.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Maximum length of the whole address in characters.
pub const ADDRESS_MAX_LEN: usize = 254;
/// Maximum length of the local part when reading.
pub const LOCAL_PART_MAX_LEN: usize = 64;
/// Maximum length of the local part of an address being registered.
pub const REGISTRATION_LOCAL_PART_MAX_LEN: usize = 59;
/// Maximum length of the domain.
pub const DOMAIN_MAX_LEN: usize = 189;

const PRODUCTION_SUFFIX: &str = ".kim.telematik";
const TEST_SUFFIX: &str = ".kim.telematik-test";

/// A syntactically valid KIM address, kept exactly as given.
///
/// Equality, hashing and ordering ignore ASCII case (the address is ASCII-only by
/// construction), consistently with each other.
///
/// ```
/// use kim_types::{AddressError, KimAddress};
///
/// // The spec's own example domain contains '_': readable, but not registrable.
/// let a = KimAddress::parse("erik.mustermann@hrst_domain.kim.telematik")?;
/// assert_eq!(a.domain(), "hrst_domain.kim.telematik");
/// assert_eq!(
///     KimAddress::parse_for_registration(a.as_str()),
///     Err(AddressError::DomainChar { ch: '_', position: 4 })
/// );
/// assert_eq!(a, KimAddress::parse("ERIK.Mustermann@hrst_domain.kim.telematik")?);
/// # Ok::<(), AddressError>(())
/// ```
#[derive(Clone)]
pub struct KimAddress {
    value: String,
    /// Byte index of the single `@` in `value`.
    at: usize,
}

/// Why a string is not a KIM address. Positions are 0-based character indices within the
/// named part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The input is empty.
    #[error("empty")]
    Empty,
    /// The whole address is longer than 254 characters.
    #[error("too long ({len} characters, at most {max})")]
    TooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// There is no `@`.
    #[error("contains no '@'")]
    MissingAt,
    /// There is more than one `@`.
    #[error("contains a second '@' at position {position}")]
    SecondAt {
        /// Position of the second `@` in the whole address.
        position: usize,
    },
    /// Nothing before the `@`.
    #[error("local part is empty")]
    LocalPartEmpty,
    /// The local part is too long.
    #[error("local part too long ({len} characters, at most {max})")]
    LocalPartTooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed by the rule set in use.
        max: usize,
    },
    /// The local part contains a character outside the allowed set.
    #[error("local part contains {ch:?} at position {position}")]
    LocalPartChar {
        /// The offending character.
        ch: char,
        /// Its position within the local part.
        position: usize,
    },
    /// Registration only: the local part starts or ends with `.`, `_` or `-`.
    #[error("local part must not start or end with {ch:?}")]
    LocalPartEdge {
        /// The offending character.
        ch: char,
    },
    /// Nothing after the `@`.
    #[error("domain is empty")]
    DomainEmpty,
    /// The domain is too long.
    #[error("domain too long ({len} characters, at most {max})")]
    DomainTooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// The domain contains a character outside the allowed set (for registration this
    /// includes `_` and upper-case letters).
    #[error("domain contains {ch:?} at position {position}")]
    DomainChar {
        /// The offending character.
        ch: char,
        /// Its position within the domain.
        position: usize,
    },
    /// The domain has an empty label (leading, trailing or doubled `.`).
    #[error("domain has an empty label at position {position}")]
    DomainEmptyLabel {
        /// Position within the domain where the empty label starts.
        position: usize,
    },
    /// A domain label starts or ends with `-`.
    #[error("domain label {label:?} starts or ends with '-'")]
    DomainLabelHyphen {
        /// The offending label.
        label: String,
    },
    /// Registration only: the domain is not a KIM domain.
    #[error("domain must end in .kim.telematik or .kim.telematik-test")]
    DomainSuffix,
}

/// Which rule set applies.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    Reading,
    Registration,
}

impl KimAddress {
    /// Parses an address with the tolerant reading rules (see the module docs).
    ///
    /// # Errors
    /// [`AddressError`] naming the first rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        Self::parse_with(input, Rules::Reading)
    }

    /// Parses an address with the stricter rules for registering a new KIM account.
    ///
    /// # Errors
    /// [`AddressError`] naming the first rule the input breaks.
    pub fn parse_for_registration(input: &str) -> Result<Self, AddressError> {
        Self::parse_with(input, Rules::Registration)
    }

    fn parse_with(input: &str, rules: Rules) -> Result<Self, AddressError> {
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        let len = input.chars().count();
        if len > ADDRESS_MAX_LEN {
            return Err(AddressError::TooLong {
                len,
                max: ADDRESS_MAX_LEN,
            });
        }
        let at = input.find('@').ok_or(AddressError::MissingAt)?;
        let (local, rest) = input.split_at(at);
        let domain = rest.get(1..).unwrap_or_default();
        if let Some(second) = domain.find('@') {
            let before = domain.get(..second).map_or(0, |s| s.chars().count());
            let position = local.chars().count() + 1 + before;
            return Err(AddressError::SecondAt { position });
        }
        check_local_part(local, rules)?;
        check_domain(domain, rules)?;
        Ok(Self {
            value: input.to_owned(),
            at,
        })
    }

    /// The address exactly as parsed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The part before the `@`, as parsed.
    #[must_use]
    pub fn local_part(&self) -> &str {
        self.value.get(..self.at).unwrap_or_default()
    }

    /// The part after the `@`, as parsed.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.value.get(self.at + 1..).unwrap_or_default()
    }

    /// `true` if the domain ends in `.kim.telematik` (production environment, PU).
    #[must_use]
    pub fn is_production(&self) -> bool {
        ends_with_ignore_case(self.domain(), PRODUCTION_SUFFIX)
    }

    /// `true` if the domain ends in `.kim.telematik-test` (reference/test environments, RU/TU).
    #[must_use]
    pub fn is_test(&self) -> bool {
        ends_with_ignore_case(self.domain(), TEST_SUFFIX)
    }

    fn folded_bytes(&self) -> impl Iterator<Item = u8> + '_ {
        self.value.bytes().map(|b| b.to_ascii_lowercase())
    }
}

fn ends_with_ignore_case(value: &str, suffix: &str) -> bool {
    value.len() >= suffix.len()
        && value
            .get(value.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

fn check_local_part(local: &str, rules: Rules) -> Result<(), AddressError> {
    if local.is_empty() {
        return Err(AddressError::LocalPartEmpty);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if let Some((position, ch)) = local.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(AddressError::LocalPartChar { ch, position });
    }
    let max = match rules {
        Rules::Reading => LOCAL_PART_MAX_LEN,
        Rules::Registration => REGISTRATION_LOCAL_PART_MAX_LEN,
    };
    if local.len() > max {
        return Err(AddressError::LocalPartTooLong {
            len: local.len(),
            max,
        });
    }
    if rules == Rules::Registration {
        let edges = [local.chars().next(), local.chars().next_back()];
        if let Some(ch) = edges
            .into_iter()
            .flatten()
            .find(|c| !c.is_ascii_alphanumeric())
        {
            return Err(AddressError::LocalPartEdge { ch });
        }
    }
    Ok(())
}

fn check_domain(domain: &str, rules: Rules) -> Result<(), AddressError> {
    if domain.is_empty() {
        return Err(AddressError::DomainEmpty);
    }
    let allowed = |c: char| match rules {
        Rules::Reading => c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'),
        Rules::Registration => {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')
        }
    };
    if let Some((position, ch)) = domain.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(AddressError::DomainChar { ch, position });
    }
    if domain.len() > DOMAIN_MAX_LEN {
        return Err(AddressError::DomainTooLong {
            len: domain.len(),
            max: DOMAIN_MAX_LEN,
        });
    }
    check_labels(domain).map_err(|problem| match problem {
        LabelProblem::Empty { position } => AddressError::DomainEmptyLabel { position },
        LabelProblem::Hyphen { label } => AddressError::DomainLabelHyphen { label },
    })?;
    if rules == Rules::Registration
        && !ends_with_ignore_case(domain, PRODUCTION_SUFFIX)
        && !ends_with_ignore_case(domain, TEST_SUFFIX)
    {
        return Err(AddressError::DomainSuffix);
    }
    Ok(())
}

/// A problem with the label structure of a DNS-style name (shared with server host names).
pub(crate) enum LabelProblem {
    /// Empty label starting at this (character) position.
    Empty { position: usize },
    /// A label starting or ending with `-`.
    Hyphen { label: String },
}

/// Checks that every `.`-separated label of an ASCII `name` is non-empty and neither starts
/// nor ends with `-`.
pub(crate) fn check_labels(name: &str) -> Result<(), LabelProblem> {
    let mut position = 0;
    for label in name.split('.') {
        if label.is_empty() {
            return Err(LabelProblem::Empty { position });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(LabelProblem::Hyphen {
                label: label.to_owned(),
            });
        }
        position += label.len() + 1;
    }
    Ok(())
}

impl fmt::Display for KimAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl fmt::Debug for KimAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KimAddress").field(&self.value).finish()
    }
}

impl FromStr for KimAddress {
    type Err = AddressError;

    /// Same as [`KimAddress::parse`] (reading rules).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl PartialEq for KimAddress {
    fn eq(&self, other: &Self) -> bool {
        self.value.eq_ignore_ascii_case(&other.value)
    }
}

impl Eq for KimAddress {}

impl Hash for KimAddress {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for byte in self.folded_bytes() {
            state.write_u8(byte);
        }
        // Terminator, as `str` does, so that concatenated hashes stay prefix-free.
        state.write_u8(0xff);
    }
}

impl PartialOrd for KimAddress {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KimAddress {
    fn cmp(&self, other: &Self) -> Ordering {
        self.folded_bytes().cmp(other.folded_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]

    use super::*;
    use proptest::prelude::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of(a: &KimAddress) -> u64 {
        let mut h = DefaultHasher::new();
        a.hash(&mut h);
        h.finish()
    }

    #[test]
    fn reading_accepts_spec_and_foreign_addresses() {
        let local64 = "a".repeat(64);
        let domain189 = format!("{}.kim.telematik", "d".repeat(189 - 14));
        let good = [
            "erik.mustermann@hrst_domain.kim.telematik",
            "mustersender@komle.de",
            "musterempfaenger@komle.de",
            "Praxis.Nachname.BSNR@elefant.kim.telematik",
            "mc_smcb_za@dom1.komle.telematik-test",
            "-leading.dot-@x.kim.telematik",
            ".a@B-C.D",
            "a@b",
            &format!("{local64}@x.de"),
            &format!("a@{domain189}"),
        ];
        for input in good {
            let address = KimAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(address.as_str(), input);
            assert_eq!(address.to_string(), input);
            let (local, domain) = input.split_once('@').unwrap();
            assert_eq!(address.local_part(), local);
            assert_eq!(address.domain(), domain);
        }
    }

    #[test]
    fn reading_rejects_with_precise_errors() {
        use AddressError as E;
        let long_local = format!("{}@x.de", "a".repeat(65));
        let long_domain = format!("a@{}", "d".repeat(190));
        let long_whole = format!("{}@{}", "a".repeat(64), "d".repeat(190));
        let cases: &[(&str, AddressError)] = &[
            ("", E::Empty),
            ("erik.mustermann", E::MissingAt),
            ("a@b@c", E::SecondAt { position: 3 }),
            ("@x.de", E::LocalPartEmpty),
            ("a@", E::DomainEmpty),
            (
                "erik mustermann@x.de",
                E::LocalPartChar {
                    ch: ' ',
                    position: 4,
                },
            ),
            (
                "jürgen@x.de",
                E::LocalPartChar {
                    ch: 'ü',
                    position: 1,
                },
            ),
            (
                "a+b@x.de",
                E::LocalPartChar {
                    ch: '+',
                    position: 1,
                },
            ),
            (
                "a#b@x.de",
                E::LocalPartChar {
                    ch: '#',
                    position: 1,
                },
            ),
            (
                "a@x.de ",
                E::DomainChar {
                    ch: ' ',
                    position: 4,
                },
            ),
            (
                "a@müller.de",
                E::DomainChar {
                    ch: 'ü',
                    position: 1,
                },
            ),
            (
                "a@[1.2.3.4]",
                E::DomainChar {
                    ch: '[',
                    position: 0,
                },
            ),
            ("a@.x.de", E::DomainEmptyLabel { position: 0 }),
            ("a@x..de", E::DomainEmptyLabel { position: 2 }),
            ("a@x.de.", E::DomainEmptyLabel { position: 5 }),
            ("a@-x.de", E::DomainLabelHyphen { label: "-x".into() }),
            (
                "a@x.de-",
                E::DomainLabelHyphen {
                    label: "de-".into(),
                },
            ),
            (&long_local, E::LocalPartTooLong { len: 65, max: 64 }),
            (&long_domain, E::DomainTooLong { len: 190, max: 189 }),
            (&long_whole, E::TooLong { len: 255, max: 254 }),
        ];
        for (input, expected) in cases {
            assert_eq!(KimAddress::parse(input).as_ref(), Err(expected), "{input}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = KimAddress::parse("erik mustermann@x.de").unwrap_err();
        assert_eq!(e.to_string(), "local part contains ' ' at position 4");
        let e = KimAddress::parse_for_registration("a@x.de").unwrap_err();
        assert_eq!(
            e.to_string(),
            "domain must end in .kim.telematik or .kim.telematik-test"
        );
    }

    #[test]
    fn registration_accepts_kim_domains() {
        let local59 = "a".repeat(59);
        let good = [
            "erik.mustermann@praxis.kim.telematik",
            "Praxis.Nachname.BSNR@elefant.kim.telematik",
            "a_b-c.d@x.kim.telematik-test",
            "a@x.kim.telematik",
            "0@a-b.kim.telematik",
            &format!("{local59}@x.kim.telematik"),
        ];
        for input in good {
            let a = KimAddress::parse_for_registration(input)
                .unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(a.as_str(), input);
        }
    }

    #[test]
    fn registration_rejects_what_reading_tolerates() {
        use AddressError as E;
        let local60 = format!("{}@x.kim.telematik", "a".repeat(60));
        let cases: &[(&str, AddressError)] = &[
            (
                "erik.mustermann@hrst_domain.kim.telematik",
                E::DomainChar {
                    ch: '_',
                    position: 4,
                },
            ),
            (
                "a@X.kim.telematik",
                E::DomainChar {
                    ch: 'X',
                    position: 0,
                },
            ),
            ("mustersender@komle.de", E::DomainSuffix),
            ("a@kim.telematik", E::DomainSuffix),
            ("a@x.kim.telematik-tests", E::DomainSuffix),
            ("a@x.kim.telematik.de", E::DomainSuffix),
            ("a@.kim.telematik", E::DomainEmptyLabel { position: 0 }),
            (".a@x.kim.telematik", E::LocalPartEdge { ch: '.' }),
            ("a_@x.kim.telematik", E::LocalPartEdge { ch: '_' }),
            ("-@x.kim.telematik", E::LocalPartEdge { ch: '-' }),
            (
                "jörg@x.kim.telematik",
                E::LocalPartChar {
                    ch: 'ö',
                    position: 1,
                },
            ),
            (&local60, E::LocalPartTooLong { len: 60, max: 59 }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                KimAddress::parse_for_registration(input).as_ref(),
                Err(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn environment_by_domain_suffix() {
        let cases = [
            ("a@x.kim.telematik", true, false),
            ("a@x.KIM.Telematik", true, false),
            ("a@x.kim.telematik-test", false, true),
            ("a@x.KIM.TELEMATIK-TEST", false, true),
            ("a@kim.telematik", false, false),
            ("mustersender@komle.de", false, false),
            ("a@x.kim.telematik.de", false, false),
        ];
        for (input, production, test) in cases {
            let a = KimAddress::parse(input).unwrap();
            assert_eq!(
                (a.is_production(), a.is_test()),
                (production, test),
                "{input}"
            );
        }
    }

    #[test]
    fn comparison_ignores_ascii_case_but_keeps_the_original() {
        let a = KimAddress::parse("Erik.Mustermann@Praxis.KIM.telematik").unwrap();
        let b = KimAddress::parse("erik.mustermann@praxis.kim.telematik").unwrap();
        let c = KimAddress::parse("erik.mustermann@praxis.kim.telematik-test").unwrap();
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert_eq!(a.cmp(&b), Ordering::Equal);
        assert_ne!(a, c);
        assert_eq!(a.as_str(), "Erik.Mustermann@Praxis.KIM.telematik");
        assert_eq!(
            format!("{a:?}"),
            r#"KimAddress("Erik.Mustermann@Praxis.KIM.telematik")"#
        );
        // Ordering is by folded bytes: "B" sorts after "a" although 'B' < 'a' in ASCII.
        let lower = KimAddress::parse("a@x.de").unwrap();
        let upper = KimAddress::parse("B@x.de").unwrap();
        assert!(lower < upper);
    }

    fn address_strategy() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9._-]{1,20}",
            "[A-Za-z0-9]{1,10}(\\.[A-Za-z0-9]{1,10}){0,3}",
        )
            .prop_map(|(l, d)| format!("{l}@{d}"))
    }

    fn flip_case(s: &str, mask: &[bool]) -> String {
        s.chars()
            .zip(mask.iter().cycle())
            .map(|(c, &flip)| {
                if !flip {
                    c
                } else if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn eq_hash_ord_agree_under_case_changes(
            s in address_strategy(),
            mask in proptest::collection::vec(any::<bool>(), 1..8),
        ) {
            let a = KimAddress::parse(&s).unwrap();
            let b = KimAddress::parse(&flip_case(&s, &mask)).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(hash_of(&a), hash_of(&b));
            prop_assert_eq!(a.cmp(&b), Ordering::Equal);
        }

        #[test]
        fn eq_hash_ord_agree_on_arbitrary_pairs(s in address_strategy(), t in address_strategy()) {
            let a = KimAddress::parse(&s).unwrap();
            let b = KimAddress::parse(&t).unwrap();
            let equal = a == b;
            prop_assert_eq!(equal, s.eq_ignore_ascii_case(&t));
            prop_assert_eq!(equal, a.cmp(&b) == Ordering::Equal);
            if equal {
                prop_assert_eq!(hash_of(&a), hash_of(&b));
            }
            prop_assert_eq!(a.cmp(&b), s.to_ascii_lowercase().cmp(&t.to_ascii_lowercase()));
        }

        #[test]
        fn parse_never_panics_and_keeps_input(s in "\\PC{0,80}") {
            if let Ok(a) = KimAddress::parse(&s) {
                prop_assert_eq!(a.as_str(), s.as_str());
            }
        }
    }
}
