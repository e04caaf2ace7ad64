//! The entries of the key store and the trust store and the partner types that name them
//! (manual §4.4.5.3–§4.4.5.10: aliases `<partner>_CERTIFICATE-pk` for key pairs and
//! `<partner>_PASSWORD-cred` for credentials, free aliases in the trust store).

use std::path::{Path, PathBuf};

use der::Decode as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CmConfigError;
use crate::store::{self, StorePassword, b64, decode_all, encode_all, owned};

/// The other end of a connection (`-o` of the keytool).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Partner {
    /// `KON`: the default Konnektor; `KON.<id>`: the Konnektor with that KonnektorId.
    Konnektor(Option<String>),
    /// `FD`: the Fachdienst.
    Fachdienst,
    /// `CLIENT`: the practice software.
    Client,
}

impl Partner {
    /// Parses `KON`, `KON.<KonnektorId>`, `FD` or `CLIENT`.
    ///
    /// # Errors
    /// [`CmConfigError::Import`] naming the allowed values.
    pub fn parse(text: &str) -> Result<Partner, CmConfigError> {
        match text {
            "KON" => Ok(Partner::Konnektor(None)),
            "FD" => Ok(Partner::Fachdienst),
            "CLIENT" => Ok(Partner::Client),
            other => match other.strip_prefix("KON.") {
                Some(id) if !id.is_empty() => Ok(Partner::Konnektor(Some(id.to_owned()))),
                _ => Err(CmConfigError::Import {
                    what: format!("partner type {other:?}"),
                    reason: "allowed are KON, KON.<KonnektorId>, FD, CLIENT".into(),
                }),
            },
        }
    }

    /// Alias of this partner's key pair.
    pub fn keypair_alias(&self) -> String {
        format!("{self}_CERTIFICATE-pk")
    }

    /// Alias of this partner's credentials.
    pub fn password_alias(&self) -> String {
        format!("{self}_PASSWORD-cred")
    }
}

impl std::fmt::Display for Partner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Partner::Konnektor(None) => f.write_str("KON"),
            Partner::Konnektor(Some(id)) => write!(f, "KON.{id}"),
            Partner::Fachdienst => f.write_str("FD"),
            Partner::Client => f.write_str("CLIENT"),
        }
    }
}

/// A private key with its certificate chain (leaf first).
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyPair {
    /// Certificates, DER, leaf first.
    #[serde(with = "der_list")]
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 private key, DER.
    #[serde(with = "b64")]
    pub pkcs8: Vec<u8>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("chain", &self.chain.len())
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

impl Drop for KeyPair {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.pkcs8);
    }
}

