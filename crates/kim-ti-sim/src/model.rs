//! Information model and call-context checks (gemSpec_Kon TUC_KON_000; konnektor.md §4).
//!
//! Order of checks for a `CCTX:Context`: all three ids non-empty (4021); mandant,
//! client system and workplace exist (4004, 4005, 4006); client system assigned to the
//! mandant (4010); workplace assigned to the mandant (4011); workplace assigned to the
//! client system (4014). A card is usable from a workplace when its terminal is one the
//! workplace reaches (else 4012). An unknown card handle (never issued, or issued for an
//! earlier insertion) is 4101; a known handle of a card in an unreachable terminal is 4012.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{ConfigError, InfoModelConfig};
use crate::fault::Fault;

/// `CARDCMN:CardTypeType` values the simulator's cards have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CardKind {
    /// SMC-B (institution card).
    #[serde(rename = "SMC-B")]
    Smcb,
    /// HBA (health professional card).
    #[serde(rename = "HBA")]
    Hba,
    /// HSM-B: an institution identity held in a hardware security module (the SMC-B's
    /// keys and certificate profiles; its PIN is verified by the HSM's operator).
    #[serde(rename = "HSM-B")]
    Hsmb,
}

impl CardKind {
    /// Parses `SMC-B`, `HSM-B` or `HBA`.
    pub fn from_wire(s: &str) -> Option<CardKind> {
        match s {
            "SMC-B" => Some(CardKind::Smcb),
            "HSM-B" => Some(CardKind::Hsmb),
            "HBA" => Some(CardKind::Hba),
            _ => None,
        }
    }

    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            CardKind::Smcb => "SMC-B",
            CardKind::Hsmb => "HSM-B",
            CardKind::Hba => "HBA",
        }
    }

    /// Whether a `CardType` filter of GetCards selects this kind (group values included).
    pub fn matches_filter(self, filter: &str) -> bool {
        match self {
            CardKind::Smcb => matches!(filter, "SMC-B" | "SM-B"),
            CardKind::Hsmb => matches!(filter, "HSM-B" | "SM-B"),
            CardKind::Hba => matches!(filter, "HBA" | "HBAx"),
        }
    }

    /// PIN types of this card kind.
    pub fn pin_types(self) -> &'static [PinType] {
        match self {
            CardKind::Smcb | CardKind::Hsmb => &[PinType::Smc],
            CardKind::Hba => &[PinType::Ch, PinType::Qes],
        }
    }

    /// Allowed PIN types as text for error messages.
    pub fn pin_types_text(self) -> &'static str {
        match self {
            CardKind::Smcb | CardKind::Hsmb => "PIN.SMC",
            CardKind::Hba => "PIN.CH | PIN.QES",
        }
    }

    /// The PIN guarding a key role (SMC-B, HSM-B: PIN.SMC; HBA: PIN.QES for QES, else
    /// PIN.CH).
    pub fn pin_for(self, role: KeyRole) -> PinType {
        match (self, role) {
            (CardKind::Smcb | CardKind::Hsmb, _) => PinType::Smc,
            (CardKind::Hba, KeyRole::Sig) => PinType::Qes,
            (CardKind::Hba, _) => PinType::Ch,
        }
    }
}

/// Key roles of a card (C.AUT, C.ENC, C.SIG/C.QES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyRole {
    Aut,
    Enc,
    /// C.HCI.OSIG on an SMC-B, C.HP.QES on an HBA.
    Sig,
}

impl KeyRole {
    /// File name tag of the `kim pki create` layout.
    pub fn file_tag(self, kind: CardKind) -> &'static str {
        match (self, kind) {
            (KeyRole::Aut, _) => "aut",
            (KeyRole::Enc, _) => "enc",
            (KeyRole::Sig, CardKind::Smcb | CardKind::Hsmb) => "osig",
            (KeyRole::Sig, CardKind::Hba) => "qes",
        }
    }

    /// Maps a `CertRef` (`C.AUT`, `C.ENC`, `C.SIG`, `C.QES`) to a role of `kind`.
    pub fn from_cert_ref(cert_ref: &str, kind: CardKind) -> Option<KeyRole> {
        match (cert_ref, kind) {
            ("C.AUT", _) => Some(KeyRole::Aut),
            ("C.ENC", _) => Some(KeyRole::Enc),
            ("C.SIG", CardKind::Smcb | CardKind::Hsmb) | ("C.QES", CardKind::Hba) => {
                Some(KeyRole::Sig)
            }
            _ => None,
        }
    }
}

/// Key algorithm of a card key (`Crypt` values RSA / ECC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Crypt {
    Rsa,
    Ecc,
}

