//! LDAPS with a client certificate the directory requires (the Konnektor's LDAP proxy,
//! A_21223-01); TLS configurations from kim-tls.

use std::sync::Arc;
use std::time::Duration;

use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, ClientOptions, Identity, TrustAnchors};
use kim_vzd::{VzdClient, VzdClientConfig};
use kim_vzd_sim::{StartOptions, VzdSim, VzdSimConfig};

use crate::*;

fn identity(name: &str) -> Identity {
    let pki = TestPki::shared_default().unwrap();
    let issued = &pki.tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

fn anchors() -> TrustAnchors {
    let pki = TestPki::shared_default().unwrap();
    TrustAnchors::from_pem(pki.ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

fn client(port: u16, with_identity: bool) -> VzdClient {
    let tls = kim_tls::client_config(ClientOptions {
        trust: anchors(),
        identity: with_identity.then(|| identity("clientmodul")),
        danger_accept_any_hostname: false,
    })
    .unwrap();
    let mut c = VzdClientConfig::new(&format!("ldaps://localhost:{port}"));
    c.tls = Some(tls);
    c.request_timeout = Duration::from_secs(5);
    c.cache.max_entries = 0;
    VzdClient::new(c).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ldaps_lookup_presents_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let server =
        kim_tls::server_config(&identity("konnektor"), ClientAuth::Required(anchors())).unwrap();
    let config = VzdSimConfig {
        data_dir: dir.path().to_path_buf(),
        ldap_listen: None,
        ldaps_listen: Some(([127, 0, 0, 1], 0).into()),
        rest_listen: None,
        ..VzdSimConfig::default()
    };
    let options = StartOptions {
        tls: Some(Arc::clone(&server)),
        ..StartOptions::default()
    };
    let vzd = VzdSim::start_with(config, options).await.unwrap();
    let port = vzd.ldaps_addr.unwrap().port();
    let found = client(port, true).lookup(&addr(PRAXIS_MAIL)).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].certificates.len(), 2);
    let err = client(port, false)
        .lookup(&addr(PRAXIS_MAIL))
        .await
        .unwrap_err();
    assert!(
        err.is_transient(),
        "refused without client certificate: {err}"
    );
}
