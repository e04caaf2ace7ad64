//! The Bearer token of I_AccountManager_Service (kim-spec §7; A_19457-02, KOM-LE-A_2187):
//! a JWS in compact serialization whose header carries the AUT certificate of the SMC-B
//! (C.HCI.AUT) or HBA (C.HP.AUT) in `x5c`, signed by the card through the Konnektor.
//!
//! Accepted:
//! - `alg` `PS256` (RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32) with an RSA certificate, or
//!   `ES256` / `BP256R1` (ECDSA with SHA-256 on brainpoolP256r1, raw `r || s`) with a
//!   brainpool certificate;
//! - `x5c[0]` chains to one of the configured CA certificates (each of them a trust anchor, as
//!   the CAs of a TSL are; further `x5c` entries may bridge but are not trusted themselves), and
//!   every certificate on the way is valid now; it carries the SMC-B or HBA AUT policy and a
//!   Telematik-ID in its Admission extension;
//! - `nbf` (or, without it, `iat`) not later than now + [`CLOCK_SKEW`] and not older than the
//!   token lifetime (`jwtExpiration`); `exp`, if present, not passed.
//!
//! Everything else is refused with a reason; the router answers 401.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bp256::BrainpoolP256r1;
use kim_message::cms::CertInfo;
use kim_message::cms::keys::{self, PublicKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Tolerated clock difference between the Konnektor and the Fachdienst, in seconds.
pub const CLOCK_SKEW: i64 = 60;

/// `oid_smc_b_aut` (C.HCI.AUT) and `oid_hba_aut` (C.HP.AUT), gemSpec_OID Tab_PKI_405.
const AUT_POLICIES: [&str; 2] = ["1.2.276.0.76.4.77", "1.2.276.0.76.4.75"];

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Telematik-ID from the AUT certificate's Admission extension.
    pub telematik_id: String,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("JWT refused: {0}")]
pub struct JwtError(pub String);

fn refuse(reason: impl Into<String>) -> JwtError {
    JwtError(reason.into())
}

#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Claims {
    nbf: Option<serde_json::Number>,
    iat: Option<serde_json::Number>,
    exp: Option<serde_json::Number>,
}

/// Verification input that does not change per request.
#[derive(Debug)]
pub struct JwtVerifier {
    pool: Vec<CertInfo>,
    max_age: i64,
}

impl JwtVerifier {
    /// A verifier trusting each of `ca_certificates` (DER: issuing CAs of SMC-B and HBA, their
    /// roots, or both) with token lifetime `max_age_secs` (`jwtExpiration`).
    ///
    /// # Errors
    /// A CA certificate that does not parse.
    pub fn new(ca_certificates: &[Vec<u8>], max_age_secs: u32) -> Result<Self, JwtError> {
        let mut pool = Vec::with_capacity(ca_certificates.len());
        for der in ca_certificates {
            pool.push(CertInfo::parse(der).map_err(|e| refuse(format!("CA certificate: {e}")))?);
        }
        Ok(Self {
            pool,
            max_age: i64::from(max_age_secs),
        })
    }

