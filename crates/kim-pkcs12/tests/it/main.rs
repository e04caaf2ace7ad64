//! Integration tests for kim-pkcs12: interoperability with the OpenSSL CLI, the gematik sample
//! key stores, round trips and robustness against garbage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod ber;
mod build_openssl;
mod fixtures;
mod parse_openssl;
mod robustness;
mod round_trip;
mod support;
