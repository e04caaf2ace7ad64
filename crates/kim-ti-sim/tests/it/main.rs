//! Integration tests: the simulator on 127.0.0.1:0 over real HTTPS, checked by real peers.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

mod common;
mod negative;
mod operations;
mod transport;
mod zeep;
