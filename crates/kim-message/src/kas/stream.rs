//! Streaming encryption and decryption of the KAS blob (gemSpec_CM_KOMLE 3.2.1 step 3,
//! A_19358-01; 3.2.2 A_19371-04, A_19372-03) in constant memory.
//!
//! Blob layout: `IV (12 bytes) || AES-256-GCM ciphertext || tag (16 bytes)`, no AAD. The
//! SHA-256 of the plaintext (A_19644) is computed in the same pass.

use std::io::{self, Read, Write};

use rand_core::TryCryptoRng;
use zeroize::Zeroizing;

use super::attachment::KimAttachment;
use super::error::KasError;
use super::gcm::{self, GcmError, GcmState, MAX_PLAINTEXT};
use super::hasher::{Mode, with_hasher};

/// Length of the AES-256 key in bytes.
pub const KAS_KEY_LEN: usize = 32;
/// Length of the IV that prefixes the blob.
pub const KAS_IV_LEN: usize = gcm::IV_LEN;
/// Length of the tag that ends the blob.
pub const KAS_TAG_LEN: usize = gcm::TAG_LEN;

/// Bytes read and processed per step. Large enough that AES (AES-NI/VAES), GHASH (CLMUL) and
/// SHA-256 (SHA-NI) run their multi-block paths and the hand-over to the hashing thread is
/// rare, small enough to stay in L2 cache.
const CHUNK: usize = 64 * 1024;

/// IV plus tag: the size of the blob of an empty mail.
const OVERHEAD: u64 = (KAS_IV_LEN + KAS_TAG_LEN) as u64;

/// What [`encrypt_stream`] learned about the plaintext and wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptSummary {
    /// Plaintext bytes read (the KIM-Attachment `size`, `X-KIM-KAS-Size`).
    pub plaintext_size: u64,
    /// SHA-256 of the plaintext (the KIM-Attachment `hash`, A_19644).
    pub plaintext_sha256: [u8; 32],
    /// Bytes written: `IV || ciphertext || tag`, equal to [`blob_size`]`(plaintext_size)`.
    pub blob_size: u64,
}

/// What [`decrypt_stream`] learned about the plaintext it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptSummary {
    /// Plaintext bytes written.
    pub plaintext_size: u64,
    /// SHA-256 of the plaintext, to compare with the KIM-Attachment `hash` ([`verify_hash`]).
    pub plaintext_sha256: [u8; 32],
}

/// Size of the blob for a plaintext of `plaintext_size` bytes: IV + plaintext + tag. Use it for
/// the exact `Content-Length` of the upload (A_22427-01) before encrypting.
#[must_use]
pub fn blob_size(plaintext_size: u64) -> u64 {
    plaintext_size.saturating_add(OVERHEAD)
}

/// Draws a fresh AES-256 key and 96-bit IV from the operating system's CSPRNG (A_19358-01).
///
/// # Errors
/// [`KasError::Random`] if the operating system refuses to provide randomness.
pub fn generate_key_and_iv() -> Result<(Zeroizing<[u8; KAS_KEY_LEN]>, [u8; KAS_IV_LEN]), KasError> {
    generate_key_and_iv_from(&mut getrandom::SysRng)
}

/// Like [`generate_key_and_iv`], with the random number generator supplied by the caller
/// (tests use a seeded generator to get reproducible blobs).
///
/// # Errors
/// [`KasError::Random`] if the generator fails.
pub fn generate_key_and_iv_from<R: TryCryptoRng + ?Sized>(
    rng: &mut R,
) -> Result<(Zeroizing<[u8; KAS_KEY_LEN]>, [u8; KAS_IV_LEN]), KasError> {
    let mut key = Zeroizing::new([0u8; KAS_KEY_LEN]);
    let mut iv = [0u8; KAS_IV_LEN];
    rng.try_fill_bytes(key.as_mut_slice())
        .and_then(|()| rng.try_fill_bytes(&mut iv))
        .map_err(|e| KasError::Random(e.to_string()))?;
    Ok((key, iv))
}

