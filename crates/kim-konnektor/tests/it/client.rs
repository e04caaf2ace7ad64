//! The HTTPS client against a real TLS server on loopback: discovery, version choice,
//! SOAPAction and body namespace, the three authentication modes, faults, timeouts, endpoint
//! rewriting and re-discovery after a connection failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kim_konnektor::client::{
    ClientError, Konnektor, KonnektorAuth, KonnektorClient, KonnektorConfig,
};
use kim_konnektor::model::{
    CardHandle, CmsProperty, Context, Document, JobNumber, SignatureType, TvMode,
};
use kim_konnektor::ops::{GetCards, SignDocument, SignRequest};
use kim_testkit::pki::TestPki;
use kim_tls::{ClientAuth, Identity, TrustAnchors};

use crate::client_server::{self, Seen, TestServer};
use crate::data_dir;

const ECC_VERSIONS: &[(&str, &str, &str)] = &[
    (
        "EventService",
        "http://ws.gematik.de/conn/EventService/WSDL/v7.2",
        "7.2.0",
    ),
    (
        "CardService",
        "http://ws.gematik.de/conn/CardService/WSDL/v8.1",
        "8.1.2",
    ),
    (
        "CertificateService",
        "http://ws.gematik.de/conn/CertificateService/WSDL/v6.0",
        "6.0.1",
    ),
    (
        "SignatureService",
        "http://ws.gematik.de/conn/SignatureService/WSDL/v7.4",
        "7.4.2",
    ),
    (
        "SignatureService",
        "http://ws.gematik.de/conn/SignatureService/WSDL/v7.5",
        "7.5.6",
    ),
    (
        "EncryptionService",
        "http://ws.gematik.de/conn/EncryptionService/WSDL/v6.1",
        "6.1.1",
    ),
];

const NO_ECC_VERSIONS: &[(&str, &str, &str)] = &[
    (
        "EventService",
        "http://ws.gematik.de/conn/EventService/WSDL/v7.2",
        "7.2.0",
    ),
    (
        "SignatureService",
        "http://ws.gematik.de/conn/SignatureService/WSDL/v7.4",
        "7.4.0",
    ),
    (
        "EncryptionService",
        "http://ws.gematik.de/conn/EncryptionService/WSDL/v6.1",
        "6.1.0",
    ),
];

