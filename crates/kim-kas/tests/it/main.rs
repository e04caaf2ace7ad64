//! Integration tests of kim-kas: the routers on loopback with SQLite + files, driven by curl,
//! python3 (requests, urllib) and schemathesis.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod harness;
mod kas;
mod limits;
mod schemathesis;