/// Encrypts everything `input` yields into `output` as a KAS blob
/// (`IV || ciphertext || tag`), computing SHA-256 over the plaintext on the way.
///
/// Memory use is constant (a few 64 KiB buffers) whatever the input size. `output` receives
/// the IV first, then the ciphertext chunk by chunk, then the tag; it is flushed at the end.
/// When the machine has more than one core, SHA-256 runs on a scoped helper thread that
/// overlaps with encryption; it has ended when this function returns.
/// The caller must never reuse `key` with the same `iv` for another message.
///
/// # Errors
/// [`KasError::Io`] if reading or writing fails, [`KasError::TooLarge`] above 2^36 - 32 bytes
/// of plaintext.
pub fn encrypt_stream<R: Read, W: Write>(
    key: &[u8; KAS_KEY_LEN],
    iv: &[u8; KAS_IV_LEN],
    input: R,
    output: W,
) -> Result<EncryptSummary, KasError> {
    encrypt_stream_with(Mode::auto(), key, iv, input, output)
}

pub(crate) fn encrypt_stream_with<R: Read, W: Write>(
    mode: Mode,
    key: &[u8; KAS_KEY_LEN],
    iv: &[u8; KAS_IV_LEN],
    mut input: R,
    mut output: W,
) -> Result<EncryptSummary, KasError> {
    let mut gcm = GcmState::new(key, iv);
    let mut ciphertext = vec![0u8; CHUNK];

    let (plaintext_size, sha256) = with_hasher(mode, CHUNK, |hasher| {
        let mut plaintext = hasher.first_buffer()?;
        let mut total = 0u64;
        output.write_all(iv)?;
        loop {
            let n = read_full(&mut input, &mut plaintext)?;
            let (pt, ct) = (plaintext.get(..n), ciphertext.get_mut(..n));
            let (Some(pt), Some(ct)) = (pt, ct) else {
                return Err(buffer_bug());
            };
            gcm.encrypt(pt, ct).map_err(gcm_error)?;
            output.write_all(ct)?;
            total += n as u64;
            plaintext = hasher.consume(plaintext, n)?;
            if n < CHUNK {
                return Ok(total);
            }
        }
    })?;
    output.write_all(&gcm.finish())?;
    output.flush()?;

    Ok(EncryptSummary {
        plaintext_size,
        plaintext_sha256: sha256,
        blob_size: blob_size(plaintext_size),
    })
}

/// Decrypts a KAS blob (`IV || ciphertext || tag`) from `input` into `output`, computing
/// SHA-256 over the plaintext on the way, and checks the tag at the end.
///
/// # Unauthenticated output — read this
/// To run in constant memory, this function writes plaintext to `output` **before** the tag
/// has been verified. Only an `Ok` result proves that what was written is authentic. **When
/// the result is an error, everything written to `output` is unauthenticated data an attacker
/// may have chosen: the caller must discard it** (truncate or delete the spool file, never
/// deliver or parse it). Use [`decrypt_to_vec`] when the plaintext fits in memory and should
/// never be seen unverified.
///
/// Like [`encrypt_stream`], it may hash on a scoped helper thread.
///
/// # Errors
/// [`KasError::TooShort`] if the blob is shorter than IV plus tag, [`KasError::TagMismatch`] if
/// authentication fails (wrong key or altered blob, code 4007), [`KasError::Io`] if reading or
/// writing fails, [`KasError::TooLarge`] if the ciphertext exceeds the GCM limit.
pub fn decrypt_stream<R: Read, W: Write>(
    key: &[u8; KAS_KEY_LEN],
    input: R,
    output: W,
) -> Result<DecryptSummary, KasError> {
    decrypt_stream_with(Mode::auto(), key, input, output)
}

