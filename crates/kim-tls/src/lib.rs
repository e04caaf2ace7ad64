//! TLS configuration shared by every KIM component (Konnektor client and simulator, VZD,
//! Fachdienst, Clientmodul).
//!
//! One seam for TLS: everything builds [`rustls`] configurations through this crate, always
//! with the `ring` crypto provider passed explicitly (never a process-wide default), TLS 1.2
//! and 1.3. rustls has no brainpool curves (rustls#1332); TI endpoints with brainpool keys
//! need another backend behind this seam later.
//!
//! Main types:
//! - [`Identity`]: a certificate chain (leaf first) with its private key, read from PEM, DER
//!   or PKCS#12; [`Identity::renewable`] with [`IdentityRenewal`] swaps a client's
//!   certificate for new connections without rebuilding configurations.
//! - [`TrustAnchors`]: the CA certificates a peer's chain must lead to.
//! - [`server_config`] with [`ClientAuth`] (none, optional or required client certificates),
//!   [`client_config`] with [`ClientOptions`] (trust, optional client identity, and the
//!   explicitly named `danger_accept_any_hostname` for Konnektors addressed by IP addresses
//!   that are not in their certificate).
//!
//! Invariants: private keys never appear in `Debug` output; every error names the input
//! that was wrong.

mod config;
mod identity;

pub use config::{
    Approval, ClientAuth, ClientOptions, client_config, client_config_approved, peer_leaf,
    server_config,
};
pub use identity::{Identity, IdentityRenewal, TrustAnchors};

/// Re-exported so that users name the same rustls the configurations were built with.
pub use rustls;
pub use tokio_rustls;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// PEM input held no certificate or no key, or could not be parsed.
    #[error("{what}: {detail}")]
    Pem {
        /// What was being read (e.g. "certificate chain").
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A PKCS#12 file could not be opened.
    #[error("PKCS#12: {0}")]
    Pkcs12(#[from] kim_pkcs12::Pkcs12Error),
    /// A certificate could not be used as a trust anchor.
    #[error("trust anchor {index}: {detail}")]
    TrustAnchor {
        /// Position of the certificate in the bundle (0-based).
        index: usize,
        /// What was wrong.
        detail: String,
    },
    /// rustls refused the configuration (e.g. key does not match the certificate).
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}
