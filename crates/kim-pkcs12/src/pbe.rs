//! Password-based encryption: PBES2 (RFC 8018 §6.2) and the PKCS#12 PBE schemes
//! (RFC 7292 Appendix C, with the Appendix B KDF).

use cipher::block_padding::Pkcs7;
use cipher::{
    BlockCipherDecrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, KeyIvInit,
};
use zeroize::Zeroizing;

use crate::Pkcs12Error;
use crate::kdf::{self, Hash};
use crate::oid;
use crate::tlv::{self, Reader, tag};

/// Refuse iteration counts above this: a hostile file could otherwise keep us busy for hours.
/// Real files use 1 to a few hundred thousand.
pub(crate) const MAX_ITERATIONS: u64 = 10_000_000;

/// The password in the encodings the schemes need.
#[derive(Debug)]
pub(crate) struct Password<'a> {
    /// As typed, UTF-8: the PBKDF2 input (what OpenSSL passes to PBES2).
    pub(crate) utf8: &'a [u8],
    /// BMPString with terminating zero, or empty for the "absent" empty password: the input of
    /// the PKCS#12 KDF.
    pub(crate) bmp: Zeroizing<Vec<u8>>,
}

/// Content ciphers usable in PBES2.
#[derive(Debug, Clone, Copy)]
enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl Cipher {
    fn from_oid(oid_bytes: &[u8]) -> Option<Self> {
        [
            (oid::AES128_CBC, Self::Aes128),
            (oid::AES192_CBC, Self::Aes192),
            (oid::AES256_CBC, Self::Aes256),
            (oid::DES_EDE3_CBC, Self::DesEde3),
        ]
        .into_iter()
        .find(|(o, _)| oid::is(oid_bytes, o))
        .map(|(_, c)| c)
    }

    fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 | Self::DesEde3 => 24,
            Self::Aes256 => 32,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            Self::DesEde3 => 8,
            _ => 16,
        }
    }

    fn decrypt(self, key: &[u8], iv: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        match self {
            Self::Aes128 => cbc_decrypt::<aes::Aes128>(key, iv, data),
            Self::Aes192 => cbc_decrypt::<aes::Aes192>(key, iv, data),
            Self::Aes256 => cbc_decrypt::<aes::Aes256>(key, iv, data),
            Self::DesEde3 => cbc_decrypt::<des::TdesEde3>(key, iv, data),
        }
    }
}

fn cbc_decrypt<C: BlockCipherDecrypt + KeyInit>(
    key: &[u8],
    iv: &[u8],
    data: &[u8],
) -> Option<Vec<u8>> {
    let mode = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    mode.decrypt_padded_vec::<Pkcs7>(data).ok()
}

/// Decrypts `data` with the algorithm named by the AlgorithmIdentifier in `alg`.
///
/// `what` names the encrypted part in errors. A padding failure is reported as
/// [`Pkcs12Error::DecryptionFailed`].
pub(crate) fn decrypt(
    alg: &mut Reader<'_>,
    data: &[u8],
    password: &Password<'_>,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    let scheme = alg.oid("encryption AlgorithmIdentifier")?;
    let plain = if oid::is(scheme, &oid::PBES2) {
        let mut params = alg.sequence("PBES2-params")?;
        pbes2_decrypt(&mut params, data, password.utf8)?
    } else if oid::is(scheme, &oid::PBE_SHA_3DES) {
        pkcs12_pbe_decrypt(alg, data, &password.bmp, Pkcs12Pbe::TripleDes)?
    } else if oid::is(scheme, &oid::PBE_SHA_RC2_128) {
        pkcs12_pbe_decrypt(alg, data, &password.bmp, Pkcs12Pbe::Rc2 { key_len: 16 })?
    } else if oid::is(scheme, &oid::PBE_SHA_RC2_40) {
        pkcs12_pbe_decrypt(alg, data, &password.bmp, Pkcs12Pbe::Rc2 { key_len: 5 })?
    } else {
        return Err(Pkcs12Error::unsupported(
            "password-based encryption scheme",
            scheme,
        ));
    };
    plain
        .map(Zeroizing::new)
        .ok_or(Pkcs12Error::DecryptionFailed { what })
}

/// Reads an iteration count and enforces the bounds.
pub(crate) fn read_iterations(
    reader: &mut Reader<'_>,
    what: &'static str,
) -> Result<u32, Pkcs12Error> {
    let n = reader.uint(what)?;
    if n == 0 || n > MAX_ITERATIONS {
        return Err(Pkcs12Error::malformed(
            what,
            format!("iteration count {n} outside 1..={MAX_ITERATIONS}"),
        ));
    }
    u32::try_from(n).map_err(|_| Pkcs12Error::malformed(what, "iteration count too large"))
}

