//! The renewal of the Clientmodul's TLS client certificate by `kim clientmodul serve`
//! (A_21381): every `clientmodul.fachdienst.renewal.interval` the certificate of the key
//! pair FD_CERTIFICATE-pk is checked; within 30 days of its end the card of the default
//! Konnektor context authenticates at the Account Manager, createCert issues a new one, it
//! is stored in the key store and used for every new connection to the Fachdienst. A
//! failure is reported to the renewing account's own mailbox (error code 4016).
//!
//! The account is the one of the key store's credentials FD_PASSWORD-cred (`keytool
//! add-client-password -o FD`); without them there is no renewal (logged at start). The
//! Account Manager is the one of `kim account`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kim_admin::renew::{self, RenewRequest};
use kim_admin::{AccountManagerClient, Context};
use kim_cm_config::{CmConfig, KeyPair, Partner};
use kim_konnektor::client::KonnektorClient;
use kim_smtp::{MailFrom, RcptTo};
use kim_tls::IdentityRenewal;
use kim_tls::rustls::pki_types::ServerName;
use zeroize::Zeroizing;

use super::setup::Stores;

/// Source of "now" (Unix seconds); tests pass another.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Everything the periodic check needs.
pub struct Renewal {
    config: CmConfig,
    konnektor: Arc<KonnektorClient>,
    context: Context,
    am: AccountManagerClient,
    identity: IdentityRenewal,
    fd_tls: Arc<kim_tls::rustls::ClientConfig>,
    user: String,
    password: Zeroizing<String>,
}

/// The result of one check.
#[derive(Debug)]
pub enum Checked {
    /// Still valid for longer than 30 days.
    NotDue { remaining_secs: i64 },
    /// A new certificate is stored and in use.
    Renewed { summary: String },
    /// Renewal failed; `notified`: the 4016 notification reached the MTA.
    Failed { error: String, notified: bool },
}

impl Renewal {
    /// The renewal of `config`, if it is configured (else `None`, logged). `tls` is the
    /// Fachdienst TLS setting whose identity `identity` renews; `konnektor` is the client of
    /// the default Konnektor, whose context's card authenticates.
    pub fn new(
        config: &CmConfig,
        stores: &Stores,
        konnektor: Arc<KonnektorClient>,
        tls: &kim_clientmodul::FachdienstTls,
        identity: IdentityRenewal,
    ) -> anyhow::Result<Option<Renewal>> {
        let Some(credentials) = stores.keys.credentials(&Partner::Fachdienst) else {
            tracing::warn!(
                "certificate renewal off: no account for it in the key store \
                 (keytool add-client-password -o FD)"
            );
            return Ok(None);
        };
        let default = config
            .default_konnektor()
            .context("no Konnektor configured")?;
        let context = super::setup::context(&default.context)?;
        let am = crate::account::am_client(config, stores, Some(tls.identity.clone()))?;
        let fd_tls = kim_tls::client_config(kim_tls::ClientOptions {
            trust: tls.trust.clone(),
            identity: Some(tls.identity.clone()),
            danger_accept_any_hostname: tls.danger_accept_any_hostname,
        })
        .context("TLS towards the Fachdienst")?;
        Ok(Some(Renewal {
            config: config.clone(),
            konnektor,
            context,
            am,
            identity,
            fd_tls,
            user: credentials.user.clone(),
            password: Zeroizing::new(credentials.password.clone()),
        }))
    }

