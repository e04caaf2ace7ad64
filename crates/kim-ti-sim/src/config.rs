//! Simulator configuration: a TOML file parsed once into a validated [`SimConfig`].
//!
//! Every invalid value is reported as [`ConfigError::Invalid`] naming the key, the value and
//! the allowed range. Relative paths are resolved against the configuration file's
//! directory. Key material is loaded during validation, so a [`SimConfig`] never refers to a
//! file that could not be read. An example file is `examples/konnektor.toml`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::knobs::{KnobSettings, Operation, Unavailable};
use crate::model::{CardKind, Crypt, KeyRole, PinStatus, PinType};

/// Documents larger than this are rejected with 4280 (gemSpec_Kon TIP1-A_4500-02, A_19052-01).
pub const MAX_DOCUMENT_BYTES: usize = 26_214_400;

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is not valid TOML or has unknown keys.
    #[error("configuration syntax: {0}")]
    Syntax(String),
    /// A value is outside what the simulator accepts.
    #[error("configuration key `{key}` = {value:?}: allowed {allowed}")]
    Invalid {
        key: String,
        value: String,
        allowed: String,
    },
    /// A referenced file could not be read.
    #[error("cannot read {path} (key `{key}`): {source}")]
    Io {
        key: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(key: impl Into<String>, value: impl Into<String>, allowed: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.into(),
        allowed: allowed.into(),
    }
}

/// The validated configuration of one simulated Konnektor.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// HTTPS listener (port 0 = any free port).
    pub listen: SocketAddr,
    /// Optional plain HTTP listener.
    pub plain_listen: Option<SocketAddr>,
    /// Server identity and client authentication.
    pub tls: TlsSettings,
    /// `ANCL_TLS_MANDATORY`: SOAP calls on the plain listener are refused when true.
    pub tls_mandatory: bool,
    /// `ANCL_DVD_OPEN`: connector.sds is served on the plain listener even when TLS is mandatory.
    pub sds_over_plain_http: bool,
    /// Product information for connector.sds.
    pub product: ProductInfo,
    /// Advertised service versions (connector.sds).
    pub services: Vec<ServiceVersions>,
    /// Mandants, client systems, workplaces, card terminals.
    pub model: InfoModelConfig,
    /// Software cards.
    pub cards: Vec<CardConfig>,
    /// CA certificates (DER) used by VerifyCertificate, VerifyDocument and EncryptDocument.
    pub trust: Vec<Vec<u8>>,
    /// Fault injection at start-up.
    pub knobs: KnobSettings,
    /// `true`: certificate status checks are reported as unavailable (4264 / INCONCLUSIVE).
    pub ocsp_unavailable: bool,
    /// Time limit for reading a request and for answering it.
    pub request_timeout: Duration,
}

/// TLS identity and client authentication.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub identity: IdentitySource,
    pub client_auth: ClientAuthMode,
}

/// Where the server certificate and key come from.
#[derive(Clone)]
pub enum IdentitySource {
    /// Certificate chain (leaf first) and PKCS#8 key, DER.
    Der {
        chain: Vec<Vec<u8>>,
        pkcs8: Zeroizing<Vec<u8>>,
    },
    /// A PKCS#12 file's bytes and its password.
    Pkcs12 {
        bytes: Zeroizing<Vec<u8>>,
        password: Zeroizing<String>,
    },
}

impl std::fmt::Debug for IdentitySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentitySource::Der { chain, .. } => f
                .debug_struct("Der")
                .field("chain_len", &chain.len())
                .field("pkcs8", &"[REDACTED]")
                .finish(),
            IdentitySource::Pkcs12 { .. } => f.write_str("Pkcs12([REDACTED])"),
        }
    }
}

/// How clients authenticate (gemSpec_Kon TIP1-A_4515/4516; SDS `ClientAutMandatory`).
#[derive(Clone)]
pub enum ClientAuthMode {
    /// No client authentication.
    None,
    /// Mutual TLS: clients present a certificate chaining to one of these CAs (DER).
    Certificate { trusted_cas: Vec<Vec<u8>> },
    /// HTTP Basic inside TLS.
    Basic {
        user: String,
        password: Zeroizing<String>,
    },
}

