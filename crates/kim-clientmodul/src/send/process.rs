//! The PROCESS state: one buffered Client-Mail with its envelope becomes a KOM-LE message
//! at the MTA (gemSpec_CM_KOMLE 3.4, kim-spec §3.4 steps 1–13).

use kim_konnektor::client::Konnektor;
use kim_message::cms::CertInfo;
use kim_message::mime::compose::{
    OuterParams, extract_self_forward, outer_message, prepare_client_mail_owned, rfc822_wrap,
    signed_data_entity,
};
use kim_message::mime::dsn::{DsnRecipient, SendErrorCode};
use kim_message::seal::{RecipientCert, recipient_emails};
use kim_smtp::client::ClientError;
use kim_smtp::{Envelope, RcptTo, Reply};

use super::directory::{self, Lookup, Resolved};
use super::mta::MtaClient;
use super::spool::{MailData, MailFile};
use super::{Session, Shared, dsn, headers, konnektor, large};
use crate::error::SendFailure;

/// A recipient that passed the directory checks, with the client's RCPT parameters.
pub(super) struct Target {
    pub(super) rcpt: RcptTo,
    pub(super) resolved: Resolved,
}

/// Runs the send algorithm. `Ok` is the reply to relay (the MTA's, or ours after a
/// self-forward); `Err` is a failure before anything reached the MTA. Mails above the
/// KAS threshold take the streaming path of the `large` module.
pub(super) async fn process<K: Konnektor>(
    shared: &Shared<K>,
    session: &mut Session,
    envelope: &Envelope,
    mail: MailData,
) -> Result<Reply, SendFailure> {
    // KOM-LE-A_2029 first, whatever the size: a KOM-LE message sealed whole is above the
    // threshold as a forward and goes out unchanged, not through the KAS.
    let mail = match mail {
        MailData::File(file) if to_oneself(envelope) && file.len <= large::MAX_SELF_FORWARD => {
            let whole = file
                .head(file.len)
                .await
                .map_err(|e| SendFailure::Spool(e.to_string()))?;
            if let Some(reply) = resubmit_self_forward(session, envelope, &whole).await {
                return reply;
            }
            if file.len <= shared.config.kas_threshold {
                MailData::Memory(whole)
            } else {
                MailData::File(file)
            }
        }
        MailData::Memory(bytes) if to_oneself(envelope) => {
            if let Some(reply) = resubmit_self_forward(session, envelope, &bytes).await {
                return reply;
            }
            MailData::Memory(bytes)
        }
        other => other,
    };
    match mail {
        MailData::Memory(bytes) if bytes.len() as u64 <= shared.config.kas_threshold => {
            process_small(shared, session, envelope, bytes).await
        }
        MailData::Memory(bytes) => {
            let file = MailFile::from_bytes(bytes)
                .await
                .map_err(|e| SendFailure::Spool(e.to_string()))?;
            large::process(shared, session, envelope, file).await
        }
        // Spilled to the spool file but not above the threshold: sealed whole, no KAS.
        MailData::File(file) if file.len <= shared.config.kas_threshold => {
            let bytes = file
                .head(file.len)
                .await
                .map_err(|e| SendFailure::Spool(e.to_string()))?;
            process_small(shared, session, envelope, bytes).await
        }
        MailData::File(file) => large::process(shared, session, envelope, file).await,
    }
}

/// The send algorithm for a Client-Mail in memory.
async fn process_small<K: Konnektor>(
    shared: &Shared<K>,
    session: &mut Session,
    envelope: &Envelope,
    mail: Vec<u8>,
) -> Result<Reply, SendFailure> {
    let sender = envelope.mail_from.address.clone();
    if has_kas_part(&mail) {
        return Err(SendFailure::AlreadyKas);
    }
    let prepared =
        prepare_client_mail_owned(mail).map_err(|e| SendFailure::ClientMail(e.to_string()))?;
    if prepared.bytes.len() as u64 > shared.config.kas_threshold {
        // Line ends made CRLF pushed it over the threshold.
        let file = MailFile::from_bytes(prepared.bytes)
            .await
            .map_err(|e| SendFailure::Spool(e.to_string()))?;
        return large::process(shared, session, envelope, file).await;
    }
    let (ecc, me, mut targets, mut affected) =
        resolve_all(shared, session, &sender, envelope).await?;
    let mut to_seal = filter_headers(prepared.bytes, &targets)?;
    if targets.is_empty() {
        return Err(SendFailure::NoRecipient(dropped_list(&affected)));
    }
    let outer = seal_with_retry(
        shared,
        session,
        (&sender, me),
        &mut targets,
        &mut affected,
        &mut to_seal,
        (None, ecc),
    )
    .await?;
    finish(
        shared, session, envelope, targets, &affected, &outer, &to_seal,
    )
    .await
}

