//! The server field of SMTP/POP3 user names: `host[:port]` (kim-spec §3.1, §4.1).
//!
//! The host is a DNS name (letters, digits, `-`, `_` and `.`, as the spec example
//! `hrst_domain.kim.telematik` needs), a dotted IPv4 address or an IPv6 address in brackets.
//! The port, when present, is 1–65535.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::address::{LabelProblem, check_labels};

/// Longest DNS name accepted as host.
pub const HOST_MAX_LEN: usize = 253;

/// Fachdienst server named in a user name. `host` never carries IPv6 brackets; `Display`
/// adds them back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerAddress {
    host: String,
    port: Option<u16>,
}

/// Why a server field is not `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerAddressError {
    /// No host before the `:` or inside `[]`.
    #[error("host is empty")]
    EmptyHost,
    /// The host name is longer than 253 characters.
    #[error("host too long ({len} characters, at most {max})")]
    HostTooLong {
        /// Length found.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// The host name contains a character outside letters, digits, `-`, `_`, `.`.
    #[error("host contains {ch:?} at position {position}")]
    HostChar {
        /// The offending character.
        ch: char,
        /// Its 0-based character position within the host.
        position: usize,
    },
    /// The host name has an empty label.
    #[error("host has an empty label at position {position}")]
    HostEmptyLabel {
        /// Position within the host.
        position: usize,
    },
    /// A host label starts or ends with `-`.
    #[error("host label {label:?} starts or ends with '-'")]
    HostLabelHyphen {
        /// The offending label.
        label: String,
    },
    /// Digits and dots only, but not a valid IPv4 address.
    #[error("host {host:?} is not a valid IPv4 address")]
    InvalidIpv4 {
        /// The host as given.
        host: String,
    },
    /// Bracketed, but not a valid IPv6 address.
    #[error("host [{host}] is not a valid IPv6 address")]
    InvalidIpv6 {
        /// The text inside the brackets.
        host: String,
    },
    /// An IPv6 address without brackets (ambiguous with the port separator).
    #[error("IPv6 address must be enclosed in '[' and ']'")]
    Ipv6WithoutBrackets,
    /// `[` without a closing `]`.
    #[error("'[' without matching ']'")]
    UnclosedBracket,
    /// Something other than `:port` after `]`.
    #[error("expected ':' or the end after ']', found {found:?}")]
    AfterBracket {
        /// The first unexpected character.
        found: char,
    },
    /// `host:` without a port.
    #[error("port is empty")]
    EmptyPort,
    /// A non-digit in the port.
    #[error("port contains {ch:?} at position {position}")]
    PortChar {
        /// The offending character.
        ch: char,
        /// Its 0-based character position within the port.
        position: usize,
    },
    /// The port is 0 or above 65535.
    #[error("port out of range (1-65535)")]
    PortOutOfRange,
}

