//! Incremental AES-256-GCM (NIST SP 800-38D) with a 96-bit IV, no AAD and a 128-bit tag,
//! built from the `aes`, `ctr` (Ctr32BE) and `ghash` primitives.
//!
//! - `J0 = IV || 0x00000001`; the keystream starts at `inc32(J0)`;
//! - GHASH runs over the ciphertext, zero-padded to a block, followed by the block of the
//!   64-bit bit lengths of AAD (always 0) and ciphertext;
//! - `tag = E_K(J0) XOR GHASH`.
//!
//! [`GcmState`] accepts data in pieces of any length; it buffers a partial GHASH block itself,
//! so the result does not depend on how the caller chunks the stream.

use aes::Aes256;
use cipher::{BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;

/// Length of the AES-GCM IV used by KIM (96 bits).
pub(crate) const IV_LEN: usize = 12;
/// Length of the AES-GCM tag used by KIM (128 bits).
pub(crate) const TAG_LEN: usize = 16;
/// Largest plaintext one key/IV pair may encrypt: 2^36 - 32 bytes (SP 800-38D 5.2.1.1), which
/// also keeps the 32-bit block counter from wrapping.
pub(crate) const MAX_PLAINTEXT: u64 = (1 << 36) - 32;

const BLOCK: usize = 16;

type Ctr = ctr::Ctr32BE<Aes256>;

/// The running state of one GCM encryption or decryption.
pub(crate) struct GcmState {
    ctr: Ctr,
    ghash: GHash,
    /// `E_K(J0)`, XORed onto the GHASH result to form the tag.
    tag_mask: [u8; BLOCK],
    /// Ciphertext bytes not yet hashed because they do not fill a GHASH block.
    partial: [u8; BLOCK],
    partial_len: usize,
    /// Ciphertext bytes processed so far.
    len: u64,
}

/// Why [`GcmState`] refused data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GcmError {
    /// Processing would exceed [`MAX_PLAINTEXT`].
    LimitExceeded,
    /// Input and output buffers differ in length (a bug in the caller).
    Length,
}

impl GcmState {
    pub(crate) fn new(key: &[u8; 32], iv: &[u8; IV_LEN]) -> Self {
        let aes = Aes256::new(key.into());

        let mut h = ghash::Block::default();
        aes.encrypt_block(&mut h);
        let ghash = GHash::new(&h);

        let mut j0 = [0u8; BLOCK];
        j0[..IV_LEN].copy_from_slice(iv);
        j0[BLOCK - 1] = 1;
        let mut tag_mask = ghash::Block::from(j0);
        aes.encrypt_block(&mut tag_mask);

        // inc32(J0): with a 96-bit IV the low 32 bits of J0 are 1, so the first keystream
        // counter is IV || 0x00000002.
        let mut first_counter = j0;
        first_counter[BLOCK - 1] = 2;
        let ctr = Ctr::new(key.into(), &first_counter.into());

        Self {
            ctr,
            ghash,
            tag_mask: tag_mask.into(),
            partial: [0; BLOCK],
            partial_len: 0,
            len: 0,
        }
    }

    /// Encrypts `input` into `output` (same length) and authenticates the ciphertext.
    pub(crate) fn encrypt(&mut self, input: &[u8], output: &mut [u8]) -> Result<(), GcmError> {
        if input.len() != output.len() {
            return Err(GcmError::Length);
        }
        self.count(input.len())?;
        self.ctr
            .try_apply_keystream_b2b(input, output)
            .map_err(|_| GcmError::LimitExceeded)?;
        self.absorb(output);
        Ok(())
    }

    /// Authenticates the ciphertext in `input` and decrypts it into `output` (same length).
    pub(crate) fn decrypt(&mut self, input: &[u8], output: &mut [u8]) -> Result<(), GcmError> {
        if input.len() != output.len() {
            return Err(GcmError::Length);
        }
        self.count(input.len())?;
        self.absorb(input);
        self.ctr
            .try_apply_keystream_b2b(input, output)
            .map_err(|_| GcmError::LimitExceeded)?;
        Ok(())
    }

    /// Finishes GHASH and returns the tag.
    pub(crate) fn finish(mut self) -> [u8; TAG_LEN] {
        if self.partial_len > 0 {
            let tail = self.partial.get(..self.partial_len).unwrap_or(&[]);
            self.ghash.update_padded(tail);
        }
        let mut lengths = [0u8; BLOCK];
        // AAD length (first 8 bytes) stays 0; ciphertext length in bits follows. `len` is at
        // most MAX_PLAINTEXT < 2^36, so the multiplication cannot overflow.
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        self.ghash.update(&[lengths.into()]);
        let mut tag: [u8; TAG_LEN] = self.ghash.finalize().into();
        for (t, m) in tag.iter_mut().zip(self.tag_mask) {
            *t ^= m;
        }
        tag
    }

    fn count(&mut self, n: usize) -> Result<(), GcmError> {
        let new_len = u64::try_from(n)
            .ok()
            .and_then(|n| self.len.checked_add(n))
            .filter(|&l| l <= MAX_PLAINTEXT)
            .ok_or(GcmError::LimitExceeded)?;
        self.len = new_len;
        Ok(())
    }

