//! The Konnektor calls of receiving (gemSpec_CM_KOMLE 3.8.4; KOM-LE-A_2059 … A_2063,
//! KOM-LE-A_2048-01): the card whose ENC certificate (RSA or ECC) matches an
//! IssuerAndSerialNumber of the receiver's recipient-emails entries, the email→ICCSN cache
//! (TTL_EMAIL_ICCSN), the PIN, DecryptDocument, and VerifyDocument mapped to the integrity
//! IDs 01–07.
//!
//! Every call is bounded by KONNEKTOR_TIMEOUT; a Konnektor that does not answer (refused,
//! stalled, TLS broken) is decryption result 03.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kim_konnektor::client::{ClientError, Konnektor};
use kim_konnektor::model::{
    CardHandle, CardType, CertRef, Context, Crypt, Document, KeyOnCard, PinStatus, PinType,
    SignatureObject, SignatureType, VerificationResult,
};
use kim_konnektor::ops::{
    DecryptDocument, GetCards, GetPinStatus, ReadCardCertificate, VerifyDocument, VerifyPin,
};
use kim_message::cms::signed::VerifyFailure;
use kim_message::cms::{CertInfo, RecipientEmail};
use kim_message::open::{DecryptError, SignatureOutcome};

/// Konnektor fault codes that mean the card (handle) is gone or not usable: result 01.
const CARD_FAULTS: [u32; 6] = [4008, 4009, 4012, 4047, 4101, 4102];

/// A card found for a recipient-emails entry.
#[derive(Debug, Clone)]
struct FoundCard {
    handle: CardHandle,
    iccsn: Option<String>,
    pin: PinType,
    crypt: Crypt,
}

/// Cache key: the receiver address (lower case) and the certificate's issuer and serial.
type CacheKey = (String, String);

/// Cache value: ICCSN, key algorithm, when it was found.
type CacheEntry = (String, Crypt, Instant);

/// Remembers which card (ICCSN, key algorithm) decrypts for an address and certificate,
/// for TTL_EMAIL_ICCSN.
#[derive(Debug)]
struct IccsnCache {
    ttl: Duration,
    entries: Mutex<HashMap<CacheKey, CacheEntry>>,
}

impl IccsnCache {
    fn get(&self, key: &CacheKey) -> Option<(String, Crypt)> {
        let map = self.entries.lock().ok()?;
        let (iccsn, crypt, at) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| (iccsn.clone(), *crypt))
    }

    fn put(&self, key: CacheKey, iccsn: String, crypt: Crypt) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|_, (_, _, at)| at.elapsed() < self.ttl);
            map.insert(key, (iccsn, crypt, Instant::now()));
        }
    }

    fn forget(&self, key: &CacheKey) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }
}

/// The Konnektor as the receive side uses it.
#[derive(Debug)]
pub(crate) struct ReceiveKonnektor<K> {
    konnektor: std::sync::Arc<K>,
    timeout: Duration,
    cache: IccsnCache,
}

impl<K> ReceiveKonnektor<K> {
    /// The Konnektor itself (for calls outside decryption, e.g. VerifyCertificate).
    pub(crate) fn konnektor(&self) -> &K {
        &self.konnektor
    }
}

/// Who decrypts: the Konnektor (by KonnektorId), the context of the user name and whether
/// an HBA may be used.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    /// The user name's KonnektorId (`None`: the default Konnektor).
    pub konnektor_id: Option<kim_types::KonnektorId>,
    pub context: Context,
    /// The user name carries a UserId: HBAs of the context are candidates too.
    pub hba: bool,
}

fn unavailable(what: &str, e: &ClientError) -> DecryptError {
    DecryptError::KonnektorUnavailable(format!("{what}: {e}"))
}

