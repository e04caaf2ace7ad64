//! LDAP filter evaluation (RFC 4511 §4.5.1.7) over an entry's attributes.
//!
//! Matching rules: attribute descriptions compare case-insensitively with options ignored;
//! values of text attributes compare case-insensitively (caseIgnoreMatch, as the VZD schema
//! has for `mail` and `telematikID`), certificate values octet by octet. `>=`/`<=` compare
//! the case-folded strings; approximate match is treated as equality. Evaluation is
//! two-valued: extensible matches and unknown attributes give FALSE (not Undefined), so
//! `(!(unknown=x))` matches every entry.

use ldap3_proto::proto::{LdapFilter, LdapSubstringFilter};

use crate::model::{Attr, canonical_attribute};

/// Whether `attrs` match `filter`.
#[must_use]
pub fn matches(filter: &LdapFilter, attrs: &[Attr]) -> bool {
    match filter {
        LdapFilter::And(parts) => parts.iter().all(|f| matches(f, attrs)),
        LdapFilter::Or(parts) => parts.iter().any(|f| matches(f, attrs)),
        LdapFilter::Not(inner) => !matches(inner, attrs),
        LdapFilter::Present(name) => {
            if name.eq_ignore_ascii_case("objectClass") {
                return true;
            }
            values(attrs, name).is_some_and(|v| !v.is_empty())
        }
        LdapFilter::Equality(name, value) | LdapFilter::Approx(name, value) => {
            any_value(attrs, name, |v, binary| {
                if binary {
                    v == value.as_bytes()
                } else {
                    fold(v) == value.to_lowercase()
                }
            })
        }
        LdapFilter::GreaterOrEqual(name, value) => {
            any_value(attrs, name, |v, _| fold(v) >= value.to_lowercase())
        }
        LdapFilter::LessOrEqual(name, value) => {
            any_value(attrs, name, |v, _| fold(v) <= value.to_lowercase())
        }
        LdapFilter::Substring(name, sub) => {
            any_value(attrs, name, |v, binary| !binary && substring(&fold(v), sub))
        }
        LdapFilter::Extensible(_) => false,
    }
}

fn values<'a>(attrs: &'a [Attr], description: &str) -> Option<&'a [Vec<u8>]> {
    let name = canonical_attribute(description)?;
    attrs
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.values.as_slice())
}

fn any_value(attrs: &[Attr], description: &str, test: impl Fn(&[u8], bool) -> bool) -> bool {
    let binary = canonical_attribute(description) == Some("userCertificate");
    values(attrs, description).is_some_and(|vs| vs.iter().any(|v| test(v, binary)))
}

fn fold(value: &[u8]) -> String {
    String::from_utf8_lossy(value).to_lowercase()
}

/// RFC 4517 substring matching on already case-folded text.
fn substring(value: &str, sub: &LdapSubstringFilter) -> bool {
    let mut rest = value;
    if let Some(initial) = &sub.initial {
        let initial = initial.to_lowercase();
        match rest.strip_prefix(initial.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for any in &sub.any {
        let any = any.to_lowercase();
        match rest.find(any.as_str()) {
            Some(pos) => rest = rest.get(pos + any.len()..).unwrap_or(""),
            None => return false,
        }
    }
    match &sub.final_ {
        Some(f) => rest.ends_with(f.to_lowercase().as_str()),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ldap3_proto::parse_ldap_filter_str;

    fn attrs() -> Vec<Attr> {
        vec![
            Attr {
                name: "mail",
                values: vec![b"Praxis.Schmidt@test.kim.telematik".to_vec()],
            },
            Attr {
                name: "telematikID",
                values: vec![b"1-2.58.00000040".to_vec()],
            },
            Attr {
                name: "userCertificate",
                values: vec![vec![0x30, 0x82]],
            },
        ]
    }

    fn check(filter: &str) -> bool {
        matches(&parse_ldap_filter_str(filter).unwrap(), &attrs())
    }

    #[test]
    fn equality_is_case_insensitive_for_mail() {
        assert!(check("(mail=praxis.schmidt@TEST.kim.telematik)"));
        assert!(check("(MAIL=PRAXIS.SCHMIDT@test.kim.telematik)"));
        assert!(!check("(mail=praxis.schmidt@other.kim.telematik)"));
    }

    #[test]
    fn substrings_presence_and_boolean_operators() {
        assert!(check("(mail=praxis*)"));
        assert!(check("(mail=*schmidt*telematik)"));
        assert!(!check("(mail=*weber*)"));
        assert!(!check("(mail=praxis*schmidt*schmidt*)"));
        assert!(check("(&(mail=*)(telematikID=1-2.58.*))"));
        assert!(check("(|(mail=nobody@x.de)(telematikID=1-2.58.00000040))"));
        assert!(check("(!(mail=nobody@x.de))"));
        assert!(!check("(displayName=*)"));
        assert!(check("(objectClass=*)"));
        let with_option = LdapFilter::Present("userCertificate;binary".into());
        assert!(matches(&with_option, &attrs()));
    }

    #[test]
    fn unknown_attributes_and_extensible_match_nothing() {
        assert!(!check("(nonsense=1)"));
        assert!(check("(!(nonsense=1))"));
    }
}