    /// Feeds ciphertext to GHASH, keeping a partial block until it is complete or the stream
    /// ends.
    fn absorb(&mut self, mut data: &[u8]) {
        if self.partial_len > 0 {
            let take = (BLOCK - self.partial_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self
                .partial
                .get_mut(self.partial_len..self.partial_len + take)
            {
                dst.copy_from_slice(head);
            }
            self.partial_len += take;
            data = rest;
            if self.partial_len < BLOCK {
                return;
            }
            self.ghash.update(&[self.partial.into()]);
            self.partial_len = 0;
        }
        let whole = data.len() - data.len() % BLOCK;
        let (blocks, tail) = data.split_at(whole);
        // `update_padded` on a multiple of the block size adds no padding, and lets GHASH
        // process many blocks per call (the CLMUL backend works on several blocks at once).
        self.ghash.update_padded(blocks);
        if let Some(dst) = self.partial.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.partial_len = tail.len();
    }
}

/// Compares two tags in time independent of where they differ.
pub(crate) fn tags_equal(a: &[u8; TAG_LEN], b: &[u8; TAG_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex_decode(&s.split_whitespace().collect::<String>())
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn seal(key: &[u8; 32], iv: &[u8; 12], pt: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let mut buf = vec![0; pt.len()];
        let mut gcm = GcmState::new(key, iv);
        gcm.encrypt(pt, &mut buf).unwrap();
        (buf, gcm.finish())
    }

    /// Test cases 13–16 of McGrew/Viega, "The Galois/Counter Mode of Operation (GCM)",
    /// the AES-256 vectors with 96-bit IV (test case 16 uses AAD, which KIM does not; its
    /// ciphertext still checks the keystream).
    const K14: &str = "feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308";
    const IV14: &str = "cafebabefacedbaddecaf888";
    const P15: &str = "d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72
                       1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b391aafd255";
    const C15: &str = "522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa
                       8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662898015ad";

    #[test]
    fn gcm_spec_test_case_13_empty_zero_key() {
        let (ct, tag) = seal(&[0; 32], &[0; 12], b"");
        assert!(ct.is_empty());
        assert_eq!(tag.to_vec(), unhex("530f8afbc74536b9a963b4f1c4cb738b"));
    }

    #[test]
    fn gcm_spec_test_case_14_one_zero_block() {
        let (ct, tag) = seal(&[0; 32], &[0; 12], &[0; 16]);
        assert_eq!(ct, unhex("cea7403d4d606b6e074ec5d3baf39d18"));
        assert_eq!(tag.to_vec(), unhex("d0d1c8a799996bf0265b98b5d48ab919"));
    }

    #[test]
    fn gcm_spec_test_case_15_four_blocks() {
        let key: [u8; 32] = unhex(K14).try_into().unwrap();
        let iv: [u8; 12] = unhex(IV14).try_into().unwrap();
        let (ct, tag) = seal(&key, &iv, &unhex(P15));
        assert_eq!(ct, unhex(C15));
        assert_eq!(tag.to_vec(), unhex("b094dac5d93471bdec1a502270e3cc6c"));
    }

    #[test]
    fn gcm_spec_test_case_16_keystream_for_partial_block() {
        // Test case 16 encrypts the first 60 bytes of P15 (with AAD, so only the ciphertext
        // applies here): the final partial block must use the same keystream.
        let key: [u8; 32] = unhex(K14).try_into().unwrap();
        let iv: [u8; 12] = unhex(IV14).try_into().unwrap();
        let (ct, _) = seal(&key, &iv, &unhex(P15)[..60]);
        assert_eq!(ct, unhex(C15)[..60].to_vec());
    }

    #[test]
    fn chunking_does_not_change_the_result() {
        let key: [u8; 32] = unhex(K14).try_into().unwrap();
        let iv: [u8; 12] = unhex(IV14).try_into().unwrap();
        let pt: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let (whole_ct, whole_tag) = seal(&key, &iv, &pt);
        for step in [1, 3, 15, 16, 17, 100] {
            let mut ct = vec![0; pt.len()];
            let mut gcm = GcmState::new(&key, &iv);
            for (i, o) in pt.chunks(step).zip(ct.chunks_mut(step)) {
                gcm.encrypt(i, o).unwrap();
            }
            assert_eq!(ct, whole_ct, "step {step}");
            assert_eq!(gcm.finish(), whole_tag, "step {step}");

            let mut out = vec![0; pt.len()];
            let mut gcm = GcmState::new(&key, &iv);
            for (i, o) in ct.chunks(step).zip(out.chunks_mut(step)) {
                gcm.decrypt(i, o).unwrap();
            }
            assert_eq!(out, pt, "step {step}");
            assert_eq!(gcm.finish(), whole_tag, "step {step}");
        }
    }

    #[test]
    fn refuses_more_than_the_gcm_limit() {
        let mut gcm = GcmState::new(&[1; 32], &[2; 12]);
        gcm.len = MAX_PLAINTEXT - 4;
        assert_eq!(
            gcm.encrypt(&[0u8; 5], &mut [0u8; 5]),
            Err(GcmError::LimitExceeded)
        );
        assert_eq!(gcm.encrypt(&[0u8; 4], &mut [0u8; 4]), Ok(()));
        assert_eq!(
            GcmState::new(&[1; 32], &[2; 12]).decrypt(&[0u8; 4], &mut [0u8; 3]),
            Err(GcmError::Length)
        );
    }

    #[test]
    fn tag_comparison() {
        let a = [5u8; 16];
        let mut b = a;
        assert!(tags_equal(&a, &b));
        b[15] ^= 1;
        assert!(!tags_equal(&a, &b));
    }
}
