//! The Konnektor calls of sending (gemSpec_CM_KOMLE 3.4 steps 8–10; KOM-LE-A_2177,
//! KOM-LE-A_2190/2191, KOM-LE-A_2299-01): the SMC-B of the sender's context, its PIN,
//! SignDocument and EncryptDocument with the recipient-emails attribute.

use std::collections::HashMap;
use std::sync::Mutex;

use kim_konnektor::client::{ClientError, Konnektor};
use kim_konnektor::model::{
    CardHandle, CertRef, CmsProperty, Context, Crypt, Document, EncryptionType, PinStatus, PinType,
    SignatureType, TvMode,
};
use kim_konnektor::ops::{
    EncryptDocument, GetCards, GetJobNumber, GetPinStatus, ReadCardCertificate, RecipientKeys,
    SignDocument, SignRequest, VerifyPin,
};
use kim_message::cms::CertInfo;
use kim_types::KonnektorContext;

use crate::error::SendFailure;

/// The Konnektor context of a user name.
pub fn context(ctx: &KonnektorContext) -> Result<Context, String> {
    Context::new(
        ctx.mandant_id.as_str(),
        ctx.client_system_id.as_str(),
        ctx.workplace_id.as_str(),
    )
    .map_err(|e| e.to_string())
}

/// One Konnektor of the send side with its own card cache (card handles are only valid at
/// the Konnektor that issued them).
#[derive(Debug)]
pub(crate) struct SendKonnektor<K> {
    pub konnektor: std::sync::Arc<K>,
    pub cards: CardCache,
}

impl<K> SendKonnektor<K> {
    pub fn new(konnektor: std::sync::Arc<K>) -> SendKonnektor<K> {
        SendKonnektor {
            konnektor,
            cards: CardCache::default(),
        }
    }
}

/// Remembers which SMC-B serves a Telematik-ID in a context (TTL_EMAIL_ICCSN; the
/// handle is dropped again when the Konnektor no longer knows it).
#[derive(Debug, Default)]
pub struct CardCache {
    handles: Mutex<HashMap<(String, String), CardHandle>>,
}

impl CardCache {
    fn get(&self, key: &(String, String)) -> Option<CardHandle> {
        self.handles.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: (String, String), handle: CardHandle) {
        if let Ok(mut map) = self.handles.lock() {
            map.insert(key, handle);
        }
    }

    fn forget(&self, key: &(String, String)) {
        if let Ok(mut map) = self.handles.lock() {
            map.remove(key);
        }
    }
}

/// GetCards for the SMC-Bs (and HSM-Bs) of `ctx`; a fault here at AUTH time means the
/// context is wrong (4004–4006 → `501`, Tab_SMTP_Verbindung). Asked without a card type
/// filter, which every Konnektor supports (the `SM-B` group is not everywhere).
pub(crate) async fn smcb_cards<K: Konnektor>(
    konnektor: &K,
    ctx: &Context,
) -> Result<Vec<CardHandle>, ClientError> {
    let cards = konnektor
        .get_cards(&GetCards {
            mandant_wide: false,
            context: ctx.clone(),
            ct_id: None,
            slot_id: None,
            card_type: None,
        })
        .await?;
    Ok(cards
        .cards
        .into_iter()
        .filter(|c| c.card_type.is_institution())
        .map(|c| c.handle)
        .collect())
}

/// The SMC-B whose ENC certificate carries `telematik_id`; the first SMC-B of the
/// context if none does.
async fn select_card<K: Konnektor>(
    konnektor: &K,
    cache: &CardCache,
    ctx: &Context,
    telematik_id: &str,
) -> Result<CardHandle, SendFailure> {
    let key = (format!("{ctx:?}"), telematik_id.to_string());
    if let Some(handle) = cache.get(&key) {
        return Ok(handle);
    }
    let cards = smcb_cards(konnektor, ctx)
        .await
        .map_err(|e| SendFailure::Sign(format!("GetCards: {e}")))?;
    for handle in &cards {
        let read = konnektor
            .read_card_certificate(&ReadCardCertificate {
                card_handle: handle.clone(),
                context: ctx.clone(),
                cert_refs: vec![CertRef::Enc],
                crypt: Some(Crypt::Rsa),
            })
            .await;
        let Ok(read) = read else { continue };
        let matches = read
            .infos
            .iter()
            .filter_map(|i| i.x509.as_ref())
            .filter_map(|x| CertInfo::parse(&x.certificate).ok())
            .any(|c| c.telematik_id().as_deref() == Some(telematik_id));
        if matches {
            cache.put(key, handle.clone());
            return Ok(handle.clone());
        }
    }
    cards
        .into_iter()
        .next()
        .ok_or_else(|| SendFailure::Sign("no SMC-B or HSM-B in the context".into()))
}

