//! Helpers shared by the KAS tests: fixture location, deterministic data, chunked readers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::io::{self, Read};
use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// The vendored gematik KAS samples (`tests/data/gematik-kas/`, see its SOURCE.md). Fails
/// the test with a clear message when the folder is missing, so a test never passes without
/// its fixtures.
pub(crate) fn kas_samples_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/gematik-kas");
    assert!(
        dir.is_dir(),
        "gematik KAS fixtures not found at {}",
        dir.display()
    );
    dir
}

/// Reads one of the gematik KAS sample files, failing with its path if absent.
pub(crate) fn kas_sample(name: &str) -> Vec<u8> {
    let path = kas_samples_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A deterministic generator for test data.
pub(crate) fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// `len` pseudo-random bytes.
pub(crate) fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// A reader that hands out its data in pieces of 1..=512 bytes of random length, as a network
/// peer might.
pub(crate) struct TrickleReader<'a> {
    data: &'a [u8],
    rng: ChaCha20Rng,
}

impl<'a> TrickleReader<'a> {
    pub(crate) fn new(data: &'a [u8], seed: u64) -> Self {
        Self {
            data,
            rng: rng(seed),
        }
    }
}

impl Read for TrickleReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = 1 + (self.rng.next_u32() % 512) as usize;
        let n = want.min(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}