impl KeyPair {
    /// Reads a PKCS#12 file.
    ///
    /// # Errors
    /// [`CmConfigError::Import`] (wrong password, no key).
    pub fn from_pkcs12(what: &str, bytes: &[u8], password: &str) -> Result<KeyPair, CmConfigError> {
        let p12 = kim_pkcs12::parse(bytes, password).map_err(|e| CmConfigError::Import {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
        let mut chain = vec![p12.certificate.clone()];
        chain.extend(p12.ca_certificates.iter().cloned());
        Ok(KeyPair {
            chain,
            pkcs8: p12.private_key.to_vec(),
        })
    }

    /// Reads PEM text with `CERTIFICATE` blocks (leaf first) and one `PRIVATE KEY` block.
    ///
    /// # Errors
    /// [`CmConfigError::Import`] if the key or the certificates are missing.
    pub fn from_pem(what: &str, text: &[u8]) -> Result<KeyPair, CmConfigError> {
        let blocks = pem_blocks(what, text)?;
        let mut chain = Vec::new();
        let mut key = None;
        for (label, der) in blocks {
            match label.as_str() {
                "CERTIFICATE" => chain.push(der),
                "PRIVATE KEY" => key = Some(der),
                _ => {}
            }
        }
        let import = |reason: &str| CmConfigError::Import {
            what: what.to_owned(),
            reason: reason.to_owned(),
        };
        let pkcs8 = key.ok_or_else(|| import("no PRIVATE KEY (PKCS#8) block"))?;
        if chain.is_empty() {
            return Err(import("no CERTIFICATE block"));
        }
        Ok(KeyPair { chain, pkcs8 })
    }

    /// The private key, zeroised on drop.
    pub fn pkcs8(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.pkcs8.clone())
    }
}

/// Splits PEM text into (label, DER) blocks.
pub fn pem_blocks(what: &str, text: &[u8]) -> Result<Vec<(String, Vec<u8>)>, CmConfigError> {
    let text = std::str::from_utf8(text).map_err(|_| CmConfigError::Import {
        what: what.to_owned(),
        reason: "not PEM text".into(),
    })?;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = rest.get(start..).unwrap_or_default();
        let end_marker = block
            .find("-----END ")
            .ok_or_else(|| CmConfigError::Import {
                what: what.to_owned(),
                reason: "unterminated PEM block".into(),
            })?;
        let after = block.get(end_marker + 9..).unwrap_or_default();
        let close = after.find("-----").map_or(after.len(), |i| i + 5);
        let whole = block.get(..end_marker + 9 + close).unwrap_or_default();
        let (label, der) =
            pem_rfc7468::decode_vec(whole.as_bytes()).map_err(|e| CmConfigError::Import {
                what: what.to_owned(),
                reason: format!("bad PEM: {e}"),
            })?;
        out.push((label.to_owned(), der));
        rest = block.get(end_marker + 9 + close..).unwrap_or_default();
    }
    Ok(out)
}

/// Certificates from PEM (one or more blocks) or a single DER certificate.
///
/// # Errors
/// [`CmConfigError::Import`] if there is no parseable certificate.
pub fn read_certificates(what: &str, bytes: &[u8]) -> Result<Vec<Vec<u8>>, CmConfigError> {
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----") || bytes.starts_with(b"\n") {
        pem_blocks(what, bytes)?
            .into_iter()
            .filter(|(l, _)| l == "CERTIFICATE")
            .map(|(_, d)| d)
            .collect()
    } else {
        vec![bytes.to_vec()]
    };
    if ders.is_empty() {
        return Err(CmConfigError::Import {
            what: what.to_owned(),
            reason: "no certificate".into(),
        });
    }
    for der in &ders {
        CertSummary::parse(der).map_err(|reason| CmConfigError::Import {
            what: what.to_owned(),
            reason,
        })?;
    }
    Ok(ders)
}

/// What listings show of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// End of validity, Unix seconds.
    pub not_after: u64,
}

impl CertSummary {
    /// Reads the fields of a DER certificate.
    ///
    /// # Errors
    /// A description if the bytes are no X.509 certificate.
    pub fn parse(der: &[u8]) -> Result<CertSummary, String> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| format!("not a certificate: {e}"))?;
        let tbs = cert.tbs_certificate();
        Ok(CertSummary {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial: hex::encode(tbs.serial_number().as_bytes()),
            not_after: tbs.validity().not_after.to_unix_duration().as_secs(),
        })
    }
}

mod der_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ders: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(super::encode_all(ders))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        super::decode_all(std::path::Path::new("store"), &items)
            .map_err(|e| serde::de::Error::custom(e.to_string()))
    }
}

/// User name and password for HTTP Basic (towards the Konnektor).
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.password);
    }
}

/// One listing line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The alias.
    pub alias: String,
    /// What it holds: `key pair`, `credentials` or `trusted certificate`.
    pub kind: &'static str,
    /// The certificates (key pair: its chain; trust entry: its certificates).
    pub certificates: Vec<CertSummary>,
    /// For credentials: the user name (the password is never listed).
    pub user: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct KeyStoreContent {
    kind: String,
    keypairs: Vec<(String, KeyPair)>,
    credentials: Vec<(String, Credentials)>,
}

/// The key store: key pairs and credentials by partner.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    content: KeyStoreContentDebug,
}

