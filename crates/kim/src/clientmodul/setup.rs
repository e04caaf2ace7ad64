//! From the validated `cm.properties` and the stores to the objects the Clientmodul runs
//! with: Konnektor clients, the VZD client and the send side's [`SendConfig`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use kim_clientmodul::{FachdienstTls, ProxyTls, ReceiveConfig, SendConfig};
use kim_cm_config::{
    CmConfig, ContextIds, KeyStore, KonnektorSettings, Partner, ProxyTlsMode, StorePassword,
    TlsAuth, TrustStore,
};
use kim_konnektor::client::{KonnektorAuth, KonnektorClient, KonnektorConfig};
use kim_tls::{ClientOptions, Identity, TrustAnchors};

/// The opened stores.
#[derive(Debug)]
pub struct Stores {
    pub keys: KeyStore,
    pub trust: TrustStore,
}

impl Stores {
    /// Opens both stores of `config` with the installation's password file.
    pub fn open(config: &CmConfig) -> anyhow::Result<Stores> {
        let s = &config.stores;
        let pw = StorePassword::load(&s.password_file).with_context(|| {
            format!(
                "store password file {} (the keytool creates it)",
                s.password_file.display()
            )
        })?;
        Ok(Stores {
            keys: KeyStore::open(&s.key_store, &pw)?,
            trust: TrustStore::open(&s.trust_store, &pw)?,
        })
    }

    /// The partner's key pair as a TLS identity.
    pub fn identity(&self, partner: &Partner) -> anyhow::Result<Identity> {
        let pair = self.keys.keypair(partner).with_context(|| {
            format!(
                "no key pair {} in the key store (keytool add-client-keypair -o {partner})",
                partner.keypair_alias()
            )
        })?;
        Identity::from_der(pair.chain.clone(), pair.pkcs8().to_vec())
            .with_context(|| format!("key pair {}", partner.keypair_alias()))
    }

    /// The certificates trusted for `partner`.
    pub fn anchors(&self, partner: &Partner) -> anyhow::Result<TrustAnchors> {
        let ders = self.trust.anchors_for(partner)?;
        if ders.is_empty() {
            bail!("no certificate for {partner} in the trust store (keytool add-certificate)");
        }
        TrustAnchors::from_der(ders).with_context(|| format!("trust anchors for {partner}"))
    }
}

/// The key store partner of a Konnektor section.
pub fn konnektor_partner(k: &KonnektorSettings) -> Partner {
    Partner::Konnektor(k.id.clone())
}

/// The Konnektor call context of a `cm.properties` section's ids.
pub fn context(ids: &ContextIds) -> anyhow::Result<kim_konnektor::model::Context> {
    let ctx = kim_konnektor::model::Context::new(
        &ids.mandant_id,
        &ids.client_system_id,
        &ids.workplace_id,
    )
    .map_err(|e| anyhow::anyhow!("Konnektor context: {e}"))?;
    match &ids.user_id {
        Some(user) => ctx
            .with_user_id(user)
            .map_err(|e| anyhow::anyhow!("Konnektor context: {e}")),
        None => Ok(ctx),
    }
}

/// A client for one Konnektor (TLS authentication per `tlsAuth`).
pub fn konnektor_client(
    config: &CmConfig,
    k: &KonnektorSettings,
    stores: &Stores,
) -> anyhow::Result<KonnektorClient> {
    let partner = konnektor_partner(k);
    let mut kc = KonnektorConfig::new(k.base_url(), stores.anchors(&partner)?);
    kc.auth = match k.tls_auth {
        TlsAuth::None => KonnektorAuth::None,
        TlsAuth::Certificate => KonnektorAuth::Certificate(stores.identity(&partner)?),
        TlsAuth::Password => {
            let c = stores.keys.credentials(&partner).with_context(|| {
                format!(
                    "no credentials {} in the key store (keytool add-client-password -o {partner})",
                    partner.password_alias()
                )
            })?;
            KonnektorAuth::Basic {
                user: c.user.clone(),
                password: c.password.clone(),
            }
        }
    };
    kc.danger_accept_any_hostname = k.danger_accept_any_hostname;
    kc.connect_timeout = config.core.connection_timeout;
    kc.request_timeout = config.core.receive_timeout;
    KonnektorClient::new(kc).with_context(|| format!("Konnektor {}", k.sds_url))
}

