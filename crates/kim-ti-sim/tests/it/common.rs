//! Shared helpers: the test PKI on disk, starting the simulator, an HTTPS client (reqwest on
//! a kim-tls rustls configuration), calling an operation and validating every response with
//! xmllint against the vendored gematik schemas.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use kim_konnektor::model::{CardHandle, CardType, Context};
use kim_konnektor::ops::{GetCards, VerifyPin};
use kim_konnektor::{Operation, ResponseError, ServiceVersion};
use kim_testkit::pki::TestPki;
use kim_ti_sim::{KonnektorSim, RunningSim, SimConfig};

pub fn pki() -> &'static TestPki {
    TestPki::shared_default().unwrap()
}

/// The PKI written once per test process (`kim pki create` layout).
pub fn pki_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        pki().write_dir(d.path(), "test").unwrap();
        d
    })
    .path()
}

pub fn default_config() -> SimConfig {
    SimConfig::from_test_pki(pki()).unwrap()
}

pub async fn start(config: SimConfig) -> RunningSim {
    KonnektorSim::start(config).await.unwrap()
}

pub fn client_with(identity: Option<kim_tls::Identity>, timeout: Duration) -> reqwest::Client {
    let trust = kim_tls::TrustAnchors::from_pem(pki().ca_bundle_pem().unwrap().as_bytes()).unwrap();
    let tls = kim_tls::client_config(kim_tls::ClientOptions {
        trust,
        identity,
        danger_accept_any_hostname: false,
    })
    .unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(timeout)
        .no_proxy()
        .build()
        .unwrap()
}

pub fn client() -> reqwest::Client {
    client_with(None, Duration::from_secs(60))
}

pub fn clientmodul_identity() -> kim_tls::Identity {
    let e = &pki().tls_entity("clientmodul").unwrap().issued;
    let mut chain = vec![e.certificate_der.clone()];
    chain.extend(e.chain_der.iter().cloned());
    kim_tls::Identity::from_der(chain, e.private_key_pkcs8_der.to_vec()).unwrap()
}

pub fn ctx() -> Context {
    Context::new("Mandant1", "ClientID1", "Workplace1").unwrap()
}

/// The https URL of a service endpoint (`localhost`, which the TLS certificate names).
pub fn url(sim: &RunningSim, path: &str) -> String {
    format!("https://localhost:{}{path}", sim.addr().port())
}

/// Posts raw bytes; returns status and body. The body is checked against the schemas.
pub async fn post_raw(
    client: &reqwest::Client,
    sim: &RunningSim,
    service: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let r = client
        .post(url(sim, &format!("/ws/{service}")))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

/// Calls one operation with the service version's envelope; every answer (success or fault)
/// is validated with xmllint before it is parsed.
pub async fn call<O: Operation>(
    client: &reqwest::Client,
    sim: &RunningSim,
    op: &O,
    version: ServiceVersion,
) -> Result<O::Response, ResponseError> {
    let body = op.to_envelope(&version).unwrap();
    let (status, answer) = post_raw(
        client,
        sim,
        O::SERVICE.name(),
        "text/xml; charset=UTF-8",
        body,
    )
    .await;
    validate_response(O::NAME, &answer);
    let parsed = O::parse_response(&answer);
    match &parsed {
        Ok(_) => assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer)),
        Err(_) => assert_eq!(status, 500, "{}", String::from_utf8_lossy(&answer)),
    }
    parsed
}

pub const V_EVT: ServiceVersion = ServiceVersion::new(7, 2, 0);
pub const V_CARD: ServiceVersion = ServiceVersion::new(8, 1, 2);
pub const V_CERT: ServiceVersion = ServiceVersion::new(6, 0, 1);
pub const V_SIG: ServiceVersion = ServiceVersion::new(7, 5, 6);
pub const V_ENC: ServiceVersion = ServiceVersion::new(6, 1, 1);
pub const V_AUTH: ServiceVersion = ServiceVersion::new(7, 4, 1);

/// The fault code of a failed call.
pub fn code<T: std::fmt::Debug>(r: Result<T, ResponseError>) -> u32 {
    match r {
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("no Konnektor code in {e}")),
        Ok(v) => panic!("expected a fault, got {v:?}"),
    }
}

/// Handle of the card with this ICCSN via GetCards.
pub async fn handle_of(client: &reqwest::Client, sim: &RunningSim, iccsn: &str) -> CardHandle {
    let r = call(
        client,
        sim,
        &GetCards {
            mandant_wide: false,
            context: ctx(),
            ct_id: None,
            slot_id: None,
            card_type: None,
        },
        V_EVT,
    )
    .await
    .unwrap();
    r.cards
        .into_iter()
        .find(|c| c.iccsn.as_ref().map(|i| i.as_str()) == Some(iccsn))
        .map(|c| c.handle)
        .unwrap_or_else(|| panic!("card {iccsn} not listed"))
}

pub const SMCB: &str = "80276883110000100001";
pub const SMCB2: &str = "80276883110000100002";
pub const HBA: &str = "80276883110000200001";

