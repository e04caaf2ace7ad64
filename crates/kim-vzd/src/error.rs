//! Errors of directory lookups, split by blame.

use std::time::Duration;

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VzdError {
    /// The directory could not be reached (connect, TLS handshake, bind transport, broken
    /// connection).
    #[error("directory {url} unreachable: {reason}")]
    Unreachable {
        /// The configured URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The directory did not answer within the request timeout.
    #[error("directory did not answer within {0:?}")]
    Timeout(Duration),
    /// The directory answered with an LDAP error result (bind refused, search failed).
    #[error("directory refused {operation}: result code {code} ({text})")]
    Protocol {
        /// `bind` or `search`.
        operation: &'static str,
        /// LDAP result code (RFC 4511 appendix A).
        code: u32,
        /// Diagnostic text.
        text: String,
    },
    /// An entry the directory returned is unusable (missing `telematikID`, malformed PDU).
    #[error("directory entry {dn:?} unusable: {reason}")]
    BadData {
        /// DN of the entry (may be empty when the DN itself was unreadable).
        dn: String,
        /// What is wrong.
        reason: String,
    },
    /// Invalid client configuration.
    #[error("config key {key}: value {value:?} invalid, allowed: {allowed}")]
    Config {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}

/// LDAP result codes worth retrying: busy (51), unavailable (52), unwillingToPerform (53),
/// other (80), adminLimitExceeded (11), timeLimitExceeded (3).
const TRANSIENT_CODES: [u32; 6] = [3, 11, 51, 52, 53, 80];

impl VzdError {
    /// Whether retrying later may succeed: unreachable, timeouts and busy/unavailable
    /// results are transient; bad data, refused credentials and configuration are not.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout(_) => true,
            Self::Protocol { code, .. } => TRANSIENT_CODES.contains(code),
            Self::BadData { .. } | Self::Config { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_split() {
        assert!(VzdError::Timeout(Duration::from_secs(1)).is_transient());
        let busy = VzdError::Protocol {
            operation: "search",
            code: 51,
            text: String::new(),
        };
        assert!(busy.is_transient());
        let creds = VzdError::Protocol {
            operation: "bind",
            code: 49,
            text: String::new(),
        };
        assert!(!creds.is_transient());
        let bad = VzdError::BadData {
            dn: "uid=1".into(),
            reason: "x".into(),
        };
        assert!(!bad.is_transient());
    }
}