impl Crypt {
    /// File name tag: `rsa` or `ecc`.
    pub fn file_tag(self) -> &'static str {
        match self {
            Crypt::Rsa => "rsa",
            Crypt::Ecc => "ecc",
        }
    }
}

/// A `Crypt` request value: RSA, ECC or RSA_ECC (= ECC when present, else RSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptChoice {
    Rsa,
    Ecc,
    RsaEcc,
}

impl CryptChoice {
    /// Parses `RSA`, `ECC`, `RSA_ECC`.
    pub fn from_wire(s: &str) -> Option<CryptChoice> {
        match s {
            "RSA" => Some(CryptChoice::Rsa),
            "ECC" => Some(CryptChoice::Ecc),
            "RSA_ECC" => Some(CryptChoice::RsaEcc),
            _ => None,
        }
    }
}

/// `CARDCMN:PinTyp` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PinType {
    Smc,
    Ch,
    Qes,
}

impl PinType {
    /// Parses `PIN.SMC`, `PIN.CH`, `PIN.QES`.
    pub fn from_wire(s: &str) -> Option<PinType> {
        match s {
            "PIN.SMC" => Some(PinType::Smc),
            "PIN.CH" => Some(PinType::Ch),
            "PIN.QES" => Some(PinType::Qes),
            _ => None,
        }
    }

    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            PinType::Smc => "PIN.SMC",
            PinType::Ch => "PIN.CH",
            PinType::Qes => "PIN.QES",
        }
    }
}

/// `CARD:PinStatus` values (CardService 8.1.3 XSD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    Verified,
    TransportPin,
    EmptyPin,
    Blocked,
    Verifiable,
    Disabled,
}

impl PinStatus {
    /// Parses the wire value.
    pub fn from_wire(s: &str) -> Option<PinStatus> {
        Some(match s {
            "VERIFIED" => PinStatus::Verified,
            "TRANSPORT_PIN" => PinStatus::TransportPin,
            "EMPTY_PIN" => PinStatus::EmptyPin,
            "BLOCKED" => PinStatus::Blocked,
            "VERIFIABLE" => PinStatus::Verifiable,
            "DISABLED" => PinStatus::Disabled,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn wire(self) -> &'static str {
        match self {
            PinStatus::Verified => "VERIFIED",
            PinStatus::TransportPin => "TRANSPORT_PIN",
            PinStatus::EmptyPin => "EMPTY_PIN",
            PinStatus::Blocked => "BLOCKED",
            PinStatus::Verifiable => "VERIFIABLE",
            PinStatus::Disabled => "DISABLED",
        }
    }
}

/// A call context (`CCTX:Context`, ConnectorContext.xsd v2.0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub mandant_id: String,
    pub client_system_id: String,
    pub workplace_id: String,
    pub user_id: Option<String>,
}

/// The validated information model.
#[derive(Debug, Clone)]
pub struct InfoModel {
    /// mandant → (client systems, workplaces)
    mandants: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    /// workplace → (client systems, reachable terminals)
    workplaces: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
    client_systems: BTreeSet<String>,
    /// terminal → slot count
    terminals: BTreeMap<String, u32>,
}

impl InfoModel {
    /// Builds and cross-checks the model.
    pub fn new(cfg: &InfoModelConfig) -> Result<InfoModel, ConfigError> {
        let bad = |key: &str, value: &str, allowed: &str| ConfigError::Invalid {
            key: key.into(),
            value: value.into(),
            allowed: allowed.into(),
        };
        let id_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        let ids = "1..64 characters of [A-Za-z0-9_-], unique";
        let mut terminals = BTreeMap::new();
        for t in &cfg.card_terminals {
            if !id_ok(&t.id) || terminals.insert(t.id.clone(), t.slots).is_some() {
                return Err(bad("card_terminal.id", &t.id, ids));
            }
            if !(1..=16).contains(&t.slots) {
                return Err(bad("card_terminal.slots", &t.slots.to_string(), "1..=16"));
            }
        }
        let mut client_systems = BTreeSet::new();
        let mut mandants = BTreeMap::new();
        let mut workplace_ids = BTreeSet::new();
        for m in &cfg.mandants {
            let cs: BTreeSet<String> = m.client_systems.iter().cloned().collect();
            let wp: BTreeSet<String> = m.workplaces.iter().cloned().collect();
            for c in &cs {
                if !id_ok(c) {
                    return Err(bad("mandant.client_systems", c, ids));
                }
            }
            client_systems.extend(cs.iter().cloned());
            workplace_ids.extend(wp.iter().cloned());
            if !id_ok(&m.id) || mandants.insert(m.id.clone(), (cs, wp)).is_some() {
                return Err(bad("mandant.id", &m.id, ids));
            }
        }
        let mut workplaces = BTreeMap::new();
        for w in &cfg.workplaces {
            for c in &w.client_systems {
                if !client_systems.contains(c) {
                    return Err(bad(
                        "workplace.client_systems",
                        c,
                        "a client system of some mandant",
                    ));
                }
            }
            for t in &w.card_terminals {
                if !terminals.contains_key(t) {
                    return Err(bad(
                        "workplace.card_terminals",
                        t,
                        "a configured card_terminal id",
                    ));
                }
            }
            let entry = (
                w.client_systems.iter().cloned().collect(),
                w.card_terminals.iter().cloned().collect(),
            );
            if !id_ok(&w.id) || workplaces.insert(w.id.clone(), entry).is_some() {
                return Err(bad("workplace.id", &w.id, ids));
            }
        }
        for w in &workplace_ids {
            if !workplaces.contains_key(w) {
                return Err(bad("mandant.workplaces", w, "a configured workplace id"));
            }
        }
        Ok(InfoModel {
            mandants,
            workplaces,
            client_systems,
            terminals,
        })
    }

