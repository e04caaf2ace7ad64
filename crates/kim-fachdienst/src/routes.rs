//! The routing table for relaying to other Fachdienste: which MTA serves a foreign domain.
//!
//! Mail between Fachdienste goes over SMTPS with mutual TLS (kim-spec §6.1, FAQ: port 465);
//! the table replaces the MX lookup in closed deployments and tests. A pattern is either an
//! exact domain (`arzt.kim.telematik`) or `*.suffix`, which matches every domain below
//! `suffix` but not `suffix` itself. Exact entries win over suffix entries; among suffix
//! entries the longest suffix wins.

use std::sync::Arc;

use kim_tls::rustls;

/// One MTA to try, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name, also the TLS server name.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Target {
    /// Parses `host:port`.
    ///
    /// # Errors
    /// No port, a port that is not a number, or an empty host.
    pub fn parse(value: &str) -> Result<Target, RouteError> {
        let (host, port) = value
            .rsplit_once(':')
            .ok_or_else(|| RouteError::Target(value.to_owned()))?;
        let port = port
            .parse()
            .map_err(|_| RouteError::Target(value.to_owned()))?;
        if host.is_empty() {
            return Err(RouteError::Target(value.to_owned()));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
        })
    }
}

/// A malformed routing entry (a configuration error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The pattern is empty or `*` without a suffix.
    #[error("invalid route pattern {0:?} (expected a domain or *.suffix)")]
    Pattern(String),
    /// The target is not `host:port`.
    #[error("invalid route target {0:?} (expected host:port)")]
    Target(String),
}

#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Below(String),
}

/// Domain → MTAs, plus the TLS client configuration (the Fachdienst's own client
/// certificate and the TI trust anchors) used for every relay connection.
#[derive(Debug, Clone)]
pub struct Routes {
    entries: Vec<(Pattern, Vec<Target>)>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Routes {
    /// No routes: every foreign domain is refused.
    #[must_use]
    pub fn none() -> Routes {
        Routes {
            entries: Vec::new(),
            tls: None,
        }
    }

    /// An empty table using `tls` for relay connections (built with `kim_tls::client_config`
    /// with the Fachdienst's client identity).
    #[must_use]
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Routes {
        Routes {
            entries: Vec::new(),
            tls: Some(tls),
        }
    }

    /// Adds a route from `pattern` (`domain` or `*.suffix`) to `targets` (`host:port`).
    ///
    /// # Errors
    /// A malformed pattern or target.
    pub fn add(&mut self, pattern: &str, targets: &[&str]) -> Result<(), RouteError> {
        let pattern = pattern.trim().to_ascii_lowercase();
        let parsed = match pattern.strip_prefix("*.") {
            Some(suffix) if !suffix.is_empty() => Pattern::Below(suffix.to_owned()),
            Some(_) => return Err(RouteError::Pattern(pattern)),
            None if pattern.is_empty() || pattern.contains('*') => {
                return Err(RouteError::Pattern(pattern));
            }
            None => Pattern::Exact(pattern),
        };
        let targets = targets
            .iter()
            .map(|t| Target::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        if targets.is_empty() {
            return Err(RouteError::Target(String::new()));
        }
        self.entries.push((parsed, targets));
        Ok(())
    }

    /// The MTAs for `domain`, if it has a route and a TLS configuration is set.
    #[must_use]
    pub fn lookup(&self, domain: &str) -> Option<&[Target]> {
        self.tls.as_ref()?;
        let domain = domain.to_ascii_lowercase();
        let exact = self.entries.iter().find_map(|(p, t)| match p {
            Pattern::Exact(d) if *d == domain => Some(t.as_slice()),
            _ => None,
        });
        exact.or_else(|| {
            self.entries
                .iter()
                .filter_map(|(p, t)| match p {
                    Pattern::Below(suffix)
                        if domain
                            .strip_suffix(suffix.as_str())
                            .is_some_and(|rest| rest.len() > 1 && rest.ends_with('.')) =>
                    {
                        Some((suffix.len(), t.as_slice()))
                    }
                    _ => None,
                })
                .max_by_key(|(len, _)| *len)
                .map(|(_, t)| t)
        })
    }

    /// The TLS client configuration for relay connections.
    #[must_use]
    pub fn tls(&self) -> Option<&Arc<rustls::ClientConfig>> {
        self.tls.as_ref()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn table() -> Routes {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let mut routes = Routes::new(Arc::new(tls));
        routes
            .add("*.kim.telematik", &["mx.kim.telematik:465"])
            .unwrap();
        routes
            .add("*.arzt.kim.telematik", &["a.example:465", "b.example:4650"])
            .unwrap();
        routes
            .add("Exact.Arzt.Kim.Telematik", &["c.example:25"])
            .unwrap();
        routes
    }

    fn first_host(routes: &Routes, domain: &str) -> Option<String> {
        routes
            .lookup(domain)
            .and_then(|t| t.first())
            .map(|t| format!("{}:{}", t.host, t.port))
    }

    #[test]
    fn exact_beats_longest_suffix_beats_shorter_suffix() {
        let r = table();
        assert_eq!(
            first_host(&r, "exact.arzt.kim.telematik").as_deref(),
            Some("c.example:25")
        );
        assert_eq!(
            first_host(&r, "x.arzt.kim.telematik").as_deref(),
            Some("a.example:465")
        );
        assert_eq!(
            first_host(&r, "praxis.kim.telematik").as_deref(),
            Some("mx.kim.telematik:465")
        );
        assert_eq!(r.lookup("x.arzt.kim.telematik").map(<[_]>::len), Some(2));
    }

    #[test]
    fn suffix_does_not_match_itself_or_a_lookalike() {
        let r = table();
        assert_eq!(first_host(&r, "kim.telematik"), None);
        assert_eq!(first_host(&r, "evilkim.telematik"), None);
        assert_eq!(first_host(&r, "example.com"), None);
    }

    #[test]
    fn no_tls_means_no_route() {
        let mut r = Routes::none();
        r.add("a.example", &["a:1"]).unwrap();
        assert!(r.lookup("a.example").is_none());
    }

    #[test]
    fn malformed_entries_are_refused() {
        let mut r = Routes::none();
        assert!(matches!(r.add("*.", &["a:1"]), Err(RouteError::Pattern(_))));
        assert!(matches!(
            r.add("a*b", &["a:1"]),
            Err(RouteError::Pattern(_))
        ));
        assert!(matches!(r.add("a", &["a"]), Err(RouteError::Target(_))));
        assert!(matches!(r.add("a", &[":1"]), Err(RouteError::Target(_))));
        assert!(matches!(r.add("a", &["a:x"]), Err(RouteError::Target(_))));
        assert!(matches!(r.add("a", &[]), Err(RouteError::Target(_))));
    }
}
