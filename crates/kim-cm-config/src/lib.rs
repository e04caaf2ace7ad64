//! The Clientmodul's operator-facing configuration: `cm.properties` and the key store and
//! trust store the keytool manages (Clientmodul manual chapter 4.2 and §4.4.5; kim-spec §5
//! Tab_Konf_Param).
//!
//! Main types:
//! - [`properties::parse`]: a Java `.properties` reader (escapes, continuation lines,
//!   comments, UTF-8 or ISO-8859-1).
//! - [`keys::KEYS`]: every key with kind, range, default and restart flag.
//! - [`CmConfig`]: the validated model ([`CmConfig::load`]); several Konnektors by
//!   KonnektorId ([`KonnektorSettings`]).
//! - [`KeyStore`] / [`TrustStore`]: sealed files (AES-256-GCM under a per-installation
//!   password, [`StorePassword`]) with key pairs, credentials and trusted certificates per
//!   [`Partner`] (`KON`, `FD`, `CLIENT`).
//!
//! Invariants:
//! - Every rejected value is reported with its key, the value, the allowed range and the
//!   line; unknown keys are errors with a "did you mean" hint, never silently ignored.
//! - Private keys and passwords never appear in `Debug` output; store files are written
//!   with mode 0600 through a temporary file and a rename.

mod entries;
mod error;
pub mod keys;
mod model;
pub mod properties;
mod store;

pub use entries::{
    CertSummary, Credentials, KeyPair, KeyStore, Listed, Partner, TrustStore, pem_blocks,
    read_certificates,
};
pub use error::CmConfigError;
pub use model::{
    AuthAndLogSettings, CmConfig, ContextIds, CoreSettings, FachdienstSettings, KonnektorSettings,
    ProxySettings, ProxyTlsMode, StorePaths, TlsAuth, split_host_port,
};
pub use store::StorePassword;