impl std::fmt::Debug for ClientAuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuthMode::None => f.write_str("None"),
            ClientAuthMode::Certificate { trusted_cas } => {
                write!(f, "Certificate({} CAs)", trusted_cas.len())
            }
            ClientAuthMode::Basic { user, .. } => write!(f, "Basic({user}, [REDACTED])"),
        }
    }
}

/// `PI:ProductInformation` values (ProductInformation.xsd v1.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInfo {
    pub product_type_version: String,
    pub vendor_id: String,
    pub product_code: String,
    pub hw_version: String,
    pub fw_version: String,
    pub vendor_name: String,
    pub product_name: String,
}

impl Default for ProductInfo {
    fn default() -> Self {
        ProductInfo {
            product_type_version: "5.1.0".into(),
            vendor_id: "KIMRS".into(),
            product_code: "KONSIM".into(),
            hw_version: "1.0.0".into(),
            fw_version: env!("CARGO_PKG_VERSION").into(),
            vendor_name: "KIM in Rust".into(),
            product_name: "Konnektor-Simulator".into(),
        }
    }
}

/// One service of connector.sds with the versions advertised.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceVersions {
    pub name: String,
    pub versions: Vec<String>,
}

/// The services the simulator implements, with their known versions.
pub const KNOWN_SERVICES: &[(&str, &[&str])] = &[
    ("EventService", &["7.2.0"]),
    ("CardService", &["8.1.0", "8.1.1", "8.1.2"]),
    ("CertificateService", &["6.0.0", "6.0.1"]),
    (
        "SignatureService",
        &["7.4.0", "7.4.1", "7.4.2", "7.5.5", "7.5.6"],
    ),
    ("EncryptionService", &["6.1.0", "6.1.1"]),
    ("AuthSignatureService", &["7.4.0", "7.4.1"]),
];

/// The default advertised set: a current ECC-capable Konnektor.
pub fn default_services() -> Vec<ServiceVersions> {
    let s = |name: &str, v: &[&str]| ServiceVersions {
        name: name.into(),
        versions: v.iter().map(|x| (*x).to_string()).collect(),
    };
    vec![
        s("EventService", &["7.2.0"]),
        s("CardService", &["8.1.2"]),
        s("CertificateService", &["6.0.1"]),
        s("SignatureService", &["7.4.2", "7.5.6"]),
        s("EncryptionService", &["6.1.1"]),
        s("AuthSignatureService", &["7.4.1"]),
    ]
}

/// A Konnektor without ECC support (A_17464: Sig 7.4.0, Enc 6.1.0, Cert 6.0.0).
pub fn no_ecc_services() -> Vec<ServiceVersions> {
    let mut v = default_services();
    for s in &mut v {
        match s.name.as_str() {
            "SignatureService" => s.versions = vec!["7.4.0".into()],
            "EncryptionService" => s.versions = vec!["6.1.0".into()],
            "CertificateService" => s.versions = vec!["6.0.0".into()],
            _ => {}
        }
    }
    v
}

/// Information model (gemSpec_Kon TUC_KON_000 context checks).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfoModelConfig {
    #[serde(default, rename = "mandant")]
    pub mandants: Vec<MandantConfig>,
    #[serde(default, rename = "workplace")]
    pub workplaces: Vec<WorkplaceConfig>,
    #[serde(default, rename = "card_terminal")]
    pub card_terminals: Vec<CardTerminalConfig>,
}

/// A mandant with the client systems and workplaces assigned to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MandantConfig {
    pub id: String,
    pub client_systems: Vec<String>,
    pub workplaces: Vec<String>,
}

/// A workplace: the client systems it is assigned to and the terminals it reaches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkplaceConfig {
    pub id: String,
    pub client_systems: Vec<String>,
    pub card_terminals: Vec<String>,
}

/// A card terminal with a number of slots.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardTerminalConfig {
    pub id: String,
    pub slots: u32,
}

