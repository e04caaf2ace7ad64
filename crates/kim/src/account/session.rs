//! What every `kim account` subcommand needs: the configuration, the stores, a Konnektor
//! client with the call context, the card, the token, and the Account Manager client.

use anyhow::{Context as _, anyhow};
use kim_admin::{
    AccountManagerClient, AdminError, AmClientConfig, AuthCard, CardKind, Context, select_card,
    sign_jwt,
};
use kim_cm_config::{CmConfig, KeyPair, KeyStore, Partner, StorePassword};
use kim_konnektor::client::KonnektorClient;
use zeroize::Zeroizing;

use super::{Common, ENV_PASSWORD, secret};
use crate::clientmodul::setup::{self, Stores};

/// An administration session.
pub struct Session {
    pub config: CmConfig,
    pub konnektor: KonnektorClient,
    pub context: Context,
    pub kind: Option<CardKind>,
    pub telematik_id: Option<String>,
    pub am: AccountManagerClient,
}

/// The error for people: the German explanation, the HTTP status and the server's detail.
pub fn explain(e: AdminError) -> anyhow::Error {
    let german = e.german_message();
    match &e {
        AdminError::Http {
            status,
            message,
            trace_id,
        } => anyhow!(
            "{german} (HTTP {status}{}{})",
            message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default(),
            trace_id
                .as_deref()
                .map(|t| format!(", traceId {t}"))
                .unwrap_or_default()
        ),
        _ => anyhow!("{german} ({e})"),
    }
}

impl Session {
    /// Reads the configuration and the stores and builds the clients.
    pub async fn open(common: &Common) -> anyhow::Result<Session> {
        let config = CmConfig::load(&common.config)
            .with_context(|| format!("{}", common.config.display()))?;
        let stores = Stores::open(&config)?;
        let settings = match &common.konnektor_id {
            None => config.default_konnektor(),
            Some(id) => config
                .konnektors
                .iter()
                .find(|k| k.id.as_deref() == Some(id.as_str())),
        }
        .with_context(|| match &common.konnektor_id {
            Some(id) => format!("no Konnektor clientmodul.konnektor.{id} in the configuration"),
            None => "no Konnektor configured".into(),
        })?;
        let konnektor = setup::konnektor_client(&config, settings, &stores)?;
        // The configured context with the command line's overrides.
        let ids = &settings.context;
        let context = setup::context(&kim_cm_config::ContextIds {
            mandant_id: common.mandant.clone().unwrap_or(ids.mandant_id.clone()),
            client_system_id: (common.client_system.clone())
                .unwrap_or(ids.client_system_id.clone()),
            workplace_id: common.workplace.clone().unwrap_or(ids.workplace_id.clone()),
            user_id: common.user_id.clone().or(ids.user_id.clone()),
        })?;
        let am = am_client(
            &config,
            &stores,
            Some(stores.identity(&Partner::Fachdienst)?),
        )?;
        Ok(Session {
            config,
            konnektor,
            context,
            kind: common.card.map(CardKind::from),
            telematik_id: common.telematik_id.clone(),
            am,
        })
    }

    /// The account's password: `--password-file`, `KIM_ACCOUNT_PASSWORD` or the prompt.
    pub fn password(&self, common: &Common) -> anyhow::Result<Zeroizing<String>> {
        secret(
            "password of the account",
            ENV_PASSWORD,
            common.password_file.as_ref(),
        )
    }

    /// The card chosen by `--card` / `--telematik-id` (default: first SMC-B, else HBA).
    pub async fn card(&self) -> anyhow::Result<AuthCard> {
        let tid = self.telematik_id.as_deref();
        let found = match (self.kind, tid) {
            (None, None) => {
                match select_card(&self.konnektor, &self.context, Some(CardKind::SmcB), None).await
                {
                    Ok(card) => Ok(card),
                    Err(AdminError::NoCard(_)) => {
                        select_card(&self.konnektor, &self.context, Some(CardKind::Hba), None).await
                    }
                    Err(e) => Err(e),
                }
            }
            (kind, tid) => select_card(&self.konnektor, &self.context, kind, tid).await,
        };
        found.map_err(explain)
    }

    /// A token signed by `card` now.
    pub async fn jwt(&self, card: &AuthCard) -> anyhow::Result<Zeroizing<String>> {
        let token = sign_jwt(&self.konnektor, &self.context, card, crate::message::now())
            .await
            .map_err(explain)?;
        Ok(Zeroizing::new(token))
    }

    /// Puts `pair` into the key store as the Fachdienst key pair; returns a summary line.
    pub fn import_fachdienst_keypair(&self, pair: KeyPair) -> anyhow::Result<String> {
        import_fachdienst_keypair(&self.config, pair)
    }
}

/// The Account Manager's URL and the key that gave it: `clientmodul.fachdienst.account_manager`
/// when set, else the manual's `clientmodul.auth.service.endpoint`. The UI, `kim account`
/// and the certificate renewal all use this one.
fn am_endpoint(config: &CmConfig) -> (String, &'static str) {
    match &config.fachdienst.account_manager {
        Some(url) => (url.clone(), "clientmodul.fachdienst.account_manager"),
        None => (
            config.auth_log.auth_endpoint.clone(),
            "clientmodul.auth.service.endpoint",
        ),
    }
}

/// The Account Manager client of `config` presenting `identity`, the Clientmodul's TLS
/// certificate towards the Fachdienst (`None`: TLS without one).
pub fn am_client(
    config: &CmConfig,
    stores: &Stores,
    identity: Option<kim_tls::Identity>,
) -> anyhow::Result<AccountManagerClient> {
    let (url, key) = am_endpoint(config);
    let tls = kim_tls::ClientOptions {
        trust: stores.anchors(&Partner::Fachdienst)?,
        identity,
        danger_accept_any_hostname: config.fachdienst.danger_accept_any_hostname,
    };
    AccountManagerClient::new(AmClientConfig::new(url, Some(tls)))
        .map_err(explain)
        .context(key)
}

/// Opens the key store of `config`, replaces the Fachdienst key pair, saves it.
pub fn import_fachdienst_keypair(config: &CmConfig, pair: KeyPair) -> anyhow::Result<String> {
    let s = &config.stores;
    let pw = StorePassword::load(&s.password_file)
        .with_context(|| format!("store password file {}", s.password_file.display()))?;
    let mut store = KeyStore::open(&s.key_store, &pw)?;
    store.set_keypair(&Partner::Fachdienst, pair);
    store.save(&pw)?;
    let listed = store.list();
    let entry = listed
        .iter()
        .find(|e| e.alias == Partner::Fachdienst.keypair_alias());
    Ok(match entry.and_then(|e| e.certificates.first()) {
        Some(c) => format!(
            "{}: subject {}, issuer {}, not after {}",
            Partner::Fachdienst.keypair_alias(),
            c.subject,
            c.issuer,
            crate::clientmodul::date(c.not_after)
        ),
        None => Partner::Fachdienst.keypair_alias(),
    })
}
