//! Checks a user interface runs before it asks the Fachdienst, with German messages: the
//! registration rules of a KIM address and the provider's password policy.
//!
//! Both are conveniences: the Account Manager checks again and answers 420.

use kim_types::{AddressError, KimAddress};

/// Checks `addr` against the registration rules of a KIM address (manual §3: local part of
/// 1 to 59 characters from letters without umlauts, digits, `.`, `_`, `-`, not at the ends;
/// domain ending in `.kim.telematik` or `.kim.telematik-test`). The same rules as the
/// Account Manager's (`kim_types::KimAddress::parse_for_registration`); whether the domain
/// belongs to the contract only the Fachdienst knows.
///
/// # Errors
/// A German sentence naming the broken rule.
pub fn check_address(addr: &str) -> Result<(), String> {
    KimAddress::parse_for_registration(addr.trim())
        .map(drop)
        .map_err(|e| german_address_error(&e))
}

fn german_address_error(e: &AddressError) -> String {
    match e {
        AddressError::Empty => "Bitte eine KIM-Adresse eingeben.".into(),
        AddressError::TooLong { len, max } => {
            format!("Die Adresse ist zu lang ({len} Zeichen, höchstens {max}).")
        }
        AddressError::MissingAt => "Die Adresse enthält kein „@“.".into(),
        AddressError::SecondAt { .. } => "Die Adresse enthält mehr als ein „@“.".into(),
        AddressError::LocalPartEmpty => "Vor dem „@“ fehlt der Name.".into(),
        AddressError::LocalPartTooLong { len, max } => {
            format!("Der Teil vor dem „@“ ist zu lang ({len} Zeichen, höchstens {max}).")
        }
        AddressError::LocalPartChar { ch, .. } => format!(
            "Das Zeichen „{ch}“ ist vor dem „@“ nicht erlaubt (erlaubt sind Buchstaben ohne \
             Umlaute, Ziffern, Punkt, Unterstrich und Bindestrich)."
        ),
        AddressError::LocalPartEdge { ch } => {
            format!("Der Teil vor dem „@“ darf nicht mit „{ch}“ beginnen oder enden.")
        }
        AddressError::DomainEmpty => "Nach dem „@“ fehlt die Domain.".into(),
        AddressError::DomainTooLong { len, max } => {
            format!("Die Domain ist zu lang ({len} Zeichen, höchstens {max}).")
        }
        AddressError::DomainChar { ch, .. } => format!(
            "Das Zeichen „{ch}“ ist in der Domain nicht erlaubt (nur Kleinbuchstaben, \
             Ziffern, Punkt und Bindestrich)."
        ),
        AddressError::DomainEmptyLabel { .. } => {
            "Die Domain enthält einen leeren Abschnitt (zwei Punkte hintereinander oder ein \
             Punkt am Anfang oder Ende)."
                .into()
        }
        AddressError::DomainLabelHyphen { label } => format!(
            "Der Domain-Abschnitt „{label}“ darf nicht mit einem Bindestrich beginnen oder \
             enden."
        ),
        AddressError::DomainSuffix => {
            "Die Domain muss auf „.kim.telematik“ oder „.kim.telematik-test“ enden.".into()
        }
    }
}

/// Whether `pw` meets the provider's policy `policy_regex` (`passwordPolicyRegEx` of
/// ServiceInformation, a Java regular expression matched against the whole password like
/// Java's `String.matches`).
///
/// The expression is run by `fancy-regex` (look-ahead, look-behind, back references,
/// atomic groups). Java's POSIX classes `\p{Lower}`, `\p{Upper}`, `\p{Alpha}`,
/// `\p{Digit}`, `\p{Alnum}`, `\p{Punct}`, `\p{Graph}`, `\p{Print}`, `\p{Space}` are
/// translated to their ASCII sets. Limits: other Java-only syntax (e.g. `\Q…\E`, class
/// intersections `&&`, possessive quantifiers) is not translated; an expression that does
/// not compile, or whose matching exceeds the backtracking limit, is treated as met — the
/// Account Manager decides (420) and the UI shows `passwordPolicyDisplay`.
#[must_use]
pub fn check_password(policy_regex: &str, pw: &str) -> bool {
    let pattern = format!("^(?:{})$", translate_java(policy_regex));
    match fancy_regex::Regex::new(&pattern) {
        Ok(re) => re.is_match(pw).unwrap_or(true),
        Err(_) => true,
    }
}