/// A connector.sds whose endpoints all point at `base` + `/ws/<Service>`.
fn sds(base: &str, versions: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut services = String::new();
    let mut names: Vec<&str> = versions.iter().map(|v| v.0).collect();
    names.dedup();
    for name in names {
        services.push_str(&format!(
            "<SI:Service Name=\"{name}\"><SI:Abstract>{name}</SI:Abstract><SI:Versions>"
        ));
        for (_, ns, version) in versions.iter().filter(|v| v.0 == name) {
            services.push_str(&format!(
                "<SI:Version TargetNamespace=\"{ns}\" Version=\"{version}\">\
                 <SI:Abstract>{name} {version}</SI:Abstract>\
                 <SI:EndpointTLS Location=\"{base}/ws/{name}\"/></SI:Version>"
            ));
        }
        services.push_str("</SI:Versions></SI:Service>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<SDS:ConnectorServices xmlns:SDS=\"http://ws.gematik.de/conn/ServiceDirectory/v3.1\" \
xmlns:SI=\"http://ws.gematik.de/conn/ServiceInformation/v2.0\" \
xmlns:PI=\"http://ws.gematik.de/int/version/ProductInformation/v1.1\">\
<PI:ProductInformation><PI:InformationDate>2025-01-01T12:00:00Z</PI:InformationDate>\
<PI:ProductTypeInformation><PI:ProductType>Konnektor</PI:ProductType>\
<PI:ProductTypeVersion>5.1.0</PI:ProductTypeVersion></PI:ProductTypeInformation>\
<PI:ProductIdentification><PI:ProductVendorID>TEST</PI:ProductVendorID>\
<PI:ProductCode>KON</PI:ProductCode><PI:ProductVersion><PI:Local>\
<PI:HWVersion>1.0.0</PI:HWVersion><PI:FWVersion>2.0.0</PI:FWVersion></PI:Local>\
</PI:ProductVersion></PI:ProductIdentification><PI:ProductMiscellaneous>\
<PI:ProductVendorName>Test</PI:ProductVendorName><PI:ProductName>Test-Konnektor</PI:ProductName>\
</PI:ProductMiscellaneous></PI:ProductInformation>\
<SDS:TLSMandatory>true</SDS:TLSMandatory><SDS:ClientAutMandatory>false</SDS:ClientAutMandatory>\
<SI:ServiceInformation>{services}</SI:ServiceInformation></SDS:ConnectorServices>"
    )
    .into_bytes()
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(data_dir("soap").join(name)).unwrap()
}

fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

fn identity(name: &str) -> Identity {
    let issued = &pki().tls_entity(name).unwrap().issued;
    let mut chain = vec![issued.certificate_der.clone()];
    chain.extend(issued.chain_der.iter().cloned());
    Identity::from_der(chain, issued.private_key_pkcs8_der.to_vec()).unwrap()
}

fn trust() -> TrustAnchors {
    TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap()
}

fn server_tls(client_auth: ClientAuth) -> Arc<kim_tls::rustls::ServerConfig> {
    kim_tls::server_config(&identity("konnektor"), client_auth).unwrap()
}

fn config(base_url: String) -> KonnektorConfig {
    let mut config = KonnektorConfig::new(base_url, trust());
    config.request_timeout = Duration::from_secs(10);
    config
}

fn context() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

fn get_cards() -> GetCards {
    GetCards {
        mandant_wide: false,
        context: context(),
        ct_id: None,
        slot_id: None,
        card_type: None,
    }
}

/// A Konnektor that serves `versions` and answers every SOAP call with `answer`.
async fn konnektor<F>(
    client_auth: ClientAuth,
    versions: &'static [(&str, &str, &str)],
    answer: F,
) -> TestServer
where
    F: Fn(&Seen) -> client_server::Answer + Send + Sync + 'static,
{
    let base: Arc<std::sync::OnceLock<String>> = Arc::new(std::sync::OnceLock::new());
    let base_in = base.clone();
    let server = client_server::start(server_tls(client_auth), move |seen| {
        if seen.method == "GET" && seen.path == "/connector.sds" {
            return Some((200, "text/xml", sds(base_in.get().unwrap(), versions)));
        }
        answer(seen)
    })
    .await;
    base.set(server.base_url()).unwrap();
    server
}

fn soap(body: Vec<u8>) -> client_server::Answer {
    Some((200, "text/xml; charset=UTF-8", body))
}

#[tokio::test]
async fn discovers_once_and_calls_with_the_wsdl_soap_action() {
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |_| {
        soap(golden("GetCards-response.xml"))
    })
    .await;
    let client = KonnektorClient::new(config(server.base_url())).unwrap();
    let first = client.get_cards(&get_cards()).await.unwrap();
    assert!(!first.cards.is_empty());
    client.get_cards(&get_cards()).await.unwrap();
    assert!(client.ecc_capable().await.unwrap());

    let seen = server.requests();
    let sds_fetches = seen.iter().filter(|s| s.path == "/connector.sds").count();
    assert_eq!(sds_fetches, 1, "connector.sds is cached");
    let call = seen.iter().find(|s| s.method == "POST").unwrap();
    assert_eq!(call.path, "/ws/EventService");
    assert_eq!(
        call.soap_action.as_deref(),
        Some("\"http://ws.gematik.de/conn/EventService/v7.2#GetCards\"")
    );
    assert_eq!(
        call.content_type.as_deref(),
        Some("text/xml; charset=UTF-8")
    );
    assert!(call.authorization.is_none());
    assert!(call.client_cert.is_none());
}

fn sign_document() -> SignDocument {
    SignDocument {
        card_handle: CardHandle::new("SMC-B-1").unwrap(),
        crypt: None,
        context: context(),
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("ABC-123").unwrap()),
        requests: vec![SignRequest {
            request_id: "KimSignRequest".into(),
            signature_type: Some(SignatureType::new(SignatureType::CMS)),
            signed_properties: vec![CmsProperty {
                identifier: "RecipientEmailsAttribute".into(),
                attribute_der: vec![0x30, 0x00],
            }],
            include_econtent: Some(true),
            document: Document::new(b"Content-Type: message/rfc822\r\n\r\nhallo".to_vec()),
            include_revocation_info: false,
        }],
    }
}

