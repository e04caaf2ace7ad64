//! The Fachdienst's SMTPS and POP3S servers against Python's smtplib and poplib over mutual
//! TLS, on a real SQLite database and blob directory; two instances relaying to each other.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod harness;
mod mail;
mod outofoffice;
mod purge;
mod relay;
