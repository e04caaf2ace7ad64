//! Card authentication at the Account Manager (kim-spec §7; KOM-LE-A_2187, A_19457-02).
//!
//! The Account Manager accepts a JWS in compact serialization whose header carries the AUT
//! certificate of an SMC-B (C.HCI.AUT) or HBA (C.HP.AUT) in `x5c` and whose signature the
//! card made through the Konnektor:
//!
//! 1. [`list_cards`] / [`select_card`]: `GetCards` in the caller's context, for every SMC-B
//!    and HBA `ReadCardCertificate` (C.AUT) and `GetPinStatus` (PIN.SMC resp. PIN.CH).
//! 2. [`sign_jwt`]: header `{"alg":"PS256"|"ES256","typ":"JWT","x5c":[…]}`, payload
//!    `{"iat":now,"nbf":now}`; SHA-256 of `base64url(header) "." base64url(payload)` is
//!    signed by `ExternalAuthenticate` with the card's AUT key — RSASSA-PSS for RSA keys,
//!    ECDSA (plain `r || s`, the JWS form) for brainpoolP256r1 keys. A PIN that is not yet
//!    verified is verified first (`VerifyPin`: the user enters it at the card terminal).
//!
//! Cards of the current generation carry RSA and ECC keys; [`list_cards`] picks the RSA AUT
//! certificate when the card has one and the ECC one otherwise, [`use_algorithm`] switches.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kim_konnektor::client::{ClientError, Konnektor};
use kim_konnektor::model::{
    CardHandle, CardInfo, CardType, CertRef, Crypt, Document, PinResult, PinStatus, PinType,
    SignatureScheme, SignatureType,
};
use kim_konnektor::ops::{
    ExternalAuthenticate, GetCards, GetPinStatus, ReadCardCertificate, VerifyPin,
};
use kim_message::cms::CertInfo;
use sha2::{Digest, Sha256};

use crate::AdminError;

/// The call context `CCTX:Context` (Mandant, client system, workplace, optional user).
pub use kim_konnektor::model::Context;

/// The kind of card that may authenticate at the Account Manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// Institution card (SMC-B, also HSM-B): key C.HCI.AUT, PIN.SMC.
    SmcB,
    /// Health professional card: key C.HP.AUT, PIN.CH.
    Hba,
}

impl CardKind {
    /// The PIN guarding the AUT key.
    #[must_use]
    pub fn pin_type(self) -> PinType {
        match self {
            CardKind::SmcB => PinType::Smc,
            CardKind::Hba => PinType::Ch,
        }
    }

    /// `SMC-B` or `HBA`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::SmcB => "SMC-B",
            CardKind::Hba => "HBA",
        }
    }

    fn from_card_type(t: CardType) -> Option<CardKind> {
        match t {
            CardType::SmcB | CardType::HsmB => Some(CardKind::SmcB),
            CardType::Hba => Some(CardKind::Hba),
            _ => None,
        }
    }
}

impl std::str::FromStr for CardKind {
    type Err = String;

    /// `smcb`, `smc-b`, `SMC-B` or `hba`, `HBA`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "smcb" | "smc-b" => Ok(CardKind::SmcB),
            "hba" => Ok(CardKind::Hba),
            other => Err(format!("card kind {other:?}: expected smcb or hba")),
        }
    }
}

impl std::fmt::Display for CardKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Key algorithm of the AUT key used for the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSA-2048; the token is `PS256`.
    Rsa,
    /// brainpoolP256r1; the token is `ES256` (ECDSA, SHA-256, raw `r || s`).
    Ecc,
}

impl Algorithm {
    /// The JWS `alg` value.
    #[must_use]
    pub fn jws_alg(self) -> &'static str {
        match self {
            Algorithm::Rsa => "PS256",
            Algorithm::Ecc => "ES256",
        }
    }

    fn crypt(self) -> Option<Crypt> {
        match self {
            // Without `Crypt` a Konnektor reads the RSA certificate; CertificateService
            // 6.0.0 cannot carry the element at all.
            Algorithm::Rsa => None,
            Algorithm::Ecc => Some(Crypt::Ecc),
        }
    }
}