/// One software card.
#[derive(Debug, Clone)]
pub struct CardConfig {
    pub kind: CardKind,
    /// ICCSN, 20 digits.
    pub iccsn: String,
    pub holder: String,
    pub telematik_id: String,
    pub terminal: String,
    pub slot: u32,
    pub inserted: bool,
    pub pins: Vec<PinConfig>,
    pub keys: Vec<CardKeyMaterial>,
}

/// Initial state of one PIN.
#[derive(Debug, Clone, Copy)]
pub struct PinConfig {
    pub pin_type: PinType,
    pub status: PinStatus,
    pub left_tries: u32,
}

/// A key pair of a card: certificate and PKCS#8 private key (DER).
#[derive(Clone)]
pub struct CardKeyMaterial {
    pub role: KeyRole,
    pub crypt: Crypt,
    pub certificate_der: Vec<u8>,
    pub pkcs8_der: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for CardKeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardKeyMaterial")
            .field("role", &self.role)
            .field("crypt", &self.crypt)
            .field("certificate_len", &self.certificate_der.len())
            .field("private_key", &"[REDACTED]")
            .finish()
    }
}

// ---- raw TOML ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: String,
    plain_listen: Option<String>,
    #[serde(default = "yes")]
    tls_mandatory: bool,
    #[serde(default = "yes")]
    sds_over_plain_http: bool,
    tls: RawTls,
    #[serde(default)]
    client_auth: RawClientAuth,
    #[serde(default)]
    product: Option<ProductInfo>,
    #[serde(default, rename = "service")]
    services: Option<Vec<ServiceVersions>>,
    #[serde(flatten)]
    model: InfoModelConfig,
    #[serde(default, rename = "card")]
    cards: Vec<RawCard>,
    trust: RawTrust,
    #[serde(default)]
    knobs: RawKnobs,
    #[serde(default = "default_timeout")]
    request_timeout_ms: u64,
}

fn yes() -> bool {
    true
}

fn default_timeout() -> u64 {
    60_000
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    certificate_chain: Option<PathBuf>,
    private_key: Option<PathBuf>,
    pkcs12: Option<PathBuf>,
    pkcs12_password: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClientAuth {
    #[serde(default)]
    mode: Option<String>,
    trusted_client_cas: Option<PathBuf>,
    user: Option<String>,
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    ca_certificates: Vec<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawKnobs {
    #[serde(default)]
    ocsp_unavailable: bool,
    #[serde(default, rename = "operation")]
    operations: Vec<RawKnob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKnob {
    name: String,
    #[serde(default)]
    delay_ms: u64,
    unavailable: Option<String>,
    #[serde(default)]
    fail_next: u32,
    fail_code: Option<u32>,
    #[serde(default)]
    stall: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    #[serde(rename = "type")]
    kind: String,
    iccsn: String,
    holder: String,
    telematik_id: String,
    terminal: String,
    slot: u32,
    #[serde(default = "yes")]
    inserted: bool,
    keys: PathBuf,
    #[serde(default, rename = "pin")]
    pins: Vec<RawPin>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPin {
    #[serde(rename = "type")]
    pin_type: String,
    status: String,
    left_tries: u32,
}

impl SimConfig {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<SimConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            key: "(configuration file)".into(),
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        SimConfig::from_toml_str(&text, base)
    }

    /// Parses and validates TOML text; relative paths are resolved against `base`.
    pub fn from_toml_str(text: &str, base: &Path) -> Result<SimConfig, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let cfg = raw.into_config(base)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks cross references and ranges. Called by the loaders and by `KonnektorSim::start`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_services(&self.services)?;
        crate::model::InfoModel::new(&self.model)?;
        let terminals: Vec<&CardTerminalConfig> = self.model.card_terminals.iter().collect();
        let mut iccsns = BTreeSet::new();
        let mut slots = BTreeSet::new();
        for (i, card) in self.cards.iter().enumerate() {
            let key = |k: &str| format!("card[{i}].{k}");
            if card.iccsn.len() != 20 || !card.iccsn.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(key("iccsn"), &card.iccsn, "exactly 20 digits"));
            }
            if !iccsns.insert(card.iccsn.clone()) {
                return Err(invalid(key("iccsn"), &card.iccsn, "unique per card"));
            }
            let Some(t) = terminals.iter().find(|t| t.id == card.terminal) else {
                return Err(invalid(
                    key("terminal"),
                    &card.terminal,
                    "a configured card_terminal id",
                ));
            };
            if card.slot == 0 || card.slot > t.slots {
                return Err(invalid(
                    key("slot"),
                    card.slot.to_string(),
                    &format!("1..={} (slots of {})", t.slots, t.id),
                ));
            }
            if card.inserted && !slots.insert((card.terminal.clone(), card.slot)) {
                return Err(invalid(key("slot"), card.slot.to_string(), "a free slot"));
            }
            if card.keys.is_empty() {
                return Err(invalid(
                    key("keys"),
                    "(no key pairs found)",
                    "at least one <role>-<rsa|ecc> pair",
                ));
            }
            for p in &card.pins {
                if p.left_tries > 3 {
                    return Err(invalid(
                        key("pin.left_tries"),
                        p.left_tries.to_string(),
                        "0..=3",
                    ));
                }
            }
        }
        if self.request_timeout < Duration::from_millis(100) {
            return Err(invalid(
                "request_timeout_ms",
                self.request_timeout.as_millis().to_string(),
                "at least 100",
            ));
        }
        Ok(())
    }
}

