//! Software cards: insertion cycles with fresh card handles, PIN state machines and the
//! private-key operations.
//!
//! Invariants:
//! - A card handle is valid for one insertion cycle only (konnektor.md §6.1); removing a
//!   card invalidates it, re-inserting issues a new one.
//! - Removal resets every VERIFIED PIN to VERIFIABLE (the card loses its security state).
//! - Private keys never leave this module: callers get a [`CardKey`] that can sign,
//!   decrypt and authenticate, and whose `Debug` output redacts the key.
//! - PIN entry is simulated: VerifyPin succeeds unless outcomes were scripted
//!   ([`PinOutcome`]); each wrong entry costs a try, at 0 the PIN is BLOCKED.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use kim_message::cms::signed::CmsSigner;
use kim_message::cms::soft::SoftwareKey;
use kim_message::cms::{AlgId, AuthEnvelopedData, CertInfo, CmsError};
use sha2::{Digest, Sha256};

use crate::config::{CardConfig, ConfigError};
use crate::fault::Fault;
use crate::model::{CardKind, Crypt, CryptChoice, KeyRole, PinStatus, PinType};

/// Outcome of the next simulated PIN entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinOutcome {
    /// The user types the right PIN.
    Correct,
    /// The user types a wrong PIN.
    Wrong,
    /// The user cancels (fault 4049).
    Cancel,
}

/// `CARDCMN:PinResult` of VerifyPin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinResult {
    Ok,
    Rejected,
    WasBlocked,
    NowBlocked,
    TransportPin,
    Error,
}

impl PinResult {
    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            PinResult::Ok => "OK",
            PinResult::Rejected => "REJECTED",
            PinResult::WasBlocked => "WASBLOCKED",
            PinResult::NowBlocked => "NOWBLOCKED",
            PinResult::TransportPin => "TRANSPORT_PIN",
            PinResult::Error => "ERROR",
        }
    }
}

const MAX_TRIES: u32 = 3;

#[derive(Debug, Clone)]
struct PinState {
    status: PinStatus,
    left_tries: u32,
    script: VecDeque<PinOutcome>,
}

impl PinState {
    /// One simulated PIN entry (VerifyPin).
    fn verify(&mut self) -> Result<(PinResult, u32), Fault> {
        match self.status {
            PinStatus::Verified => return Ok((PinResult::Ok, self.left_tries)),
            PinStatus::Blocked => return Ok((PinResult::WasBlocked, 0)),
            PinStatus::TransportPin => return Ok((PinResult::TransportPin, self.left_tries)),
            PinStatus::EmptyPin | PinStatus::Disabled => {
                return Ok((PinResult::Error, self.left_tries));
            }
            PinStatus::Verifiable => {}
        }
        match self.script.pop_front().unwrap_or(PinOutcome::Correct) {
            PinOutcome::Correct => {
                self.status = PinStatus::Verified;
                self.left_tries = MAX_TRIES;
                Ok((PinResult::Ok, MAX_TRIES))
            }
            PinOutcome::Wrong => {
                self.left_tries = self.left_tries.saturating_sub(1);
                if self.left_tries == 0 {
                    self.status = PinStatus::Blocked;
                    Ok((PinResult::NowBlocked, 0))
                } else {
                    Ok((PinResult::Rejected, self.left_tries))
                }
            }
            PinOutcome::Cancel => Err(Fault::new(4049, "PIN entry cancelled by the user")),
        }
    }
}

/// A card key usable for one operation. The private key is not reachable from outside.
#[derive(Clone)]
pub struct CardKey {
    pub role: KeyRole,
    pub crypt: Crypt,
    pub certificate: CertInfo,
    key: Arc<SoftwareKey>,
}

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardKey")
            .field("role", &self.role)
            .field("crypt", &self.crypt)
            .field("certificate", &self.certificate.subject_text())
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// Signature schemes of ExternalAuthenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32 (default for RSA).
    RsaPss,
    /// RSASSA-PKCS1-v1_5 over a SHA-256 DigestInfo.
    RsaPkcs1,
    /// ECDSA, plain R||S (BSI TR-03111).
    Ecdsa,
}