/// A card that can sign the Account Manager's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCard {
    /// Card handle (valid for this insertion of the card).
    pub handle: CardHandle,
    /// SMC-B or HBA.
    pub kind: CardKind,
    /// ICCSN (20 digits), if the Konnektor reports it.
    pub iccsn: Option<String>,
    /// Telematik-ID from the AUT certificate's Admission extension.
    pub telematik_id: String,
    /// Holder: the card's `CardHolderName`, else the certificate subject.
    pub holder: String,
    /// Status of the PIN guarding the AUT key when the card was read.
    pub pin_status: Option<PinStatus>,
    /// Tries left for that PIN, if reported.
    pub pin_left_tries: Option<u32>,
    /// The AUT certificate (DER) that goes into `x5c`.
    pub aut_certificate_der: Vec<u8>,
    /// Algorithm of that certificate's key.
    pub algorithm: Algorithm,
    /// End of validity of the AUT certificate (Unix seconds).
    pub aut_not_after: i64,
}

fn konnektor(operation: &'static str) -> impl FnOnce(ClientError) -> AdminError {
    move |source| AdminError::Konnektor { operation, source }
}

/// The SMC-Bs and HBAs reachable in `ctx`, each with its AUT certificate and PIN status.
///
/// # Errors
/// [`AdminError::Konnektor`] if `GetCards` fails (unknown Mandant, unreachable Konnektor);
/// a card whose certificate cannot be read is skipped.
pub async fn list_cards<K: Konnektor>(k: &K, ctx: &Context) -> Result<Vec<AuthCard>, AdminError> {
    let response = k
        .get_cards(&GetCards {
            mandant_wide: false,
            context: ctx.clone(),
            ct_id: None,
            slot_id: None,
            card_type: None,
        })
        .await
        .map_err(konnektor("GetCards"))?;
    let mut cards = Vec::new();
    for info in &response.cards {
        let Some(kind) = CardKind::from_card_type(info.card_type) else {
            continue;
        };
        let Ok(card) = read_card(k, ctx, info, kind).await else {
            continue;
        };
        cards.push(card);
    }
    Ok(cards)
}

/// The AUT card of `info`: RSA certificate if present, else ECC.
async fn read_card<K: Konnektor>(
    k: &K,
    ctx: &Context,
    info: &CardInfo,
    kind: CardKind,
) -> Result<AuthCard, AdminError> {
    let (der, algorithm) = match read_aut(k, ctx, &info.handle, Algorithm::Rsa).await {
        Ok(der) => (der, Algorithm::Rsa),
        Err(_) => (
            read_aut(k, ctx, &info.handle, Algorithm::Ecc).await?,
            Algorithm::Ecc,
        ),
    };
    let cert = CertInfo::parse(&der)
        .map_err(|e| AdminError::Card(format!("AUT certificate of {}: {e}", info.handle)))?;
    let telematik_id = cert.telematik_id().ok_or_else(|| {
        AdminError::Card(format!(
            "AUT certificate of {} has no Telematik-ID",
            info.handle
        ))
    })?;
    let holder = info
        .holder_name
        .clone()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| cert.subject_text());
    let (pin_status, pin_left_tries) = match k
        .get_pin_status(&GetPinStatus {
            context: ctx.clone(),
            card_handle: info.handle.clone(),
            pin_type: kind.pin_type(),
        })
        .await
    {
        Ok(r) => (r.pin_status, r.left_tries),
        Err(_) => (None, None),
    };
    Ok(AuthCard {
        handle: info.handle.clone(),
        kind,
        iccsn: info.iccsn.as_ref().map(|i| i.as_str().to_owned()),
        telematik_id,
        holder,
        pin_status,
        pin_left_tries,
        aut_certificate_der: der,
        algorithm,
        aut_not_after: cert.not_after,
    })
}