/// Steps 12 and 13: the KOM-LE message to the MTA, then the sender DSN if the MTA
/// accepted it.
pub(super) async fn finish<K: Konnektor>(
    shared: &Shared<K>,
    session: &mut Session,
    envelope: &Envelope,
    targets: Vec<Target>,
    affected: &[DsnRecipient],
    outer: &[u8],
    sealed: &[u8],
) -> Result<Reply, SendFailure> {
    let sender = &envelope.mail_from.address;
    let rcpts = targets.into_iter().map(|t| t.rcpt).collect();
    let reply = relay(&mut session.mta, envelope, rcpts, outer).await?;
    if reply.is_positive() {
        let now = directory::now();
        let header = dsn::header_of(sealed);
        dsn::send(
            &mut session.mta,
            &shared.config.hostname,
            sender,
            affected,
            header,
            now,
        )
        .await;
    }
    Ok(reply)
}

/// The directory part of the send algorithm for sender and recipients, with the
/// certificate algorithm the session's Konnektor can encrypt for: `(ecc, sender, targets,
/// recipients dropped so far)`.
pub(super) async fn resolve_all<K: Konnektor>(
    shared: &Shared<K>,
    session: &Session,
    sender: &str,
    envelope: &Envelope,
) -> Result<(bool, Resolved, Vec<Target>, Vec<DsnRecipient>), SendFailure> {
    let ecc = shared
        .konnektor(&session.user)?
        .konnektor
        .ecc_capable()
        .await
        .unwrap_or(false);
    let mut affected = Vec::new();
    let me = resolve_sender(shared, sender, ecc, &mut affected).await?;
    let targets = resolve_recipients(shared, envelope, ecc, &mut affected).await?;
    Ok((ecc, me, targets, affected))
}

/// Sender checks: usable ENC certificate and unique entry (FAQ: `553`), KIM version
/// (A_21387-01: 4017 when the directory knows a newer version than this Clientmodul).
async fn resolve_sender<K: Konnektor>(
    shared: &Shared<K>,
    sender: &str,
    ecc: bool,
    affected: &mut Vec<DsnRecipient>,
) -> Result<Resolved, SendFailure> {
    match directory::resolve(&shared.vzd, sender, ecc).await? {
        Lookup::Found(me) => {
            if me.version > shared.config.kim_version {
                affected.push(DsnRecipient {
                    address: sender.to_string(),
                    code: SendErrorCode::ClientmodulOutdated,
                    detail: Some(format!("directory version {}", me.version.as_str())),
                });
            }
            Ok(me)
        }
        Lookup::Dropped(code, reason) => Err(SendFailure::Sender {
            address: sender.to_string(),
            reason: format!("{reason} ({})", code.code()),
        }),
    }
}

/// Recipient checks; dropped recipients go to the DSN (A_2176-01, A_2192-01).
async fn resolve_recipients<K: Konnektor>(
    shared: &Shared<K>,
    envelope: &Envelope,
    ecc: bool,
    affected: &mut Vec<DsnRecipient>,
) -> Result<Vec<Target>, SendFailure> {
    let mut targets: Vec<Target> = Vec::new();
    for rcpt in &envelope.rcpts {
        let duplicate = targets
            .iter()
            .any(|t| t.rcpt.address.eq_ignore_ascii_case(&rcpt.address));
        if duplicate {
            continue;
        }
        match directory::resolve(&shared.vzd, &rcpt.address, ecc).await? {
            Lookup::Found(resolved) => targets.push(Target {
                rcpt: rcpt.clone(),
                resolved,
            }),
            Lookup::Dropped(code, reason) => {
                tracing::info!(code = code.code(), "recipient dropped");
                affected.push(DsnRecipient {
                    address: rcpt.address.clone(),
                    code,
                    detail: Some(reason),
                });
            }
        }
    }
    Ok(targets)
}