    /// Checks a call context (4021, 4004, 4005, 4006, 4010, 4011, 4014).
    pub fn check_context(&self, ctx: &Context) -> Result<(), Fault> {
        if ctx.mandant_id.is_empty()
            || ctx.client_system_id.is_empty()
            || ctx.workplace_id.is_empty()
        {
            return Err(Fault::new(
                4021,
                "MandantId, ClientSystemId and WorkplaceId are mandatory",
            ));
        }
        let Some((m_cs, m_wp)) = self.mandants.get(&ctx.mandant_id) else {
            return Err(Fault::new(
                4004,
                format!("MandantId '{}' unknown", ctx.mandant_id),
            ));
        };
        if !self.client_systems.contains(&ctx.client_system_id) {
            return Err(Fault::new(
                4005,
                format!("ClientSystemId '{}' unknown", ctx.client_system_id),
            ));
        }
        let Some((w_cs, _)) = self.workplaces.get(&ctx.workplace_id) else {
            return Err(Fault::new(
                4006,
                format!("WorkplaceId '{}' unknown", ctx.workplace_id),
            ));
        };
        if !m_cs.contains(&ctx.client_system_id) {
            return Err(Fault::new(
                4010,
                format!(
                    "client system '{}' not assigned to mandant '{}'",
                    ctx.client_system_id, ctx.mandant_id
                ),
            ));
        }
        if !m_wp.contains(&ctx.workplace_id) {
            return Err(Fault::new(
                4011,
                format!(
                    "workplace '{}' not assigned to mandant '{}'",
                    ctx.workplace_id, ctx.mandant_id
                ),
            ));
        }
        if !w_cs.contains(&ctx.client_system_id) {
            return Err(Fault::new(
                4014,
                format!(
                    "workplace '{}' not assigned to client system '{}'",
                    ctx.workplace_id, ctx.client_system_id
                ),
            ));
        }
        Ok(())
    }

    /// Terminals the context reaches: those of its workplace, or with `mandant_wide` those of
    /// every workplace of the mandant that is assigned to the client system. Call after
    /// [`Self::check_context`].
    pub fn reachable_terminals(&self, ctx: &Context, mandant_wide: bool) -> BTreeSet<String> {
        if !mandant_wide {
            return self
                .workplaces
                .get(&ctx.workplace_id)
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
        }
        let Some((_, wps)) = self.mandants.get(&ctx.mandant_id) else {
            return BTreeSet::new();
        };
        wps.iter()
            .filter_map(|w| self.workplaces.get(w))
            .filter(|(cs, _)| cs.contains(&ctx.client_system_id))
            .flat_map(|(_, t)| t.iter().cloned())
            .collect()
    }

    /// 4012 unless `terminal` is reachable from the context's workplace.
    pub fn check_terminal(&self, ctx: &Context, terminal: &str) -> Result<(), Fault> {
        if self.reachable_terminals(ctx, false).contains(terminal) {
            Ok(())
        } else {
            Err(Fault::new(
                4012,
                format!(
                    "card terminal '{terminal}' not reachable from workplace '{}'",
                    ctx.workplace_id
                ),
            ))
        }
    }

    /// Slot count of a terminal.
    pub fn slots(&self, terminal: &str) -> Option<u32> {
        self.terminals.get(terminal).copied()
    }

