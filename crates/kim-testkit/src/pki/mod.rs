//! A deterministic TI-like test PKI.
//!
//! [`TestPki::generate`] turns a [`PkiSpec`] into two hierarchies shaped like the
//! gematik TEST-ONLY PKI (samples in `SMIME-Profil.zip`):
//!
//! ```text
//! KIMRS.RCA-RSA TEST-ONLY (RSA-2048, self-signed)      KIMRS.RCA-ECC TEST-ONLY (brainpoolP256r1)
//! ├── KIMRS.KOMP-CA-RSA TEST-ONLY → TLS certificates    ├── KIMRS.KOMP-CA-ECC TEST-ONLY
//! ├── KIMRS.SMCB-CA-RSA TEST-ONLY → C.HCI.* (RSA)       ├── KIMRS.SMCB-CA-ECC TEST-ONLY → C.HCI.* (ECC)
//! └── KIMRS.HBA-CA-RSA TEST-ONLY  → C.HP.*  (RSA)       └── KIMRS.HBA-CA-ECC TEST-ONLY  → C.HP.*  (ECC)
//! ```
//!
//! Main types: [`PkiSpec`] / [`CardSpec`] / [`TlsSpec`] (input), [`TestPki`] (output)
//! holding [`Ca`]s, [`Card`]s and [`TlsEntity`]s, each certificate as an [`Issued`]
//! (DER certificate, PKCS#8 key, chain). Profiles: see [`profiles`]; the Admission
//! extension: [`admission`]; files on disk: [`TestPki::write_dir`].
//!
//! Invariants:
//! - Determinism: every key and serial number is derived from `SHA-256(seed, label)`
//!   with a stable per-entity label (`smcb/<Telematik-ID>/enc/rsa`, `tls/<name>`,
//!   `ca/rsa/root`, …); RSA signatures (PKCS#1 v1.5) and ECDSA signatures (RFC 6979)
//!   are deterministic, so the same spec gives byte-identical certificates and keys,
//!   and adding a card leaves all other entities unchanged.
//! - RSA leaves chain to RSA CAs, brainpool leaves to brainpool CAs.
//! - Every name carries `TEST-ONLY` or `NOT-VALID`; no key material is taken from
//!   anywhere but the seed.
//!
//! RSA key generation dominates the cost; [`PkiSpec::small_default`] has 16 RSA keys
//! and [`TestPki::shared_default`] generates it once per process.

pub mod admission;
mod ca;
mod card;
mod issued;
pub mod keys;
pub mod names;
mod output;
pub mod profiles;
mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

pub use admission::Admission;
pub use ca::{Ca, ValidityPeriod};
pub use card::{Card, TlsEntity};
pub use issued::Issued;
pub use keys::{KeyAlgorithm, KeyPair};
pub use output::{Manifest, ManifestEntry};
pub use profiles::{CardKeyRole, CardKind, TlsProfile};
pub use spec::{CardSpec, DEFAULT_SEED, PkiSpec, TlsSpec};

use ca::CertTemplate;
use names::{COMMON_NAME, COUNTRY, ORGANIZATION, ORGANIZATIONAL_UNIT, build_name};

/// Errors of the test PKI, split by who is to blame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The caller's [`PkiSpec`] (or a value passed in) is unusable.
    #[error("invalid PKI spec: {what}")]
    InvalidSpec {
        /// What was wrong, naming the field and value.
        what: String,
    },
    /// Certificate data handed to a parser is malformed.
    #[error("malformed certificate data: {what}")]
    Malformed {
        /// What was wrong.
        what: String,
    },
    /// ASN.1 DER encoding or decoding failed.
    #[error("DER encoding/decoding failed: {0}")]
    Der(#[from] der::Error),
    /// A cryptographic library operation failed (key generation, signing, encoding).
    #[error("{what} failed: {detail}")]
    Crypto {
        /// The operation.
        what: String,
        /// The library's message.
        detail: String,
    },
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Building a PKCS#12 file failed.
    #[error("PKCS#12 for {label} failed: {detail}")]
    Pkcs12 {
        /// Label of the entity.
        label: String,
        /// The builder's message.
        detail: String,
    },
}

/// A generated test PKI. All fields are public for tests; prefer the accessors.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The spec this PKI was generated from.
    pub spec: PkiSpec,
    /// RSA root CA (like GEM.RCA2 TEST-ONLY).
    pub root_rsa: Ca,
    /// brainpoolP256r1 root CA.
    pub root_ecc: Ca,
    /// RSA component CA (like GEM.KOMP-CA), issues the RSA TLS certificates.
    pub component_ca: Ca,
    /// brainpoolP256r1 component CA, issues brainpool TLS certificates.
    pub component_ca_ecc: Ca,
    /// RSA SMC-B CA (like GEM.SMCB-CA), issues C.HCI.* RSA.
    pub smcb_ca: Ca,
    /// brainpoolP256r1 SMC-B CA, issues C.HCI.* ECC.
    pub smcb_ca_ecc: Ca,
    /// RSA HBA CA (like GEM.HBA-CA), issues C.HP.* RSA.
    pub hba_ca: Ca,
    /// brainpoolP256r1 HBA CA, issues C.HP.* ECC.
    pub hba_ca_ecc: Ca,
    /// Cards in spec order.
    pub cards: Vec<Card>,
    /// TLS certificates in spec order.
    pub tls: Vec<TlsEntity>,
}