fn validate_services(services: &[ServiceVersions]) -> Result<(), ConfigError> {
    for s in services {
        let Some((_, known)) = KNOWN_SERVICES.iter().find(|(n, _)| *n == s.name) else {
            let names: Vec<&str> = KNOWN_SERVICES.iter().map(|(n, _)| *n).collect();
            return Err(invalid("service.name", &s.name, &names.join(", ")));
        };
        if s.versions.is_empty() {
            return Err(invalid(
                format!("service.{}.versions", s.name),
                "[]",
                "at least one version",
            ));
        }
        for v in &s.versions {
            if !known.contains(&v.as_str()) {
                return Err(invalid(
                    format!("service.{}.versions", s.name),
                    v,
                    &known.join(", "),
                ));
            }
        }
    }
    Ok(())
}

impl RawConfig {
    fn into_config(self, base: &Path) -> Result<SimConfig, ConfigError> {
        let listen = parse_addr("listen", &self.listen)?;
        let plain_listen = self
            .plain_listen
            .as_deref()
            .map(|a| parse_addr("plain_listen", a))
            .transpose()?;
        let identity = self.tls.into_identity(base)?;
        let client_auth = self.client_auth.into_mode(base)?;
        let mut trust = Vec::new();
        for p in &self.trust.ca_certificates {
            trust.extend(read_cert_bundle("trust.ca_certificates", &base.join(p))?);
        }
        let mut cards = Vec::new();
        for (i, c) in self.cards.into_iter().enumerate() {
            cards.push(c.into_card(i, base)?);
        }
        let mut knobs = KnobSettings::default();
        for k in self.knobs.operations {
            let op = Operation::from_name(&k.name).ok_or_else(|| {
                invalid(
                    "knobs.operation.name",
                    &k.name,
                    "an operation name such as SignDocument",
                )
            })?;
            let unavailable = match k.unavailable.as_deref() {
                None => None,
                Some("refuse") => Some(Unavailable::Refuse),
                Some("4002") => Some(Unavailable::Fault4002),
                Some(other) => {
                    return Err(invalid(
                        "knobs.operation.unavailable",
                        other,
                        "\"refuse\" or \"4002\"",
                    ));
                }
            };
            let fail_code = k.fail_code.unwrap_or(4001);
            if !(4000..=4999).contains(&fail_code) {
                return Err(invalid(
                    "knobs.operation.fail_code",
                    fail_code.to_string(),
                    "4000..=4999",
                ));
            }
            let entry = knobs.entry(op);
            entry.delay = Duration::from_millis(k.delay_ms);
            entry.unavailable = unavailable;
            entry.fail_next = k.fail_next;
            entry.fail_code = fail_code;
            entry.stall = k.stall;
        }
        Ok(SimConfig {
            listen,
            plain_listen,
            tls: TlsSettings {
                identity,
                client_auth,
            },
            tls_mandatory: self.tls_mandatory,
            sds_over_plain_http: self.sds_over_plain_http,
            product: self.product.unwrap_or_default(),
            services: self.services.unwrap_or_else(default_services),
            model: self.model,
            cards,
            trust,
            knobs,
            ocsp_unavailable: self.knobs.ocsp_unavailable,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
        })
    }
}