/// Steps 8–11, and once more with fresh directory data if the encryption failed: the
/// certificates may have come from a stale cache (3.4 step 10).
pub(super) async fn seal_with_retry<K: Konnektor>(
    shared: &Shared<K>,
    session: &Session,
    (sender, me): (&str, Resolved),
    targets: &mut Vec<Target>,
    affected: &mut Vec<DsnRecipient>,
    to_seal: &mut Vec<u8>,
    (kas_size, ecc): (Option<u64>, bool),
) -> Result<Vec<u8>, SendFailure> {
    match seal(shared, session, &me, targets, to_seal, kas_size, ecc).await {
        Err(SendFailure::Encrypt(reason)) => {
            tracing::info!(%reason, "encryption failed, retrying with fresh directory data");
            shared.vzd.clear_cache();
            let me = resolve_sender(shared, sender, ecc, &mut Vec::new()).await?;
            refresh(shared, targets, ecc, affected).await?;
            if targets.is_empty() {
                return Err(SendFailure::NoRecipient(dropped_list(affected)));
            }
            *to_seal = filter_headers(std::mem::take(to_seal), targets)?;
            seal(shared, session, &me, targets, to_seal, kas_size, ecc).await
        }
        other => other,
    }
}

/// Re-resolves every target (fresh certificates); those no longer usable go to the DSN.
pub(super) async fn refresh<K: Konnektor>(
    shared: &Shared<K>,
    targets: &mut Vec<Target>,
    ecc: bool,
    affected: &mut Vec<DsnRecipient>,
) -> Result<(), SendFailure> {
    let mut fresh = Vec::with_capacity(targets.len());
    for target in targets.drain(..) {
        match directory::resolve(&shared.vzd, &target.rcpt.address, ecc).await? {
            Lookup::Found(resolved) => fresh.push(Target {
                rcpt: target.rcpt,
                resolved,
            }),
            Lookup::Dropped(code, reason) => affected.push(DsnRecipient {
                address: target.rcpt.address,
                code,
                detail: Some(reason),
            }),
        }
    }
    *targets = fresh;
    Ok(())
}

/// To/Cc/Bcc reduced to the targets (A_23174, KOM-LE-A_2028).
pub(super) fn filter_headers(mail: Vec<u8>, targets: &[Target]) -> Result<Vec<u8>, SendFailure> {
    let kept: Vec<String> = targets.iter().map(|t| t.rcpt.address.clone()).collect();
    headers::filter_recipients(mail, &kept).map_err(|e| SendFailure::ClientMail(e.to_string()))
}

/// A_19356-06: only recipients with `1.5+` receive large messages; the others get 4001.
pub(super) fn gate_large(targets: &mut Vec<Target>, affected: &mut Vec<DsnRecipient>) {
    targets.retain(|t| {
        let ok = t.resolved.version.supports_large_messages();
        if !ok {
            affected.push(DsnRecipient {
                address: t.rcpt.address.clone(),
                code: SendErrorCode::RecipientVersionTooLow,
                detail: Some(format!("KIM version {}", t.resolved.version.as_str())),
            });
        }
        ok
    });
}