/// `ReadCardCertificate` C.AUT of `handle` with the key algorithm `alg`.
async fn read_aut<K: Konnektor>(
    k: &K,
    ctx: &Context,
    handle: &CardHandle,
    alg: Algorithm,
) -> Result<Vec<u8>, AdminError> {
    let response = k
        .read_card_certificate(&ReadCardCertificate {
            card_handle: handle.clone(),
            context: ctx.clone(),
            cert_refs: vec![CertRef::Aut],
            crypt: alg.crypt(),
        })
        .await
        .map_err(konnektor("ReadCardCertificate"))?;
    response
        .infos
        .into_iter()
        .find(|i| i.cert_ref == CertRef::Aut)
        .and_then(|i| i.x509)
        .map(|x| x.certificate)
        .ok_or_else(|| AdminError::Card(format!("card {handle} has no {alg:?} C.AUT certificate")))
}

/// The same card with the AUT certificate of another key algorithm (e.g. ECC).
///
/// # Errors
/// [`AdminError::Konnektor`] (e.g. code 4258: the card has no such key) or
/// [`AdminError::Card`].
pub async fn use_algorithm<K: Konnektor>(
    k: &K,
    ctx: &Context,
    card: &AuthCard,
    alg: Algorithm,
) -> Result<AuthCard, AdminError> {
    if card.algorithm == alg {
        return Ok(card.clone());
    }
    let der = read_aut(k, ctx, &card.handle, alg).await?;
    let cert = CertInfo::parse(&der)
        .map_err(|e| AdminError::Card(format!("AUT certificate of {}: {e}", card.handle)))?;
    Ok(AuthCard {
        aut_certificate_der: der,
        algorithm: alg,
        aut_not_after: cert.not_after,
        ..card.clone()
    })
}

/// The first card of `ctx` of `kind` (any if `None`) with `telematik_id` (any if `None`).
///
/// # Errors
/// [`AdminError::NoCard`] naming what was looked for and what was found;
/// [`AdminError::Konnektor`] if the cards cannot be listed.
pub async fn select_card<K: Konnektor>(
    k: &K,
    ctx: &Context,
    kind: Option<CardKind>,
    telematik_id: Option<&str>,
) -> Result<AuthCard, AdminError> {
    let cards = list_cards(k, ctx).await?;
    let found = cards.iter().find(|c| {
        kind.is_none_or(|want| c.kind == want)
            && telematik_id.is_none_or(|t| c.telematik_id.eq_ignore_ascii_case(t.trim()))
    });
    if let Some(card) = found {
        return Ok(card.clone());
    }
    let wanted = format!(
        "{} with Telematik-ID {} in context {}/{}/{}",
        kind.map_or("SMC-B or HBA", CardKind::as_str),
        telematik_id.unwrap_or("(any)"),
        ctx.mandant_id(),
        ctx.client_system_id(),
        ctx.workplace_id()
    );
    let seen: Vec<String> = cards
        .iter()
        .map(|c| format!("{} {}", c.kind, c.telematik_id))
        .collect();
    Err(AdminError::NoCard(if seen.is_empty() {
        format!("{wanted}; the context reaches no SMC-B or HBA")
    } else {
        format!("{wanted}; found: {}", seen.join(", "))
    }))
}

/// Makes sure the PIN guarding the AUT key of `card` is verified: `GetPinStatus`, and
/// `VerifyPin` (entry at the card terminal) when it is verifiable.
///
/// # Errors
/// [`AdminError::Pin`] when the PIN is blocked, still the transport PIN, empty, or the entry
/// was wrong; [`AdminError::Konnektor`] when a call fails.
pub async fn ensure_pin<K: Konnektor>(
    k: &K,
    ctx: &Context,
    card: &AuthCard,
) -> Result<(), AdminError> {
    let pin_type = card.kind.pin_type();
    let status = k
        .get_pin_status(&GetPinStatus {
            context: ctx.clone(),
            card_handle: card.handle.clone(),
            pin_type,
        })
        .await
        .map_err(konnektor("GetPinStatus"))?;
    match status.pin_status {
        Some(PinStatus::Verified) => return Ok(()),
        Some(PinStatus::Verifiable) | None => {}
        Some(other) => {
            return Err(AdminError::Pin(format!(
                "{pin_type} ist {}",
                german_pin_status(other)
            )));
        }
    }
    let result = k
        .verify_pin(&VerifyPin {
            context: ctx.clone(),
            card_handle: card.handle.clone(),
            pin_type,
        })
        .await
        .map_err(konnektor("VerifyPin"))?;
    match result.pin_result {
        PinResult::Ok => Ok(()),
        PinResult::Rejected => Err(AdminError::Pin(format!(
            "falsche PIN eingegeben{}",
            result
                .left_tries
                .map(|n| format!(", noch {n} Versuche"))
                .unwrap_or_default()
        ))),
        PinResult::NowBlocked | PinResult::WasBlocked => {
            Err(AdminError::Pin(format!("{pin_type} ist gesperrt")))
        }
        PinResult::TransportPin => Err(AdminError::Pin(format!(
            "{pin_type} hat noch die Transport-PIN"
        ))),
        PinResult::Error => Err(AdminError::Pin(format!(
            "{pin_type} konnte nicht geprüft werden"
        ))),
    }
}

