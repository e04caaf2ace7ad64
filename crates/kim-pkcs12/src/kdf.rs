//! The PKCS#12 key derivation function (RFC 7292 Appendix B.2) and password encodings.

use digest::Digest;
use digest::block_api::BlockSizeUser;
use zeroize::Zeroizing;

/// Diversifier ID 1: key material for encryption or decryption (RFC 7292 B.3).
pub(crate) const ID_KEY: u8 = 1;
/// Diversifier ID 2: initialisation vector.
pub(crate) const ID_IV: u8 = 2;
/// Diversifier ID 3: integrity (MAC) key.
pub(crate) const ID_MAC: u8 = 3;

/// Hash functions usable with the PKCS#12 KDF and the MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// Output length in bytes.
    pub(crate) fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Looks up a digest by the content octets of its OID.
    pub(crate) fn from_digest_oid(oid: &[u8]) -> Option<Self> {
        use crate::oid;
        [
            (oid::SHA1, Self::Sha1),
            (oid::SHA256, Self::Sha256),
            (oid::SHA384, Self::Sha384),
            (oid::SHA512, Self::Sha512),
        ]
        .into_iter()
        .find(|(o, _)| oid::is(oid, o))
        .map(|(_, h)| h)
    }

    /// Looks up the hash of an HMAC PRF OID (RFC 8018 Appendix B.1.2).
    pub(crate) fn from_hmac_oid(oid: &[u8]) -> Option<Self> {
        use crate::oid;
        [
            (oid::HMAC_SHA1, Self::Sha1),
            (oid::HMAC_SHA256, Self::Sha256),
            (oid::HMAC_SHA384, Self::Sha384),
            (oid::HMAC_SHA512, Self::Sha512),
        ]
        .into_iter()
        .find(|(o, _)| oid::is(oid, o))
        .map(|(_, h)| h)
    }
}

/// The password as PKCS#12 wants it: a BMPString (UTF-16 big endian) with a terminating zero
/// (RFC 7292 Appendix B.1). The empty password becomes the two zero bytes.
pub(crate) fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Derives `out.len()` bytes with the PKCS#12 KDF using `hash`.
///
/// `password` is already encoded (see [`bmp_password`]); an empty slice is the "absent password"
/// that some producers use for the empty password.
pub(crate) fn derive(
    hash: Hash,
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    out: &mut [u8],
) {
    match hash {
        Hash::Sha1 => derive_with::<sha1::Sha1>(password, salt, id, iterations, out),
        Hash::Sha256 => derive_with::<sha2::Sha256>(password, salt, id, iterations, out),
        Hash::Sha384 => derive_with::<sha2::Sha384>(password, salt, id, iterations, out),
        Hash::Sha512 => derive_with::<sha2::Sha512>(password, salt, id, iterations, out),
    }
}

/// RFC 7292 Appendix B.2, steps 1 to 7.
fn derive_with<D: Digest + BlockSizeUser>(
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    out: &mut [u8],
) {
    let v = D::block_size();
    let d_block = vec![id; v];
    // I = S || P, each repeated to a multiple of v bytes.
    let mut i_block = Zeroizing::new(Vec::new());
    i_block.extend_from_slice(&repeat_to_block(salt, v));
    i_block.extend_from_slice(&repeat_to_block(password, v));

    for out_chunk in out.chunks_mut(<D as Digest>::output_size()) {
        let mut a = D::new()
            .chain_update(&d_block)
            .chain_update(&*i_block)
            .finalize();
        for _ in 1..iterations {
            a = D::digest(&a);
        }
        let n = out_chunk.len();
        out_chunk.copy_from_slice(a.get(..n).unwrap_or_default());
        // B = A repeated to v bytes; each v-byte block of I becomes (I_j + B + 1) mod 2^(8v).
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        for block in i_block.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = (sum & 0xff) as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// `data` repeated to the next multiple of `v` bytes (empty input stays empty).
fn repeat_to_block(data: &[u8], v: usize) -> Zeroizing<Vec<u8>> {
    if data.is_empty() {
        return Zeroizing::new(Vec::new());
    }
    let len = data.len().div_ceil(v) * v;
    Zeroizing::new(data.iter().copied().cycle().take(len).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Vectors from the PKCS#12 test set used by OpenSSL, BouncyCastle and the `p12` crate:
    /// password "smeg", salt 0a58cf64530d823f, SHA-1.
    #[test]
    fn matches_known_vectors() {
        let pass = bmp_password("smeg");
        let salt = [0x0a, 0x58, 0xcf, 0x64, 0x53, 0x0d, 0x82, 0x3f];
        let mut key = [0u8; 24];
        derive(Hash::Sha1, &pass, &salt, ID_KEY, 1, &mut key);
        assert_eq!(
            hex(&key),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
        let mut iv = [0u8; 8];
        derive(Hash::Sha1, &pass, &salt, ID_IV, 1, &mut iv);
        assert_eq!(hex(&iv), "79993dfe048d3b76");
    }

    #[test]
    fn bmp_password_encoding() {
        assert_eq!(*bmp_password(""), vec![0, 0]);
        assert_eq!(*bmp_password("00"), vec![0, 0x30, 0, 0x30, 0, 0]);
        assert_eq!(*bmp_password("ä"), vec![0, 0xe4, 0, 0]);
    }
}
