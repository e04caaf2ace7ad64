//! Integration tests of kim-smtp: the server engine over loopback TCP and implicit TLS
//! against real clients (python3 smtplib, swaks, curl), raw dialogs for the edge cases,
//! and the crate's own client against its server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod backend;
mod client;
mod curl;
mod dialogs;
mod harness;
mod listener;
mod robustness;
mod smtplib;
mod swaks;
mod traces;
