//! Integration tests of kim-message: the gematik conformance vectors and OpenSSL as an
//! independent peer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cms_gematik;
mod cms_openssl;
mod support;
