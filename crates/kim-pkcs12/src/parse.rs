//! Reading a PFX (RFC 7292 §4 and §5) in password integrity and password privacy modes.

use std::borrow::Cow;

use zeroize::Zeroizing;

use crate::bags::{self, Bags};
use crate::kdf::{self, Hash};
use crate::mac;
use crate::oid;
use crate::pbe::{self, Password};
use crate::tlv::{Reader, tag};
use crate::{KeyStore, Pkcs12Error};

/// Reads a PKCS#12 file (DER or BER) holding one private key and its certificates.
///
/// Supported (RFC 7292, RFC 8018):
/// - MAC: HMAC with SHA-1, SHA-256, SHA-384 or SHA-512, key from the PKCS#12 KDF (ID 3); a file
///   without `macData` is read without integrity check.
/// - Encryption of bags and of `encryptedData` contents: PBES2 (PBKDF2 with HMAC-SHA-1/-256/
///   -384/-512; AES-128/192/256-CBC or DES-EDE3-CBC) and the PKCS#12 PBE schemes
///   pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd128BitRC2-CBC, pbeWithSHAAnd40BitRC2-CBC.
/// - Bags: `keyBag`, `pkcs8ShroudedKeyBag`, `certBag` (x509Certificate), nested
///   `safeContentsBag`; CRL, secret and other bags are skipped.
///
/// The empty password is ambiguous in PKCS#12: it can mean the BMPString with only its
/// terminating zero, or no password octets at all. Like OpenSSL, both are tried, and the one
/// the MAC accepts is used for decryption too.
///
/// # Errors
/// [`Pkcs12Error::MacMismatch`] for a wrong password (or a modified file);
/// [`Pkcs12Error::DecryptionFailed`] for a wrong password on a file without MAC;
/// [`Pkcs12Error::UnsupportedVersion`] for a PFX version other than 3;
/// [`Pkcs12Error::UnsupportedAlgorithm`] naming the OID we do not implement;
/// [`Pkcs12Error::Truncated`] / [`Pkcs12Error::Malformed`] for broken structures;
/// [`Pkcs12Error::NoPrivateKey`], [`Pkcs12Error::SeveralPrivateKeys`],
/// [`Pkcs12Error::NoCertificate`], [`Pkcs12Error::NoMatchingCertificate`] when the contents do
/// not make one key store.
pub fn parse(pfx_der: &[u8], password: &str) -> Result<KeyStore, Pkcs12Error> {
    let pfx = read_pfx(pfx_der)?;
    let mut candidates = vec![kdf::bmp_password(password)];
    if password.is_empty() {
        candidates.push(Zeroizing::new(Vec::new()));
    }

    let bags = match &pfx.mac {
        Some(mac_data) => {
            let bmp = candidates
                .into_iter()
                .find(|bmp| mac_data.verifies(bmp, &pfx.auth_safe))
                .ok_or(Pkcs12Error::MacMismatch)?;
            read_auth_safe(
                &pfx.auth_safe,
                &Password {
                    utf8: password.as_bytes(),
                    bmp,
                },
            )?
        }
        None => read_without_mac(&pfx.auth_safe, password, candidates)?,
    };
    bags.into_key_store()
}

/// Without a MAC nothing tells which empty-password encoding is meant: take the first with
/// which everything decrypts.
fn read_without_mac(
    auth_safe: &[u8],
    password: &str,
    candidates: Vec<Zeroizing<Vec<u8>>>,
) -> Result<Bags, Pkcs12Error> {
    let mut last_error = Pkcs12Error::NoPrivateKey;
    for bmp in candidates {
        match read_auth_safe(
            auth_safe,
            &Password {
                utf8: password.as_bytes(),
                bmp,
            },
        ) {
            Ok(bags) => return Ok(bags),
            Err(e @ Pkcs12Error::DecryptionFailed { .. }) => last_error = e,
            Err(e) => return Err(e),
        }
    }
    Err(last_error)
}