/// Result 03 for connection-level problems, otherwise `other`.
fn classify(what: &str, e: ClientError, other: fn(String) -> DecryptError) -> DecryptError {
    match &e {
        ClientError::Fault { .. } if e.code().is_some_and(|c| CARD_FAULTS.contains(&c)) => {
            DecryptError::KeyNotAvailable(format!("{what}: {e}"))
        }
        ClientError::Fault { .. } if !e.is_transient() => other(format!("{what}: {e}")),
        _ => unavailable(what, &e),
    }
}

impl<K: Konnektor> ReceiveKonnektor<K> {
    pub(crate) fn new(
        konnektor: std::sync::Arc<K>,
        timeout: Duration,
        ttl: Duration,
    ) -> ReceiveKonnektor<K> {
        ReceiveKonnektor {
            konnektor,
            timeout,
            cache: IccsnCache {
                ttl,
                entries: Mutex::new(HashMap::new()),
            },
        }
    }

    /// The Konnektor client itself (for the context check at login).
    pub(crate) fn raw(&self) -> &K {
        &self.konnektor
    }

    /// Runs one Konnektor call within KONNEKTOR_TIMEOUT.
    async fn call<T>(
        &self,
        what: &'static str,
        fut: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, CallError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CallError::Client(what, e)),
            Err(_) => Err(CallError::Timeout(what)),
        }
    }

    /// DecryptDocument of `cms` with the card holding a key named by `entries`.
    pub(crate) async fn decrypt(
        &self,
        receiver: &Receiver,
        entries: &[RecipientEmail],
        cms: Vec<u8>,
    ) -> Result<Vec<u8>, DecryptError> {
        let started = Instant::now();
        let (card, key) = self.find_card(receiver, entries).await?;
        if let Err(e) = self.ensure_pin(&receiver.context, &card).await {
            self.cache.forget(&key);
            return Err(e);
        }
        let request = DecryptDocument {
            context: receiver.context.clone(),
            private_key_on_card: KeyOnCard {
                card_handle: card.handle.clone(),
                key_reference: Some(CertRef::Enc.as_str().to_string()),
                crypt: Some(card.crypt),
            },
            document: Document::new(cms),
        };
        let result = self
            .call("DecryptDocument", self.konnektor.decrypt_document(&request))
            .await
            .map_err(|e| e.into_decrypt(DecryptError::WrongFormat));
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(target: "kim_perf", step = "decrypt", ms, "step timed");
        let response = result.inspect_err(|_| self.cache.forget(&key))?;
        response
            .document
            .map(|d| d.data)
            .ok_or_else(|| DecryptError::WrongFormat("DecryptDocument without document".into()))
    }

    /// The card for the first entry that a card of the context can decrypt: from the
    /// cache, else by GetCards and ReadCardCertificate (RSA and ECC).
    async fn find_card(
        &self,
        receiver: &Receiver,
        entries: &[RecipientEmail],
    ) -> Result<(FoundCard, CacheKey), DecryptError> {
        let cards = self.cards(receiver).await?;
        for entry in entries {
            let key = (entry.email.to_ascii_lowercase(), entry.rid.to_string());
            let Some((iccsn, crypt)) = self.cache.get(&key) else {
                continue;
            };
            let hit = cards
                .iter()
                .find(|c| c.iccsn.as_deref() == Some(iccsn.as_str()));
            if let Some(card) = hit {
                let mut card = card.clone();
                card.crypt = crypt;
                return Ok((card, key));
            }
            self.cache.forget(&key);
        }
        for card in &cards {
            for crypt in [Crypt::Rsa, Crypt::Ecc] {
                let Some(cert) = self.enc_certificate(&receiver.context, card, crypt).await? else {
                    continue;
                };
                let Some(entry) = entries.iter().find(|e| e.rid == cert.issuer_serial) else {
                    continue;
                };
                let key = (entry.email.to_ascii_lowercase(), entry.rid.to_string());
                if let Some(iccsn) = &card.iccsn {
                    self.cache.put(key.clone(), iccsn.clone(), crypt);
                }
                let mut card = card.clone();
                card.crypt = crypt;
                return Ok((card, key));
            }
        }
        let named: Vec<String> = entries.iter().map(|e| e.rid.to_string()).collect();
        Err(DecryptError::KeyNotAvailable(format!(
            "no card of the context holds the key for {}",
            named.join("; ")
        )))
    }

    /// SMC-Bs and HSM-Bs (and HBAs when the user name has a UserId) of the context.
    async fn cards(&self, receiver: &Receiver) -> Result<Vec<FoundCard>, DecryptError> {
        let response = self
            .call(
                "GetCards",
                self.konnektor.get_cards(&GetCards {
                    mandant_wide: false,
                    context: receiver.context.clone(),
                    ct_id: None,
                    slot_id: None,
                    card_type: None,
                }),
            )
            .await
            .map_err(|e| e.into_decrypt(DecryptError::KeyNotAvailable))?;
        Ok(response
            .cards
            .into_iter()
            .filter_map(|c| {
                let pin = match c.card_type {
                    t if t.is_institution() => PinType::Smc,
                    CardType::Hba if receiver.hba => PinType::Ch,
                    _ => return None,
                };
                Some(FoundCard {
                    handle: c.handle,
                    iccsn: c.iccsn.map(|i| i.as_str().to_string()),
                    pin,
                    crypt: Crypt::Rsa,
                })
            })
            .collect())
    }

    /// The card's ENC certificate for `crypt`; `None` when the card has none (or the
    /// Konnektor cannot read that algorithm).
    async fn enc_certificate(
        &self,
        ctx: &Context,
        card: &FoundCard,
        crypt: Crypt,
    ) -> Result<Option<CertInfo>, DecryptError> {
        let read = self
            .call(
                "ReadCardCertificate",
                self.konnektor.read_card_certificate(&ReadCardCertificate {
                    card_handle: card.handle.clone(),
                    context: ctx.clone(),
                    cert_refs: vec![CertRef::Enc],
                    crypt: Some(crypt),
                }),
            )
            .await;
        let read = match read {
            Ok(read) => read,
            Err(e) if e.is_unavailable() => {
                return Err(e.into_decrypt(DecryptError::KeyNotAvailable));
            }
            Err(_) => return Ok(None),
        };
        Ok(read
            .infos
            .iter()
            .filter_map(|i| i.x509.as_ref())
            .find_map(|x| CertInfo::parse(&x.certificate).ok()))
    }

    /// GetPinStatus, and VerifyPin unless the PIN is verified.
    async fn ensure_pin(&self, ctx: &Context, card: &FoundCard) -> Result<(), DecryptError> {
        let status = self
            .call(
                "GetPinStatus",
                self.konnektor.get_pin_status(&GetPinStatus {
                    context: ctx.clone(),
                    card_handle: card.handle.clone(),
                    pin_type: card.pin,
                }),
            )
            .await
            .map_err(|e| e.into_decrypt(DecryptError::KeyNotAvailable))?;
        if status.pin_status == Some(PinStatus::Verified) {
            return Ok(());
        }
        self.call(
            "VerifyPin",
            self.konnektor.verify_pin(&VerifyPin {
                context: ctx.clone(),
                card_handle: card.handle.clone(),
                pin_type: card.pin,
            }),
        )
        .await
        .map_err(|e| e.into_decrypt(DecryptError::KeyNotAvailable))?;
        Ok(())
    }

    /// VerifyDocument (nonQES) of the SignedData, mapped per Tab_Verm_Sig_Prüf.
    pub(crate) async fn verify(&self, ctx: &Context, signed_data: Vec<u8>) -> SignatureOutcome {
        let started = Instant::now();
        let request = VerifyDocument {
            context: ctx.clone(),
            tv_mode: None,
            return_verification_report: None,
            document: None,
            signature: Some(SignatureObject {
                signature_type: Some(SignatureType::new(SignatureType::CMS)),
                data: signed_data,
            }),
            include_revocation_info: false,
        };
        let result = self
            .call("VerifyDocument", self.konnektor.verify_document(&request))
            .await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(target: "kim_perf", step = "verify", ms, "step timed");
        match result {
            Ok(response) => outcome(response.high_level_result, response.status.code()),
            Err(CallError::Client(_, e)) if e.code().is_some() => {
                let code = e.code().unwrap_or_default();
                outcome(VerificationResult::Invalid, Some(code))
            }
            Err(e) => SignatureOutcome::Invalid(VerifyFailure::Other(e.to_string())),
        }
    }
}