/// Makes sure the SMC-B's PIN is verified (VerifyPin asks at the card terminal).
async fn ensure_pin<K: Konnektor>(
    konnektor: &K,
    ctx: &Context,
    handle: &CardHandle,
) -> Result<(), ClientError> {
    let status = konnektor
        .get_pin_status(&GetPinStatus {
            context: ctx.clone(),
            card_handle: handle.clone(),
            pin_type: PinType::Smc,
        })
        .await?;
    if status.pin_status != Some(PinStatus::Verified) {
        konnektor
            .verify_pin(&VerifyPin {
                context: ctx.clone(),
                card_handle: handle.clone(),
                pin_type: PinType::Smc,
            })
            .await?;
    }
    Ok(())
}

/// SignDocument of the eContent with the SMC-B of the sender (C.HCI.OSIG, KOM-LE-A_2129)
/// and the recipient-emails attribute as signed property (KOM-LE-A_2190). Returns the DER
/// SignedData.
pub async fn sign<K: Konnektor>(
    konnektor: &K,
    cache: &CardCache,
    ctx: &Context,
    sender_telematik_id: &str,
    econtent: Vec<u8>,
    recipient_emails: &[u8],
    ecc: bool,
) -> Result<Vec<u8>, SendFailure> {
    let _timer = crate::perf::timer("sign");
    let handle = select_card(konnektor, cache, ctx, sender_telematik_id).await?;
    let key = (format!("{ctx:?}"), sender_telematik_id.to_string());
    if let Err(e) = ensure_pin(konnektor, ctx, &handle).await {
        cache.forget(&key);
        return Err(SendFailure::Sign(format!("PIN: {e}")));
    }
    let job_number = konnektor
        .get_job_number(&GetJobNumber {
            context: ctx.clone(),
        })
        .await
        .map_err(|e| SendFailure::Sign(format!("GetJobNumber: {e}")))?
        .job_number;
    let request = SignDocument {
        card_handle: handle,
        crypt: Some(if ecc { Crypt::Ecc } else { Crypt::Rsa }),
        context: ctx.clone(),
        tv_mode: TvMode::None,
        job_number: Some(job_number),
        requests: vec![SignRequest {
            request_id: "KimSignRequest".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![recipient_emails_property(recipient_emails)],
            include_econtent: Some(true),
            document: Document::new(econtent),
            include_revocation_info: false,
        }],
    };
    let response = konnektor.sign_document(&request).await.map_err(|e| {
        cache.forget(&key);
        SendFailure::Sign(e.to_string())
    })?;
    response
        .responses
        .into_iter()
        .next()
        .and_then(|r| r.signature)
        .map(|s| s.data)
        .ok_or_else(|| SendFailure::Sign("response without signature".into()))
}

/// EncryptDocument of the signed-data entity for every certificate (recipients and
/// sender, KOM-LE-A_2022) with the recipient-emails attribute unprotected (KOM-LE-A_2191).
/// Returns the (BER) AuthEnvelopedData.
pub async fn encrypt<K: Konnektor>(
    konnektor: &K,
    ctx: &Context,
    certificates: Vec<Vec<u8>>,
    entity: Vec<u8>,
    recipient_emails: &[u8],
) -> Result<Vec<u8>, SendFailure> {
    let _timer = crate::perf::timer("encrypt");
    let request = EncryptDocument {
        context: ctx.clone(),
        recipient_keys: RecipientKeys {
            certificate_on_card: None,
            certificates,
        },
        document: Document::new(entity),
        encryption_type: Some(EncryptionType::Cms),
        unprotected_properties: vec![recipient_emails_property(recipient_emails)],
    };
    konnektor
        .encrypt_document(&request)
        .await
        .map_err(|e| SendFailure::Encrypt(e.to_string()))?
        .document
        .map(|d| d.data)
        .ok_or_else(|| SendFailure::Encrypt("response without document".into()))
}

fn recipient_emails_property(attribute_der: &[u8]) -> CmsProperty {
    CmsProperty {
        identifier: CmsProperty::RECIPIENT_EMAILS.into(),
        attribute_der: attribute_der.to_vec(),
    }
}