fn german_pin_status(status: PinStatus) -> &'static str {
    match status {
        PinStatus::Verified => "verifiziert",
        PinStatus::Verifiable => "nicht verifiziert",
        PinStatus::TransportPin => "noch die Transport-PIN",
        PinStatus::EmptyPin => "nicht gesetzt (Leer-PIN)",
        PinStatus::Blocked => "gesperrt",
        PinStatus::Disabled => "deaktiviert",
    }
}

/// The current time in Unix seconds (for [`sign_jwt`]).
#[must_use]
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The signing input `base64url(header) "." base64url(payload)` of a token for `card`.
#[must_use]
pub fn signing_input(card: &AuthCard, now_unix: i64) -> String {
    let header = serde_json::json!({
        "alg": card.algorithm.jws_alg(),
        "typ": "JWT",
        "x5c": [STANDARD.encode(&card.aut_certificate_der)],
    });
    let payload = serde_json::json!({ "iat": now_unix, "nbf": now_unix });
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

/// The Account Manager's Bearer token, signed by `card` at time `now_unix`.
///
/// Verifies the PIN first if needed ([`ensure_pin`]). Konnektors grant HBA access only with
/// a `UserId` in the context ([`Context::with_user_id`]); SMC-Bs need none.
///
/// # Errors
/// [`AdminError::Pin`], [`AdminError::Konnektor`] (card removed: 4101), or
/// [`AdminError::Card`] when the Konnektor returns no usable signature.
pub async fn sign_jwt<K: Konnektor>(
    k: &K,
    ctx: &Context,
    card: &AuthCard,
    now_unix: i64,
) -> Result<String, AdminError> {
    ensure_pin(k, ctx, card).await?;
    let input = signing_input(card, now_unix);
    let hash = Sha256::digest(input.as_bytes()).to_vec();
    let (signature_type, signature_scheme) = match card.algorithm {
        Algorithm::Rsa => (SignatureType::RSA, Some(SignatureScheme::RsassaPss)),
        Algorithm::Ecc => (SignatureType::ECDSA, None),
    };
    let response = k
        .external_authenticate(&ExternalAuthenticate {
            card_handle: card.handle.clone(),
            context: ctx.clone(),
            signature_type: Some(SignatureType::new(signature_type)),
            signature_scheme,
            binary_string: Document::new(hash),
        })
        .await
        .map_err(konnektor("ExternalAuthenticate"))?;
    let signature = response
        .signature
        .map(|s| s.data)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AdminError::Card("ExternalAuthenticate returned no signature".into()))?;
    let signature = match card.algorithm {
        Algorithm::Rsa => signature,
        Algorithm::Ecc => ecdsa_raw(&signature)?,
    };
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A signed token with its issue time, for callers that keep it for the token lifetime
/// (`jwtExpiration` of ServiceInformation) instead of signing for every request.
/// `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    jwt: String,
    issued_at: i64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("jwt", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

impl Token {
    /// Seconds before the end of the lifetime from which a token is no longer used.
    pub const MARGIN_SECS: i64 = 30;

    /// Signs a token with `card` at `now_unix` ([`sign_jwt`]).
    ///
    /// # Errors
    /// As [`sign_jwt`].
    pub async fn sign<K: Konnektor>(
        k: &K,
        ctx: &Context,
        card: &AuthCard,
        now_unix: i64,
    ) -> Result<Token, AdminError> {
        Ok(Token {
            jwt: sign_jwt(k, ctx, card, now_unix).await?,
            issued_at: now_unix,
        })
    }

    /// The compact JWS for the `Authorization: Bearer` header.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.jwt
    }

    /// When it was signed (its `nbf`).
    #[must_use]
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }

    /// Whether the Account Manager still accepts it at `now` for a lifetime of
    /// `jwt_expiration_secs`, keeping [`Self::MARGIN_SECS`] in reserve.
    #[must_use]
    pub fn usable_at(&self, now: i64, jwt_expiration_secs: u32) -> bool {
        now >= self.issued_at
            && now
                < self
                    .issued_at
                    .saturating_add(i64::from(jwt_expiration_secs))
                    .saturating_sub(Self::MARGIN_SECS)
    }
}