/// ASCII sets of Java's POSIX character classes, usable inside a bracket expression.
fn posix_set(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "Alpha" => "a-zA-Z",
        "Digit" => "0-9",
        "Alnum" => "a-zA-Z0-9",
        "Punct" => r"!-/:-@\[-`{-~",
        "Graph" => r"!-~",
        "Print" => r" -~",
        "Space" => r" \t\n\x0B\f\r",
        _ => return None,
    })
}

/// Rewrites Java's POSIX `\p{…}` classes into bracket expressions; everything else is kept.
fn translate_java(java: &str) -> String {
    let mut out = String::with_capacity(java.len());
    let mut in_class = 0usize;
    let mut chars = java.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let rest = java.get(i + 1..).unwrap_or_default();
                if let Some(name) = rest
                    .strip_prefix("p{")
                    .and_then(|r| r.split_once('}'))
                    .map(|(n, _)| n)
                    && let Some(set) = posix_set(name)
                {
                    if in_class > 0 {
                        out.push_str(set);
                    } else {
                        out.push('[');
                        out.push_str(set);
                        out.push(']');
                    }
                    // Skip `p{Name}`.
                    for _ in 0..name.len() + 3 {
                        chars.next();
                    }
                    continue;
                }
                out.push('\\');
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '[' => {
                in_class += 1;
                out.push('[');
                // A `]` or `^]` right after the opening bracket is literal in Java.
                if let Some((_, '^')) = chars.peek() {
                    out.push('^');
                    chars.next();
                }
                if let Some((_, ']')) = chars.peek() {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The example policy of ServiceInformation.yaml 1.0.3.
    const YAML_EXAMPLE: &str =
        r"^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])(?=.*[*.!@#$%^&(){}\[\]:;'<>,?/~_+\-=|\\]).{12,256}$";

    #[test]
    fn the_yaml_example_policy_works_with_look_aheads() {
        assert!(check_password(YAML_EXAMPLE, "Abcdefgh12!x"));
        assert!(!check_password(YAML_EXAMPLE, "Abcdefgh12xx"));
        assert!(!check_password(YAML_EXAMPLE, "Ab1!"));
        assert!(!check_password(YAML_EXAMPLE, "abcdefgh12!x"));
    }

    #[test]
    fn the_whole_password_must_match_as_in_java() {
        assert!(check_password("[a-z]+", "abc"));
        assert!(!check_password("[a-z]+", "abc1"));
        assert!(check_password("a|bc", "bc"));
        assert!(!check_password("a|bc", "abc"));
    }

    #[test]
    fn java_posix_classes_are_translated() {
        let re = r"(?=.*\p{Upper})(?=.*\p{Punct})[\p{Alnum}\p{Punct}]{8,}";
        assert!(check_password(re, "Abcdefg!"));
        assert!(!check_password(re, "abcdefg!"));
        assert!(!check_password(re, "Abcdefgh"));
        assert!(!check_password(re, "Abcdefg! "));
        assert_eq!(translate_java(r"[]a]\d"), r"[\]a]\d");
    }

    #[test]
    fn unusable_expressions_leave_the_decision_to_the_server() {
        assert!(check_password("(unclosed", "anything"));
    }

    #[test]
    fn address_messages_are_german_and_name_the_rule() {
        assert!(check_address("praxis.mueller@test.kim.telematik").is_ok());
        let e = check_address("müller@test.kim.telematik").unwrap_err();
        assert!(e.contains("„ü“"), "{e}");
        let e = check_address("praxis@example.org").unwrap_err();
        assert!(e.contains(".kim.telematik"), "{e}");
        let e = check_address(".praxis@test.kim.telematik").unwrap_err();
        assert!(e.contains("beginnen oder enden"), "{e}");
        assert!(check_address("").is_err());
        assert!(check_address("a@b@test.kim.telematik").is_err());
    }
}