/// The parts of a `PFX` we use.
struct Pfx<'a> {
    /// Content octets of the authSafe `data` ContentInfo: the DER of the AuthenticatedSafe.
    auth_safe: Cow<'a, [u8]>,
    mac: Option<MacData<'a>>,
}

/// `MacData` (RFC 7292 §4).
struct MacData<'a> {
    hash: Hash,
    digest: Cow<'a, [u8]>,
    salt: Cow<'a, [u8]>,
    iterations: u32,
}

impl MacData<'_> {
    fn verifies(&self, bmp_password: &[u8], auth_safe: &[u8]) -> bool {
        mac::verify(
            self.hash,
            bmp_password,
            &self.salt,
            self.iterations,
            auth_safe,
            &self.digest,
        )
    }
}

/// `PFX ::= SEQUENCE { version, authSafe ContentInfo, macData MacData OPTIONAL }`.
fn read_pfx(der: &[u8]) -> Result<Pfx<'_>, Pkcs12Error> {
    let mut outer = Reader::new(der);
    let mut pfx = outer.sequence("PFX")?;
    if !outer.is_empty() {
        return Err(Pkcs12Error::malformed("PFX", "trailing data after the PFX"));
    }
    let version = pfx.uint("PFX version")?;
    if version != 3 {
        return Err(Pkcs12Error::UnsupportedVersion(version));
    }
    let mut content_info = pfx.sequence("PFX authSafe")?;
    let content_type = content_info.oid("PFX authSafe contentType")?;
    if !oid::is(content_type, &oid::DATA) {
        // signedData would be public-key integrity mode, which we do not implement.
        return Err(Pkcs12Error::unsupported(
            "authSafe content type",
            content_type,
        ));
    }
    let auth_safe = content_info
        .read(tag::CONTEXT_0, "PFX authSafe content")?
        .children("PFX authSafe content")?
        .octet_string("PFX authSafe content")?;
    let mac = if pfx.is_empty() {
        None
    } else {
        Some(read_mac_data(&mut pfx.sequence("MacData")?)?)
    };
    Ok(Pfx { auth_safe, mac })
}

fn read_mac_data<'a>(mac_data: &mut Reader<'a>) -> Result<MacData<'a>, Pkcs12Error> {
    let mut digest_info = mac_data.sequence("MacData DigestInfo")?;
    let mut digest_algorithm = digest_info.sequence("MacData digestAlgorithm")?;
    let digest_oid = digest_algorithm.oid("MacData digestAlgorithm")?;
    // Parameters: absent or NULL (RFC 5754 §2). The MAC does not cover them, so be strict.
    if let Some(tag) = digest_algorithm.peek_tag() {
        let params = digest_algorithm.read_any("MacData digestAlgorithm parameters")?;
        if tag != tag::NULL || !params.content.is_empty() || !digest_algorithm.is_empty() {
            return Err(Pkcs12Error::malformed(
                "MacData digestAlgorithm",
                "parameters must be absent or NULL",
            ));
        }
    }
    let hash = Hash::from_digest_oid(digest_oid)
        .ok_or_else(|| Pkcs12Error::unsupported("MAC digest algorithm", digest_oid))?;
    let digest = digest_info.octet_string("MacData digest")?;
    let salt = mac_data.octet_string("MacData macSalt")?;
    let iterations = if mac_data.is_empty() {
        1 // DEFAULT 1
    } else {
        pbe::read_iterations(mac_data, "MacData iterations")?
    };
    Ok(MacData {
        hash,
        digest,
        salt,
        iterations,
    })
}