#[tokio::test]
async fn signature_service_version_decides_body_namespace_and_ecc_capability() {
    let server = konnektor(ClientAuth::None, NO_ECC_VERSIONS, |seen| {
        if seen.path == "/ws/SignatureService" {
            soap(golden("SignDocument-v7.4-response.xml"))
        } else {
            Some((404, "text/plain", Vec::new()))
        }
    })
    .await;
    let client = KonnektorClient::new(config(server.base_url())).unwrap();
    assert!(!client.ecc_capable().await.unwrap());
    client.sign_document(&sign_document()).await.unwrap();
    let call = server
        .requests()
        .into_iter()
        .find(|s| s.method == "POST")
        .unwrap();
    let body = String::from_utf8(call.body).unwrap();
    assert!(
        body.contains("http://ws.gematik.de/conn/SignatureService/v7.4"),
        "{body}"
    );
    assert!(!body.contains("SignatureService/v7.5"));
    assert_eq!(
        call.soap_action.as_deref(),
        Some("\"http://ws.gematik.de/conn/SignatureService/v7.4#SignDocument\"")
    );
    // A service the directory does not list is named.
    let err = client
        .read_card_certificate(&kim_konnektor::ops::ReadCardCertificate {
            card_handle: CardHandle::new("SMC-B-1").unwrap(),
            context: context(),
            cert_refs: vec![kim_konnektor::model::CertRef::Enc],
            crypt: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::ServiceNotOffered(_)), "{err}");
}

#[tokio::test]
async fn faults_expose_code_and_transience() {
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |_| {
        Some((500, "text/xml; charset=UTF-8", golden("Fault-4085.xml")))
    })
    .await;
    let client = KonnektorClient::new(config(server.base_url())).unwrap();
    let err = client.get_cards(&get_cards()).await.unwrap_err();
    assert_eq!(err.code(), Some(4085), "{err}");
    assert!(!err.is_transient());

    let transient = konnektor(ClientAuth::None, ECC_VERSIONS, |_| {
        let fault = String::from_utf8(golden("Fault-4085.xml"))
            .unwrap()
            .replace(
                "<GERROR:Code>4085</GERROR:Code>",
                "<GERROR:Code>4002</GERROR:Code>",
            );
        Some((500, "text/xml; charset=UTF-8", fault.into_bytes()))
    })
    .await;
    let client = KonnektorClient::new(config(transient.base_url())).unwrap();
    let err = client.get_cards(&get_cards()).await.unwrap_err();
    assert_eq!(err.code(), Some(4002), "{err}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn garbage_and_wrong_status_are_protocol_errors() {
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |seen| {
        if seen.body.windows(8).any(|w| w == b"GetCards") {
            Some((200, "text/xml", b"<html>not soap</html>".to_vec()))
        } else {
            Some((502, "text/plain", b"bad gateway".to_vec()))
        }
    })
    .await;
    let client = KonnektorClient::new(config(server.base_url())).unwrap();
    let err = client.get_cards(&get_cards()).await.unwrap_err();
    assert!(matches!(err, ClientError::Protocol { .. }), "{err}");
    assert!(!err.is_transient());
    let err = client.sign_document(&sign_document()).await.unwrap_err();
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn basic_authentication() {
    // "kim:geheim"
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |seen| {
        if seen.authorization.as_deref() == Some("Basic a2ltOmdlaGVpbQ==") {
            soap(golden("GetCards-response.xml"))
        } else {
            Some((401, "text/plain", Vec::new()))
        }
    })
    .await;
    let mut good = config(server.base_url());
    good.auth = KonnektorAuth::Basic {
        user: "kim".into(),
        password: "geheim".into(),
    };
    KonnektorClient::new(good)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap();

    let mut bad = config(server.base_url());
    bad.auth = KonnektorAuth::Basic {
        user: "kim".into(),
        password: "falsch".into(),
    };
    let err = KonnektorClient::new(bad)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Unauthorized { status: 401 }),
        "{err}"
    );
    assert!(
        !format!(
            "{:?}",
            KonnektorAuth::Basic {
                user: "u".into(),
                password: "geheim".into()
            }
        )
        .contains("geheim")
    );
}