impl CardKey {
    /// Signs a 32-byte SHA-256 hash as given (no hashing here): ExternalAuthenticate.
    pub fn sign_hash(&self, hash: &[u8], scheme: AuthScheme) -> Result<Vec<u8>, Fault> {
        if hash.len() != 32 {
            return Err(Fault::new(
                4000,
                format!(
                    "BinaryString holds {} bytes, expected a 32-byte SHA-256 hash",
                    hash.len()
                ),
            ));
        }
        let mut rng = getrandom::SysRng;
        match (&*self.key, scheme) {
            (SoftwareKey::Rsa(k), AuthScheme::RsaPss) => k
                .sign_with_rng(&mut rng, rsa::Pss::<Sha256>::new_with_salt(32), hash)
                .map_err(|e| Fault::internal(format!("RSASSA-PSS: {e}"))),
            (SoftwareKey::Rsa(k), AuthScheme::RsaPkcs1) => k
                .sign_with_rng(&mut rng, rsa::Pkcs1v15Sign::new::<Sha256>(), hash)
                .map_err(|e| Fault::internal(format!("RSASSA-PKCS1-v1_5: {e}"))),
            (SoftwareKey::Brainpool(k), AuthScheme::Ecdsa) => {
                use ecdsa::signature::hazmat::PrehashSigner;
                let sk = ecdsa::SigningKey::<bp256::BrainpoolP256r1>::from(k);
                let sig: ecdsa::Signature<bp256::BrainpoolP256r1> = sk
                    .sign_prehash(hash)
                    .map_err(|e| Fault::internal(format!("ECDSA: {e}")))?;
                Ok(sig.to_bytes().to_vec())
            }
            _ => Err(Fault::new(
                4258,
                format!(
                    "signature scheme {scheme:?} does not fit the {:?} key",
                    self.crypt
                ),
            )),
        }
    }

    /// Decrypts an AuthEnvelopedData addressed to this key's certificate.
    pub fn decrypt(&self, env: AuthEnvelopedData) -> Result<Vec<u8>, CmsError> {
        self.key.decrypt_owned(env, &self.certificate)
    }

    /// Whether the AuthEnvelopedData has a RecipientInfo for this key's certificate.
    pub fn is_recipient_of(&self, env: &AuthEnvelopedData) -> bool {
        env.recipient_infos.iter().any(|ri| {
            ri.recipient_ids()
                .iter()
                .any(|rid| rid.matches(&self.certificate))
        })
    }
}

impl CmsSigner for CardKey {
    fn certificate(&self) -> &CertInfo {
        &self.certificate
    }