/// `AuthenticatedSafe ::= SEQUENCE OF ContentInfo`, each `data` or `encryptedData`.
fn read_auth_safe(auth_safe: &[u8], password: &Password<'_>) -> Result<Bags, Pkcs12Error> {
    let mut bags = Bags::default();
    let mut infos = Reader::new(auth_safe).sequence("AuthenticatedSafe")?;
    while !infos.is_empty() {
        let mut info = infos.sequence("AuthenticatedSafe ContentInfo")?;
        let content_type = info.oid("ContentInfo contentType")?;
        let Some(content) = info.read_optional(tag::CONTEXT_0, "ContentInfo content")? else {
            continue;
        };
        let mut content = content.children("ContentInfo content")?;
        if oid::is(content_type, &oid::DATA) {
            let safe_contents = content.octet_string("data ContentInfo")?;
            bags::read_safe_contents(&safe_contents, password, &mut bags)?;
        } else if oid::is(content_type, &oid::ENCRYPTED_DATA) {
            let safe_contents = decrypt_encrypted_data(&mut content, password)?;
            bags::read_safe_contents(&safe_contents, password, &mut bags)?;
        } else {
            // envelopedData (public-key privacy mode) and anything else.
            return Err(Pkcs12Error::unsupported(
                "AuthenticatedSafe content type",
                content_type,
            ));
        }
    }
    Ok(bags)
}

/// `EncryptedData` (RFC 5652 §8) with a password-based content encryption algorithm.
fn decrypt_encrypted_data(
    content: &mut Reader<'_>,
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    const WHAT: &str = "EncryptedData";
    let mut encrypted_data = content.sequence(WHAT)?;
    encrypted_data.uint("EncryptedData version")?;
    let mut info = encrypted_data.sequence("EncryptedContentInfo")?;
    info.oid("EncryptedContentInfo contentType")?;
    let mut algorithm = info.sequence("contentEncryptionAlgorithm")?;
    // [0] IMPLICIT OCTET STRING: primitive in DER, possibly constructed (chunked) in BER.
    let ciphertext = match info.peek_tag() {
        Some(tag::CONTEXT_0_PRIMITIVE | tag::CONTEXT_0) => info
            .read_any("encryptedContent")?
            .octets("encryptedContent")?,
        _ => return Ok(Zeroizing::new(Vec::new())),
    };
    pbe::decrypt(
        &mut algorithm,
        &ciphertext,
        password,
        "encryptedData content",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::{BuildOptions, build};
    use rand_core::SeedableRng;

    /// A store built with the empty password, whose MAC we then recompute over the *absent*
    /// password (no octets), as some producers do.
    fn store_with_absent_password_mac() -> (Vec<u8>, Vec<u8>) {
        let key = crate::test_data::pem("hci-enc-2-kim-bsp.prv.pem", "PRIVATE KEY");
        let cert = crate::test_data::pem("hci-enc-2-kim-bsp.pem", "CERTIFICATE");
        let options = BuildOptions {
            friendly_name: None,
            iterations: 5,
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let file = build(&key, &cert, &[], "", &options, &mut rng).unwrap();
        let pfx = read_pfx(&file).unwrap();
        let mac_data = pfx.mac.as_ref().unwrap();
        let old_mac = mac_data.digest.to_vec();
        let new_mac = mac::compute(Hash::Sha256, &[], &mac_data.salt, 5, &pfx.auth_safe);
        let at = file
            .windows(old_mac.len())
            .position(|w| w == old_mac)
            .unwrap();
        let mut patched = file.clone();
        patched[at..at + new_mac.len()].copy_from_slice(&new_mac);
        (patched, key)
    }

    #[test]
    fn empty_password_also_matches_the_absent_password_mac() {
        let (file, key) = store_with_absent_password_mac();
        assert_eq!(*parse(&file, "").unwrap().private_key, key);
        assert_eq!(parse(&file, "x").unwrap_err(), Pkcs12Error::MacMismatch);
    }

    #[test]
    fn pfx_version_is_checked() {
        let (mut file, _) = store_with_absent_password_mac();
        // PFX version INTEGER is the first element of the outer SEQUENCE (4-byte header).
        assert_eq!(file[4..7], [2, 1, 3]);
        file[6] = 2;
        assert_eq!(
            parse(&file, "").unwrap_err(),
            Pkcs12Error::UnsupportedVersion(2)
        );
    }
}