/// Sign, wrap, encrypt (recipients and sender), build the outer message.
async fn seal<K: Konnektor>(
    shared: &Shared<K>,
    session: &Session,
    me: &Resolved,
    targets: &[Target],
    mail: &[u8],
    kas_size: Option<u64>,
    ecc: bool,
) -> Result<Vec<u8>, SendFailure> {
    let mut certs = Vec::new();
    for (address, ders) in targets
        .iter()
        .map(|t| (&t.rcpt.address, &t.resolved.certificates))
        .chain(std::iter::once((&me.address, &me.certificates)))
    {
        for der in ders {
            let cert = CertInfo::parse(der).map_err(|e| SendFailure::Encrypt(e.to_string()))?;
            certs.push(RecipientCert {
                address: address.clone(),
                cert,
            });
        }
    }
    let attribute = recipient_emails(&certs).to_attribute_der();
    let selected = shared.konnektor(&session.user)?;
    let signed = konnektor::sign(
        selected.konnektor.as_ref(),
        &selected.cards,
        &session.context,
        &me.telematik_id,
        rfc822_wrap(mail),
        &attribute,
        ecc,
    )
    .await?;
    let entity = signed_data_entity(&signed);
    drop(signed);
    let ders = certs.into_iter().map(|c| c.cert.der).collect();
    let enveloped = konnektor::encrypt(
        selected.konnektor.as_ref(),
        &session.context,
        ders,
        entity,
        &attribute,
    )
    .await?;
    let now = directory::now();
    let ttl = i64::from(shared.config.data_time_to_live_days) * 86_400;
    let params = OuterParams {
        kom_le_version: if kas_size.is_some() { "1.5" } else { "1.0" }.into(),
        cm_version: shared.config.cm_version.clone(),
        pt_version: shared.config.pt_version.clone(),
        kon_version: None,
        expires: Some(dsn::rfc5322_date(now.saturating_add(ttl))),
        kas_size,
    };
    outer_message(mail, &enveloped, &params).map_err(|e| SendFailure::Compose(e.to_string()))
}

/// Whether every recipient is the sender (a forward to oneself may be KOM-LE-A_2029).
pub(super) fn to_oneself(envelope: &Envelope) -> bool {
    let sender = &envelope.mail_from.address;
    envelope
        .rcpts
        .iter()
        .all(|r| r.address.eq_ignore_ascii_case(sender))
}

/// KOM-LE-A_2029: if `mail` embeds a KOM-LE message, that message goes out unchanged (the
/// MTA's reply); `None` if it embeds none.
pub(super) async fn resubmit_self_forward(
    session: &mut Session,
    envelope: &Envelope,
    mail: &[u8],
) -> Option<Result<Reply, SendFailure>> {
    let embedded = extract_self_forward(mail, &envelope.mail_from.address)?;
    tracing::info!("self-forwarded KOM-LE message re-submitted");
    Some(
        relay(
            &mut session.mta,
            envelope,
            envelope.rcpts.clone(),
            &embedded,
        )
        .await,
    )
}

/// MAIL FROM with the size of what is sent (FAQ "MAIL FROM SIZE"), the filtered RCPT
/// list, DATA; the MTA's final reply is what the client gets. A refused RCPT with others
/// accepted is not visible to the client (the MTA reports it).
async fn relay(
    mta: &mut MtaClient,
    envelope: &Envelope,
    rcpts: Vec<RcptTo>,
    message: &[u8],
) -> Result<Reply, SendFailure> {
    let _timer = crate::perf::timer("mta");
    let mut mail_from = envelope.mail_from.clone();
    mail_from.size = Some(message.len() as u64);
    match mta.send(&mail_from, &rcpts, message).await {
        Ok(outcome) => Ok(match outcome.data_reply {
            Some(reply) => reply,
            None => outcome
                .rcpt_replies
                .into_iter()
                .find(|r| !r.is_positive())
                .unwrap_or_else(|| Reply::new(554, (5, 5, 1), "No valid recipients")),
        }),
        Err(ClientError::Rejected { reply, .. }) => Ok(reply),
        Err(e) => Err(SendFailure::Mta(e.to_string())),
    }
}

/// A_22341: a Client-Mail with a `Content-Disposition: x-kas` part was already processed.
pub(super) fn has_kas_part(mail: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"content-disposition: x-kas";
    let mut line_starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', mail).map(|i| i + 1));
    line_starts.any(|start| {
        mail.get(start..start + NEEDLE.len())
            .is_some_and(|line| line.eq_ignore_ascii_case(NEEDLE))
    })
}

pub(super) fn dropped_list(affected: &[DsnRecipient]) -> String {
    let list: Vec<&str> = affected.iter().map(|r| r.address.as_str()).collect();
    list.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kas_parts_are_found_by_header_line() {
        assert!(has_kas_part(
            b"Subject: x\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: X-KAS\r\n"
        ));
        assert!(!has_kas_part(
            b"Subject: about content-disposition: x-kas\r\n\r\n"
        ));
    }
}
