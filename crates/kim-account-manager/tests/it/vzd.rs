//! VZD failures: an inactive entry (423) and an unreachable VZD (502) leave no account.

use std::sync::Arc;

use async_trait::async_trait;
use kim_account_manager::vzd::{
    HttpVzdClient, VzdAddress, VzdClientConfig, VzdDirectory, VzdError,
};
use kim_store::AccountStore;
use kim_vzd_sim::{VzdSim, VzdSimConfig};

use crate::*;

const MAIL: &str = "vzd@test.kim.telematik";

/// A directory whose entries are all inactive.
#[derive(Debug)]
struct InactiveDirectory;

#[async_trait]
impl VzdDirectory for InactiveDirectory {
    async fn addresses(&self, _: &str) -> Result<Vec<VzdAddress>, VzdError> {
        Err(VzdError::Locked)
    }
    async fn set_addresses(&self, _: &str, _: &[VzdAddress]) -> Result<(), VzdError> {
        Err(VzdError::Locked)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn inactive_entry_is_423_and_nothing_is_registered() {
    let env = Env::start_with(|_| {}, Some(Arc::new(InactiveDirectory))).await;
    let (status, body) = env.register(PRAXIS_TID, MAIL).await;
    assert_eq!(status, 423, "{body}");
    assert_error_body(&body);
    assert!(env.store.account(MAIL).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_vzd_is_502_and_nothing_is_registered() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = HttpVzdClient::new(VzdClientConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        fad: "kim-sim".into(),
        bearer_token: Some(VZD_TOKEN.into()),
        tls: None,
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap();
    let env = Env::start_with(|_| {}, Some(Arc::new(client))).await;
    let (status, body) = env.register(PRAXIS_TID, MAIL).await;
    assert_eq!(status, 502, "{body}");
    let v = assert_error_body(&body);
    assert!(
        !v["message"].as_str().unwrap().contains("127.0.0.1"),
        "{body}"
    );
    assert!(env.store.account(MAIL).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_vzd_token_is_502() {
    let env = Env::start().await;
    let client = HttpVzdClient::new(VzdClientConfig {
        base_url: format!("http://{}", env.vzd.rest_addr.unwrap()),
        fad: "kim-sim".into(),
        bearer_token: Some("falsch".into()),
        tls: None,
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap();
    let err = client.addresses(PRAXIS_TID).await.unwrap_err();
    assert!(
        matches!(err, VzdError::Refused { status: 401, .. }),
        "{err:?}"
    );
    let err = HttpVzdClient::new(VzdClientConfig {
        base_url: format!("http://{}", env.vzd.rest_addr.unwrap()),
        fad: "kim-sim".into(),
        bearer_token: Some(VZD_TOKEN.into()),
        tls: None,
        timeout: std::time::Duration::from_secs(5),
    })
    .unwrap()
    .addresses("9-unbekannt")
    .await
    .unwrap_err();
    assert_eq!(err, VzdError::NoEntry("9-unbekannt".into()));
}

/// The VZD over HTTPS with mutual TLS: rustls configuration from kim-tls, the Fachdienst
/// authenticated by its client certificate (the simulator maps it to the FAD `fad-mtls`).
#[tokio::test(flavor = "multi_thread")]
async fn https_with_client_certificate() {
    use kim_tls::{ClientOptions, Identity, TrustAnchors};
    let dir = tempfile::tempdir().unwrap();
    let pem = |entity: &str| {
        let issued = &pki().tls_entity(entity).unwrap().issued;
        (
            issued.certificate_pem().unwrap(),
            issued.private_key_pem().unwrap().as_bytes().to_vec(),
        )
    };
    let (server_chain, server_key) = pem("konnektor");
    let (client_chain, client_key) = pem("clientmodul");
    let write = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    };
    let bundle = pki().ca_bundle_pem().unwrap();
    let mut config = VzdSimConfig {
        data_dir: dir.path().join("data"),
        rest_https: true,
        tls: Some(kim_vzd_sim::TlsFiles {
            chain_pem: write("server.pem", server_chain.as_bytes()),
            key_pem: write("server-key.pem", &server_key),
            client_ca_pem: Some(write("bundle.pem", bundle.as_bytes())),
        }),
        ..VzdSimConfig::default()
    };
    config.api_clients.push(kim_vzd_sim::ApiClient {
        fad: "fad-mtls".into(),
        token: None,
        client_certificate_pem: Some(write("client.pem", client_chain.as_bytes())),
    });
    let vzd = VzdSim::start(config).await.unwrap();
    let client = HttpVzdClient::new(VzdClientConfig {
        base_url: format!("https://localhost:{}", vzd.rest_addr.unwrap().port()),
        fad: "fad-mtls".into(),
        bearer_token: None,
        tls: Some(ClientOptions {
            trust: TrustAnchors::from_pem(bundle.as_bytes()).unwrap(),
            identity: Some(Identity::from_pem(client_chain.as_bytes(), &client_key).unwrap()),
            danger_accept_any_hostname: false,
        }),
        timeout: std::time::Duration::from_secs(10),
    })
    .unwrap();
    let address = VzdAddress {
        mail: MAIL.into(),
        version: "1.5".into(),
        no_vzd_mail_entry: false,
    };
    kim_account_manager::vzd::upsert(&client, PRAXIS_TID, address.clone())
        .await
        .unwrap();
    let list = client.addresses(PRAXIS_TID).await.unwrap();
    assert!(list.contains(&address), "{list:?}");
    kim_account_manager::vzd::remove(&client, PRAXIS_TID, MAIL)
        .await
        .unwrap();
    assert!(
        !client
            .addresses(PRAXIS_TID)
            .await
            .unwrap()
            .contains(&address)
    );
}