/// CA definitions: label stem, OU, CN stem.
const CA_DEFS: [(&str, &str, &str); 4] = [
    (
        "root",
        "Zentrale Root-CA der Telematikinfrastruktur",
        "KIMRS.RCA",
    ),
    (
        "komp",
        "Komponenten-CA der Telematikinfrastruktur",
        "KIMRS.KOMP-CA",
    ),
    (
        "smcb",
        "Institution des Gesundheitswesens-CA der Telematikinfrastruktur",
        "KIMRS.SMCB-CA",
    ),
    (
        "hba",
        "Heilberufsausweis-CA der Telematikinfrastruktur",
        "KIMRS.HBA-CA",
    ),
];

/// Root, component, SMC-B and HBA CA of one algorithm.
struct Hierarchy {
    root: Ca,
    komp: Ca,
    smcb: Ca,
    hba: Ca,
}

impl TestPki {
    /// Generates the PKI described by `spec`. Deterministic: the same spec always
    /// yields byte-identical certificates and keys.
    pub fn generate(spec: &PkiSpec) -> Result<TestPki, PkiError> {
        spec.validate()?;
        let mut keys = derive_all_keys(spec)?;
        let rsa = build_hierarchy(spec, KeyAlgorithm::Rsa2048, &mut keys)?;
        let ecc = build_hierarchy(spec, KeyAlgorithm::BrainpoolP256r1, &mut keys)?;
        let mut cards = Vec::with_capacity(spec.cards.len());
        for card in &spec.cards {
            cards.push(build_card(spec, card, &rsa, &ecc, &mut keys)?);
        }
        let mut tls = Vec::with_capacity(spec.tls.len());
        for entity in &spec.tls {
            let ca = match entity.algorithm {
                KeyAlgorithm::Rsa2048 => &rsa.komp,
                KeyAlgorithm::BrainpoolP256r1 => &ecc.komp,
            };
            let key = take_key(&mut keys, &card::tls_label(entity))?;
            let issued = card::issue_tls_certificate(&spec.seed, ca, entity, &key, spec.validity)?;
            tls.push(TlsEntity {
                spec: entity.clone(),
                issued,
            });
        }
        Ok(TestPki {
            spec: spec.clone(),
            root_rsa: rsa.root,
            root_ecc: ecc.root,
            component_ca: rsa.komp,
            component_ca_ecc: ecc.komp,
            smcb_ca: rsa.smcb,
            smcb_ca_ecc: ecc.smcb,
            hba_ca: rsa.hba,
            hba_ca_ecc: ecc.hba,
            cards,
            tls,
        })
    }

    /// The PKI of [`PkiSpec::small_default`], generated once per process.
    pub fn shared_default() -> Result<&'static TestPki, &'static PkiError> {
        static SHARED: OnceLock<Result<TestPki, PkiError>> = OnceLock::new();
        SHARED
            .get_or_init(|| TestPki::generate(&PkiSpec::small_default()))
            .as_ref()
    }

    /// The card with this Telematik-ID.
    pub fn card(&self, telematik_id: &str) -> Option<&Card> {
        self.cards
            .iter()
            .find(|c| c.spec.telematik_id == telematik_id)
    }

    /// The TLS entity with this name.
    pub fn tls_entity(&self, name: &str) -> Option<&TlsEntity> {
        self.tls.iter().find(|t| t.spec.name == name)
    }

    /// Every CA: RSA root, RSA intermediates, ECC root, ECC intermediates.
    pub fn cas(&self) -> [&Ca; 8] {
        [
            &self.root_rsa,
            &self.component_ca,
            &self.smcb_ca,
            &self.hba_ca,
            &self.root_ecc,
            &self.component_ca_ecc,
            &self.smcb_ca_ecc,
            &self.hba_ca_ecc,
        ]
    }

    /// The two roots (trust anchors).
    pub fn roots(&self) -> [&Ca; 2] {
        [&self.root_rsa, &self.root_ecc]
    }

    /// PEM concatenation of every CA certificate (roots and intermediates), in
    /// [`TestPki::cas`] order.
    pub fn ca_bundle_pem(&self) -> Result<String, PkiError> {
        let mut bundle = String::new();
        for ca in self.cas() {
            bundle.push_str(&ca.certificate_pem()?);
        }
        Ok(bundle)
    }
}