fn parse_addr(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value
        .parse()
        .map_err(|_| invalid(key, value, "an IP socket address such as 127.0.0.1:8443"))
}

impl RawTls {
    fn into_identity(self, base: &Path) -> Result<IdentitySource, ConfigError> {
        match (self.certificate_chain, self.private_key, self.pkcs12) {
            (Some(chain), Some(key), None) => {
                let chain = read_cert_bundle("tls.certificate_chain", &base.join(chain))?;
                let key_path = base.join(key);
                let pem = Zeroizing::new(read_file("tls.private_key", &key_path)?);
                let pkcs8 = decode_pem_key("tls.private_key", &key_path, &pem)?;
                Ok(IdentitySource::Der { chain, pkcs8 })
            }
            (None, None, Some(p12)) => Ok(IdentitySource::Pkcs12 {
                bytes: Zeroizing::new(read_file("tls.pkcs12", &base.join(p12))?),
                password: Zeroizing::new(self.pkcs12_password.unwrap_or_default()),
            }),
            _ => Err(invalid(
                "tls",
                "(certificate_chain/private_key/pkcs12)",
                "either certificate_chain + private_key, or pkcs12 (+ pkcs12_password)",
            )),
        }
    }
}

impl RawClientAuth {
    fn into_mode(self, base: &Path) -> Result<ClientAuthMode, ConfigError> {
        match self.mode.as_deref().unwrap_or("none") {
            "none" => Ok(ClientAuthMode::None),
            "certificate" => {
                let path = self.trusted_client_cas.ok_or_else(|| {
                    invalid(
                        "client_auth.trusted_client_cas",
                        "(missing)",
                        "a PEM bundle path",
                    )
                })?;
                let trusted_cas =
                    read_cert_bundle("client_auth.trusted_client_cas", &base.join(path))?;
                Ok(ClientAuthMode::Certificate { trusted_cas })
            }
            "basic" => {
                let user = self
                    .user
                    .filter(|u| !u.is_empty() && !u.contains(':'))
                    .ok_or_else(|| {
                        invalid(
                            "client_auth.user",
                            "(missing or contains ':')",
                            "a non-empty name without ':'",
                        )
                    })?;
                let password = self.password.filter(|p| !p.is_empty()).ok_or_else(|| {
                    invalid("client_auth.password", "(missing)", "a non-empty password")
                })?;
                Ok(ClientAuthMode::Basic {
                    user,
                    password: Zeroizing::new(password),
                })
            }
            other => Err(invalid(
                "client_auth.mode",
                other,
                "none | certificate | basic",
            )),
        }
    }
}

impl RawCard {
    fn into_card(self, i: usize, base: &Path) -> Result<CardConfig, ConfigError> {
        let key = |k: &str| format!("card[{i}].{k}");
        let kind = CardKind::from_wire(&self.kind)
            .ok_or_else(|| invalid(key("type"), &self.kind, "SMC-B | HSM-B | HBA"))?;
        let keys = load_key_dir(&key("keys"), &base.join(&self.keys), kind)?;
        let mut pins = default_pins(kind);
        for p in self.pins {
            let pin_type = PinType::from_wire(&p.pin_type)
                .filter(|t| kind.pin_types().contains(t))
                .ok_or_else(|| invalid(key("pin.type"), &p.pin_type, kind.pin_types_text()))?;
            let status = PinStatus::from_wire(&p.status).ok_or_else(|| {
                invalid(
                    key("pin.status"),
                    &p.status,
                    "VERIFIABLE | VERIFIED | TRANSPORT_PIN | BLOCKED | EMPTY_PIN | DISABLED",
                )
            })?;
            if let Some(slot) = pins.iter_mut().find(|x| x.pin_type == pin_type) {
                slot.status = status;
                slot.left_tries = p.left_tries;
            }
        }
        Ok(CardConfig {
            kind,
            iccsn: self.iccsn,
            holder: self.holder,
            telematik_id: self.telematik_id,
            terminal: self.terminal,
            slot: self.slot,
            inserted: self.inserted,
            pins,
            keys,
        })
    }
}

