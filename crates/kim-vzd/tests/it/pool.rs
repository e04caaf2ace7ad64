//! Connection pool: reuse, bound, reconnect, timeouts.

use std::sync::Arc;
use std::time::Duration;

use kim_vzd::{VzdClient, VzdClientConfig, VzdError};

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn sequential_lookups_reuse_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let client = uncached(&vzd);
    for _ in 0..5 {
        assert_eq!(client.lookup(&addr(PRAXIS_MAIL)).await.unwrap().len(), 1);
    }
    assert_eq!(vzd.stats().ldap_connections, 1);
    assert_eq!(vzd.stats().ldap_searches, 5);
    assert_eq!(client.stats().connections, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_lookups_stay_within_the_pool_size() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let mut c = config(&vzd, Duration::ZERO, Duration::ZERO);
    c.cache.max_entries = 0;
    c.pool_size = 2;
    let client = Arc::new(VzdClient::new(c).unwrap());
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = Arc::clone(&client);
        let mail = if i % 2 == 0 { PRAXIS_MAIL } else { HBA_MAIL };
        tasks.push(tokio::spawn(
            async move { client.lookup(&addr(mail)).await },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().len(), 1);
    }
    let opened = vzd.stats().ldap_connections;
    assert!((1..=2).contains(&opened), "{opened} connections");
    assert_eq!(vzd.stats().ldap_searches, 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_directory_is_reconnected() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), vec![]).await;
    let at = vzd.ldap_addr;
    let client = uncached(&vzd);
    client.lookup(&addr(PRAXIS_MAIL)).await.unwrap();
    vzd.shutdown().await;
    let vzd = start_on(dir.path(), vec![], at).await;
    let found = client.lookup(&addr(PRAXIS_MAIL)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(client.stats().connections, 2);
    assert_eq!(vzd.stats().ldap_connections, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut c = VzdClientConfig::new(&format!("ldap://{at}"));
    c.request_timeout = Duration::from_millis(300);
    let client = VzdClient::new(c).unwrap();
    let started = std::time::Instant::now();
    let err = client.lookup(&addr(PRAXIS_MAIL)).await.unwrap_err();
    assert!(matches!(err, VzdError::Timeout(_)), "{err}");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_port_is_unreachable_and_bad_config_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let at = listener.local_addr().unwrap();
    drop(listener);
    let client = VzdClient::new(VzdClientConfig::new(&format!("ldap://{at}"))).unwrap();
    let err = client.lookup(&addr(PRAXIS_MAIL)).await.unwrap_err();
    assert!(matches!(err, VzdError::Unreachable { .. }), "{err}");
    let mut c = VzdClientConfig::new("http://x");
    let err = VzdClient::new(c.clone()).unwrap_err();
    assert!(matches!(err, VzdError::Config { key: "url", .. }), "{err}");
    c.url = "ldaps://127.0.0.1:636".into();
    let err = VzdClient::new(c).unwrap_err();
    assert!(matches!(err, VzdError::Config { key: "tls", .. }), "{err}");
}