/// All key labels of a spec with their algorithms.
fn key_jobs(spec: &PkiSpec) -> Vec<(String, KeyAlgorithm)> {
    let mut jobs = Vec::new();
    for alg in KeyAlgorithm::ALL {
        for (stem, _, _) in CA_DEFS {
            jobs.push((ca_label(alg, stem), alg));
        }
    }
    for card in &spec.cards {
        for alg in KeyAlgorithm::ALL {
            for role in CardKeyRole::ALL {
                jobs.push((card::card_label(card, role, alg), alg));
            }
        }
    }
    for tls in &spec.tls {
        jobs.push((card::tls_label(tls), tls.algorithm));
    }
    jobs
}

/// Derives every key of the spec, spreading the RSA generations over threads.
fn derive_all_keys(spec: &PkiSpec) -> Result<BTreeMap<String, KeyPair>, PkiError> {
    let jobs = key_jobs(spec);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let seed = &spec.seed;
    let results: Vec<Result<Vec<(String, KeyPair)>, PkiError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let jobs = &jobs;
                scope.spawn(move || {
                    jobs.iter()
                        .skip(worker)
                        .step_by(workers)
                        .map(|(label, alg)| {
                            KeyPair::derive(*alg, seed, label).map(|k| (label.clone(), k))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(PkiError::Crypto {
                        what: "key generation thread".into(),
                        detail: "panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut keys = BTreeMap::new();
    for result in results {
        keys.extend(result?);
    }
    Ok(keys)
}

fn take_key(keys: &mut BTreeMap<String, KeyPair>, label: &str) -> Result<KeyPair, PkiError> {
    keys.remove(label).ok_or_else(|| PkiError::Crypto {
        what: format!("key lookup for {label}"),
        detail: "key was not derived (internal error)".into(),
    })
}

fn ca_label(alg: KeyAlgorithm, stem: &str) -> String {
    format!("ca/{}/{stem}", alg.tag())
}

fn build_hierarchy(
    spec: &PkiSpec,
    alg: KeyAlgorithm,
    keys: &mut BTreeMap<String, KeyPair>,
) -> Result<Hierarchy, PkiError> {
    let mut cas = Vec::with_capacity(CA_DEFS.len());
    for (stem, unit, cn_stem) in CA_DEFS {
        let label = ca_label(alg, stem);
        let cn = format!("{cn_stem}-{} TEST-ONLY", alg.tag().to_uppercase());
        let subject = build_name(&[
            (COUNTRY, "DE"),
            (ORGANIZATION, "kim-rs Test-PKI NOT-VALID"),
            (ORGANIZATIONAL_UNIT, unit),
            (COMMON_NAME, &cn),
        ])?;
        let template = CertTemplate {
            label: &label,
            subject,
            validity: spec.validity,
            extensions: Vec::new(),
        };
        let key = take_key(keys, &label)?;
        let ca = match cas.first() {
            None => Ca::new_root(&spec.seed, &label, key, template)?,
            Some(root) => Ca::new_subordinate(root, &spec.seed, &label, key, template)?,
        };
        cas.push(ca);
    }
    let mut cas = cas.into_iter();
    match (cas.next(), cas.next(), cas.next(), cas.next()) {
        (Some(root), Some(komp), Some(smcb), Some(hba)) => Ok(Hierarchy {
            root,
            komp,
            smcb,
            hba,
        }),
        _ => Err(PkiError::Crypto {
            what: "CA hierarchy".into(),
            detail: "missing CA (internal error)".into(),
        }),
    }
}

fn build_card(
    spec: &PkiSpec,
    card: &CardSpec,
    rsa: &Hierarchy,
    ecc: &Hierarchy,
    keys: &mut BTreeMap<String, KeyPair>,
) -> Result<Card, PkiError> {
    let mut issue = |role: CardKeyRole, alg: KeyAlgorithm| -> Result<Issued, PkiError> {
        let hierarchy = match alg {
            KeyAlgorithm::Rsa2048 => rsa,
            KeyAlgorithm::BrainpoolP256r1 => ecc,
        };
        let ca = match card.kind {
            CardKind::Smcb => &hierarchy.smcb,
            CardKind::Hba => &hierarchy.hba,
        };
        let key = take_key(keys, &card::card_label(card, role, alg))?;
        card::issue_card_certificate(&spec.seed, ca, card, role, &key, spec.validity)
    };
    Ok(Card {
        spec: card.clone(),
        aut_rsa: issue(CardKeyRole::Aut, KeyAlgorithm::Rsa2048)?,
        enc_rsa: issue(CardKeyRole::Enc, KeyAlgorithm::Rsa2048)?,
        osig_or_qes_rsa: issue(CardKeyRole::Sig, KeyAlgorithm::Rsa2048)?,
        aut_ecc: issue(CardKeyRole::Aut, KeyAlgorithm::BrainpoolP256r1)?,
        enc_ecc: issue(CardKeyRole::Enc, KeyAlgorithm::BrainpoolP256r1)?,
        osig_or_qes_ecc: issue(CardKeyRole::Sig, KeyAlgorithm::BrainpoolP256r1)?,
    })
}
