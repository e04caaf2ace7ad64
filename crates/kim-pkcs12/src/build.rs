//! Writing a PFX (RFC 7292) in the layout OpenSSL 3 emits by default.

use rand_core::CryptoRng;
use sha1::Digest;

use crate::Pkcs12Error;
use crate::kdf::{self, Hash};
use crate::keymatch;
use crate::mac;
use crate::oid;
use crate::pbe::{self, Pbes2Aes256};
use crate::tlv::{self, tag};

/// Options for [`build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions<'a> {
    /// `friendlyName` attribute (RFC 2985 §5.5.1) on the key bag and the leaf certificate bag;
    /// OpenSSL shows it as the alias, Java keytool as the entry name.
    pub friendly_name: Option<&'a str>,
    /// Iteration count for both PBKDF2 and the MAC key derivation. Default 2048, as OpenSSL 3.
    pub iterations: u32,
}

impl Default for BuildOptions<'_> {
    fn default() -> Self {
        Self {
            friendly_name: None,
            iterations: 2048,
        }
    }
}

/// Builds a PKCS#12 file (DER) holding one private key, its certificate and CA certificates.
///
/// Layout (RFC 7292 §4 and §5, as OpenSSL 3 writes by default):
/// - `PFX` version 3, authSafe of type `data`, `MacData` with HMAC-SHA-256, a 16-byte salt and
///   `options.iterations`; the MAC key comes from the PKCS#12 KDF (Appendix B, ID 3) over the
///   password as BMPString with terminating zero.
/// - `AuthenticatedSafe` = (1) an `encryptedData` ContentInfo with the certificate bags (the
///   leaf first, carrying `localKeyId` = SHA-1 of the leaf certificate and the optional
///   `friendlyName`; then the CA certificates in the order given), (2) a `data` ContentInfo
///   with one `pkcs8ShroudedKeyBag` carrying the same attributes.
/// - Both encryptions are PBES2: PBKDF2-HMAC-SHA-256 (16-byte salt, `options.iterations`) and
///   AES-256-CBC with a random IV. PBKDF2 takes the password's UTF-8 bytes, as OpenSSL does.
///
/// Randomness (salts, IVs) is drawn from `rng` in a fixed order, so a seeded RNG gives
/// byte-identical output.
///
/// # Errors
/// [`Pkcs12Error::InvalidInput`] if the key is not one PKCS#8 PrivateKeyInfo, a certificate is
/// not one X.509 certificate, the key provably does not belong to the certificate, or the
/// iteration count is 0 or above 10,000,000.
pub fn build(
    key_pkcs8_der: &[u8],
    certificate_der: &[u8],
    ca_certificates: &[&[u8]],
    password: &str,
    options: &BuildOptions<'_>,
    rng: &mut impl CryptoRng,
) -> Result<Vec<u8>, Pkcs12Error> {
    validate(key_pkcs8_der, certificate_der, ca_certificates, options)?;
    let iterations = options.iterations;

    let attributes = bag_attributes(certificate_der, options.friendly_name);
    let mut cert_bags = vec![safe_bag(
        &oid::CERT_BAG,
        &cert_bag(certificate_der),
        Some(&attributes),
    )];
    cert_bags.extend(
        ca_certificates
            .iter()
            .map(|ca| safe_bag(&oid::CERT_BAG, &cert_bag(ca), None)),
    );
    let cert_safe_contents =
        tlv::sequence(&cert_bags.iter().map(Vec::as_slice).collect::<Vec<_>>());

    let cert_pbe = pbes2_params(rng, iterations);
    let cert_ciphertext = cert_pbe.encrypt(password.as_bytes(), &cert_safe_contents);
    let encrypted_data = tlv::sequence(&[
        &tlv::uint(0),
        &tlv::sequence(&[
            &tlv::oid(&oid::DATA),
            &cert_pbe.algorithm_identifier(),
            &tlv::encode(tag::CONTEXT_0_PRIMITIVE, &cert_ciphertext),
        ]),
    ]);
    let cert_content_info = content_info(&oid::ENCRYPTED_DATA, &encrypted_data);

    let key_pbe = pbes2_params(rng, iterations);
    let key_ciphertext = key_pbe.encrypt(password.as_bytes(), key_pkcs8_der);
    let encrypted_key = tlv::sequence(&[
        &key_pbe.algorithm_identifier(),
        &tlv::octet_string(&key_ciphertext),
    ]);
    let key_safe_contents = tlv::sequence(&[&safe_bag(
        &oid::PKCS8_SHROUDED_KEY_BAG,
        &encrypted_key,
        Some(&attributes),
    )]);
    let key_content_info = content_info(&oid::DATA, &tlv::octet_string(&key_safe_contents));

    let auth_safe = tlv::sequence(&[&cert_content_info, &key_content_info]);

    let mut mac_salt = [0u8; 16];
    rng.fill_bytes(&mut mac_salt);
    let bmp = kdf::bmp_password(password);
    let mac_value = mac::compute(Hash::Sha256, &bmp, &mac_salt, iterations, &auth_safe);
    let mac_data = tlv::sequence(&[
        &tlv::sequence(&[
            &tlv::sequence(&[&tlv::oid(&oid::SHA256), &tlv::null()]),
            &tlv::octet_string(&mac_value),
        ]),
        &tlv::octet_string(&mac_salt),
        &tlv::uint(u64::from(iterations)),
    ]);

    Ok(tlv::sequence(&[
        &tlv::uint(3),
        &content_info(&oid::DATA, &tlv::octet_string(&auth_safe)),
        &mac_data,
    ]))
}

