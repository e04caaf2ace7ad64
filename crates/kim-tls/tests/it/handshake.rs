use std::sync::OnceLock;

use kim_testkit::pki::{PkiSpec, TestPki, TlsProfile, TlsSpec};
use kim_tls::rustls::pki_types::ServerName;
use kim_tls::tokio_rustls::{TlsAcceptor, TlsConnector};
use kim_tls::{ClientAuth, ClientOptions, Identity, TlsError, TrustAnchors};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

/// A second, unrelated PKI: its certificates must not be accepted by the first one.
fn foreign_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut spec = PkiSpec::from_u64_seed(0xF0E1);
        spec.tls = vec![TlsSpec::localhost(
            "clientmodul",
            TlsProfile::ClientmodulClient,
            "foreign.test",
        )];
        TestPki::generate(&spec).unwrap()
    })
}

fn identity(pki: &TestPki, name: &str) -> Identity {
    let issued = &pki.tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

fn trust(pki: &TestPki) -> TrustAnchors {
    TrustAnchors::from_pem(pki.ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

/// Runs one handshake and an echo exchange; returns the client certificate the server saw.
async fn exchange(
    client_auth: ClientAuth,
    options: ClientOptions,
    server_name: &str,
) -> Result<Option<Vec<u8>>, String> {
    let client = kim_tls::client_config(options).unwrap();
    exchange_with(pki(), client_auth, client, server_name).await
}

/// [`exchange`] with a client configuration built beforehand, against `pki`'s Konnektor.
async fn exchange_with(
    pki: &TestPki,
    client_auth: ClientAuth,
    client: std::sync::Arc<kim_tls::rustls::ClientConfig>,
    server_name: &str,
) -> Result<Option<Vec<u8>>, String> {
    let server = kim_tls::server_config(&identity(pki, "konnektor"), client_auth).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
        let peer = kim_tls::peer_leaf(&tls);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        tls.write_all(&buf).await.map_err(|e| e.to_string())?;
        tls.shutdown().await.ok();
        Ok::<_, String>(peer)
    });
    let connector = TlsConnector::from(client);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    let client_result = async {
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
        assert_eq!(&buf, b"ping");
        Ok::<_, String>(())
    }
    .await;
    let server_result = server_task.await.unwrap();
    client_result?;
    server_result
}

/// The handshake failed on the server name.
fn assert_name_refused(err: &str) {
    assert!(
        err.contains("not valid for name") || err.contains("NotValidForName"),
        "{err}"
    );
}

fn options(identity: Option<Identity>) -> ClientOptions {
    ClientOptions {
        trust: trust(pki()),
        identity,
        danger_accept_any_hostname: false,
    }
}

#[tokio::test]
async fn server_authentication_by_name_and_ip() {
    for name in ["localhost", "127.0.0.1"] {
        let peer = exchange(ClientAuth::None, options(None), name)
            .await
            .unwrap();
        assert_eq!(peer, None);
    }
}

#[tokio::test]
async fn wrong_server_name_fails_unless_explicitly_accepted() {
    let err = exchange(
        ClientAuth::None,
        options(None),
        "konnektor.elsewhere.example",
    )
    .await
    .unwrap_err();
    assert_name_refused(&err);
    let mut lenient = options(None);
    lenient.danger_accept_any_hostname = true;
    exchange(ClientAuth::None, lenient, "konnektor.elsewhere.example")
        .await
        .unwrap();
}

#[tokio::test]
async fn untrusted_server_fails_even_with_any_hostname() {
    let mut opts = ClientOptions {
        trust: trust(foreign_pki()),
        identity: None,
        danger_accept_any_hostname: true,
    };
    let err = exchange(ClientAuth::None, opts.clone(), "localhost")
        .await
        .unwrap_err();
    assert!(err.contains("invalid peer certificate"), "{err}");
    opts.danger_accept_any_hostname = false;
    exchange(ClientAuth::None, opts, "localhost")
        .await
        .unwrap_err();
}

#[tokio::test]
async fn required_client_certificate() {
    let required = || ClientAuth::Required(trust(pki()));
    // Without a certificate: refused.
    assert!(
        exchange(required(), options(None), "localhost")
            .await
            .is_err()
    );
    // A certificate from another PKI: refused.
    let foreign = identity(foreign_pki(), "clientmodul");
    assert!(
        exchange(required(), options(Some(foreign)), "localhost")
            .await
            .is_err()
    );
    // The Clientmodul certificate: accepted, and the server sees it.
    let own = identity(pki(), "clientmodul");
    let peer = exchange(required(), options(Some(own.clone())), "localhost")
        .await
        .unwrap();
    assert_eq!(peer.as_deref(), Some(own.leaf_der()));
}

/// A PKI with two Clientmodul certificates (before and after a renewal).
fn renewal_pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let mut spec = PkiSpec::from_u64_seed(0x5E4E);
        spec.tls = vec![
            TlsSpec::localhost("konnektor", TlsProfile::KonnektorServer, "konnektor.test"),
            TlsSpec::localhost("old", TlsProfile::ClientmodulClient, "old.test"),
            TlsSpec::localhost("new", TlsProfile::ClientmodulClient, "new.test"),
        ];
        TestPki::generate(&spec).unwrap()
    })
}