/// The JWS form `r || s` (32 bytes each) of an ECDSA signature, whether the Konnektor sent it
/// plain (BSI TR-03111) or DER-encoded.
fn ecdsa_raw(signature: &[u8]) -> Result<Vec<u8>, AdminError> {
    if signature.len() == 64 {
        return Ok(signature.to_vec());
    }
    let bad = || AdminError::Card(format!("ECDSA signature of {} bytes", signature.len()));
    // SEQUENCE { INTEGER r, INTEGER s } with short lengths (a P-256 signature fits).
    let body = match signature {
        [0x30, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => return Err(bad()),
    };
    let mut out = Vec::with_capacity(64);
    let mut rest = body;
    for _ in 0..2 {
        let (int, tail) = match rest {
            [0x02, len, tail @ ..] if usize::from(*len) <= tail.len() => {
                tail.split_at(usize::from(*len))
            }
            _ => return Err(bad()),
        };
        let int = int
            .iter()
            .position(|b| *b != 0)
            .map_or(&[][..], |p| int.get(p..).unwrap_or_default());
        if int.len() > 32 {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn tokens_are_usable_within_their_lifetime_less_the_margin() {
        let t = Token {
            jwt: "a.b.c".into(),
            issued_at: 1000,
        };
        assert!(t.usable_at(1000, 300));
        assert!(t.usable_at(1269, 300));
        assert!(!t.usable_at(1270, 300));
        assert!(!t.usable_at(999, 300));
        assert!(!format!("{t:?}").contains("a.b.c"));
        assert_eq!(t.as_str(), "a.b.c");
    }

    #[test]
    fn card_kinds_parse_from_command_line_words() {
        assert_eq!("smcb".parse::<CardKind>().unwrap(), CardKind::SmcB);
        assert_eq!(" SMC-B ".parse::<CardKind>().unwrap(), CardKind::SmcB);
        assert_eq!("HBA".parse::<CardKind>().unwrap(), CardKind::Hba);
        assert!("egk".parse::<CardKind>().unwrap_err().contains("egk"));
        assert!(unix_now() > 1_700_000_000);
    }

    #[test]
    fn der_ecdsa_signatures_become_r_and_s() {
        let raw = [7u8; 64];
        assert_eq!(ecdsa_raw(&raw).unwrap(), raw.to_vec());
        // r with a leading zero (high bit set), s short.
        let mut der = vec![0x30, 0x00, 0x02, 33, 0x00];
        der.extend([0x80u8; 32]);
        der.extend([0x02, 2, 0x01, 0x02]);
        der[1] = u8::try_from(der.len() - 2).unwrap();
        let out = ecdsa_raw(&der).unwrap();
        assert_eq!(out.len(), 64);
        assert_eq!(&out[..32], &[0x80u8; 32]);
        assert_eq!(&out[32..62], &[0u8; 30]);
        assert_eq!(&out[62..], &[1, 2]);
        assert!(ecdsa_raw(&[1, 2, 3]).is_err());
    }
}