/// PBES2 decryption (RFC 8018 §6.2.2) with PBKDF2 (§5.2).
fn pbes2_decrypt(
    params: &mut Reader<'_>,
    data: &[u8],
    password: &[u8],
) -> Result<Option<Vec<u8>>, Pkcs12Error> {
    let mut kdf_alg = params.sequence("PBES2 keyDerivationFunc")?;
    let kdf_oid = kdf_alg.oid("PBES2 keyDerivationFunc")?;
    if !oid::is(kdf_oid, &oid::PBKDF2) {
        return Err(Pkcs12Error::unsupported(
            "PBES2 key derivation function",
            kdf_oid,
        ));
    }
    let mut kdf_params = kdf_alg.sequence("PBKDF2-params")?;
    let salt = kdf_params.octet_string("PBKDF2 salt")?;
    let iterations = read_iterations(&mut kdf_params, "PBKDF2 iterationCount")?;
    let key_len = match kdf_params.read_optional(tag::INTEGER, "PBKDF2 keyLength")? {
        Some(element) => Some(element.uint("PBKDF2 keyLength")?),
        None => None,
    };
    let prf = match kdf_params.read_optional(tag::SEQUENCE, "PBKDF2 prf")? {
        None => Hash::Sha1,
        Some(element) => {
            let prf_oid = element.children("PBKDF2 prf")?.oid("PBKDF2 prf")?;
            Hash::from_hmac_oid(prf_oid)
                .ok_or_else(|| Pkcs12Error::unsupported("PBKDF2 pseudo-random function", prf_oid))?
        }
    };

    let mut enc_alg = params.sequence("PBES2 encryptionScheme")?;
    let enc_oid = enc_alg.oid("PBES2 encryptionScheme")?;
    let cipher = Cipher::from_oid(enc_oid)
        .ok_or_else(|| Pkcs12Error::unsupported("PBES2 encryption scheme", enc_oid))?;
    let iv = enc_alg.octet_string("PBES2 encryptionScheme IV")?;
    if iv.len() != cipher.iv_len() {
        return Err(Pkcs12Error::malformed(
            "PBES2 encryptionScheme IV",
            format!("{} bytes, expected {}", iv.len(), cipher.iv_len()),
        ));
    }
    if let Some(len) = key_len
        && len != cipher.key_len() as u64
    {
        return Err(Pkcs12Error::malformed(
            "PBKDF2 keyLength",
            format!(
                "{len} does not fit the cipher's key length {}",
                cipher.key_len()
            ),
        ));
    }

    let mut key = Zeroizing::new(vec![0u8; cipher.key_len()]);
    pbkdf2_hmac(prf, password, &salt, iterations, &mut key);
    Ok(cipher.decrypt(&key, &iv, data))
}

/// PBKDF2 with an HMAC PRF over `hash`.
pub(crate) fn pbkdf2_hmac(
    hash: Hash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) {
    match hash {
        Hash::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
        Hash::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out),
        Hash::Sha384 => pbkdf2::pbkdf2_hmac::<sha2::Sha384>(password, salt, iterations, out),
        Hash::Sha512 => pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, out),
    }
}

/// The PKCS#12 PBE ciphers of RFC 7292 Appendix C that we read.
#[derive(Debug, Clone, Copy)]
enum Pkcs12Pbe {
    TripleDes,
    /// RC2-CBC; the effective key length in bits equals the key length in bits.
    Rc2 {
        key_len: usize,
    },
}

/// PKCS#12 PBE decryption: key (ID 1) and IV (ID 2) from the Appendix B KDF with SHA-1.
fn pkcs12_pbe_decrypt(
    alg: &mut Reader<'_>,
    data: &[u8],
    bmp_password: &[u8],
    pbe: Pkcs12Pbe,
) -> Result<Option<Vec<u8>>, Pkcs12Error> {
    let mut params = alg.sequence("pkcs-12PbeParams")?;
    let salt = params.octet_string("pkcs-12PbeParams salt")?;
    let iterations = read_iterations(&mut params, "pkcs-12PbeParams iterations")?;
    let key_len = match pbe {
        Pkcs12Pbe::TripleDes => 24,
        Pkcs12Pbe::Rc2 { key_len } => key_len,
    };
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    kdf::derive(
        Hash::Sha1,
        bmp_password,
        &salt,
        kdf::ID_KEY,
        iterations,
        &mut key,
    );
    let mut iv = [0u8; 8];
    kdf::derive(
        Hash::Sha1,
        bmp_password,
        &salt,
        kdf::ID_IV,
        iterations,
        &mut iv,
    );
    Ok(match pbe {
        Pkcs12Pbe::TripleDes => cbc_decrypt::<des::TdesEde3>(&key, &iv, data),
        Pkcs12Pbe::Rc2 { key_len } => {
            let rc2 = rc2::Rc2::new_with_eff_key_len(&key, key_len * 8);
            let mode = cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(rc2, &iv).ok();
            mode.and_then(|m| m.decrypt_padded_vec::<Pkcs7>(data).ok())
        }
    })
}

/// PBES2 parameters for encryption with PBKDF2-HMAC-SHA256 and AES-256-CBC.
#[derive(Debug)]
pub(crate) struct Pbes2Aes256 {
    pub(crate) salt: [u8; 16],
    pub(crate) iv: [u8; 16],
    pub(crate) iterations: u32,
}