/// The VZD client: LDAPS through the Konnektor (its trust anchors and, with certificate
/// authentication, its client certificate, A_21223-01) or plain LDAP.
pub fn vzd_client(config: &CmConfig, stores: &Stores) -> anyhow::Result<kim_vzd::VzdClient> {
    let mut vc = kim_vzd::VzdClientConfig::new(&config.core.vzd_url);
    if config.core.vzd_url.starts_with("ldaps://") {
        let k = config
            .default_konnektor()
            .context("no Konnektor configured")?;
        let partner = konnektor_partner(k);
        let identity = match k.tls_auth {
            TlsAuth::Certificate => Some(stores.identity(&partner)?),
            _ => None,
        };
        vc.tls = Some(
            kim_tls::client_config(ClientOptions {
                trust: stores.anchors(&partner)?,
                identity,
                danger_accept_any_hostname: k.danger_accept_any_hostname,
            })
            .context("TLS towards the VZD")?,
        );
    }
    vc.pool_size = config.core.vzd_pool_size;
    vc.cache.positive_ttl = config.core.vzd_cache_ttl;
    vc.connect_timeout = config
        .core
        .connection_timeout
        .min(std::time::Duration::from_secs(300));
    kim_vzd::VzdClient::new(vc).context("VZD client")
}

/// The send side's settings.
pub fn send_config(config: &CmConfig, stores: &Stores) -> anyhow::Result<SendConfig> {
    let p = &config.proxy;
    let fachdienst_tls = FachdienstTls {
        identity: stores.identity(&Partner::Fachdienst)?,
        trust: stores.anchors(&Partner::Fachdienst)?,
        danger_accept_any_hostname: config.fachdienst.danger_accept_any_hostname,
    };
    let mut send = SendConfig::new(
        SocketAddr::new(p.bind, p.smtp_port),
        p.hostname.clone(),
        fachdienst_tls,
    );
    send.proxy_tls = match p.tls {
        ProxyTlsMode::None => ProxyTls::None,
        ProxyTlsMode::Tls => ProxyTls::Tls {
            identity: stores.identity(&Partner::Client)?,
        },
        ProxyTlsMode::TlsClientCertificate => ProxyTls::TlsClientCertificate {
            identity: stores.identity(&Partner::Client)?,
            client_cas: stores.anchors(&Partner::Client)?,
        },
    };
    send.timeout_server = p.smtp_timeout_server;
    send.timeout_client = p.smtp_timeout_client;
    send.max_sessions = p.smtp_threads;
    send.default_mta = config.fachdienst.smtp.clone();
    Ok(send)
}

/// The receive side's settings (same TLS towards the practice software and the Fachdienst
/// as the send side).
pub fn receive_config(config: &CmConfig, send: &SendConfig) -> ReceiveConfig {
    let p = &config.proxy;
    let mut receive = ReceiveConfig::new(
        SocketAddr::new(p.bind, p.pop3_port),
        p.hostname.clone(),
        send.fachdienst_tls.clone(),
    );
    receive.proxy_tls = send.proxy_tls.clone();
    // One cache of VerifyCertificate results for both sides (A_22348).
    receive.fachdienst_cert_check = send.fachdienst_cert_check.clone();
    receive.timeout_server = p.pop3_timeout_server;
    receive.timeout_client = p.pop3_timeout_client;
    receive.konnektor_timeout = config.core.receive_timeout;
    receive.max_sessions = p.pop3_threads;
    receive.default_pop3 = config.fachdienst.pop3.clone();
    receive
}

/// The KAS client for mails over 15 MiB, if `clientmodul.fachdienst.kas` is set.
pub fn kas(
    config: &CmConfig,
    send: &SendConfig,
) -> anyhow::Result<Option<kim_clientmodul::kas::HttpKas>> {
    let Some(url) = &config.fachdienst.kas else {
        return Ok(None);
    };
    let settings = kim_clientmodul::KasSettings::new(url.clone());
    kim_clientmodul::kas::HttpKas::new(settings, &send.fachdienst_tls)
        .map(Some)
        .context("clientmodul.fachdienst.kas")
}

/// The Konnektor clients of [`konnektor_clients`] as the proxies take them: the default one
/// for user names without KonnektorId, the others by their
/// `clientmodul.konnektor.<KonnektorId>` section.
pub fn konnektors(
    clients: &[(Option<String>, Arc<KonnektorClient>)],
) -> anyhow::Result<kim_clientmodul::Konnektors<KonnektorClient>> {
    let mut clients = clients.iter().cloned();
    let Some((None, default)) = clients.next() else {
        bail!("no default Konnektor configured (clientmodul.konnektor.*)");
    };
    let mut set = kim_clientmodul::Konnektors::single(default);
    for (id, client) in clients {
        let id = id.context("a further Konnektor without KonnektorId")?;
        let id = kim_types::KonnektorId::parse(&id)
            .with_context(|| format!("clientmodul.konnektor.{id}: invalid KonnektorId"))?;
        if set.insert(id.clone(), client).is_some() {
            bail!("KonnektorId {} configured twice", id.as_str());
        }
    }
    Ok(set)
}

/// Every Konnektor client by KonnektorId (`None`: the default one).
pub fn konnektor_clients(
    config: &CmConfig,
    stores: &Stores,
) -> anyhow::Result<Vec<(Option<String>, Arc<KonnektorClient>)>> {
    config
        .konnektors
        .iter()
        .map(|k| Ok((k.id.clone(), Arc::new(konnektor_client(config, k, stores)?))))
        .collect()
}
