//! A complete configuration built from a [`TestPki`] (tests and the sandbox).
//!
//! Information model: mandant `Mandant1` with client system `ClientID1` and workplaces
//! `Workplace1` (reaches terminal `CT1`) and `Workplace2` (reaches `CT2`); mandant `Mandant2`
//! with `ClientID2` / `Workplace3` (reaches no terminal). Every card of the PKI sits in
//! `CT1`, slot 1, 2, …, inserted, all PINs VERIFIABLE with 3 tries. TLS identity: the PKI's
//! `konnektor` entity; trust: every CA of the PKI.

use std::time::Duration;

use kim_testkit::pki::{CardKeyRole, CardKind as PkiCardKind, KeyAlgorithm, TestPki};
use zeroize::Zeroizing;

use crate::config::{
    CardConfig, CardKeyMaterial, CardTerminalConfig, ClientAuthMode, IdentitySource,
    InfoModelConfig, MandantConfig, ProductInfo, SimConfig, TlsSettings, WorkplaceConfig,
    default_pins, default_services,
};
use crate::knobs::KnobSettings;
use crate::model::{CardKind, Crypt, KeyRole};

/// Errors building the default configuration.
#[derive(Debug, thiserror::Error)]
pub enum DefaultConfigError {
    /// The PKI has no TLS entity `konnektor`.
    #[error("the test PKI has no TLS entity `konnektor`")]
    NoKonnektorIdentity,
}

impl SimConfig {
    /// The default configuration for `pki` (see the module documentation).
    pub fn from_test_pki(pki: &TestPki) -> Result<SimConfig, DefaultConfigError> {
        let tls = pki
            .tls_entity("konnektor")
            .ok_or(DefaultConfigError::NoKonnektorIdentity)?;
        let mut chain = vec![tls.issued.certificate_der.clone()];
        chain.extend(tls.issued.chain_der.iter().cloned());
        let identity = IdentitySource::Der {
            chain,
            pkcs8: Zeroizing::new(tls.issued.private_key_pkcs8_der.to_vec()),
        };
        let cards = pki
            .cards
            .iter()
            .zip(1u32..)
            .map(|(card, slot)| {
                let kind = match card.spec.kind {
                    PkiCardKind::Smcb => CardKind::Smcb,
                    PkiCardKind::Hba => CardKind::Hba,
                };
                let keys = card
                    .all()
                    .into_iter()
                    .map(|(role, alg, issued)| CardKeyMaterial {
                        role: match role {
                            CardKeyRole::Aut => KeyRole::Aut,
                            CardKeyRole::Enc => KeyRole::Enc,
                            CardKeyRole::Sig => KeyRole::Sig,
                        },
                        crypt: match alg {
                            KeyAlgorithm::Rsa2048 => Crypt::Rsa,
                            KeyAlgorithm::BrainpoolP256r1 => Crypt::Ecc,
                        },
                        certificate_der: issued.certificate_der.clone(),
                        pkcs8_der: Zeroizing::new(issued.private_key_pkcs8_der.to_vec()),
                    })
                    .collect();
                CardConfig {
                    kind,
                    iccsn: card.spec.iccsn.clone(),
                    holder: card.spec.holder.clone(),
                    telematik_id: card.spec.telematik_id.clone(),
                    terminal: "CT1".into(),
                    slot,
                    inserted: true,
                    pins: default_pins(kind),
                    keys,
                }
            })
            .collect();
        let s = |v: &str| v.to_string();
        Ok(SimConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            plain_listen: None,
            tls: TlsSettings {
                identity,
                client_auth: ClientAuthMode::None,
            },
            tls_mandatory: true,
            sds_over_plain_http: true,
            product: ProductInfo::default(),
            services: default_services(),
            model: InfoModelConfig {
                mandants: vec![
                    MandantConfig {
                        id: s("Mandant1"),
                        client_systems: vec![s("ClientID1")],
                        workplaces: vec![s("Workplace1"), s("Workplace2")],
                    },
                    MandantConfig {
                        id: s("Mandant2"),
                        client_systems: vec![s("ClientID2")],
                        workplaces: vec![s("Workplace3")],
                    },
                ],
                workplaces: vec![
                    WorkplaceConfig {
                        id: s("Workplace1"),
                        client_systems: vec![s("ClientID1")],
                        card_terminals: vec![s("CT1")],
                    },
                    WorkplaceConfig {
                        id: s("Workplace2"),
                        client_systems: vec![s("ClientID1")],
                        card_terminals: vec![s("CT2")],
                    },
                    WorkplaceConfig {
                        id: s("Workplace3"),
                        client_systems: vec![s("ClientID2")],
                        card_terminals: vec![],
                    },
                ],
                card_terminals: vec![
                    CardTerminalConfig {
                        id: s("CT1"),
                        slots: 8,
                    },
                    CardTerminalConfig {
                        id: s("CT2"),
                        slots: 2,
                    },
                ],
            },
            cards,
            trust: pki
                .cas()
                .iter()
                .map(|ca| ca.certificate_der.clone())
                .collect(),
            knobs: KnobSettings::default(),
            ocsp_unavailable: false,
            request_timeout: Duration::from_secs(60),
        })
    }
}
