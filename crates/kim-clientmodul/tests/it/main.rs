//! Integration tests of the Clientmodul's send side: the whole chain on loopback with
//! python smtplib/poplib and swaks as real clients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod errors_e2e;
mod fd_cert;
mod harness;
mod kas;
mod kas_env;
mod konnektors;
mod load;
mod providers;
mod receive;
mod receive_kas;
mod refusals;
mod robustness;
mod send;
