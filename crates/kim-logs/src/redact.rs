//! The scrubbing guarantee (KOM-LE-A_2079 … A_2090: no medical or personal data, keys or
//! passwords in logs).
//!
//! A field is written as [`REDACTED`] when its name is denied: the name is split into words
//! at every non-alphanumeric character and at lower-to-upper case changes (`smtp_password`,
//! `smtpPassword`, `user.PIN` all yield the word that matters), and a name is denied when any
//! word, lower-cased, *starts with* an entry of [`DENIED_FIELD_WORDS`]. Prefix matching errs
//! on the side of redaction (`keystore`, `passwd`, `mailbox`, `contents` are denied; so is
//! `ping`). This covers event and span fields alike; it cannot cover the event *message*,
//! which is the caller's format string: call sites put data into fields, never into the
//! message text.
//!
//! As a second line of defence, mail addresses (personal data: they name doctors and
//! patients' practices) are masked as [`ADDRESS_MASK`] in every value *and* in the message
//! ([`mask_addresses`]): any run of characters around an `@`, delimited by blanks, control
//! characters or one of `<>()[],;:"'`, with at least one character on each side.

use std::borrow::Cow;

/// Word prefixes that deny a field name.
pub const DENIED_FIELD_WORDS: &[&str] = &[
    "password",
    "pass",
    "pin",
    "secret",
    "key",
    "body",
    "content",
    "subject",
    "mail",
    "email",
    "token",
    "credential",
];

/// What a denied field's value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// What a mail address in a value or message is replaced with.
pub const ADDRESS_MASK: &str = "<address>";

/// `text` with every mail-address-like word replaced by [`ADDRESS_MASK`] (see the module
/// docs); borrowed when there is none.
#[must_use]
pub fn mask_addresses(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let is_delimiter = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"'".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word_start = 0;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        if !is_delimiter(c) {
            continue;
        }
        let word = text.get(word_start..i).unwrap_or("");
        out.push_str(if looks_like_address(word) {
            ADDRESS_MASK
        } else {
            word
        });
        if i < text.len() {
            out.push(c);
        }
        word_start = i + c.len_utf8();
    }
    Cow::Owned(out)
}

fn looks_like_address(word: &str) -> bool {
    word.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

/// Whether a field called `name` must not be written (see the module docs for the rule).
#[must_use]
pub fn is_denied(name: &str) -> bool {
    words(name).any(|word| {
        let word = word.to_ascii_lowercase();
        DENIED_FIELD_WORDS.iter().any(|d| word.starts_with(d))
    })
}

/// The words of a field name: split at non-alphanumerics and at lower→upper case changes.
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_alphanumeric())
        .flat_map(split_camel)
        .filter(|w| !w.is_empty())
}

fn split_camel(part: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_lower = false;
    for (i, c) in part.char_indices() {
        if c.is_uppercase() && prev_lower {
            out.extend(part.get(start..i));
            start = i;
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    out.extend(part.get(start..));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_names() {
        for name in [
            "password",
            "smtp_password",
            "smtpPassword",
            "PIN",
            "user.pin",
            "api-key",
            "keystore_path",
            "client_secret",
            "body",
            "mail_body",
            "content",
            "Subject",
            "mail_from",
            "rcptEmail",
            "pass",
            "passwd",
            "jwtToken",
        ] {
            assert!(is_denied(name), "{name} must be redacted");
        }
    }

    #[test]
    fn allowed_names() {
        for name in [
            "op",
            "step",
            "ms",
            "recipients",
            "code",
            "error",
            "size",
            "peer",
        ] {
            assert!(!is_denied(name), "{name} must stay");
        }
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_addresses("no at sign"), "no at sign");
        assert!(matches!(mask_addresses("plain"), Cow::Borrowed(_)));
        assert_eq!(
            mask_addresses("RCPT TO:<dr.mueller@praxis.kim.telematik> failed"),
            "RCPT TO:<<address>> failed"
        );
        assert_eq!(
            mask_addresses("a@b.de, c@d.de;x@y"),
            "<address>, <address>;<address>"
        );
        assert_eq!(
            mask_addresses("@ trailing@ @leading ü@ö"),
            "@ trailing@ @leading <address>"
        );
    }

    #[test]
    fn camel_case_words() {
        let w: Vec<_> = words("mailFrom_userPIN2x").collect();
        assert_eq!(w, ["mail", "From", "user", "PIN2x"]);
    }
}