    /// Checks every `interval` (the first time at once) until the task is dropped.
    pub fn spawn(self, interval: Duration, clock: Clock) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match self.check(clock()).await {
                    Checked::NotDue { remaining_secs } => {
                        tracing::debug!(days = remaining_secs / 86_400, "TLS certificate valid");
                    }
                    Checked::Renewed { summary } => {
                        tracing::info!(certificate = %summary, "TLS certificate renewed");
                    }
                    Checked::Failed { error, notified } => {
                        tracing::error!(%error, notified, "TLS certificate renewal failed");
                    }
                }
            }
        })
    }

    /// One check at `now`.
    pub async fn check(&self, now: i64) -> Checked {
        let leaf = self.identity.leaf_der();
        let remaining_secs = match renew::remaining_secs(&leaf, now) {
            Ok(r) => r,
            Err(e) => return self.failed(e.to_string(), now).await,
        };
        if remaining_secs >= renew::RENEW_WITHIN_SECS {
            return Checked::NotDue { remaining_secs };
        }
        tracing::info!(
            days = remaining_secs / 86_400,
            "TLS certificate expires soon: renewing"
        );
        match self.renew(now).await {
            Ok(summary) => Checked::Renewed { summary },
            Err(e) => self.failed(format!("{e:#}"), now).await,
        }
    }

    async fn renew(&self, now: i64) -> anyhow::Result<String> {
        let cert_password = crate::account::random_password()?;
        let request = RenewRequest {
            context: &self.context,
            telematik_id: self.config.fachdienst.renewal_telematik_id.as_deref(),
            kind: None,
            username: &self.user,
            password: &self.password,
            common_name: &self.user,
            cert_password: &cert_password,
        };
        let p12 = renew::renew(self.konnektor.as_ref(), &self.am, &request, now)
            .await
            .map_err(crate::account::explain)?;
        let pair = KeyPair::from_pkcs12("createCert", &p12, &cert_password)?;
        let identity = kim_tls::Identity::from_der(pair.chain.clone(), pair.pkcs8().to_vec())
            .context("the new certificate")?;
        let summary = crate::account::import_fachdienst_keypair(&self.config, pair)?;
        self.identity
            .replace(&identity)
            .context("using the new certificate")?;
        Ok(summary)
    }

    async fn failed(&self, error: String, now: i64) -> Checked {
        let notified = match self.notify(&error, now).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "renewal notification not delivered");
                false
            }
        };
        Checked::Failed { error, notified }
    }

    /// Submits the 4016 notification to the account's own mailbox through the MTA
    /// (mutual TLS, SMTP AUTH as the account), as the send path submits sender DSNs.
    async fn notify(&self, error: &str, now: i64) -> anyhow::Result<()> {
        let (host, port) = self
            .config
            .fachdienst
            .smtp
            .clone()
            .context("clientmodul.fachdienst.smtp is not set: no MTA for the notification")?;
        let hostname = &self.config.proxy.hostname;
        let message_id = format!("<renewal.{now}.{}@{hostname}>", std::process::id());
        let notice =
            kim_admin::renew::failure_notice(&self.user, hostname, error, now, &message_id)
                .map_err(crate::account::explain)?;
        let timeout = self
            .config
            .proxy
            .smtp_timeout_server
            .min(Duration::from_secs(60));
        let tcp = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .context("connecting to the MTA timed out")?
        .context("connecting to the MTA")?;
        let name = ServerName::try_from(host.clone()).context("MTA host name")?;
        let stream = tokio::time::timeout(
            timeout,
            kim_tls::tokio_rustls::TlsConnector::from(self.fd_tls.clone()).connect(name, tcp),
        )
        .await
        .context("TLS handshake with the MTA timed out")?
        .context("TLS handshake with the MTA")?;
        let (mut smtp, _) = kim_smtp::client::SmtpClient::connect(stream, timeout)
            .await
            .context("SMTP greeting")?;
        smtp.ehlo(hostname).await.context("EHLO")?;
        smtp.auth_plain(&self.user, &self.password)
            .await
            .context("SMTP AUTH")?;
        let mail = MailFrom {
            address: self.user.clone(),
            size: Some(notice.len() as u64),
            ..MailFrom::default()
        };
        let outcome = smtp
            .send(&mail, &[RcptTo::new(self.user.clone())], notice.as_slice())
            .await
            .context("submitting the notification")?;
        let _ = smtp.quit().await;
        if !outcome.accepted() {
            anyhow::bail!("the MTA refused the notification: {:?}", outcome.data_reply);
        }
        tracing::info!("renewal failure notification (4016) submitted");
        Ok(())
    }
}