impl ServerAddress {
    /// Builds a server address from a host (name, IPv4, or IPv6 *without* brackets) and an
    /// optional port.
    ///
    /// # Errors
    /// [`ServerAddressError`] if the host is not valid or the port is 0.
    pub fn new(host: &str, port: Option<u16>) -> Result<Self, ServerAddressError> {
        if host.contains(':') {
            check_ipv6(host)?;
        } else {
            check_host(host)?;
        }
        if port == Some(0) {
            return Err(ServerAddressError::PortOutOfRange);
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// Parses `host`, `host:port`, `[ipv6]` or `[ipv6]:port`.
    ///
    /// # Errors
    /// [`ServerAddressError`] naming the problem.
    pub fn parse(input: &str) -> Result<Self, ServerAddressError> {
        let (host, port) = if let Some(rest) = input.strip_prefix('[') {
            let (inner, after) = rest
                .split_once(']')
                .ok_or(ServerAddressError::UnclosedBracket)?;
            check_ipv6(inner)?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(parse_port(port)?),
                None => match after.chars().next() {
                    None => None,
                    Some(found) => return Err(ServerAddressError::AfterBracket { found }),
                },
            };
            (inner, port)
        } else {
            let (host, port) = match input.split_once(':') {
                Some((_, port)) if port.contains(':') => {
                    return Err(ServerAddressError::Ipv6WithoutBrackets);
                }
                Some((host, port)) => (host, Some(parse_port(port)?)),
                None => (input, None),
            };
            check_host(host)?;
            (host, port)
        };
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// Host name or IP address, without IPv6 brackets.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, if given.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

fn check_ipv6(inner: &str) -> Result<(), ServerAddressError> {
    if inner.is_empty() {
        return Err(ServerAddressError::EmptyHost);
    }
    inner
        .parse::<Ipv6Addr>()
        .map(drop)
        .map_err(|_| ServerAddressError::InvalidIpv6 {
            host: inner.to_owned(),
        })
}

fn check_host(host: &str) -> Result<(), ServerAddressError> {
    if host.is_empty() {
        return Err(ServerAddressError::EmptyHost);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if let Some((position, ch)) = host.chars().enumerate().find(|&(_, c)| !allowed(c)) {
        return Err(ServerAddressError::HostChar { ch, position });
    }
    if host.len() > HOST_MAX_LEN {
        return Err(ServerAddressError::HostTooLong {
            len: host.len(),
            max: HOST_MAX_LEN,
        });
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return host
            .parse::<Ipv4Addr>()
            .map(drop)
            .map_err(|_| ServerAddressError::InvalidIpv4 {
                host: host.to_owned(),
            });
    }
    check_labels(host).map_err(|problem| match problem {
        LabelProblem::Empty { position } => ServerAddressError::HostEmptyLabel { position },
        LabelProblem::Hyphen { label } => ServerAddressError::HostLabelHyphen { label },
    })
}

fn parse_port(port: &str) -> Result<u16, ServerAddressError> {
    if port.is_empty() {
        return Err(ServerAddressError::EmptyPort);
    }
    if let Some((position, ch)) = port.chars().enumerate().find(|&(_, c)| !c.is_ascii_digit()) {
        return Err(ServerAddressError::PortChar { ch, position });
    }
    // Digits only: the only failure left is overflow.
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(ServerAddressError::PortOutOfRange),
        Ok(n) => Ok(n),
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parses_hosts_and_ports() {
        let cases: &[(&str, &str, Option<u16>, &str)] = &[
            (
                "hrst_domain.kim.telematik:465",
                "hrst_domain.kim.telematik",
                Some(465),
                "hrst_domain.kim.telematik:465",
            ),
            (
                "100.102.8.6:995",
                "100.102.8.6",
                Some(995),
                "100.102.8.6:995",
            ),
            (
                "mail.kim.telematik",
                "mail.kim.telematik",
                None,
                "mail.kim.telematik",
            ),
            ("LOCALHOST:1", "LOCALHOST", Some(1), "LOCALHOST:1"),
            ("fd:65535", "fd", Some(65535), "fd:65535"),
            ("fd:0465", "fd", Some(465), "fd:465"),
            ("[::1]:995", "::1", Some(995), "[::1]:995"),
            ("[2001:db8::1]", "2001:db8::1", None, "[2001:db8::1]"),
            (
                "[::ffff:10.0.0.1]:465",
                "::ffff:10.0.0.1",
                Some(465),
                "[::ffff:10.0.0.1]:465",
            ),
        ];
        for &(input, host, port, display) in cases {
            let s = ServerAddress::parse(input).unwrap();
            assert_eq!((s.host(), s.port()), (host, port), "{input}");
            assert_eq!(s.to_string(), display);
            assert_eq!(ServerAddress::parse(display).unwrap(), s);
            assert_eq!(ServerAddress::new(host, port).unwrap(), s);
        }
    }

    #[test]
    fn rejects_with_reason() {
        use ServerAddressError as E;
        let long = format!("{}.de", "a.".repeat(126));
        let cases: &[(&str, ServerAddressError)] = &[
            ("", E::EmptyHost),
            (":465", E::EmptyHost),
            ("[]:465", E::EmptyHost),
            ("fd:", E::EmptyPort),
            ("fd:0", E::PortOutOfRange),
            ("fd:65536", E::PortOutOfRange),
            ("fd:99999999999999999999", E::PortOutOfRange),
            (
                "fd:+465",
                E::PortChar {
                    ch: '+',
                    position: 0,
                },
            ),
            (
                "fd:46 5",
                E::PortChar {
                    ch: ' ',
                    position: 2,
                },
            ),
            (
                "fd host:465",
                E::HostChar {
                    ch: ' ',
                    position: 2,
                },
            ),
            (
                "fdé:465",
                E::HostChar {
                    ch: 'é',
                    position: 2,
                },
            ),
            ("fd..de", E::HostEmptyLabel { position: 3 }),
            (
                "-fd.de",
                E::HostLabelHyphen {
                    label: "-fd".into(),
                },
            ),
            (
                "1.2.3.256",
                E::InvalidIpv4 {
                    host: "1.2.3.256".into(),
                },
            ),
            (
                "1.2.3",
                E::InvalidIpv4 {
                    host: "1.2.3".into(),
                },
            ),
            ("2001:db8::1", E::Ipv6WithoutBrackets),
            ("::1", E::Ipv6WithoutBrackets),
            ("[::1", E::UnclosedBracket),
            ("[::1]465", E::AfterBracket { found: '4' }),
            ("[::g]:465", E::InvalidIpv6 { host: "::g".into() }),
            (
                "[1.2.3.4]",
                E::InvalidIpv6 {
                    host: "1.2.3.4".into(),
                },
            ),
            (&long, E::HostTooLong { len: 255, max: 253 }),
        ];
        for (input, expected) in cases {
            assert_eq!(
                ServerAddress::parse(input).as_ref(),
                Err(expected),
                "{input:?}"
            );
        }
        assert_eq!(ServerAddress::new("fd", Some(0)), Err(E::PortOutOfRange));
        assert_eq!(
            ServerAddress::new("a b", None),
            Err(E::HostChar {
                ch: ' ',
                position: 1
            })
        );
    }
}