impl Pbes2Aes256 {
    /// The AlgorithmIdentifier (RFC 8018 Appendix A.4), in the form OpenSSL 3 writes: the PRF
    /// is spelled out with NULL parameters, keyLength is omitted.
    pub(crate) fn algorithm_identifier(&self) -> Vec<u8> {
        let prf = tlv::sequence(&[&tlv::oid(&oid::HMAC_SHA256), &tlv::null()]);
        let pbkdf2_params = tlv::sequence(&[
            &tlv::octet_string(&self.salt),
            &tlv::uint(u64::from(self.iterations)),
            &prf,
        ]);
        let kdf = tlv::sequence(&[&tlv::oid(&oid::PBKDF2), &pbkdf2_params]);
        let enc = tlv::sequence(&[&tlv::oid(&oid::AES256_CBC), &tlv::octet_string(&self.iv)]);
        let params = tlv::sequence(&[&kdf, &enc]);
        tlv::sequence(&[&tlv::oid(&oid::PBES2), &params])
    }

    /// Encrypts `plain` (PKCS#7 padding).
    pub(crate) fn encrypt(&self, password: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut key = Zeroizing::new([0u8; 32]);
        pbkdf2_hmac(
            Hash::Sha256,
            password,
            &self.salt,
            self.iterations,
            &mut *key,
        );
        let mode = cbc::Encryptor::<aes::Aes256>::new(&(*key).into(), &self.iv.into());
        mode.encrypt_padded_vec::<Pkcs7>(plain)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn pbes2_round_trip_through_algorithm_identifier() {
        let pbes2 = Pbes2Aes256 {
            salt: [1; 16],
            iv: [2; 16],
            iterations: 3,
        };
        let ct = pbes2.encrypt(b"secret", b"hello world");
        let alg_der = pbes2.algorithm_identifier();
        let mut outer = Reader::new(&alg_der);
        let mut alg = outer.sequence("alg").unwrap();
        let password = Password {
            utf8: b"secret",
            bmp: kdf::bmp_password("secret"),
        };
        let plain = decrypt(&mut alg, &ct, &password, "test").unwrap();
        assert_eq!(&*plain, b"hello world");

        let mut alg = Reader::new(&alg_der).sequence("alg").unwrap();
        let wrong = Password {
            utf8: b"wrong",
            bmp: kdf::bmp_password("wrong"),
        };
        // A wrong key almost always gives invalid padding; the odd valid padding gives garbage.
        match decrypt(&mut alg, &ct, &wrong, "test") {
            Err(Pkcs12Error::DecryptionFailed { what: "test" }) => {}
            Ok(plain) => assert_ne!(&*plain, b"hello world"),
            Err(other) => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn unknown_scheme_is_named_by_oid() {
        let alg_der = tlv::sequence(&[&tlv::oid(&oid::SHA1)]);
        let mut alg = Reader::new(&alg_der).sequence("alg").unwrap();
        let password = Password {
            utf8: b"",
            bmp: kdf::bmp_password(""),
        };
        let err = decrypt(&mut alg, &[0; 16], &password, "test").unwrap_err();
        assert_eq!(
            err,
            Pkcs12Error::UnsupportedAlgorithm {
                what: "password-based encryption scheme",
                oid: "1.3.14.3.2.26".into()
            }
        );
    }

    /// Encrypts the gematik sample key with `openssl pkcs8 -topk8 args` and decrypts it here.
    fn decrypt_openssl_pkcs8(args: &[&str]) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
        let out = std::process::Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-in",
                "hci-enc-2-kim-bsp.prv.pem",
                "-outform",
                "DER",
            ])
            .args(["-passout", "pass:Kennwort", "-iter", "3"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plain = std::process::Command::new("openssl")
            .args([
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                "hci-enc-2-kim-bsp.prv.pem",
                "-outform",
                "DER",
            ])
            .current_dir(dir)
            .output()
            .unwrap()
            .stdout;

        let mut info = Reader::new(&out.stdout)
            .sequence("EncryptedPrivateKeyInfo")
            .unwrap();
        let mut alg = info.sequence("alg").unwrap();
        let ciphertext = info.octet_string("data").unwrap();
        let password = Password {
            utf8: b"Kennwort",
            bmp: kdf::bmp_password("Kennwort"),
        };
        let key = decrypt(&mut alg, &ciphertext, &password, "key").unwrap();
        assert_eq!(*key, plain, "{args:?}");
    }

    #[test]
    fn decrypts_openssl_pbes2_with_every_prf_and_cipher() {
        for prf in [
            "hmacWithSHA1",
            "hmacWithSHA256",
            "hmacWithSHA384",
            "hmacWithSHA512",
        ] {
            for cipher in ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des-ede3-cbc"] {
                decrypt_openssl_pkcs8(&["-v2", cipher, "-v2prf", prf]);
            }
        }
    }

    #[test]
    fn decrypts_openssl_pkcs12_pbe_schemes() {
        for scheme in ["PBE-SHA1-3DES", "PBE-SHA1-RC2-128", "PBE-SHA1-RC2-40"] {
            decrypt_openssl_pkcs8(&["-v1", scheme, "-provider", "legacy", "-provider", "default"]);
        }
    }
}
