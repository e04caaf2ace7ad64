//! The SMTP proxy (gemSpec_CM_KOMLE 3.3; kim-spec §3): [`SendBackend`] plugs the send
//! algorithm into the `kim-smtp` server engine.
//!
//! - Before AUTH the engine answers with the table Tab_SMTP_Ant_Init (KOM-LE-A_2007/2008):
//!   greeting with `ESMTP`, EHLO keywords SIZE/AUTH/8BITMIME/ENHANCEDSTATUSCODES/DSN,
//!   `504 5.7.4` for other SASL mechanisms, `530 5.7.0` for MAIL/RCPT/DATA.
//! - AUTH ([`SendBackend::authenticate`]): the user name is parsed (`501 5.5.4` naming the
//!   field, A_21519-02); its KonnektorId selects the Konnektor (an id that is not configured
//!   is `501 5.5.4` naming it); the context is checked at the Konnektor (4004–4006 → `501`);
//!   the MTA session is opened with mutual TLS and authenticated with the bare address
//!   (`235`, `454 4.7.0`, `535 5.7.8`; KOM-LE-A_2015-01).
//! - MAIL and RCPT are answered locally and buffered with the content until the end of
//!   DATA (KOM-LE-A_2018, FAQ); then the `process` module runs the send algorithm.
//!
//! Per-connection state (`Session`) lives in a map keyed by the client's socket address
//! and is removed when the connection ends ([`SendBackend::end_session`]).

mod directory;
mod dsn;
mod headers;
pub mod kas;
mod konnektor;
mod large;
mod mta;
mod process;
mod spool;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use kim_konnektor::client::Konnektor;
use kim_smtp::server::{SessionInfo, SmtpBackend};
use kim_smtp::{Envelope, MailFrom, RcptTo, Reply};
use kim_tls::rustls;
use kim_types::{Secret, SmtpUserName};
use kim_vzd::VzdClient;

pub use dsn::rfc5322_date;
pub use kas::{KasClientMail, KasInput, KasUpload};
use konnektor::SendKonnektor;
pub(crate) use konnektor::smcb_cards;
use mta::{MtaClient, MtaTarget};
pub use spool::Spool;

use crate::config::SendConfig;
use crate::error::SendFailure;
use crate::fd_cert::CertGate;
use crate::konnektors::Konnektors;

/// Konnektor fault codes that mean the user name's context is wrong (Tab_SMTP_Verbindung).
const CONTEXT_FAULTS: [u32; 3] = [4004, 4005, 4006];

/// An authenticated client session: its user name with the Konnektor context it names,
/// password (for AccountLimit and KAS) and the MTA session opened at AUTH.
pub(crate) struct Session {
    user: SmtpUserName,
    context: kim_konnektor::model::Context,
    password: Secret<String>,
    mta: MtaClient,
}

/// What every session shares.
pub(crate) struct Shared<K> {
    config: SendConfig,
    /// Every Konnektor with its own card cache.
    konnektors: Konnektors<SendKonnektor<K>>,
    vzd: Arc<VzdClient>,
    kas: Option<Arc<dyn KasUpload>>,
    fachdienst_tls: Arc<rustls::ClientConfig>,
}

impl<K> Shared<K> {
    /// The Konnektor the user name selects (checked at AUTH already).
    fn konnektor(&self, user: &SmtpUserName) -> Result<&SendKonnektor<K>, SendFailure> {
        self.konnektors
            .get(user.konnektor_id())
            .map(Arc::as_ref)
            .ok_or_else(|| {
                SendFailure::Sign("the user name's KonnektorId is not configured".into())
            })
    }
}

/// The Clientmodul's [`SmtpBackend`].
pub struct SendBackend<K> {
    shared: Arc<Shared<K>>,
    sessions: Mutex<HashMap<SocketAddr, Session>>,
}

impl<K> std::fmt::Debug for SendBackend<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendBackend")
            .field("hostname", &self.shared.config.hostname)
            .finish_non_exhaustive()
    }
}

