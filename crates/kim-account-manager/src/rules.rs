//! Input rules of the Account Manager: header passwords (base64, `format: byte`), address
//! rules for registration, the password policy, `kimVersion` and `dataTimeToLive`.

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kim_types::{KimAddress, KimVersion};
use zeroize::Zeroizing;

use crate::AmError;

/// Longest header password or OTP (yaml `maxLength: 256`, of the base64 text).
const HEADER_MAX: usize = 256;

/// Minimum password length of the policy (A_2163, published via ServiceInformation).
pub const PASSWORD_MIN_LEN: usize = 8;

/// The password policy for people (`passwordPolicyDisplay` of ServiceInformation): at least
/// [`PASSWORD_MIN_LEN`] characters from at least three of the classes lower case, upper case,
/// digit, other.
pub const PASSWORD_POLICY_DISPLAY: &str = "At least 8 characters from at least three of: lower-case letters, upper-case letters, digits, special characters.";

/// Decodes a base64 value (yaml `format: byte`) into UTF-8 text.
///
/// # Errors
/// [`AmError::BadRequest`] naming `what`.
pub fn decode_b64_text(value: &str, what: &str) -> Result<Zeroizing<String>, AmError> {
    if value.len() > HEADER_MAX {
        return Err(AmError::BadRequest(format!(
            "{what} longer than {HEADER_MAX} characters"
        )));
    }
    let bytes = Zeroizing::new(
        STANDARD
            .decode(value.trim())
            .map_err(|_| AmError::BadRequest(format!("{what} is not base64")))?,
    );
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| AmError::BadRequest(format!("{what} is not UTF-8")))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// A required base64 header, decoded.
///
/// # Errors
/// [`AmError::BadRequest`] if absent or malformed.
pub fn b64_header(headers: &HeaderMap, name: &str) -> Result<Zeroizing<String>, AmError> {
    let value = headers
        .get(name)
        .ok_or_else(|| AmError::BadRequest(format!("header {name} missing")))?
        .to_str()
        .map_err(|_| AmError::BadRequest(format!("header {name} is not ASCII")))?;
    decode_b64_text(value, &format!("header {name}"))
}

/// The password policy as a Java regular expression (`passwordPolicyRegEx` of
/// ServiceInformation); [`password_violation`] implements exactly this.
pub const PASSWORD_POLICY_REGEX: &str = "^(?=.{8,}$)(?:(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9])|(?=.*[a-z])(?=.*[A-Z])(?=.*[^a-zA-Z0-9])|(?=.*[a-z])(?=.*[0-9])(?=.*[^a-zA-Z0-9])|(?=.*[A-Z])(?=.*[0-9])(?=.*[^a-zA-Z0-9])).*$";

/// Which rule a new password breaks, if any (A_2163): at least [`PASSWORD_MIN_LEN`]
/// characters from at least three of the classes `a-z`, `A-Z`, `0-9` and everything else.
#[must_use]
pub fn password_violation(password: &str) -> Option<String> {
    if password.chars().count() < PASSWORD_MIN_LEN {
        return Some(format!(
            "password shorter than {PASSWORD_MIN_LEN} characters"
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Some(
            "password needs characters of at least three classes (a-z, A-Z, 0-9, other)".into(),
        );
    }
    None
}

/// Checks a new password against the policy.
///
/// # Errors
/// [`AmError::Policy`] (420).
pub fn check_password(password: &str) -> Result<(), AmError> {
    match password_violation(password) {
        Some(reason) => Err(AmError::Policy(reason)),
        None => Ok(()),
    }
}

/// Normalises the `{username}` path parameter (addresses are case-insensitive; the store
/// keys them in lower case).
#[must_use]
pub fn account_key(username: &str) -> String {
    username.trim().to_ascii_lowercase()
}

/// The address of a new account: registration syntax (manual §3: local part 1–59 of letters
/// without umlauts, digits, `.`, `_`, `-`, not at the ends; KIM domain), one of `domains`.
/// Returned in lower case.
///
/// # Errors
/// [`AmError::Policy`] (420) naming the rule.
pub fn registration_address(username: &str, domains: &[String]) -> Result<String, AmError> {
    let address = KimAddress::parse_for_registration(username)
        .map_err(|e| AmError::Policy(format!("username: {e}")))?;
    let lower = address.as_str().to_ascii_lowercase();
    let domain = lower.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(AmError::Policy(format!(
            "username: domain {domain} is not a domain of the contract"
        )));
    }
    Ok(lower)
}

/// A `kimVersion` value.
///
/// # Errors
/// [`AmError::UnsupportedVersion`] (422).
pub fn kim_version(value: &str) -> Result<String, AmError> {
    KimVersion::parse(value)
        .map(|v| v.as_str().to_owned())
        .map_err(|_| AmError::UnsupportedVersion(value.chars().take(16).collect()))
}

/// A `dataTimeToLive` value (days, 10..=365).
///
/// # Errors
/// [`AmError::BadRequest`] (400).
pub fn data_time_to_live(value: i64) -> Result<u16, AmError> {
    u16::try_from(value)
        .ok()
        .filter(|v| (10..=365).contains(v))
        .ok_or_else(|| AmError::BadRequest(format!("dataTimeToLive {value} outside 10..365")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn password_policy_needs_length_and_three_classes() {
        assert!(password_violation("Abcdef1!").is_none());
        assert!(password_violation("abcdefg1A").is_none());
        assert!(password_violation("Ab1!").is_some());
        assert!(password_violation("abcdefgh1").is_some());
        assert!(password_violation("ABCDEFGH!").is_some());
        assert!(password_violation("äöüÄÖÜ12").is_some());
        assert!(password_violation("äöüÄÖÜ1a").is_none());
    }

    #[test]
    fn registration_addresses_follow_the_rules_and_the_contract() {
        let domains = vec!["test.kim.telematik".to_owned()];
        assert_eq!(
            registration_address("Dr.Mueller@test.kim.telematik", &domains).unwrap(),
            "dr.mueller@test.kim.telematik"
        );
        for bad in [
            "mü@test.kim.telematik",
            ".a@test.kim.telematik",
            "a@other.kim.telematik",
            "a@test.example.org",
            "a b@test.kim.telematik",
        ] {
            assert!(
                matches!(registration_address(bad, &domains), Err(AmError::Policy(_))),
                "{bad}"
            );
        }
        let long = format!("{}@test.kim.telematik", "a".repeat(60));
        assert!(registration_address(&long, &domains).is_err());
    }

    #[test]
    fn versions_and_lifetimes() {
        assert_eq!(kim_version("1.5+").unwrap(), "1.5+");
        assert!(matches!(
            kim_version("2.0"),
            Err(AmError::UnsupportedVersion(_))
        ));
        assert_eq!(data_time_to_live(10).unwrap(), 10);
        assert!(data_time_to_live(9).is_err());
        assert!(data_time_to_live(366).is_err());
    }

    #[test]
    fn header_passwords_are_base64() {
        assert_eq!(
            decode_b64_text("R2VoZWltLTEyMw==", "p").unwrap().as_str(),
            "Geheim-123"
        );
        assert!(decode_b64_text("not base64!", "p").is_err());
        assert!(decode_b64_text(&"A".repeat(300), "p").is_err());
    }
}
