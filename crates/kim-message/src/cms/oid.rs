//! Object identifiers of the KOM-LE profile (RFC 5652, RFC 5083, RFC 8017, gemSMIME_KOMLE).

use const_oid::ObjectIdentifier as Oid;

/// id-data (RFC 5652 4).
pub const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652 5.1).
pub const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
/// id-envelopedData (RFC 5652 6.1); a format error where KIM requires AuthEnvelopedData.
pub const ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.3");
/// id-ct-authEnvelopedData (RFC 5083).
pub const AUTH_ENVELOPED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.23");

/// Signed attributes.
pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
/// CMSAlgorithmProtection (RFC 6211).
pub const CMS_ALGORITHM_PROTECTION: Oid = Oid::new_unwrap("1.2.840.113549.1.9.52");
/// id-aa-signingCertificateV2 (RFC 5035).
pub const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-recipientEmails (gemSMIME_KOMLE, KOM-LE-A_2114-01).
pub const RECIPIENT_EMAILS: Oid = Oid::new_unwrap("1.2.276.0.76.4.173");

/// Digests.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");

/// Public key and signature algorithms.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
pub const RSAES_OAEP: Oid = Oid::new_unwrap("1.2.840.113549.1.1.7");
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
pub const BRAINPOOL_P256R1: Oid = Oid::new_unwrap("1.3.36.3.3.2.8.1.1.7");

/// Content encryption: AES-256-GCM (RFC 5084).
pub const AES256_GCM: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.46");
/// AES-256 key wrap (RFC 3394), used by ECC key agreement recipients.
pub const AES256_WRAP: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.45");
/// dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753 / SEC 1).
pub const ECDH_STD_SHA256_KDF: Oid = Oid::new_unwrap("1.3.132.1.11.1");

/// Human-readable name of a known OID, else its dotted form.
pub fn name(oid: &Oid) -> String {
    let known: &[(Oid, &str)] = &[
        (DATA, "id-data"),
        (SIGNED_DATA, "id-signedData"),
        (ENVELOPED_DATA, "id-envelopedData"),
        (AUTH_ENVELOPED_DATA, "id-ct-authEnvelopedData"),
        (CONTENT_TYPE, "contentType"),
        (MESSAGE_DIGEST, "messageDigest"),
        (SIGNING_TIME, "signingTime"),
        (CMS_ALGORITHM_PROTECTION, "cmsAlgorithmProtection"),
        (SIGNING_CERTIFICATE_V2, "signingCertificateV2"),
        (RECIPIENT_EMAILS, "recipient-emails"),
        (SHA256, "sha256"),
        (RSA_ENCRYPTION, "rsaEncryption"),
        (RSAES_OAEP, "rsaesOaep"),
        (MGF1, "mgf1"),
        (RSASSA_PSS, "rsassaPss"),
        (SHA256_WITH_RSA, "sha256WithRSAEncryption"),
        (EC_PUBLIC_KEY, "ecPublicKey"),
        (ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (BRAINPOOL_P256R1, "brainpoolP256r1"),
        (AES256_GCM, "aes256-GCM"),
        (AES256_WRAP, "aes256-wrap"),
        (ECDH_STD_SHA256_KDF, "dhSinglePass-stdDH-sha256kdf-scheme"),
    ];
    known
        .iter()
        .find(|(o, _)| o == oid)
        .map_or_else(|| oid.to_string(), |(_, n)| (*n).to_string())
}
