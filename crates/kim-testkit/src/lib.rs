//! Test kit for the KIM crates.
//!
//! - [`pki`]: a deterministic TI-like test PKI (RSA and brainpoolP256r1 hierarchies,
//!   SMC-B and HBA card certificates, TLS certificates), used by tests, by the
//!   Konnektor simulator's software cards and by `kim pki create`.
//! - [`peers`]: running the Python peers of the integration tests.
//!
//! Nothing in this crate may appear in a production crate's `[dependencies]`.

pub mod peers;
pub mod pki;