struct KeyStoreContentDebug(KeyStoreContent);

impl std::fmt::Debug for KeyStoreContentDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStoreContent")
            .field("keypairs", &self.0.keypairs.len())
            .field("credentials", &self.0.credentials.len())
            .finish()
    }
}

const KEY_STORE_KIND: &str = "kim-cm-keystore";
const TRUST_STORE_KIND: &str = "kim-cm-truststore";

fn wrong_kind(path: &Path) -> CmConfigError {
    CmConfigError::StoreContent {
        path: owned(path),
        reason: "this file is not a store of this kind (key store vs trust store)".into(),
    }
}

impl KeyStore {
    /// Opens the key store at `path`, or an empty one if the file does not exist yet.
    ///
    /// # Errors
    /// [`CmConfigError::StoreLocked`] for a wrong password or damaged file.
    pub fn open(path: &Path, password: &StorePassword) -> Result<KeyStore, CmConfigError> {
        let content: KeyStoreContent = match store::load_json(path, password)? {
            Some(c) => c,
            None => KeyStoreContent {
                kind: KEY_STORE_KIND.into(),
                ..KeyStoreContent::default()
            },
        };
        if content.kind != KEY_STORE_KIND {
            return Err(wrong_kind(path));
        }
        Ok(KeyStore {
            path: owned(path),
            content: KeyStoreContentDebug(content),
        })
    }

    /// Writes the store (atomically).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, password: &StorePassword) -> Result<(), CmConfigError> {
        store::save_json(&self.path, password, &self.content.0)
    }

    /// Adds or replaces the partner's key pair.
    pub fn set_keypair(&mut self, partner: &Partner, pair: KeyPair) {
        let alias = partner.keypair_alias();
        self.content.0.keypairs.retain(|(a, _)| *a != alias);
        self.content.0.keypairs.push((alias, pair));
    }

    /// The partner's key pair.
    pub fn keypair(&self, partner: &Partner) -> Option<&KeyPair> {
        let alias = partner.keypair_alias();
        self.content
            .0
            .keypairs
            .iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, p)| p)
    }

    /// Removes the partner's key pair.
    ///
    /// # Errors
    /// [`CmConfigError::NoSuchEntry`].
    pub fn remove_keypair(&mut self, partner: &Partner) -> Result<(), CmConfigError> {
        let alias = partner.keypair_alias();
        let before = self.content.0.keypairs.len();
        self.content.0.keypairs.retain(|(a, _)| *a != alias);
        self.removed(before != self.content.0.keypairs.len(), alias)
    }

    /// Adds or replaces the partner's credentials.
    pub fn set_credentials(&mut self, partner: &Partner, credentials: Credentials) {
        let alias = partner.password_alias();
        self.content.0.credentials.retain(|(a, _)| *a != alias);
        self.content.0.credentials.push((alias, credentials));
    }

    /// The partner's credentials.
    pub fn credentials(&self, partner: &Partner) -> Option<&Credentials> {
        let alias = partner.password_alias();
        self.content
            .0
            .credentials
            .iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, c)| c)
    }

    /// Removes the partner's credentials.
    ///
    /// # Errors
    /// [`CmConfigError::NoSuchEntry`].
    pub fn remove_credentials(&mut self, partner: &Partner) -> Result<(), CmConfigError> {
        let alias = partner.password_alias();
        let before = self.content.0.credentials.len();
        self.content.0.credentials.retain(|(a, _)| *a != alias);
        self.removed(before != self.content.0.credentials.len(), alias)
    }

    fn removed(&self, did: bool, alias: String) -> Result<(), CmConfigError> {
        if did {
            Ok(())
        } else {
            Err(CmConfigError::NoSuchEntry {
                alias,
                path: self.path.clone(),
            })
        }
    }

    /// All entries, key pairs first (passwords are never listed).
    pub fn list(&self) -> Vec<Listed> {
        let pairs = self.content.0.keypairs.iter().map(|(alias, pair)| Listed {
            alias: alias.clone(),
            kind: "key pair",
            certificates: pair
                .chain
                .iter()
                .filter_map(|d| CertSummary::parse(d).ok())
                .collect(),
            user: None,
        });
        let creds = self.content.0.credentials.iter().map(|(alias, c)| Listed {
            alias: alias.clone(),
            kind: "credentials",
            certificates: Vec::new(),
            user: Some(c.user.clone()),
        });
        pairs.chain(creds).collect()
    }
}

