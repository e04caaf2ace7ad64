//! TLS handshakes over real loopback sockets with the test PKI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod handshake;
