//! ECC recipients: KeyAgreeRecipientInfo with ephemeral-static ECDH on brainpoolP256r1
//! (RFC 5753 `dhSinglePass-stdDH-sha256kdf-scheme`, ANSI X9.63 KDF with SHA-256,
//! AES-256 key wrap).
//!
//! The TI's own ECC key transport for cards (gemSpec_Krypt "TI-ECIES", konnektor.md §8.2)
//! is not publicly pinned down to the byte; this crate uses the RFC 5753 form, which
//! OpenSSL produces and reads, as recorded in `docs/adr/0003-ecc-recipients.md`.

use super::common::{AlgId, CertInfo};
use super::{CmsError, der, oid};
use aes_kw::KeyInit;
use bp256::BrainpoolP256r1;
use sha2::{Digest, Sha256};

/// ECC-CMS-SharedInfo (RFC 5753 7.2) for AES-256 wrap and optional UKM.
fn shared_info(ukm: Option<&[u8]>) -> Vec<u8> {
    let key_info = AlgId::new(oid::AES256_WRAP, None).to_der();
    let supp = der::context_constructed(2, &[&der::octet_string(&256u32.to_be_bytes())]);
    match ukm {
        Some(u) => der::sequence(&[
            &key_info,
            &der::context_constructed(0, &[&der::octet_string(u)]),
            &supp,
        ]),
        None => der::sequence(&[&key_info, &supp]),
    }
}

/// ANSI X9.63 KDF with SHA-256 for a 256-bit key encryption key.
pub(crate) fn kek(shared_secret: &[u8], ukm: Option<&[u8]>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(shared_secret);
    h.update(1u32.to_be_bytes());
    h.update(shared_info(ukm));
    h.finalize().into()
}

pub(crate) fn key_encryption_algorithm() -> AlgId {
    AlgId::new(
        oid::ECDH_STD_SHA256_KDF,
        Some(AlgId::new(oid::AES256_WRAP, None).to_der()),
    )
}

#[cfg(feature = "software-keys")]
/// Checks the key encryption algorithm of a received KeyAgreeRecipientInfo.
pub(crate) fn check_algorithm(alg: &AlgId) -> Result<(), CmsError> {
    let wrap_ok = alg
        .params
        .as_deref()
        .and_then(|p| super::ber::parse(p).ok().and_then(|t| AlgId::parse(t).ok()))
        .is_some_and(|w| w.oid == oid::AES256_WRAP);
    if alg.oid == oid::ECDH_STD_SHA256_KDF && wrap_ok {
        Ok(())
    } else {
        Err(CmsError::Unsupported(format!(
            "key agreement {alg} (expected dhSinglePass-stdDH-sha256kdf with aes256-wrap)"
        )))
    }
}

/// Builds the `[1] KeyAgreeRecipientInfo` for one brainpoolP256r1 recipient.
pub(crate) fn build(
    cert: &CertInfo,
    recipient: &ecdsa::VerifyingKey<BrainpoolP256r1>,
    cek: &[u8],
    rng: &mut (impl rand_core::TryCryptoRng + ?Sized),
) -> Result<Vec<u8>, CmsError> {
    use elliptic_curve::sec1::ToSec1Point;
    use rsa::Generate;
    let eph = elliptic_curve::SecretKey::<BrainpoolP256r1>::try_generate_from_rng(rng)
        .map_err(|_| CmsError::Crypto("random number generator failed".into()))?;
    let recipient_pk = elliptic_curve::PublicKey::<BrainpoolP256r1>::from(recipient);
    let shared = eph.diffie_hellman(&recipient_pk);
    let kek = kek(shared.raw_secret_bytes().as_slice(), None);
    let wrapped = wrap(&kek, cek)?;
    let eph_point = eph.public_key().to_sec1_point(false);

    let originator_key = der::context_constructed(
        1,
        &[
            &AlgId::new(oid::EC_PUBLIC_KEY, None).to_der(),
            &bit_string(eph_point.as_bytes()),
        ],
    );
    let rek = der::sequence(&[&der::sequence(&[
        &cert.issuer_serial.to_der(),
        &der::octet_string(&wrapped),
    ])]);
    Ok(der::context_constructed(
        1,
        &[
            &der::uint(3),
            &der::context_constructed(0, &[&originator_key]),
            &key_encryption_algorithm().to_der(),
            &rek,
        ],
    ))
}

fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    let mut out = Vec::new();
    super::der::write_header(
        &mut out,
        super::ber::Tag {
            class: super::ber::Class::Universal,
            constructed: false,
            number: super::ber::Tag::BIT_STRING,
        },
        content.len(),
    );
    out.extend_from_slice(&content);
    out
}

/// AES-256 key wrap (RFC 3394).
pub(crate) fn wrap(kek: &[u8; 32], key: &[u8]) -> Result<Vec<u8>, CmsError> {
    let kw =
        aes_kw::KwAes256::new_from_slice(kek).map_err(|_| CmsError::Crypto("KEK length".into()))?;
    let mut buf = vec![0u8; key.len() + 8];
    let out = kw
        .wrap_key(key, &mut buf)
        .map_err(|e| CmsError::Crypto(format!("AES key wrap: {e}")))?;
    Ok(out.to_vec())
}

#[cfg(feature = "software-keys")]
/// AES-256 key unwrap (RFC 3394); a failed integrity check means a wrong key.
pub(crate) fn unwrap(kek: &[u8; 32], wrapped: &[u8]) -> Result<Vec<u8>, CmsError> {
    let kw =
        aes_kw::KwAes256::new_from_slice(kek).map_err(|_| CmsError::Crypto("KEK length".into()))?;
    let mut buf = vec![0u8; wrapped.len()];
    let out = kw
        .unwrap_key(wrapped, &mut buf)
        .map_err(|_| CmsError::Decryption("AES key unwrap failed: wrong key".into()))?;
    Ok(out.to_vec())
}
