//! The administration web UI of `kim clientmodul serve` (crate `kim-admin-web`): on
//! 127.0.0.1 at `clientmodul.auth.service.port` (default 12001) when
//! `clientmodul.auth.client.ui.enabled` is true, with every configured Konnektor and its
//! context, the Account Manager of `kim account` (`clientmodul.fachdienst.account_manager`,
//! else `clientmodul.auth.service.endpoint`) and the key store of
//! `cm.properties` for the certificate import.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use kim_admin_web::{AdminWebConfig, KeyStoreTarget, KonnektorChoice, RunningAdminWeb};
use kim_cm_config::CmConfig;
use kim_konnektor::client::KonnektorClient;

use super::setup::{self, Stores};

/// Starts the UI, or `None` if `clientmodul.auth.client.ui.enabled` is false. `clients`
/// are the Konnektor clients of [`setup::konnektor_clients`], in the order of
/// `config.konnektors`; `live` is the Clientmodul's renewable certificate towards the
/// Fachdienst with its handle, so that the UI's Account Manager calls present the current
/// one and an imported certificate is used at once.
pub async fn start(
    config: &CmConfig,
    stores: &Stores,
    clients: &[(Option<String>, Arc<KonnektorClient>)],
    (identity, live): (kim_tls::Identity, kim_tls::IdentityRenewal),
) -> anyhow::Result<Option<RunningAdminWeb>> {
    let auth = &config.auth_log;
    if !auth.auth_ui {
        return Ok(None);
    }
    let mut konnektors = Vec::new();
    for (settings, (id, client)) in config.konnektors.iter().zip(clients) {
        konnektors.push(KonnektorChoice {
            label: id.as_ref().map_or_else(
                || "Standard-Konnektor".to_owned(),
                |id| format!("Konnektor {id}"),
            ),
            client: client.clone(),
            contexts: vec![setup::context(&settings.context)?],
        });
    }
    let am = crate::account::am_client(config, stores, Some(identity))?;
    let running = kim_admin_web::start(AdminWebConfig {
        listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), auth.auth_port),
        konnektors,
        account_manager: Arc::new(am),
        key_store: Some(KeyStoreTarget {
            key_store: config.stores.key_store.clone(),
            password_file: config.stores.password_file.clone(),
            live: Some(live),
        }),
    })
    .await
    .context("starting the administration UI (clientmodul.auth.service.port)")?;
    Ok(Some(running))
}