#[tokio::test]
async fn mutual_tls() {
    let server = konnektor(ClientAuth::Required(trust()), ECC_VERSIONS, |_| {
        soap(golden("GetCards-response.xml"))
    })
    .await;
    let err = KonnektorClient::new(config(server.base_url()))
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err}");
    assert!(!err.is_transient());

    let mut with_cert = config(server.base_url());
    let own = identity("clientmodul");
    with_cert.auth = KonnektorAuth::Certificate(own.clone());
    KonnektorClient::new(with_cert)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap();
    let call = server
        .requests()
        .into_iter()
        .find(|s| s.method == "POST")
        .unwrap();
    assert_eq!(call.client_cert.as_deref(), Some(own.leaf_der()));
}

#[tokio::test]
async fn untrusted_konnektor_certificate_is_refused_and_not_retried() {
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |_| {
        soap(golden("GetCards-response.xml"))
    })
    .await;
    // Trust only the Konnektor's own leaf as if it were a CA: its chain does not lead there.
    let other = TrustAnchors::from_der(vec![
        pki()
            .tls_entity("fachdienst")
            .unwrap()
            .issued
            .certificate_der
            .clone(),
    ])
    .unwrap();
    let mut cfg = config(server.base_url());
    cfg.trust = other;
    let err = KonnektorClient::new(cfg)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Tls { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(
        err.to_string().contains("invalid peer certificate"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn stalled_konnektor_times_out() {
    let server = konnektor(ClientAuth::None, ECC_VERSIONS, |_| None).await;
    let mut cfg = config(server.base_url());
    cfg.request_timeout = Duration::from_millis(500);
    let started = std::time::Instant::now();
    let err = KonnektorClient::new(cfg)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn endpoints_rewritten_to_the_configured_address() {
    // The directory advertises an internal address that is not reachable from here.
    let server = client_server::start(server_tls(ClientAuth::None), |seen| {
        if seen.path == "/connector.sds" {
            Some((
                200,
                "text/xml",
                sds("https://10.255.255.1:4711", ECC_VERSIONS),
            ))
        } else {
            soap(golden("GetCards-response.xml"))
        }
    })
    .await;
    let mut cfg = config(server.base_url());
    cfg.rewrite_endpoints = true;
    cfg.connect_timeout = Duration::from_secs(2);
    KonnektorClient::new(cfg)
        .unwrap()
        .get_cards(&get_cards())
        .await
        .unwrap();
}

#[tokio::test]
async fn rediscovers_after_a_connection_failure() {
    // First directory: endpoints on a closed port. Second: the real ones.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_base = format!("https://localhost:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let fetches = Arc::new(AtomicUsize::new(0));
    let fetches_in = fetches.clone();
    let live_base: Arc<std::sync::OnceLock<String>> = Arc::new(std::sync::OnceLock::new());
    let live_in = live_base.clone();
    let server = client_server::start(server_tls(ClientAuth::None), move |seen| {
        if seen.path == "/connector.sds" {
            let n = fetches_in.fetch_add(1, Ordering::SeqCst);
            let base = if n == 0 {
                dead_base.clone()
            } else {
                live_in.get().unwrap().clone()
            };
            Some((200, "text/xml", sds(&base, ECC_VERSIONS)))
        } else {
            soap(golden("GetCards-response.xml"))
        }
    })
    .await;
    live_base.set(server.base_url()).unwrap();
    let client = KonnektorClient::new(config(server.base_url())).unwrap();
    client.get_cards(&get_cards()).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[test]
fn plain_http_base_url_is_refused() {
    let err = KonnektorClient::new(config("http://127.0.0.1:80".into())).unwrap_err();
    assert!(err.to_string().contains("KOM-LE-A_2070"), "{err}");
    let err = KonnektorClient::new(config("not a url".into())).unwrap_err();
    assert!(err.to_string().contains("not a url"), "{err}");
}