impl<K: Konnektor + 'static> SendBackend<K> {
    /// A backend for `config`, with the Konnektors, the directory client and optionally a
    /// KAS uploader; `fachdienst_tls` is built from `config.fachdienst_tls`.
    pub fn new(
        config: SendConfig,
        konnektors: Konnektors<K>,
        vzd: Arc<VzdClient>,
        kas: Option<Arc<dyn KasUpload>>,
        fachdienst_tls: Arc<rustls::ClientConfig>,
    ) -> SendBackend<K> {
        SendBackend {
            shared: Arc::new(Shared {
                config,
                konnektors: konnektors.map(|k| SendKonnektor::new(k.clone())),
                vzd,
                kas,
                fachdienst_tls,
            }),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the session of `peer` and closes its MTA connection (KOM-LE-A_2016/2017:
    /// closure is mirrored).
    pub fn end_session(&self, peer: SocketAddr) {
        let session = self.sessions.lock().ok().and_then(|mut m| m.remove(&peer));
        if let Some(session) = session {
            tokio::spawn(async move {
                let _ = session.mta.quit().await;
            });
        }
    }

    fn take(&self, peer: SocketAddr) -> Option<Session> {
        self.sessions.lock().ok()?.remove(&peer)
    }

    fn put(&self, peer: SocketAddr, session: Session) {
        if let Ok(mut map) = self.sessions.lock() {
            map.insert(peer, session);
        }
    }

    /// The user name's Konnektor context, checked with GetCards at its Konnektor.
    async fn check_context(
        &self,
        user: &SmtpUserName,
    ) -> Result<kim_konnektor::model::Context, Reply> {
        let Some(selected) = self.shared.konnektors.get(user.konnektor_id()) else {
            let id = user.konnektor_id().map(|i| i.as_str()).unwrap_or_default();
            tracing::info!(
                konnektor_id = id,
                "SMTP user name names an unknown Konnektor"
            );
            return Err(Reply::new(
                501,
                (5, 5, 4),
                format!("Invalid user name: field 5 (KonnektorId): no Konnektor {id} configured"),
            ));
        };
        let ctx = konnektor::context(user.context())
            .map_err(|reason| Reply::new(501, (5, 5, 4), format!("Konnektor context: {reason}")))?;
        let timer = crate::perf::timer("cards");
        let cards = konnektor::smcb_cards(selected.konnektor.as_ref(), &ctx).await;
        drop(timer);
        match cards {
            Ok(_) => Ok(ctx),
            Err(e) if e.code().is_some_and(|c| CONTEXT_FAULTS.contains(&c)) => Err(Reply::new(
                501,
                (5, 5, 4),
                format!(
                    "Konnektor context refused ({})",
                    e.code().unwrap_or_default()
                ),
            )),
            Err(e) => {
                // Not the user's fault; sending will report it (451) if it persists.
                tracing::warn!(error = %e, "Konnektor not usable at AUTH");
                Ok(ctx)
            }
        }
    }

    fn mta_target(&self, user: &SmtpUserName) -> Result<MtaTarget, Reply> {
        if let Some(server) = user.server() {
            return Ok(MtaTarget {
                host: server.host().to_string(),
                port: server.port().unwrap_or(465),
            });
        }
        self.shared
            .config
            .default_mta
            .clone()
            .map(|(host, port)| MtaTarget { host, port })
            .ok_or_else(|| Reply::new(454, (4, 7, 0), "No KIM mail server known for this account"))
    }
}

impl<K: Konnektor + 'static> SmtpBackend for SendBackend<K> {
    type Spool = Spool;

    async fn authenticate(
        &self,
        info: &SessionInfo,
        user: &str,
        password: &str,
    ) -> Result<(), Reply> {
        let user = SmtpUserName::parse(user).map_err(|e| {
            tracing::info!(problem = %e, "SMTP user name refused");
            Reply::new(501, (5, 5, 4), format!("Invalid user name: {e}"))
        })?;
        let context = self.check_context(&user).await?;
        let target = self.mta_target(&user)?;
        let config = &self.shared.config;
        let selected = self
            .shared
            .konnektor(&user)
            .map_err(|e| Reply::new(501, (5, 5, 4), format!("Invalid user name: {e}")))?;
        let gate = CertGate {
            check: &config.fachdienst_cert_check,
            konnektor: selected.konnektor.as_ref(),
            context: &context,
        };
        let login = crate::perf::timer("mta_login");
        let mta = mta::connect(
            &target,
            gate,
            &self.shared.fachdienst_tls,
            &config.hostname,
            config.timeout_server,
            &user.address().to_string(),
            password,
        )
        .await?;
        drop(login);
        self.put(
            info.peer,
            Session {
                user,
                context,
                password: Secret::new(password.to_string()),
                mta,
            },
        );
        Ok(())
    }

    async fn mail_from(&self, _: &SessionInfo, _: Option<&str>, _: &MailFrom) -> Result<(), Reply> {
        // Buffered: sent to the MTA after DATA with the size of the KOM-LE message.
        Ok(())
    }

    async fn rcpt_to(&self, _: &SessionInfo, _: &Envelope, _: &RcptTo) -> Result<(), Reply> {
        // Buffered; recipients without certificate are dropped later (A_2176-01).
        Ok(())
    }

    async fn data_start(&self, _: &SessionInfo, envelope: &Envelope) -> Result<Spool, Reply> {
        let config = &self.shared.config;
        // A mail to oneself may be a forwarded KOM-LE message above the threshold
        // (KOM-LE-A_2029), re-submitted without the KAS.
        let (limit, over_limit) =
            if self.shared.kas.is_none() && config.kas_threshold < config.max_mail_size {
                // Without a KAS: up to the threshold, and a mail to oneself up to the size
                // that is read whole to look for a forwarded KOM-LE message.
                let limit = if process::to_oneself(envelope) {
                    large::MAX_SELF_FORWARD
                        .max(config.kas_threshold)
                        .min(config.max_mail_size)
                } else {
                    config.kas_threshold
                };
                let reply = SendFailure::KasUnavailable("no KAS configured".into()).reply();
                (limit, reply)
            } else {
                (config.max_mail_size, too_big())
            };
        Ok(Spool::new(limit, over_limit, config.spool_memory_limit))
    }

    async fn data_end(&self, info: &SessionInfo, envelope: Envelope, spool: Spool) -> Reply {
        let Some(mut session) = self.take(info.peer) else {
            return SendFailure::NoSession.reply();
        };
        let mail = match spool.finish().await {
            Ok(mail) => mail,
            Err(reply) => {
                self.put(info.peer, session);
                return reply;
            }
        };
        let result = process::process(&self.shared, &mut session, &envelope, mail).await;
        match result {
            Ok(reply) => {
                self.put(info.peer, session);
                reply
            }
            Err(SendFailure::Mta(reason)) => {
                tracing::warn!(%reason, "MTA session lost");
                SendFailure::NoSession.reply()
            }
            Err(failure @ SendFailure::Kas(Reply { code: 521, .. })) => {
                // A_22419-01: 521 and the connection to the MTA is closed.
                tracing::info!(%failure, "message not sent");
                let _ = session.mta.quit().await;
                failure.reply()
            }
            Err(failure) => {
                tracing::info!(%failure, "message not sent");
                // 451 + RSET where the spec says so (KOM-LE-A_2021, A_2025, A_19363-03).
                if session.mta.rset().await.is_ok() {
                    self.put(info.peer, session);
                }
                failure.reply()
            }
        }
    }
}

fn too_big() -> Reply {
    Reply::new(
        552,
        (5, 3, 4),
        "Message size exceeds fixed maximum message size",
    )
}
