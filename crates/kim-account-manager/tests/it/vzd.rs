//! VZD failures: an inactive entry (423) and an unreachable VZD (502) leave no account.

use std::sync::Arc;

use async_trait::async_trait;
use kim_account_manager::vzd::{
    HttpVzdClient, VzdAddress, VzdClientConfig, VzdDirectory, VzdError,
};
use kim_store::AccountStore;

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