    fn signature_algorithm(&self) -> AlgId {
        match &*self.key {
            SoftwareKey::Rsa(_) => kim_message::cms::keys::rsassa_pss_sha256(),
            SoftwareKey::Brainpool(_) => AlgId::new(kim_message::cms::oid::ECDSA_WITH_SHA256, None),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CmsError> {
        let digest = Sha256::digest(message);
        let mut rng = getrandom::SysRng;
        match &*self.key {
            SoftwareKey::Rsa(k) => k
                .sign_with_rng(&mut rng, rsa::Pss::<Sha256>::new_with_salt(32), &digest)
                .map_err(|e| CmsError::Crypto(format!("RSASSA-PSS: {e}"))),
            SoftwareKey::Brainpool(k) => {
                use ecdsa::signature::hazmat::PrehashSigner;
                let sk = ecdsa::SigningKey::<bp256::BrainpoolP256r1>::from(k);
                let sig: ecdsa::Signature<bp256::BrainpoolP256r1> = sk
                    .sign_prehash(&digest)
                    .map_err(|e| CmsError::Crypto(format!("ECDSA: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

#[derive(Debug)]
struct SoftCard {
    kind: CardKind,
    iccsn: String,
    holder: String,
    telematik_id: String,
    terminal: String,
    slot: u32,
    /// Handle and insertion time while inserted.
    inserted: Option<(String, i64)>,
    pins: BTreeMap<PinType, PinState>,
    keys: Vec<CardKey>,
}

/// What GetCards and the admin API show of a card.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CardView {
    pub handle: Option<String>,
    pub kind: CardKind,
    pub iccsn: String,
    pub holder: String,
    pub telematik_id: String,
    pub terminal: String,
    pub slot: u32,
    pub insert_time: Option<i64>,
    /// Earliest notAfter of the card's certificates.
    pub certificate_expiration: Option<i64>,
    /// (PIN type, status, left tries).
    pub pins: Vec<(String, String, u32)>,
    /// Key pairs present, e.g. `enc-ecc`.
    pub keys: Vec<String>,
}

/// All software cards of one simulated Konnektor.
#[derive(Debug)]
pub struct CardStore {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    cards: Vec<SoftCard>,
    insertions: u64,
}

impl CardStore {
    /// Loads the cards' certificates and keys; inserted cards get handles.
    pub fn new(configs: &[CardConfig]) -> Result<CardStore, ConfigError> {
        let mut inner = Inner {
            cards: Vec::new(),
            insertions: 0,
        };
        for (i, c) in configs.iter().enumerate() {
            let mut keys = Vec::new();
            for m in &c.keys {
                let bad = |what: String| ConfigError::Invalid {
                    key: format!("card[{i}].keys"),
                    value: format!("{}-{}", m.role.file_tag(c.kind), m.crypt.file_tag()),
                    allowed: what,
                };
                let certificate = CertInfo::parse(&m.certificate_der)
                    .map_err(|e| bad(format!("a readable certificate ({e})")))?;
                let key = SoftwareKey::from_pkcs8_der(&m.pkcs8_der)
                    .map_err(|e| bad(format!("an RSA or brainpoolP256r1 PKCS#8 key ({e})")))?;
                let card_key = CardKey {
                    role: m.role,
                    crypt: m.crypt,
                    certificate,
                    key: Arc::new(key),
                };
                let probe = [7u8; 32];
                let scheme = if m.crypt == Crypt::Rsa {
                    AuthScheme::RsaPkcs1
                } else {
                    AuthScheme::Ecdsa
                };
                card_key
                    .sign_hash(&probe, scheme)
                    .map_err(|_| bad("a key of the algorithm named in the file name".into()))?;
                keys.push(card_key);
            }
            let pins = c
                .pins
                .iter()
                .map(|p| {
                    (
                        p.pin_type,
                        PinState {
                            status: p.status,
                            left_tries: p.left_tries,
                            script: VecDeque::new(),
                        },
                    )
                })
                .collect();
            let mut card = SoftCard {
                kind: c.kind,
                iccsn: c.iccsn.clone(),
                holder: c.holder.clone(),
                telematik_id: c.telematik_id.clone(),
                terminal: c.terminal.clone(),
                slot: c.slot,
                inserted: None,
                pins,
                keys,
            };
            if c.inserted {
                inner.insertions += 1;
                card.inserted = Some((
                    new_handle(c.kind, inner.insertions),
                    crate::clock::now_unix(),
                ));
            }
            inner.cards.push(card);
        }
        Ok(CardStore {
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserted cards in the given terminals (all cards with `None`, inserted or not).
    pub fn list(&self, terminals: Option<&std::collections::BTreeSet<String>>) -> Vec<CardView> {
        let inner = self.lock();
        inner
            .cards
            .iter()
            .filter(|c| match terminals {
                Some(t) => c.inserted.is_some() && t.contains(&c.terminal),
                None => true,
            })
            .map(view)
            .collect()
    }

    /// The card of a handle: 4101 when the handle is unknown or from an earlier insertion.
    pub fn by_handle(&self, handle: &str) -> Result<CardView, Fault> {
        let inner = self.lock();
        find_handle(&inner, handle).map(view)
    }

    /// GetPinStatus.
    pub fn pin_status(&self, handle: &str, pin: PinType) -> Result<(PinStatus, u32), Fault> {
        let inner = self.lock();
        let card = find_handle(&inner, handle)?;
        let state = card
            .pins
            .get(&pin)
            .ok_or_else(|| wrong_pin_type(card.kind, pin))?;
        Ok((state.status, state.left_tries))
    }

    /// VerifyPin (simulated PIN entry).
    pub fn verify_pin(&self, handle: &str, pin: PinType) -> Result<(PinResult, u32), Fault> {
        let mut inner = self.lock();
        let idx = handle_index(&inner, handle)?;
        let card = inner
            .cards
            .get_mut(idx)
            .ok_or_else(|| unknown_handle(handle))?;
        let kind = card.kind;
        let state = card
            .pins
            .get_mut(&pin)
            .ok_or_else(|| wrong_pin_type(kind, pin))?;
        state.verify()
    }

    /// A key of the card, without a PIN check (certificates are public).
    pub fn certificate(
        &self,
        handle: &str,
        role: KeyRole,
        crypt: Crypt,
    ) -> Result<CertInfo, Fault> {
        let inner = self.lock();
        let card = find_handle(&inner, handle)?;
        pick_key(card, role, CryptChoice::from(crypt)).map(|k| k.certificate)
    }

    /// A key for a private-key operation: 4085 unless the PIN guarding `role` is VERIFIED,
    /// 4258 when the card lacks the asked algorithm.
    pub fn private_key(
        &self,
        handle: &str,
        role: KeyRole,
        choice: CryptChoice,
    ) -> Result<CardKey, Fault> {
        let inner = self.lock();
        let card = find_handle(&inner, handle)?;
        let key = pick_key(card, role, choice)?;
        require_pin(card, role)?;
        Ok(key)
    }

    /// Every key of `role` matching `choice` (DecryptDocument tries each), PIN checked.
    pub fn private_keys(
        &self,
        handle: &str,
        role: KeyRole,
        choice: Option<CryptChoice>,
    ) -> Result<Vec<CardKey>, Fault> {
        let inner = self.lock();
        let card = find_handle(&inner, handle)?;
        let keys: Vec<CardKey> = card
            .keys
            .iter()
            .filter(|k| k.role == role)
            .filter(|k| match choice {
                Some(CryptChoice::Rsa) => k.crypt == Crypt::Rsa,
                Some(CryptChoice::Ecc) => k.crypt == Crypt::Ecc,
                Some(CryptChoice::RsaEcc) | None => true,
            })
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(Fault::new(
                4258,
                format!("card has no {role:?} key for Crypt {choice:?}"),
            ));
        }
        require_pin(card, role)?;
        Ok(keys)
    }

    /// Admin: inserts a card (optionally into another terminal/slot); a new handle is issued.
    pub fn insert(&self, iccsn: &str, place: Option<(String, u32)>) -> Result<CardView, String> {
        let mut inner = self.lock();
        if let Some((t, s)) = &place
            && inner.cards.iter().any(|c| {
                c.inserted.is_some() && &c.terminal == t && c.slot == *s && c.iccsn != iccsn
            })
        {
            return Err(format!("slot {s} of {t} is occupied"));
        }
        inner.insertions += 1;
        let n = inner.insertions;
        let card = inner
            .cards
            .iter_mut()
            .find(|c| c.iccsn == iccsn)
            .ok_or_else(|| format!("no card with ICCSN {iccsn}"))?;
        if let Some((t, s)) = place {
            card.terminal = t;
            card.slot = s;
        }
        reset_security_state(card);
        card.inserted = Some((new_handle(card.kind, n), crate::clock::now_unix()));
        Ok(view(card))
    }

    /// Admin: removes a card; its handle becomes invalid and verified PINs are reset.
    pub fn remove(&self, iccsn: &str) -> Result<CardView, String> {
        let mut inner = self.lock();
        let card = inner
            .cards
            .iter_mut()
            .find(|c| c.iccsn == iccsn)
            .ok_or_else(|| format!("no card with ICCSN {iccsn}"))?;
        card.inserted = None;
        reset_security_state(card);
        Ok(view(card))
    }

    /// Admin: sets a PIN's state and scripts the outcomes of the next PIN entries.
    pub fn set_pin(
        &self,
        iccsn: &str,
        pin: PinType,
        status: Option<PinStatus>,
        left_tries: Option<u32>,
        script: Vec<PinOutcome>,
    ) -> Result<CardView, String> {
        let mut inner = self.lock();
        let card = inner
            .cards
            .iter_mut()
            .find(|c| c.iccsn == iccsn)
            .ok_or_else(|| format!("no card with ICCSN {iccsn}"))?;
        let state = card
            .pins
            .get_mut(&pin)
            .ok_or_else(|| format!("card has no {}", pin.wire()))?;
        if let Some(s) = status {
            state.status = s;
        }
        if let Some(t) = left_tries {
            state.left_tries = t.min(MAX_TRIES);
        }
        state.script = script.into();
        Ok(view(card))
    }
}

impl From<Crypt> for CryptChoice {
    fn from(c: Crypt) -> Self {
        match c {
            Crypt::Rsa => CryptChoice::Rsa,
            Crypt::Ecc => CryptChoice::Ecc,
        }
    }
}

fn new_handle(kind: CardKind, insertion: u64) -> String {
    let mut r = [0u8; 4];
    if getrandom::fill(&mut r).is_err() {
        r = [0; 4];
    }
    format!("{}-{insertion}-{:08x}", kind.wire(), u32::from_be_bytes(r))
}

fn reset_security_state(card: &mut SoftCard) {
    for p in card.pins.values_mut() {
        if p.status == PinStatus::Verified {
            p.status = PinStatus::Verifiable;
        }
    }
}

fn unknown_handle(handle: &str) -> Fault {
    Fault::new(
        4101,
        format!("card handle '{handle}' unknown or no longer valid"),
    )
}

fn wrong_pin_type(kind: CardKind, pin: PinType) -> Fault {
    Fault::new(
        4000,
        format!(
            "{} does not exist on a {} (allowed: {})",
            pin.wire(),
            kind.wire(),
            kind.pin_types_text()
        ),
    )
}

fn handle_index(inner: &Inner, handle: &str) -> Result<usize, Fault> {
    inner
        .cards
        .iter()
        .position(|c| c.inserted.as_ref().is_some_and(|(h, _)| h == handle))
        .ok_or_else(|| unknown_handle(handle))
}

fn find_handle<'a>(inner: &'a Inner, handle: &str) -> Result<&'a SoftCard, Fault> {
    let idx = handle_index(inner, handle)?;
    inner.cards.get(idx).ok_or_else(|| unknown_handle(handle))
}

fn pick_key(card: &SoftCard, role: KeyRole, choice: CryptChoice) -> Result<CardKey, Fault> {
    let get = |c: Crypt| {
        card.keys
            .iter()
            .find(|k| k.role == role && k.crypt == c)
            .cloned()
    };
    let found = match choice {
        CryptChoice::Rsa => get(Crypt::Rsa),
        CryptChoice::Ecc => get(Crypt::Ecc),
        CryptChoice::RsaEcc => get(Crypt::Ecc).or_else(|| get(Crypt::Rsa)),
    };
    found.ok_or_else(|| {
        Fault::new(
            4258,
            format!(
                "card {} has no {role:?} key for Crypt {choice:?}",
                card.iccsn
            ),
        )
    })
}

fn require_pin(card: &SoftCard, role: KeyRole) -> Result<(), Fault> {
    let pin = card.kind.pin_for(role);
    match card.pins.get(&pin).map(|p| p.status) {
        Some(PinStatus::Verified) => Ok(()),
        other => Err(Fault::new(
            4085,
            format!(
                "{} of card {} is {} (VERIFIED required)",
                pin.wire(),
                card.iccsn,
                other.map_or("absent", PinStatus::wire)
            ),
        )),
    }
}

fn view(c: &SoftCard) -> CardView {
    CardView {
        handle: c.inserted.as_ref().map(|(h, _)| h.clone()),
        kind: c.kind,
        iccsn: c.iccsn.clone(),
        holder: c.holder.clone(),
        telematik_id: c.telematik_id.clone(),
        terminal: c.terminal.clone(),
        slot: c.slot,
        insert_time: c.inserted.as_ref().map(|(_, t)| *t),
        certificate_expiration: c.keys.iter().map(|k| k.certificate.not_after).min(),
        pins: c
            .pins
            .iter()
            .map(|(t, s)| {
                (
                    t.wire().to_string(),
                    s.status.wire().to_string(),
                    s.left_tries,
                )
            })
            .collect(),
        keys: c
            .keys
            .iter()
            .map(|k| format!("{}-{}", k.role.file_tag(c.kind), k.crypt.file_tag()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn state(status: PinStatus, left: u32, script: &[PinOutcome]) -> PinState {
        PinState {
            status,
            left_tries: left,
            script: script.iter().copied().collect(),
        }
    }

    #[test]
    fn wrong_entries_count_down_to_blocked() {
        use PinOutcome::*;
        let mut s = state(PinStatus::Verifiable, 3, &[Wrong, Wrong, Wrong]);
        assert_eq!(s.verify().unwrap(), (PinResult::Rejected, 2));
        assert_eq!(s.verify().unwrap(), (PinResult::Rejected, 1));
        assert_eq!(s.verify().unwrap(), (PinResult::NowBlocked, 0));
        assert_eq!(s.status, PinStatus::Blocked);
        assert_eq!(s.verify().unwrap(), (PinResult::WasBlocked, 0));
    }

    #[test]
    fn correct_entry_verifies_and_restores_tries() {
        let mut s = state(PinStatus::Verifiable, 1, &[]);
        assert_eq!(s.verify().unwrap(), (PinResult::Ok, 3));
        assert_eq!(s.status, PinStatus::Verified);
    }

    #[test]
    fn transport_pin_and_cancel() {
        let mut s = state(PinStatus::TransportPin, 3, &[]);
        assert_eq!(s.verify().unwrap().0, PinResult::TransportPin);
        assert_eq!(s.status, PinStatus::TransportPin);
        let mut s = state(PinStatus::Verifiable, 3, &[PinOutcome::Cancel]);
        assert_eq!(s.verify().unwrap_err().code, 4049);
        assert_eq!(s.status, PinStatus::Verifiable);
    }
}
