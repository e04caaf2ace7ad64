//! Integration tests of kim-message: the gematik conformance vectors, OpenSSL as an
//! independent peer, and the MIME layer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod cms_gematik;
mod cms_openssl;
mod fuzz_corpus;
mod mime;
mod pipeline;
mod support;