#[derive(Default, Serialize, Deserialize)]
struct TrustEntry {
    alias: String,
    /// `None`: trusted for every partner.
    partner: Option<String>,
    certificates: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct TrustStoreContent {
    kind: String,
    entries: Vec<TrustEntry>,
}

/// The trust store: certificates by alias, optionally limited to one partner.
pub struct TrustStore {
    path: PathBuf,
    content: TrustStoreContent,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("path", &self.path)
            .field("entries", &self.content.entries.len())
            .finish()
    }
}

impl TrustStore {
    /// Opens the trust store at `path`, or an empty one if the file does not exist yet.
    ///
    /// # Errors
    /// [`CmConfigError::StoreLocked`] for a wrong password or damaged file.
    pub fn open(path: &Path, password: &StorePassword) -> Result<TrustStore, CmConfigError> {
        let content = match store::load_json::<TrustStoreContent>(path, password)? {
            Some(c) => c,
            None => TrustStoreContent {
                kind: TRUST_STORE_KIND.into(),
                entries: Vec::new(),
            },
        };
        if content.kind != TRUST_STORE_KIND {
            return Err(wrong_kind(path));
        }
        Ok(TrustStore {
            path: owned(path),
            content,
        })
    }

    /// Writes the store (atomically).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, password: &StorePassword) -> Result<(), CmConfigError> {
        store::save_json(&self.path, password, &self.content)
    }

    /// Adds or replaces the entry `alias`.
    pub fn set(&mut self, alias: &str, partner: Option<&Partner>, certificates: &[Vec<u8>]) {
        self.content.entries.retain(|e| e.alias != alias);
        self.content.entries.push(TrustEntry {
            alias: alias.to_owned(),
            partner: partner.map(ToString::to_string),
            certificates: encode_all(certificates),
        });
    }

    /// Removes the entry `alias`.
    ///
    /// # Errors
    /// [`CmConfigError::NoSuchEntry`].
    pub fn remove(&mut self, alias: &str) -> Result<(), CmConfigError> {
        let before = self.content.entries.len();
        self.content.entries.retain(|e| e.alias != alias);
        if before == self.content.entries.len() {
            return Err(CmConfigError::NoSuchEntry {
                alias: alias.to_owned(),
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// The certificates trusted for `partner` (entries for it and entries for everyone).
    ///
    /// # Errors
    /// [`CmConfigError::StoreContent`] for a damaged entry.
    pub fn anchors_for(&self, partner: &Partner) -> Result<Vec<Vec<u8>>, CmConfigError> {
        let name = partner.to_string();
        let mut out = Vec::new();
        for e in &self.content.entries {
            if e.partner.as_ref().is_none_or(|p| *p == name) {
                out.extend(decode_all(&self.path, &e.certificates)?);
            }
        }
        Ok(out)
    }

    /// All entries.
    pub fn list(&self) -> Vec<Listed> {
        self.content
            .entries
            .iter()
            .map(|e| Listed {
                alias: e.alias.clone(),
                kind: "trusted certificate",
                certificates: decode_all(&self.path, &e.certificates)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|d| CertSummary::parse(d).ok())
                    .collect(),
                user: e.partner.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn pki() -> &'static kim_testkit::pki::TestPki {
        kim_testkit::pki::TestPki::shared_default().unwrap()
    }

    #[test]
    fn partners_and_aliases() {
        assert_eq!(
            Partner::parse("KON").unwrap().keypair_alias(),
            "KON_CERTIFICATE-pk"
        );
        assert_eq!(
            Partner::parse("FD").unwrap().password_alias(),
            "FD_PASSWORD-cred"
        );
        assert_eq!(
            Partner::parse("KON.Konn_2").unwrap(),
            Partner::Konnektor(Some("Konn_2".into()))
        );
        for bad in ["kon", "KON.", "FACHDIENST", ""] {
            let err = Partner::parse(bad).unwrap_err();
            assert!(
                err.to_string()
                    .contains("KON, KON.<KonnektorId>, FD, CLIENT"),
                "{err}"
            );
        }
    }

    #[test]
    fn pem_key_pairs_and_certificate_files() {
        let issued = &pki().tls_entity("clientmodul").unwrap().issued;
        let pem = format!(
            "{}{}",
            issued.certificate_pem().unwrap(),
            issued.private_key_pem().unwrap().as_str()
        );
        let pair = KeyPair::from_pem("cm.pem", pem.as_bytes()).unwrap();
        assert_eq!(pair.chain[0], issued.certificate_der);
        assert_eq!(
            pair.pkcs8().as_slice(),
            issued.private_key_pkcs8_der.as_slice()
        );
        assert!(!format!("{pair:?}").contains(&format!("{:?}", &pair.pkcs8[..4])));
        let err =
            KeyPair::from_pem("c.pem", issued.certificate_pem().unwrap().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("no PRIVATE KEY"), "{err}");

        let bundle = pki().ca_bundle_pem().unwrap();
        let certs = read_certificates("bundle", bundle.as_bytes()).unwrap();
        assert!(certs.len() > 1);
        let der = read_certificates("der", &issued.certificate_der).unwrap();
        assert_eq!(der.len(), 1);
        assert!(read_certificates("junk", b"not a certificate").is_err());
        let summary = CertSummary::parse(&issued.certificate_der).unwrap();
        assert!(
            summary.subject.contains("CN=clientmodul.test"),
            "{summary:?}"
        );
    }

    #[test]
    fn stores_round_trip_and_trust_is_per_partner() {
        let dir = tempfile::tempdir().unwrap();
        let pw = StorePassword::load_or_create(&dir.path().join("pw")).unwrap();
        let (ks_path, ts_path) = (dir.path().join("ks"), dir.path().join("ts"));
        let issued = &pki().tls_entity("clientmodul").unwrap().issued;

        let mut ks = KeyStore::open(&ks_path, &pw).unwrap();
        ks.set_keypair(
            &Partner::Fachdienst,
            KeyPair {
                chain: vec![issued.certificate_der.clone()],
                pkcs8: issued.private_key_pkcs8_der.to_vec(),
            },
        );
        ks.set_credentials(
            &Partner::Konnektor(None),
            Credentials {
                user: "u".into(),
                password: "p".into(),
            },
        );
        ks.save(&pw).unwrap();
        let ks = KeyStore::open(&ks_path, &pw).unwrap();
        assert!(ks.keypair(&Partner::Fachdienst).is_some());
        assert!(ks.keypair(&Partner::Client).is_none());
        assert_eq!(ks.credentials(&Partner::Konnektor(None)).unwrap().user, "u");
        assert!(!format!("{:?}", ks.credentials(&Partner::Konnektor(None))).contains("\"p\""));

        let mut ts = TrustStore::open(&ts_path, &pw).unwrap();
        ts.set("all", None, &[b"A".to_vec()]);
        ts.set("fd", Some(&Partner::Fachdienst), &[b"F".to_vec()]);
        ts.save(&pw).unwrap();
        let ts = TrustStore::open(&ts_path, &pw).unwrap();
        assert_eq!(ts.anchors_for(&Partner::Fachdienst).unwrap().len(), 2);
        assert_eq!(
            ts.anchors_for(&Partner::Konnektor(None)).unwrap(),
            vec![b"A".to_vec()]
        );

        let err = TrustStore::open(&ks_path, &pw).unwrap_err();
        assert!(
            err.to_string().contains("not a store of this kind"),
            "{err}"
        );
    }
}
