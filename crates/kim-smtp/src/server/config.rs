//! Server configuration.

use std::time::Duration;

/// SASL mechanisms the server offers (RFC 4954).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    /// `PLAIN` (RFC 4616), with or without initial response.
    Plain,
    /// `LOGIN` (draft-murchison-sasl-login), user name and password in two challenges.
    Login,
}

impl AuthMechanism {
    /// The name in EHLO and AUTH.
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
        }
    }
}

/// What a server session offers and enforces.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Name in the greeting and in EHLO.
    pub hostname: String,
    /// Largest accepted message in bytes (after dot-unstuffing); advertised as `SIZE`
    /// (RFC 1870). Larger `SIZE=` parameters and larger content get `552 5.3.4`.
    pub max_message_size: u64,
    /// Mechanisms offered by `AUTH`; empty: no AUTH.
    pub auth_mechanisms: Vec<AuthMechanism>,
    /// MAIL before successful AUTH gets `530 5.7.0`.
    pub require_auth: bool,
    /// AUTH is offered and accepted only on TLS connections (`538 5.7.11` otherwise).
    pub require_tls_for_auth: bool,
    /// Recipients per transaction; more get `452 4.5.3` (RFC 5321 §4.5.3.1.10).
    pub max_recipients: usize,
    /// Bad commands (syntax, sequence, unknown, failed AUTH) per session: the one that
    /// reaches this number is answered, then the connection is closed with `421 4.7.0`.
    pub max_errors: u32,
    /// How long to wait for the next command line (RFC 5321 §4.5.3.2.7: 5 minutes).
    pub command_timeout: Duration,
    /// How long to wait for more DATA content.
    pub data_timeout: Duration,
    /// Offer DSN (RFC 3461) and accept its parameters.
    pub dsn: bool,
    /// Reply code for a command the engine does not know: RFC 5321 says `500`; the
    /// KOM-LE Clientmodul's table (Tab_SMTP_Ant_Init) says `502`.
    pub unknown_command_code: u16,
}

impl ServerConfig {
    /// Defaults: 32 MiB messages, AUTH PLAIN and LOGIN required over TLS, 100 recipients,
    /// 10 errors, 5 minute command and 10 minute data timeouts, DSN on.
    pub fn new(hostname: impl Into<String>) -> ServerConfig {
        ServerConfig {
            hostname: hostname.into(),
            max_message_size: 32 * 1024 * 1024,
            auth_mechanisms: vec![AuthMechanism::Plain, AuthMechanism::Login],
            require_auth: true,
            require_tls_for_auth: true,
            max_recipients: 100,
            max_errors: 10,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
            dsn: true,
            unknown_command_code: 500,
        }
    }
}