/// The PINs of a fresh card: every PIN verifiable with 3 tries; an HSM-B's PIN is
/// verified from the start (the HSM's operator unlocks it, no card terminal asks).
pub fn default_pins(kind: CardKind) -> Vec<PinConfig> {
    let status = match kind {
        CardKind::Hsmb => PinStatus::Verified,
        CardKind::Smcb | CardKind::Hba => PinStatus::Verifiable,
    };
    kind.pin_types()
        .iter()
        .map(|t| PinConfig {
            pin_type: *t,
            status,
            left_tries: 3,
        })
        .collect()
}

/// Loads every `<role>-<rsa|ecc>.crt.der` + `.key.pem` pair present in `dir`
/// (`kim pki create` layout, `cards/<Telematik-ID>/`).
pub fn load_key_dir(
    key: &str,
    dir: &Path,
    kind: CardKind,
) -> Result<Vec<CardKeyMaterial>, ConfigError> {
    if !dir.is_dir() {
        return Err(invalid(
            key,
            dir.display().to_string(),
            "a directory in the `kim pki create` card layout",
        ));
    }
    let mut out = Vec::new();
    for role in [KeyRole::Aut, KeyRole::Enc, KeyRole::Sig] {
        for crypt in [Crypt::Rsa, Crypt::Ecc] {
            let stem = format!("{}-{}", role.file_tag(kind), crypt.file_tag());
            let cert_path = dir.join(format!("{stem}.crt.der"));
            let key_path = dir.join(format!("{stem}.key.pem"));
            if !cert_path.exists() && !key_path.exists() {
                continue;
            }
            let certificate_der = read_file(key, &cert_path)?;
            let pem = Zeroizing::new(read_file(key, &key_path)?);
            let pkcs8_der = decode_pem_key(key, &key_path, &pem)?;
            out.push(CardKeyMaterial {
                role,
                crypt,
                certificate_der,
                pkcs8_der,
            });
        }
    }
    Ok(out)
}

fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Io {
        key: key.into(),
        path: path.to_path_buf(),
        source,
    })
}

fn decode_pem_key(key: &str, path: &Path, pem: &[u8]) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let (label, der) = pem_rfc7468::decode_vec(pem).map_err(|e| {
        invalid(
            key,
            path.display().to_string(),
            &format!("a PKCS#8 PEM key ({e})"),
        )
    })?;
    if label != "PRIVATE KEY" {
        return Err(invalid(
            key,
            path.display().to_string(),
            "a `PRIVATE KEY` (PKCS#8) PEM block",
        ));
    }
    Ok(Zeroizing::new(der))
}

/// Reads a PEM bundle (or a single DER certificate) into DER certificates.
pub fn read_cert_bundle(key: &str, path: &Path) -> Result<Vec<Vec<u8>>, ConfigError> {
    let bytes = read_file(key, path)?;
    let certs = parse_cert_bundle(&bytes)
        .map_err(|what| invalid(key, path.display().to_string(), &what))?;
    if certs.is_empty() {
        return Err(invalid(
            key,
            path.display().to_string(),
            "at least one certificate",
        ));
    }
    Ok(certs)
}

/// Splits PEM text into `CERTIFICATE` blocks (DER input is returned as one certificate).
pub fn parse_cert_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![bytes.to_vec()]);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "PEM text (UTF-8)".to_string())?;
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let tail = rest.get(start..).unwrap_or_default();
        let Some(end) = tail.find(END) else {
            return Err("PEM certificates with END lines".into());
        };
        let block = tail.get(..end + END.len()).unwrap_or_default();
        let (_, der) = pem_rfc7468::decode_vec(block.as_bytes())
            .map_err(|e| format!("valid PEM certificates ({e})"))?;
        out.push(der);
        rest = tail.get(end + END.len()..).unwrap_or_default();
    }
    Ok(out)
}