/// Tab_Verm_Sig_Prüf: the Konnektor's code first, then the high-level result.
pub(crate) fn outcome(result: VerificationResult, code: Option<u32>) -> SignatureOutcome {
    let text = |c: u32| format!("Konnektor code {c}");
    match (result, code) {
        (_, Some(4264)) => SignatureOutcome::Inconclusive,
        (_, Some(4115)) => SignatureOutcome::Invalid(VerifyFailure::Integrity(text(4115))),
        (_, Some(4253)) => SignatureOutcome::Invalid(VerifyFailure::NoSignature),
        (_, Some(4112)) => SignatureOutcome::Invalid(VerifyFailure::Format(text(4112))),
        (_, Some(4206)) => SignatureOutcome::Invalid(VerifyFailure::CertificatePath(text(4206))),
        (VerificationResult::Valid, _) => SignatureOutcome::Valid,
        (VerificationResult::Inconclusive, None) => SignatureOutcome::Inconclusive,
        (_, Some(c)) => SignatureOutcome::Invalid(VerifyFailure::Other(text(c))),
        (VerificationResult::Invalid, None) => {
            SignatureOutcome::Invalid(VerifyFailure::Other("INVALID without code".into()))
        }
    }
}

/// A failed Konnektor call.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("{0}: {1}")]
    Client(&'static str, ClientError),
    #[error("{0}: no answer within KONNEKTOR_TIMEOUT")]
    Timeout(&'static str),
}

impl CallError {
    /// The Konnektor is not reachable (result 03) rather than refusing.
    fn is_unavailable(&self) -> bool {
        match self {
            CallError::Timeout(_) => true,
            CallError::Client(_, e) => {
                e.is_transient()
                    || matches!(
                        e,
                        ClientError::Tls { .. } | ClientError::Unauthorized { .. }
                    )
            }
        }
    }

    fn into_decrypt(self, other: fn(String) -> DecryptError) -> DecryptError {
        match self {
            CallError::Timeout(what) => {
                DecryptError::KonnektorUnavailable(format!("{what}: timeout"))
            }
            CallError::Client(what, e) => classify(what, e, other),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn konnektor_codes_map_to_integrity_ids() {
        use VerificationResult::{Inconclusive, Invalid, Valid};
        let id = |r, c| outcome(r, c).integrity_id();
        assert_eq!(id(Valid, None), "01");
        assert_eq!(id(Invalid, Some(4115)), "02");
        assert_eq!(id(Invalid, Some(4253)), "03");
        assert_eq!(id(Invalid, Some(4112)), "04");
        assert_eq!(id(Inconclusive, Some(4206)), "05");
        assert_eq!(id(Invalid, Some(4999)), "06");
        assert_eq!(id(Invalid, None), "06");
        assert_eq!(id(Inconclusive, Some(4264)), "07");
        assert_eq!(id(Inconclusive, None), "07");
    }

    #[test]
    fn cache_entries_expire() {
        let cache = IccsnCache {
            ttl: Duration::ZERO,
            entries: Mutex::new(HashMap::new()),
        };
        let key = ("a@b".to_string(), "x".to_string());
        cache.put(key.clone(), "1".repeat(20), Crypt::Rsa);
        assert!(cache.get(&key).is_none());
        let cache = IccsnCache {
            ttl: Duration::from_secs(60),
            ..cache
        };
        cache.put(key.clone(), "1".repeat(20), Crypt::Ecc);
        assert_eq!(cache.get(&key), Some(("1".repeat(20), Crypt::Ecc)));
        cache.forget(&key);
        assert!(cache.get(&key).is_none());
    }
}
