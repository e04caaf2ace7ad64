//! The PFX integrity MAC (RFC 7292 §5.1 and Appendix B.4): HMAC keyed with the PKCS#12 KDF
//! (ID 3) over the content octets of the authSafe.

use hmac::{Hmac, KeyInit, Mac};
use zeroize::Zeroizing;

use crate::kdf::{self, Hash};

/// HMAC of `data` under a key derived from `bmp_password`.
pub(crate) fn compute(
    hash: Hash,
    bmp_password: &[u8],
    salt: &[u8],
    iterations: u32,
    data: &[u8],
) -> Vec<u8> {
    let mut key = Zeroizing::new(vec![0u8; hash.output_len()]);
    kdf::derive(hash, bmp_password, salt, kdf::ID_MAC, iterations, &mut key);
    match hash {
        Hash::Sha1 => hmac::<sha1::Sha1>(&key, data),
        Hash::Sha256 => hmac::<sha2::Sha256>(&key, data),
        Hash::Sha384 => hmac::<sha2::Sha384>(&key, data),
        Hash::Sha512 => hmac::<sha2::Sha512>(&key, data),
    }
}

/// Whether `expected` is the MAC of `data` under `bmp_password` (constant-time comparison).
pub(crate) fn verify(
    hash: Hash,
    bmp_password: &[u8],
    salt: &[u8],
    iterations: u32,
    data: &[u8],
    expected: &[u8],
) -> bool {
    let mut key = Zeroizing::new(vec![0u8; hash.output_len()]);
    kdf::derive(hash, bmp_password, salt, kdf::ID_MAC, iterations, &mut key);
    match hash {
        Hash::Sha1 => check::<sha1::Sha1>(&key, data, expected),
        Hash::Sha256 => check::<sha2::Sha256>(&key, data, expected),
        Hash::Sha384 => check::<sha2::Sha384>(&key, data, expected),
        Hash::Sha512 => check::<sha2::Sha512>(&key, data, expected),
    }
}

fn hmac<D: hmac::EagerHash>(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<D>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length; this arm is unreachable.
        Err(_) => Vec::new(),
    }
}

fn check<D: hmac::EagerHash>(key: &[u8], data: &[u8], expected: &[u8]) -> bool {
    match Hmac::<D>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.verify_slice(expected).is_ok()
        }
        Err(_) => false,
    }
}