    /// Verifies the value of an `Authorization` header at Unix time `now`.
    ///
    /// # Errors
    /// [`JwtError`] naming the first failed rule.
    pub fn verify_header(&self, authorization: Option<&str>, now: i64) -> Result<Caller, JwtError> {
        let value = authorization.ok_or_else(|| refuse("no Authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| refuse("Authorization is not a Bearer token"))?;
        self.verify(token.trim(), now)
    }

    /// Verifies a compact JWS at Unix time `now`.
    ///
    /// # Errors
    /// [`JwtError`] naming the first failed rule.
    pub fn verify(&self, token: &str, now: i64) -> Result<Caller, JwtError> {
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(refuse("not a compact JWS (three segments)"));
        };
        let header: Header = serde_json::from_slice(&b64url(h64, "header")?)
            .map_err(|e| refuse(format!("header: {e}")))?;
        let claims: Claims = serde_json::from_slice(&b64url(p64, "payload")?)
            .map_err(|e| refuse(format!("payload: {e}")))?;
        let signature = b64url(s64, "signature")?;
        let leaf_b64 = header
            .x5c
            .first()
            .ok_or_else(|| refuse("header without x5c certificate"))?;
        let leaf_der = STANDARD
            .decode(leaf_b64)
            .map_err(|_| refuse("x5c[0] is not base64"))?;
        let cert = CertInfo::parse(&leaf_der).map_err(|e| refuse(format!("x5c[0]: {e}")))?;
        let extra = intermediates(header.x5c.get(1..).unwrap_or_default())?;
        check_chain(&cert, &extra, &self.pool, now)?;
        check_aut_policy(&cert)?;
        let signing_input = token.get(..h64.len() + 1 + p64.len()).unwrap_or_default();
        verify_signature(&header.alg, &cert, signing_input.as_bytes(), &signature)?;
        self.check_times(&claims, now)?;
        let telematik_id = cert
            .telematik_id()
            .ok_or_else(|| refuse("certificate without Telematik-ID"))?;
        Ok(Caller { telematik_id })
    }

    fn check_times(&self, claims: &Claims, now: i64) -> Result<(), JwtError> {
        let issued = claims
            .nbf
            .as_ref()
            .or(claims.iat.as_ref())
            .ok_or_else(|| refuse("neither nbf nor iat"))
            .and_then(|n| seconds(n, "nbf"))?;
        if issued > now.saturating_add(CLOCK_SKEW) {
            return Err(refuse("token not yet valid (nbf in the future)"));
        }
        if now
            > issued
                .saturating_add(self.max_age)
                .saturating_add(CLOCK_SKEW)
        {
            return Err(refuse("token expired (older than jwtExpiration)"));
        }
        if let Some(exp) = &claims.exp
            && now > seconds(exp, "exp")?.saturating_add(CLOCK_SKEW)
        {
            return Err(refuse("token expired (exp)"));
        }
        Ok(())
    }
}

/// Longest chain from the AUT certificate to a configured CA.
const MAX_DEPTH: usize = 6;

/// Further `x5c` entries: untrusted intermediates that may lead to a configured CA.
fn intermediates(x5c: &[String]) -> Result<Vec<CertInfo>, JwtError> {
    x5c.iter()
        .take(MAX_DEPTH)
        .enumerate()
        .map(|(i, b64)| {
            let der = STANDARD
                .decode(b64)
                .map_err(|_| refuse(format!("x5c[{}] is not base64", i + 1)))?;
            CertInfo::parse(&der).map_err(|e| refuse(format!("x5c[{}]: {e}", i + 1)))
        })
        .collect()
}

fn valid_at(cert: &CertInfo, now: i64) -> Result<(), JwtError> {
    if now < cert.not_before || now > cert.not_after {
        return Err(refuse(format!(
            "certificate {} is not valid now",
            cert.subject_text()
        )));
    }
    Ok(())
}

/// Walks from `leaf` through issuers until one of the configured CAs (`anchors`) signed the
/// current certificate; `extra` (from `x5c`) may bridge to them but is never trusted itself.
/// Every certificate on the way, and the anchor, must be valid at `now`.
fn check_chain(
    leaf: &CertInfo,
    extra: &[CertInfo],
    anchors: &[CertInfo],
    now: i64,
) -> Result<(), JwtError> {
    let signed_by = |cert: &CertInfo, issuer: &CertInfo| {
        issuer.subject == cert.issuer_serial.issuer
            && keys::verify_certificate_signature(cert, issuer).is_ok()
    };
    let mut current = leaf;
    for _ in 0..=MAX_DEPTH {
        valid_at(current, now)?;
        if let Some(anchor) = anchors.iter().find(|a| signed_by(current, a)) {
            return valid_at(anchor, now);
        }
        current = extra
            .iter()
            .find(|c| signed_by(current, c))
            .ok_or_else(|| {
                refuse(format!(
                    "no configured CA issued {}",
                    current.subject_text()
                ))
            })?;
    }
    Err(refuse("certificate chain too long"))
}

fn seconds(n: &serde_json::Number, name: &str) -> Result<i64, JwtError> {
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
        .ok_or_else(|| refuse(format!("{name} is not a number of seconds")))
}

fn b64url(segment: &str, what: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| refuse(format!("{what} is not base64url")))
}