fn validate(
    key: &[u8],
    certificate: &[u8],
    ca_certificates: &[&[u8]],
    options: &BuildOptions<'_>,
) -> Result<(), Pkcs12Error> {
    let invalid = |what: &'static str, e: Pkcs12Error| Pkcs12Error::InvalidInput {
        what,
        reason: e.to_string(),
    };
    keymatch::validate_pkcs8(key).map_err(|e| invalid("private key (PKCS#8 DER expected)", e))?;
    keymatch::validate_certificate(certificate).map_err(|e| invalid("certificate", e))?;
    for ca in ca_certificates {
        keymatch::validate_certificate(ca).map_err(|e| invalid("CA certificate", e))?;
    }
    if keymatch::key_matches_certificate(key, certificate) == Some(false) {
        return Err(Pkcs12Error::InvalidInput {
            what: "private key",
            reason: "it does not belong to the certificate's public key".into(),
        });
    }
    if options.iterations == 0 || u64::from(options.iterations) > pbe::MAX_ITERATIONS {
        return Err(Pkcs12Error::InvalidInput {
            what: "iterations",
            reason: format!("{} outside 1..={}", options.iterations, pbe::MAX_ITERATIONS),
        });
    }
    Ok(())
}

fn pbes2_params(rng: &mut impl CryptoRng, iterations: u32) -> Pbes2Aes256 {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    Pbes2Aes256 {
        salt,
        iv,
        iterations,
    }
}

/// `ContentInfo { contentType, [0] EXPLICIT content }` (RFC 5652 §3).
fn content_info(content_type: &der::asn1::ObjectIdentifier, content: &[u8]) -> Vec<u8> {
    tlv::sequence(&[
        &tlv::oid(content_type),
        &tlv::encode(tag::CONTEXT_0, content),
    ])
}

/// `SafeBag { bagId, [0] EXPLICIT bagValue, bagAttributes SET OF OPTIONAL }` (RFC 7292 §4.2).
fn safe_bag(
    bag_id: &der::asn1::ObjectIdentifier,
    value: &[u8],
    attributes: Option<&[u8]>,
) -> Vec<u8> {
    let oid = tlv::oid(bag_id);
    let value = tlv::encode(tag::CONTEXT_0, value);
    match attributes {
        Some(attributes) => tlv::sequence(&[&oid, &value, attributes]),
        None => tlv::sequence(&[&oid, &value]),
    }
}

/// `CertBag { x509Certificate, [0] EXPLICIT OCTET STRING }` (RFC 7292 §4.2.3).
fn cert_bag(certificate: &[u8]) -> Vec<u8> {
    tlv::sequence(&[
        &tlv::oid(&oid::X509_CERTIFICATE),
        &tlv::encode(tag::CONTEXT_0, &tlv::octet_string(certificate)),
    ])
}

/// The bag attributes shared by the key and the leaf certificate: `localKeyId` (SHA-1 of the
/// certificate, as OpenSSL computes it) and the optional `friendlyName` as BMPString.
fn bag_attributes(certificate: &[u8], friendly_name: Option<&str>) -> Vec<u8> {
    let key_id = sha1::Sha1::digest(certificate);
    let mut attributes = vec![attribute(&oid::LOCAL_KEY_ID, &tlv::octet_string(&key_id))];
    if let Some(name) = friendly_name {
        let bmp: Vec<u8> = name.encode_utf16().flat_map(u16::to_be_bytes).collect();
        attributes.push(attribute(
            &oid::FRIENDLY_NAME,
            &tlv::encode(tag::BMP_STRING, &bmp),
        ));
    }
    tlv::set_of(attributes)
}

/// `PKCS12Attribute { attrId, attrValues SET OF }` with one value.
fn attribute(id: &der::asn1::ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    tlv::sequence(&[&tlv::oid(id), &tlv::set_of(vec![value.to_vec()])])
}