    /// Terminal ids.
    pub fn terminal_ids(&self) -> impl Iterator<Item = &String> {
        self.terminals.keys()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{CardTerminalConfig, MandantConfig, WorkplaceConfig};

    #[test]
    fn an_hsm_b_is_an_institution_card_with_its_own_type() {
        let hsm = CardKind::from_wire("HSM-B").unwrap();
        assert_eq!(hsm, CardKind::Hsmb);
        assert_eq!(hsm.wire(), "HSM-B");
        assert!(hsm.matches_filter("HSM-B") && hsm.matches_filter("SM-B"));
        assert!(!hsm.matches_filter("SMC-B") && !hsm.matches_filter("HBA"));
        assert!(!CardKind::Smcb.matches_filter("HSM-B"));
        assert_eq!(hsm.pin_for(KeyRole::Sig), PinType::Smc);
        assert_eq!(KeyRole::from_cert_ref("C.SIG", hsm), Some(KeyRole::Sig));
        assert_eq!(KeyRole::from_cert_ref("C.QES", hsm), None);
        assert_eq!(KeyRole::Sig.file_tag(hsm), "osig");
        let pins: Vec<(PinType, PinStatus)> = crate::config::default_pins(hsm)
            .iter()
            .map(|p| (p.pin_type, p.status))
            .collect();
        assert_eq!(pins, [(PinType::Smc, PinStatus::Verified)]);
    }

    fn model() -> InfoModel {
        InfoModel::new(&InfoModelConfig {
            mandants: vec![
                MandantConfig {
                    id: "M1".into(),
                    client_systems: vec!["CS1".into()],
                    workplaces: vec!["WP1".into(), "WP2".into()],
                },
                MandantConfig {
                    id: "M2".into(),
                    client_systems: vec!["CS2".into()],
                    workplaces: vec!["WP3".into()],
                },
            ],
            workplaces: vec![
                WorkplaceConfig {
                    id: "WP1".into(),
                    client_systems: vec!["CS1".into()],
                    card_terminals: vec!["CT1".into()],
                },
                WorkplaceConfig {
                    id: "WP2".into(),
                    client_systems: vec!["CS1".into()],
                    card_terminals: vec!["CT2".into()],
                },
                WorkplaceConfig {
                    id: "WP3".into(),
                    client_systems: vec!["CS2".into()],
                    card_terminals: vec![],
                },
            ],
            card_terminals: vec![
                CardTerminalConfig {
                    id: "CT1".into(),
                    slots: 2,
                },
                CardTerminalConfig {
                    id: "CT2".into(),
                    slots: 2,
                },
            ],
        })
        .unwrap()
    }

    fn ctx(m: &str, c: &str, w: &str) -> Context {
        Context {
            mandant_id: m.into(),
            client_system_id: c.into(),
            workplace_id: w.into(),
            user_id: None,
        }
    }

    fn code(r: Result<(), Fault>) -> u32 {
        r.err().map_or(0, |f| f.code)
    }

    #[test]
    fn context_codes() {
        let m = model();
        assert_eq!(code(m.check_context(&ctx("M1", "CS1", "WP1"))), 0);
        assert_eq!(code(m.check_context(&ctx("", "CS1", "WP1"))), 4021);
        assert_eq!(code(m.check_context(&ctx("M1", "CS1", ""))), 4021);
        assert_eq!(code(m.check_context(&ctx("MX", "CS1", "WP1"))), 4004);
        assert_eq!(code(m.check_context(&ctx("M1", "CSX", "WP1"))), 4005);
        assert_eq!(code(m.check_context(&ctx("M1", "CS1", "WPX"))), 4006);
        assert_eq!(code(m.check_context(&ctx("M1", "CS2", "WP1"))), 4010);
        assert_eq!(code(m.check_context(&ctx("M1", "CS1", "WP3"))), 4011);
        assert_eq!(code(m.check_context(&ctx("M2", "CS2", "WP3"))), 0);
    }

    #[test]
    fn workplace_not_assigned_to_client_system() {
        let mut cfg_model = model();
        // WP2 loses CS1: M1/CS1/WP2 is then 4014.
        if let Some((cs, _)) = cfg_model.workplaces.get_mut("WP2") {
            cs.clear();
        }
        assert_eq!(
            code(cfg_model.check_context(&ctx("M1", "CS1", "WP2"))),
            4014
        );
    }

    #[test]
    fn terminals_per_workplace_and_mandant_wide() {
        let m = model();
        let c = ctx("M1", "CS1", "WP1");
        assert_eq!(code(m.check_terminal(&c, "CT1")), 0);
        assert_eq!(code(m.check_terminal(&c, "CT2")), 4012);
        let all = m.reachable_terminals(&c, true);
        assert!(all.contains("CT1") && all.contains("CT2"));
        assert_eq!(m.reachable_terminals(&c, false).len(), 1);
    }

    #[test]
    fn config_errors_name_the_key() {
        let err = InfoModel::new(&InfoModelConfig {
            mandants: vec![MandantConfig {
                id: "M 1".into(),
                client_systems: vec![],
                workplaces: vec![],
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("mandant.id"), "{err}");
    }
}