fn check_aut_policy(cert: &CertInfo) -> Result<(), JwtError> {
    use der::Decode;
    let policies_oid = "2.5.29.32";
    let ok = cert
        .extensions
        .iter()
        .filter(|(oid, _, _)| oid.to_string() == policies_oid)
        .filter_map(|(_, _, value)| x509_cert::ext::pkix::CertificatePolicies::from_der(value).ok())
        .flat_map(|p| p.0.into_iter())
        .any(|p| AUT_POLICIES.contains(&p.policy_identifier.to_string().as_str()));
    if ok {
        Ok(())
    } else {
        Err(refuse(
            "x5c[0] is not an AUT certificate of an SMC-B or HBA",
        ))
    }
}

fn verify_signature(
    alg: &str,
    cert: &CertInfo,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), JwtError> {
    let key = PublicKey::from_cert(cert).map_err(|e| refuse(format!("certificate key: {e}")))?;
    match (alg, &key) {
        ("PS256", PublicKey::Rsa(_)) => {
            keys::verify(&keys::rsassa_pss_sha256(), &key, signing_input, signature)
                .map_err(|e| refuse(format!("signature: {e}")))
        }
        ("ES256" | "BP256R1", PublicKey::Brainpool(k)) => {
            use ecdsa::signature::hazmat::PrehashVerifier;
            let sig = ecdsa::Signature::<BrainpoolP256r1>::from_slice(signature)
                .map_err(|_| refuse("ECDSA signature is not r || s of 64 bytes"))?;
            let digest = Sha256::digest(signing_input);
            k.verify_prehash(&digest, &sig)
                .map_err(|_| refuse("signature does not match"))
        }
        ("PS256" | "ES256" | "BP256R1", _) => Err(refuse(format!(
            "alg {alg} does not fit the certificate key"
        ))),
        _ => Err(refuse(format!("alg {alg:?} not accepted"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn verifier() -> JwtVerifier {
        JwtVerifier {
            pool: Vec::new(),
            max_age: 300,
        }
    }

    fn claims(nbf: Option<i64>, exp: Option<i64>) -> Claims {
        Claims {
            nbf: nbf.map(serde_json::Number::from),
            iat: None,
            exp: exp.map(serde_json::Number::from),
        }
    }

    #[test]
    fn time_window_follows_nbf_lifetime_and_exp() {
        let v = verifier();
        assert!(v.check_times(&claims(Some(1000), None), 1000).is_ok());
        assert!(v.check_times(&claims(Some(1000), None), 1000 + 360).is_ok());
        assert!(
            v.check_times(&claims(Some(1000), None), 1000 + 361)
                .is_err()
        );
        assert!(v.check_times(&claims(Some(1061), None), 1000).is_err());
        assert!(
            v.check_times(&claims(Some(1000), Some(1010)), 1100)
                .is_err()
        );
        assert!(v.check_times(&claims(None, None), 1000).is_err());
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        let v = verifier();
        for token in ["", "a.b", "a.b.c.d", "!!.e30.AA"] {
            let e = v.verify(token, 0).unwrap_err();
            assert!(!e.0.is_empty());
        }
        let e = v.verify_header(Some("Basic abc"), 0).unwrap_err();
        assert!(e.0.contains("Bearer"), "{e}");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"PS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"nbf":1}"#);
        let e = v.verify(&format!("{header}.{payload}.AA"), 0).unwrap_err();
        assert!(e.0.contains("x5c"), "{e}");
    }
}
