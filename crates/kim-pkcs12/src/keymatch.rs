//! Ties a PKCS#8 private key to an X.509 certificate by comparing public keys, without any
//! public-key arithmetic: the RSA modulus and exponent, or the EC public point that
//! `ECPrivateKey` (RFC 5915) carries.

use crate::Pkcs12Error;
use crate::oid;
use crate::tlv::{Reader, tag};

/// `Some(true)` if the key belongs to the certificate, `Some(false)` if it does not, `None` if
/// this cannot be told (unknown key type, EC key without its public point, or parse errors).
pub(crate) fn key_matches_certificate(pkcs8: &[u8], certificate: &[u8]) -> Option<bool> {
    let (cert_alg, cert_key) = certificate_public_key(certificate).ok()?;
    let (key_alg, private_key, pkcs8_public) = pkcs8_parts(pkcs8).ok()?;
    if cert_alg != key_alg {
        return Some(false);
    }
    if oid::is(&key_alg, &oid::RSA_ENCRYPTION) {
        let public = rsa_public_from_private(&private_key).ok()?;
        return Some(public == rsa_public_from_spki(&cert_key).ok()?);
    }
    if oid::is(&key_alg, &oid::EC_PUBLIC_KEY) {
        let point = match pkcs8_public {
            Some(point) => point,
            None => ec_public_point(&private_key).ok()??,
        };
        return Some(point == cert_key);
    }
    None
}

/// Checks that `der` is exactly one well-formed PKCS#8 PrivateKeyInfo (RFC 5958 §2) and returns
/// its algorithm OID.
pub(crate) fn validate_pkcs8(der: &[u8]) -> Result<Vec<u8>, Pkcs12Error> {
    pkcs8_parts(der).map(|(alg, _, _)| alg)
}

/// Checks that `der` is exactly one X.509 certificate with a readable public key.
pub(crate) fn validate_certificate(der: &[u8]) -> Result<(), Pkcs12Error> {
    certificate_public_key(der).map(|_| ())
}

/// (algorithm OID, subjectPublicKey bits without the unused-bits octet).
fn certificate_public_key(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Pkcs12Error> {
    const WHAT: &str = "X.509 certificate";
    let mut outer = Reader::new(der);
    let mut cert = outer.sequence(WHAT)?;
    if !outer.is_empty() {
        return Err(Pkcs12Error::malformed(
            WHAT,
            "trailing data after the certificate",
        ));
    }
    let mut tbs = cert.sequence(WHAT)?;
    tbs.read_optional(tag::CONTEXT_0, WHAT)?; // version
    tbs.read(tag::INTEGER, WHAT)?; // serialNumber
    tbs.sequence(WHAT)?; // signature
    tbs.sequence(WHAT)?; // issuer
    tbs.sequence(WHAT)?; // validity
    tbs.sequence(WHAT)?; // subject
    let mut spki = tbs.sequence(WHAT)?;
    let alg = spki.sequence(WHAT)?.oid(WHAT)?.to_vec();
    let bits = spki.read(tag::BIT_STRING, WHAT)?.content;
    let key = bits.get(1..).unwrap_or_default().to_vec();
    Ok((alg, key))
}

/// (algorithm OID, privateKey octets, optional PKCS#8 v2 publicKey bits).
type Pkcs8Parts = (Vec<u8>, zeroize::Zeroizing<Vec<u8>>, Option<Vec<u8>>);

fn pkcs8_parts(der: &[u8]) -> Result<Pkcs8Parts, Pkcs12Error> {
    const WHAT: &str = "PKCS#8 PrivateKeyInfo";
    let mut outer = Reader::new(der);
    let mut info = outer.sequence(WHAT)?;
    if !outer.is_empty() {
        return Err(Pkcs12Error::malformed(WHAT, "trailing data after the key"));
    }
    let version = info.uint(WHAT)?;
    if version > 1 {
        return Err(Pkcs12Error::malformed(WHAT, format!("version {version}")));
    }
    let alg = info.sequence(WHAT)?.oid(WHAT)?.to_vec();
    let private_key = zeroize::Zeroizing::new(info.octet_string(WHAT)?.into_owned());
    info.read_optional(tag::CONTEXT_0, WHAT)?; // attributes
    let public = info
        .read_optional(0x81, WHAT)?
        .map(|bits| bits.content.get(1..).unwrap_or_default().to_vec());
    Ok((alg, private_key, public))
}

/// (modulus, publicExponent) content octets from an RSAPrivateKey (RFC 8017 A.1.2).
fn rsa_public_from_private(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Pkcs12Error> {
    const WHAT: &str = "RSAPrivateKey";
    let mut key = Reader::new(der).sequence(WHAT)?;
    key.read(tag::INTEGER, WHAT)?;
    let n = key.read(tag::INTEGER, WHAT)?.content.to_vec();
    let e = key.read(tag::INTEGER, WHAT)?.content.to_vec();
    Ok((n, e))
}

/// (modulus, publicExponent) content octets from an RSAPublicKey (RFC 8017 A.1.1).
fn rsa_public_from_spki(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), Pkcs12Error> {
    const WHAT: &str = "RSAPublicKey";
    let mut key = Reader::new(der).sequence(WHAT)?;
    let n = key.read(tag::INTEGER, WHAT)?.content.to_vec();
    let e = key.read(tag::INTEGER, WHAT)?.content.to_vec();
    Ok((n, e))
}

/// The public point carried in an ECPrivateKey (RFC 5915 §3), if present.
fn ec_public_point(der: &[u8]) -> Result<Option<Vec<u8>>, Pkcs12Error> {
    const WHAT: &str = "ECPrivateKey";
    let mut key = Reader::new(der).sequence(WHAT)?;
    key.uint(WHAT)?;
    key.octet_string(WHAT)?;
    key.read_optional(tag::CONTEXT_0, WHAT)?;
    match key.read_optional(tag::CONTEXT_1, WHAT)? {
        None => Ok(None),
        Some(explicit) => {
            let bits = explicit
                .children(WHAT)?
                .read(tag::BIT_STRING, WHAT)?
                .content;
            Ok(Some(bits.get(1..).unwrap_or_default().to_vec()))
        }
    }
}