#[tokio::test]
async fn a_renewed_identity_is_presented_by_configurations_built_before() {
    let pki = renewal_pki();
    let required = || ClientAuth::Required(trust(pki));
    let old = identity(pki, "old");
    let (renewable, renewal) = old.clone().renewable().unwrap();
    assert_eq!(renewal.leaf_der(), old.leaf_der());
    let client = kim_tls::client_config(ClientOptions {
        trust: trust(pki),
        identity: Some(renewable),
        danger_accept_any_hostname: false,
    })
    .unwrap();
    let peer = exchange_with(pki, required(), client.clone(), "localhost")
        .await
        .unwrap();
    assert_eq!(peer.as_deref(), Some(old.leaf_der()));

    let new = identity(pki, "new");
    renewal.replace(&new).unwrap();
    assert_eq!(renewal.leaf_der(), new.leaf_der());
    let peer = exchange_with(pki, required(), client, "localhost")
        .await
        .unwrap();
    assert_eq!(peer.as_deref(), Some(new.leaf_der()));

    // A key that does not belong to the certificate is refused; the slot keeps the last.
    let mismatched = Identity::from_der(
        vec![
            pki.tls_entity("old")
                .unwrap()
                .issued
                .certificate_der
                .clone(),
        ],
        pki.tls_entity("new")
            .unwrap()
            .issued
            .private_key_pkcs8_der
            .to_vec(),
    )
    .unwrap();
    assert!(renewal.replace(&mismatched).is_err());
    assert_eq!(renewal.leaf_der(), new.leaf_der());
}

#[tokio::test]
async fn optional_client_certificate() {
    let optional = || ClientAuth::Optional(trust(pki()));
    assert_eq!(
        exchange(optional(), options(None), "localhost")
            .await
            .unwrap(),
        None
    );
    let own = identity(pki(), "clientmodul");
    assert!(
        exchange(optional(), options(Some(own)), "localhost")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn identity_from_pkcs12_and_pem_files() {
    let issued = &pki().tls_entity("clientmodul").unwrap().issued;
    let p12 = issued.to_pkcs12("geheim", [7u8; 32]).unwrap();
    let from_p12 = Identity::from_pkcs12(&p12, "geheim").unwrap();
    assert_eq!(from_p12.leaf_der(), issued.certificate_der.as_slice());
    assert!(matches!(
        Identity::from_pkcs12(&p12, "falsch"),
        Err(TlsError::Pkcs12(_))
    ));
    let peer = exchange(
        ClientAuth::Required(trust(pki())),
        options(Some(from_p12)),
        "localhost",
    )
    .await
    .unwrap();
    assert_eq!(peer.as_deref(), Some(issued.certificate_der.as_slice()));

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let chain = dir.join("chain.pem");
    let key = dir.join("key.pem");
    std::fs::write(&chain, issued.certificate_pem().unwrap()).unwrap();
    std::fs::write(&key, issued.private_key_pem().unwrap().as_bytes()).unwrap();
    let from_files = Identity::from_files(&chain, &key).unwrap();
    assert_eq!(from_files.leaf_der(), issued.certificate_der.as_slice());
    let debug = format!("{from_files:?}");
    assert!(
        debug.contains("<redacted>") && !debug.contains("PRIVATE"),
        "{debug}"
    );
    let missing = Identity::from_files(&dir.join("nope.pem"), &key).unwrap_err();
    assert!(missing.to_string().contains("nope.pem"), "{missing}");
}

#[test]
fn bad_inputs_are_named() {
    let err = TrustAnchors::from_pem(b"").unwrap_err();
    assert!(err.to_string().contains("trust bundle"), "{err}");
    let err = TrustAnchors::from_der(vec![b"not a certificate".to_vec()]).unwrap_err();
    assert!(err.to_string().contains("trust anchor 0"), "{err}");
    let issued = &pki().tls_entity("konnektor").unwrap().issued;
    let err = Identity::from_pem(issued.certificate_pem().unwrap().as_bytes(), b"").unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    // A key that does not belong to the certificate is refused when the config is built.
    let other = &pki().tls_entity("fachdienst").unwrap().issued;
    let mismatched = Identity::from_der(
        vec![issued.certificate_der.clone()],
        other.private_key_pkcs8_der.to_vec(),
    )
    .unwrap();
    assert!(kim_tls::server_config(&mismatched, ClientAuth::None).is_err());
}

/// `client_config_approved`: a trusted server passes only if its leaf is approved, and
/// approval never admits what the chain or name check refuses.
#[tokio::test]
async fn approval_is_needed_on_top_of_the_usual_checks() {
    let server_leaf = pki()
        .tls_entity("konnektor")
        .unwrap()
        .issued
        .certificate_der
        .clone();
    let only = |leaf: Vec<u8>| -> kim_tls::Approval {
        std::sync::Arc::new(move |presented: &[u8]| presented == leaf.as_slice())
    };
    let approved = kim_tls::client_config_approved(options(None), only(server_leaf)).unwrap();
    exchange_with(pki(), ClientAuth::None, approved.clone(), "localhost")
        .await
        .unwrap();
    let refused = kim_tls::client_config_approved(options(None), only(vec![1, 2, 3])).unwrap();
    let err = exchange_with(pki(), ClientAuth::None, refused, "localhost")
        .await
        .unwrap_err();
    assert!(err.contains("invalid peer certificate"), "{err}");
    let err = exchange_with(
        pki(),
        ClientAuth::None,
        approved,
        "konnektor.elsewhere.example",
    )
    .await
    .unwrap_err();
    assert_name_refused(&err);
}
