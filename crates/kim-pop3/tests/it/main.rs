//! kim-pop3 integration tests: the server engine over real loopback sockets (plain TCP and
//! implicit TLS with the test PKI) against python3 poplib, curl, fetchmail and the crate's
//! own client, plus protocol edge cases.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

mod backend;
mod dialogs;
mod dovecot;
mod edge;
mod harness;
mod logging;
mod peers;
mod roundtrip;
mod streaming;