pub(crate) fn decrypt_stream_with<R: Read, W: Write>(
    mode: Mode,
    key: &[u8; KAS_KEY_LEN],
    mut input: R,
    mut output: W,
) -> Result<DecryptSummary, KasError> {
    let mut iv = [0u8; KAS_IV_LEN];
    let got = read_full(&mut input, &mut iv)?;
    if got < KAS_IV_LEN {
        return Err(too_short(got as u64));
    }

    let mut gcm = GcmState::new(key, &iv);
    // The last KAS_TAG_LEN bytes seen so far may be the tag, so they are held back at the
    // front of the buffer until more input proves they are ciphertext.
    let mut ciphertext = vec![0u8; CHUNK + KAS_TAG_LEN];
    let mut held = 0usize;

    let (plaintext_size, sha256) = with_hasher(mode, CHUNK, |hasher| {
        let mut plaintext = hasher.first_buffer()?;
        let mut total = 0u64;
        loop {
            let n = read_full(&mut input, ciphertext.get_mut(held..).unwrap_or_default())?;
            let filled = held + n;
            let at_end = filled < ciphertext.len();
            let Some(ct_len) = filled.checked_sub(KAS_TAG_LEN) else {
                // Only reachable at the end of input: fewer than KAS_TAG_LEN bytes after the IV.
                return Err(too_short((KAS_IV_LEN + filled) as u64));
            };
            let (ct, pt) = (ciphertext.get(..ct_len), plaintext.get_mut(..ct_len));
            let (Some(ct), Some(pt)) = (ct, pt) else {
                return Err(buffer_bug());
            };
            gcm.decrypt(ct, pt).map_err(gcm_error)?;
            output.write_all(pt)?;
            total += ct_len as u64;
            plaintext = hasher.consume(plaintext, ct_len)?;
            ciphertext.copy_within(ct_len..filled, 0);
            held = KAS_TAG_LEN;
            if at_end {
                return Ok(total);
            }
        }
    })?;

    let mut received = [0u8; KAS_TAG_LEN];
    received.copy_from_slice(ciphertext.get(..KAS_TAG_LEN).unwrap_or(&[0; KAS_TAG_LEN]));
    if !gcm::tags_equal(&gcm.finish(), &received) {
        return Err(KasError::TagMismatch);
    }
    output.flush()?;
    Ok(DecryptSummary {
        plaintext_size,
        plaintext_sha256: sha256,
    })
}

/// Decrypts a KAS blob into memory and returns the plaintext only if the tag verifies. On any
/// error the partial plaintext is wiped; so is every smaller buffer left behind while the
/// plaintext grew.
///
/// # Errors
/// As [`decrypt_stream`].
pub fn decrypt_to_vec<R: Read>(
    key: &[u8; KAS_KEY_LEN],
    input: R,
) -> Result<(Vec<u8>, DecryptSummary), KasError> {
    let mut plaintext = WipingVec(Zeroizing::new(Vec::new()));
    let summary = decrypt_stream(key, input, &mut plaintext)?;
    Ok((std::mem::take(&mut *plaintext.0), summary))
}

/// A growing byte vector that wipes each buffer it outgrows (`Vec`'s own reallocation would
/// free the old buffer unwiped) and its final buffer when dropped.
struct WipingVec(Zeroizing<Vec<u8>>);

impl Write for WipingVec {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let needed = self.0.len().saturating_add(data.len());
        if needed > self.0.capacity() {
            let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity() * 2)));
            grown.extend_from_slice(&self.0);
            // The replaced buffer is wiped when dropped here.
            self.0 = grown;
        }
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Compares the SHA-256 of the decrypted mail with the KIM-Attachment `hash` (A_19372-03).
///
/// # Errors
/// [`KasError::HashMismatch`] (code 4012) if they differ; [`KasError::InvalidBase64`] or
/// [`KasError::WrongLength`] if `hash` is not the Base64 of 32 bytes.
pub fn verify_hash(att: &KimAttachment, summary: &DecryptSummary) -> Result<(), KasError> {
    if att.sha256()? == summary.plaintext_sha256 {
        Ok(())
    } else {
        Err(KasError::HashMismatch)
    }
}

/// Reads until `buf` is full or the input ends; returns the number of bytes read. Retries
/// on `Interrupted`.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match input.read(rest) {
            Ok(0) => break,
            // A reader claiming more than it was given is capped to the buffer it had.
            Ok(n) => filled += n.min(rest.len()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn too_short(actual: u64) -> KasError {
    KasError::TooShort {
        actual,
        minimum: OVERHEAD,
    }
}

fn gcm_error(e: GcmError) -> KasError {
    match e {
        GcmError::LimitExceeded => KasError::TooLarge {
            limit: MAX_PLAINTEXT,
        },
        GcmError::Length => buffer_bug(),
    }
}

/// Buffer lengths disagree: a bug in this module, reported instead of panicking.
fn buffer_bug() -> KasError {
    KasError::Io(io::Error::other(
        "internal error: KAS buffer lengths disagree",
    ))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