/// Handle of a card whose PIN was verified.
pub async fn verified(client: &reqwest::Client, sim: &RunningSim, iccsn: &str) -> CardHandle {
    let h = handle_of(client, sim, iccsn).await;
    let pin = if iccsn == HBA {
        kim_konnektor::model::PinType::Ch
    } else {
        kim_konnektor::model::PinType::Smc
    };
    let r = call(
        client,
        sim,
        &VerifyPin {
            context: ctx(),
            card_handle: h.clone(),
            pin_type: pin,
        },
        V_CARD,
    )
    .await
    .unwrap();
    assert_eq!(r.pin_result, kim_konnektor::model::PinResult::Ok);
    h
}

#[allow(dead_code)]
pub fn smcb_filter() -> Option<CardType> {
    Some(CardType::SmcB)
}

// ---- xmllint ------------------------------------------------------------------------------

const SOAP_XSD: &str = r###"<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://schemas.xmlsoap.org/soap/envelope/" elementFormDefault="qualified">
  <xs:element name="Envelope"><xs:complexType><xs:sequence>
    <xs:element name="Header" minOccurs="0"><xs:complexType><xs:sequence><xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="Body"><xs:complexType><xs:sequence><xs:any namespace="##any" processContents="strict" minOccurs="1" maxOccurs="1"/></xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
  <xs:element name="Fault"><xs:complexType><xs:sequence>
    <xs:element name="faultcode" type="xs:QName" form="unqualified"/>
    <xs:element name="faultstring" type="xs:string" form="unqualified"/>
    <xs:element name="faultactor" type="xs:anyURI" form="unqualified" minOccurs="0"/>
    <xs:element name="detail" form="unqualified" minOccurs="0"><xs:complexType><xs:sequence><xs:any namespace="##any" processContents="strict" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>
"###;

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/konnektor")
        .canonicalize()
        .unwrap()
}

/// Wrapper schema importing every service schema; `auth` uses SignatureService.xsd (7.4.2)
/// for the v7.4 namespace, as AuthSignatureService_v7_4_1.wsdl does.
fn schema(auth: bool) -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("soap.xsd"), SOAP_XSD).unwrap();
        for (name, sig74) in [
            ("all.xsd", "conn/SignatureService_V7_4_4.xsd"),
            ("auth.xsd", "conn/SignatureService.xsd"),
        ] {
            let imports = [
                ("http://schemas.xmlsoap.org/soap/envelope/", d.path().join("soap.xsd")),
                ("http://ws.gematik.de/conn/EventService/v7.2", spec_dir().join("conn/EventService.xsd")),
                ("http://ws.gematik.de/conn/CardService/v8.1", spec_dir().join("conn/CardService_v8_1_3.xsd")),
                ("http://ws.gematik.de/conn/CertificateService/v6.0", spec_dir().join("conn/CertificateService_v6_0_2.xsd")),
                ("http://ws.gematik.de/conn/SignatureService/v7.5", spec_dir().join("conn/SignatureService_V7_5_6.xsd")),
                ("http://ws.gematik.de/conn/SignatureService/v7.4", spec_dir().join(sig74)),
                ("http://ws.gematik.de/conn/EncryptionService/v6.1", spec_dir().join("conn/EncryptionService_v6_1_2.xsd")),
                ("http://ws.gematik.de/conn/ServiceDirectory/v3.1", spec_dir().join("conn/ServiceDirectory.xsd")),
                ("http://ws.gematik.de/tel/error/v2.0", spec_dir().join("tel/error/TelematikError.xsd")),
            ];
            let mut xsd = String::from("<?xml version=\"1.0\"?>\n<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n");
            for (ns, file) in imports {
                xsd.push_str(&format!(
                    "<xs:import namespace=\"{ns}\" schemaLocation=\"{}\"/>\n",
                    file.display()
                ));
            }
            xsd.push_str("</xs:schema>\n");
            std::fs::write(d.path().join(name), xsd).unwrap();
        }
        d
    });
    if auth {
        Box::leak(dir.path().join("auth.xsd").into_boxed_path())
    } else {
        Box::leak(dir.path().join("all.xsd").into_boxed_path())
    }
}

/// Validates one response (or connector.sds) with xmllint; panics with its output.
pub fn validate_response(name: &str, xml: &[u8]) {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--huge")
        .arg("--schema")
        .arg(schema(name == "ExternalAuthenticate"))
        .arg(tmp.path())
        .output()
        .expect("xmllint must be installed (libxml2-utils; scripts/test installs it)");
    assert!(
        out.status.success(),
        "{name} response is not schema-valid: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&xml[..xml.len().min(4000)])
    );
}

/// Runs a command, panicking with its output on failure; returns stdout.
pub fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

// ---- captured logs ------------------------------------------------------------------------

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once) a global DEBUG subscriber that records every log line of the process.
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(|| LogWriter)
            .with_ansi(false)
            .try_init();
    });
}

/// Everything logged so far.
pub fn logs() -> Vec<u8> {
    LOGS.lock().unwrap().clone()
}
