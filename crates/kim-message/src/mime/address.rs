//! addr-spec extraction from address header fields (RFC 5322 §3.4).
//!
//! Used for the comparison of outer and inner header fields (KOM-LE-A_2048-01, ID 08):
//! display names, comments and group names are ignored, addresses are compared
//! case-insensitively as sets (FAQ: mail addresses are case-insensitive).

use std::collections::BTreeSet;

/// The addr-specs of an unfolded address-list value (`From`, `Sender`, `Reply-To`, `To`,
/// `Cc`, `Bcc`), in order and as written.
///
/// Handles display names (also quoted strings and RFC 2047 encoded words, which are skipped
/// without decoding), comments, angle addresses with obsolete routes, and groups.
/// Whitespace and comments inside an addr-spec are removed.
pub fn addr_specs(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for mailbox in split_mailboxes(value) {
        let spec = match angle_content(&mailbox) {
            Some(inner) => strip_route(&inner).to_owned(),
            None => mailbox,
        };
        let spec = strip_ws_outside_quotes(&spec);
        if !spec.is_empty() {
            out.push(spec);
        }
    }
    out
}

/// The lower-cased addr-specs of all given values, as a set.
pub fn address_set<'a>(values: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    values
        .into_iter()
        .flat_map(addr_specs)
        .map(|a| a.to_lowercase())
        .collect()
}

/// Splits an address list into mailboxes with comments removed; group names and the
/// group terminator are dropped.
fn split_mailboxes(value: &str) -> Vec<String> {
    let mut mailboxes = Vec::new();
    let mut current = String::new();
    let mut chars = value.chars();
    let mut in_angle = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                current.push('"');
                let mut escaped = false;
                for q in chars.by_ref() {
                    current.push(q);
                    if escaped {
                        escaped = false;
                    } else if q == '\\' {
                        escaped = true;
                    } else if q == '"' {
                        break;
                    }
                }
            }
            '(' => {
                skip_comment(&mut chars);
                current.push(' ');
            }
            '<' => {
                in_angle = true;
                current.push(c);
            }
            '>' => {
                in_angle = false;
                current.push(c);
            }
            // A colon outside an angle address starts a group: drop the display name.
            ':' if !in_angle => current.clear(),
            ',' | ';' if !in_angle => mailboxes.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    mailboxes.push(current);
    mailboxes.retain(|m| !m.trim().is_empty());
    mailboxes
}

/// Skips a (possibly nested) comment; the opening parenthesis is already consumed.
fn skip_comment(chars: &mut std::str::Chars<'_>) {
    let mut depth = 1usize;
    let mut escaped = false;
    for c in chars.by_ref() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

/// The text between the last `<` (outside quoted strings) and the following `>`.
fn angle_content(mailbox: &str) -> Option<String> {
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = None;
    for (i, c) in mailbox.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => start = Some(i + 1),
            _ => {}
        }
    }
    let rest = mailbox.get(start?..)?;
    let end = rest.find('>').unwrap_or(rest.len());
    rest.get(..end).map(str::to_owned)
}

/// Removes whitespace that is not inside a quoted string.
fn strip_ws_outside_quotes(spec: &str) -> String {
    let mut out = String::with_capacity(spec.len());
    let mut in_quotes = false;
    let mut escaped = false;
    for c in spec.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            _ if c.is_whitespace() && !in_quotes => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// Removes an obsolete source route (`@a,@b:`) in front of an addr-spec.
fn strip_route(spec: &str) -> &str {
    let trimmed = spec.trim();
    if trimmed.starts_with('@')
        && let Some((_, rest)) = trimmed.split_once(':')
    {
        return rest;
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_and_display_names() {
        assert_eq!(addr_specs("a@x.de"), ["a@x.de"]);
        assert_eq!(
            addr_specs("Karl Mustersender <mustersender@komle.de>, b@y.de"),
            ["mustersender@komle.de", "b@y.de"]
        );
        assert_eq!(
            addr_specs("\"Doe, John <boss>\" <john@x.de>"),
            ["john@x.de"]
        );
        assert_eq!(addr_specs("=?UTF-8?Q?M=C3=BCller?= <m@x.de>"), ["m@x.de"]);
    }

    #[test]
    fn comments_groups_routes() {
        assert_eq!(addr_specs("a@x.de (Alice, Team)"), ["a@x.de"]);
        assert_eq!(addr_specs("a(c)@x.de"), ["a@x.de"]);
        assert_eq!(
            addr_specs("Team: a@x.de, B <b@x.de>;, c@y.de"),
            ["a@x.de", "b@x.de", "c@y.de"]
        );
        assert_eq!(addr_specs("undisclosed-recipients:;"), Vec::<String>::new());
        assert_eq!(addr_specs("<@relay.de,@r2.de:a@x.de>"), ["a@x.de"]);
        assert_eq!(addr_specs("\"a b\"@x.de"), ["\"a b\"@x.de"]);
    }

    #[test]
    fn sets_are_case_insensitive() {
        let a = address_set(["Alice <A@X.de>", "b@y.de"]);
        let b = address_set(["b@Y.DE, a@x.de"]);
        assert_eq!(a, b);
    }
}
