//! The directory model: base entries (seeded from card data) plus the KOM-LE Fachdaten written
//! through the maintenance API, and their LDAP attribute view (kim-spec §10, api-vzd
//! `LDAP_Attribute.adoc` as digested there).
//!
//! DN shape: every entry is one level below the search base, `uid=<uuid>,dc=data,dc=vzd`. The
//! uuid is a version-5 UUID of the Telematik-ID, so an entry keeps its DN across restarts and
//! re-seeding.

use std::collections::{BTreeMap, HashMap};

use kim_types::{KimAddress, KimVersion, TelematikId};
use serde::{Deserialize, Serialize};

/// Search base of the VZD (kim-spec §10).
pub const BASE_DN: &str = "dc=data,dc=vzd";

/// Namespace of the version-5 UUIDs used as entry `uid` (a fixed random value).
const UID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1f_3c2e_9d4a_4f0b_8a7e_51c2_d3e4_f5a6);

/// Who holds the cards of an entry: `personalEntry` is TRUE for persons (HBA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HolderKind {
    /// Institution with an SMC-B (`personalEntry: FALSE`).
    Institution,
    /// Health professional with an HBA (`personalEntry: TRUE`).
    Person,
}

/// Postal address attributes of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostalAddress {
    /// `streetAddress`.
    pub street: String,
    /// `postalCode`.
    pub postal_code: String,
    /// `localityName` (alias `l`).
    pub locality: String,
    /// `stateOrProvinceName` (alias `st`).
    pub state: String,
    /// `countryCode`.
    pub country: String,
}

/// Base data of one directory entry, as the card issuer would register it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedEntry {
    /// `telematikID`.
    pub telematik_id: TelematikId,
    /// Holder name: `displayName` and `cn`; `organization` for institutions.
    pub holder: String,
    /// Institution (SMC-B) or person (HBA).
    pub kind: HolderKind,
    /// `professionOID` (dotted form).
    pub profession_oid: String,
    /// `entryType` (empty: attribute omitted).
    pub entry_type: String,
    /// `domainID` values.
    pub domain_ids: Vec<String>,
    /// `givenName` and `sn` for persons.
    pub given_name: Option<String>,
    /// `sn`.
    pub surname: Option<String>,
    /// Postal address (omitted when `None`).
    pub postal: Option<PostalAddress>,
    /// `userCertificate;binary`: DER certificates (C.HCI.ENC / C.HP.ENC, RSA and ECC).
    pub certificates: Vec<Vec<u8>>,
    /// Initial KIM addresses and versions (used only when no Fachdaten were persisted).
    pub addresses: Vec<(KimAddress, KimVersion)>,
    /// `maxKOMLEadr` (unlimited when `None`).
    pub max_kom_le_adr: Option<u32>,
}

/// One address of the KOM-LE Fachdaten (`FAD_Req.komLeData[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FadAddress {
    /// The address.
    pub mail: KimAddress,
    /// Its KIM version.
    pub version: KimVersion,
    /// Application tags (`kimData` only).
    pub app_tags: Vec<String>,
    /// `noVzdMailEntry`: the address is left out of `komLeData` (still in `kimData`).
    pub no_vzd_mail_entry: bool,
}

/// The KOM-LE Fachdaten (FAD1) of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fachdaten {
    /// Owning FAD (the provider that wrote it).
    pub fad: String,
    /// `mail` values.
    pub mail: Vec<KimAddress>,
    /// `komLeData` list; `kimData` is derived from it.
    pub addresses: Vec<FadAddress>,
}

/// One entry of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `uid` RDN value.
    pub uid: String,
    /// Base data.
    pub base: SeedEntry,
    /// Fachdaten (empty after a delete).
    pub fachdaten: Fachdaten,
}

/// One LDAP attribute with its canonical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Canonical attribute name (`userCertificate` without the `;binary` option).
    pub name: &'static str,
    /// Values (UTF-8 text, DER for certificates).
    pub values: Vec<Vec<u8>>,
}

/// Attribute names and their aliases (lower case) as searchable and requestable.
pub const ATTRIBUTE_NAMES: &[(&str, &[&str])] = &[
    ("objectClass", &[]),
    ("uid", &[]),
    ("telematikID", &[]),
    ("displayName", &[]),
    ("cn", &["commonname"]),
    ("sn", &["surname"]),
    ("givenName", &[]),
    ("organization", &["o"]),
    ("streetAddress", &["street"]),
    ("postalCode", &[]),
    ("localityName", &["l"]),
    ("stateOrProvinceName", &["st"]),
    ("countryCode", &[]),
    ("professionOID", &[]),
    ("entryType", &[]),
    ("domainID", &[]),
    ("personalEntry", &[]),
    ("mail", &[]),
    ("komLeData", &[]),
    ("kimData", &[]),
    ("maxKOMLEadr", &[]),
    ("userCertificate", &[]),
];

/// Canonical name of an attribute description: case-insensitive, options such as `;binary`
/// ignored, aliases resolved. `None` for attributes the directory does not know.
#[must_use]
pub fn canonical_attribute(description: &str) -> Option<&'static str> {
    let name = description.split(';').next().unwrap_or(description);
    let lower = name.to_ascii_lowercase();
    ATTRIBUTE_NAMES
        .iter()
        .find(|(n, aliases)| n.eq_ignore_ascii_case(&lower) || aliases.contains(&lower.as_str()))
        .map(|(n, _)| *n)
}

impl Entry {
    /// DN `uid=<uuid>,dc=data,dc=vzd`.
    #[must_use]
    pub fn dn(&self) -> String {
        format!("uid={},{BASE_DN}", self.uid)
    }

    /// `komLeData` values: `<version>,<mail>` of every address without `noVzdMailEntry`.
    #[must_use]
    pub fn kom_le_data(&self) -> Vec<String> {
        self.fachdaten
            .addresses
            .iter()
            .filter(|a| !a.no_vzd_mail_entry)
            .map(|a| format!("{},{}", a.version, a.mail))
            .collect()
    }

    /// `kimData` values: `<mail>,<version>[,<appTag>|…]` of every address.
    #[must_use]
    pub fn kim_data(&self) -> Vec<String> {
        self.fachdaten
            .addresses
            .iter()
            .map(|a| {
                let mut v = format!("{},{}", a.mail, a.version);
                if !a.app_tags.is_empty() {
                    v.push(',');
                    v.push_str(&a.app_tags.join("|"));
                }
                v
            })
            .collect()
    }

    /// All attributes with at least one value, in a stable order.
    #[must_use]
    pub fn attributes(&self) -> Vec<Attr> {
        let b = &self.base;
        let text = |name: &'static str, values: Vec<String>| Attr {
            name,
            values: values.into_iter().map(String::into_bytes).collect(),
        };
        let one = |name: &'static str, value: &str| text(name, vec![value.to_owned()]);
        let mut out = vec![
            text(
                "objectClass",
                vec!["top".into(), "inetOrgPerson".into(), "vzdEntry".into()],
            ),
            one("uid", &self.uid),
            one("telematikID", b.telematik_id.as_str()),
            one("displayName", &b.holder),
            one("cn", &b.holder),
        ];
        if let Some(sn) = &b.surname {
            out.push(one("sn", sn));
        }
        if let Some(given) = &b.given_name {
            out.push(one("givenName", given));
        }
        if b.kind == HolderKind::Institution {
            out.push(one("organization", &b.holder));
        }
        if let Some(p) = &b.postal {
            out.push(one("streetAddress", &p.street));
            out.push(one("postalCode", &p.postal_code));
            out.push(one("localityName", &p.locality));
            out.push(one("stateOrProvinceName", &p.state));
            out.push(one("countryCode", &p.country));
        }
        out.push(one("professionOID", &b.profession_oid));
        if !b.entry_type.is_empty() {
            out.push(one("entryType", &b.entry_type));
        }
        out.push(text("domainID", b.domain_ids.clone()));
        let personal = if b.kind == HolderKind::Person {
            "TRUE"
        } else {
            "FALSE"
        };
        out.push(one("personalEntry", personal));
        let mail = self
            .fachdaten
            .mail
            .iter()
            .map(ToString::to_string)
            .collect();
        out.push(text("mail", mail));
        out.push(text("komLeData", self.kom_le_data()));
        out.push(text("kimData", self.kim_data()));
        if let Some(max) = b.max_kom_le_adr {
            out.push(one("maxKOMLEadr", &max.to_string()));
        }
        out.push(Attr {
            name: "userCertificate",
            values: b.certificates.clone(),
        });
        out.retain(|a| !a.values.is_empty());
        out
    }
}

/// Why a Fachdaten write was refused (HTTP 400 in the maintenance API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FadError {
    /// More distinct addresses than `maxKOMLEadr` allows.
    #[error("{count} addresses exceed maxKOMLEadr {max}")]
    MaxExceeded {
        /// Addresses in the request.
        count: usize,
        /// The entry's limit.
        max: u32,
    },
    /// A `komLeData[].version` is not `1.0`, `1.5` or `1.5+`.
    #[error("invalid KIM version {0:?}")]
    InvalidVersion(String),
    /// A `mail` or `komLeData[].mail` is not a KIM address.
    #[error("invalid address {0:?}")]
    InvalidMail(String),
    /// An `appTags` value is empty or contains `,` or `|` (it could not be stored in
    /// `kimData`).
    #[error("invalid app tag {0:?}")]
    InvalidAppTag(String),
    /// `mail` and `komLeData[].mail` name different addresses, or an address repeats in
    /// `komLeData`.
    #[error("mail and komLeData.mail lists differ")]
    Inconsistent,
}

impl FadError {
    /// `(attributeName, attributeError)` as the yaml prescribes for this case.
    #[must_use]
    pub fn inner_error(&self) -> (&'static str, &'static str) {
        match self {
            Self::MaxExceeded { .. } => ("mail", "maxKOMLEadr wurde überschritten"),
            Self::InvalidVersion(_) => ("version", "Unzulässiger Wert"),
            // Not listed in the yaml; the same wording as for an invalid version.
            Self::InvalidAppTag(_) => ("appTags", "Unzulässiger Wert"),
            // Not listed in the yaml; the same wording as for an invalid version.
            Self::InvalidMail(_) => ("mail", "Unzulässiger Wert"),
            Self::Inconsistent => (
                "mail",
                "Inkonsistenz zwischen FAD1.mail und FAD1.komLeData.mail",
            ),
        }
    }
}

/// Request body of the add/modify operations (`FAD_Req`, api-vzd
/// DirectoryApplicationMaintenance.yaml 1.4.9).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FadRequest {
    /// `mail`.
    #[serde(default)]
    pub mail: Vec<String>,
    /// `komLeData`.
    #[serde(default, rename = "komLeData")]
    pub kom_le_data: Vec<FadRequestAddress>,
}

/// One `FAD_Req.komLeData[]` element.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FadRequestAddress {
    /// `mail`.
    pub mail: String,
    /// `version`.
    pub version: String,
    /// `appTags`.
    #[serde(default, rename = "appTags")]
    pub app_tags: Vec<String>,
    /// `noVzdMailEntry`.
    #[serde(default, rename = "noVzdMailEntry")]
    pub no_vzd_mail_entry: bool,
}

impl FadRequest {
    /// Checks the request against the yaml's 400 cases and builds the Fachdaten.
    ///
    /// `komLeData` may be empty (a writer that only knows `mail`; those addresses then count
    /// as KIM 1.0); when it is not, its addresses must be exactly the `mail` addresses.
    ///
    /// # Errors
    /// The first [`FadError`] found: address syntax, version, consistency, then the limit.
    pub fn validate(&self, fad: &str, max: Option<u32>) -> Result<Fachdaten, FadError> {
        let mut mail: Vec<KimAddress> = Vec::new();
        for m in &self.mail {
            let a = KimAddress::parse(m).map_err(|_| FadError::InvalidMail(m.clone()))?;
            if !mail.contains(&a) {
                mail.push(a);
            }
        }
        let mut addresses: Vec<FadAddress> = Vec::new();
        for k in &self.kom_le_data {
            let a =
                KimAddress::parse(&k.mail).map_err(|_| FadError::InvalidMail(k.mail.clone()))?;
            let version = KimVersion::parse(&k.version)
                .map_err(|_| FadError::InvalidVersion(k.version.clone()))?;
            if addresses.iter().any(|x| x.mail == a) {
                return Err(FadError::Inconsistent);
            }
            let tag_bad = |t: &&String| t.is_empty() || t.contains([',', '|']);
            if let Some(tag) = k.app_tags.iter().find(tag_bad) {
                return Err(FadError::InvalidAppTag(tag.clone()));
            }
            addresses.push(FadAddress {
                mail: a,
                version,
                app_tags: k.app_tags.clone(),
                no_vzd_mail_entry: k.no_vzd_mail_entry,
            });
        }
        if !addresses.is_empty()
            && (addresses.len() != mail.len() || !addresses.iter().all(|a| mail.contains(&a.mail)))
        {
            return Err(FadError::Inconsistent);
        }
        if let Some(max) = max
            && mail.len() > max as usize
        {
            return Err(FadError::MaxExceeded {
                count: mail.len(),
                max,
            });
        }
        Ok(Fachdaten {
            fad: fad.to_owned(),
            mail,
            addresses,
        })
    }
}

impl Fachdaten {
    /// The request form that validates back into these Fachdaten (used for persistence).
    #[must_use]
    pub fn to_request(&self) -> FadRequest {
        FadRequest {
            mail: self.mail.iter().map(ToString::to_string).collect(),
            kom_le_data: self
                .addresses
                .iter()
                .map(|a| FadRequestAddress {
                    mail: a.mail.to_string(),
                    version: a.version.to_string(),
                    app_tags: a.app_tags.clone(),
                    no_vzd_mail_entry: a.no_vzd_mail_entry,
                })
                .collect(),
        }
    }

    fn from_seed(fad: &str, addresses: &[(KimAddress, KimVersion)]) -> Self {
        Self {
            fad: fad.to_owned(),
            mail: addresses.iter().map(|(a, _)| a.clone()).collect(),
            addresses: addresses
                .iter()
                .map(|(a, v)| FadAddress {
                    mail: a.clone(),
                    version: *v,
                    app_tags: Vec::new(),
                    no_vzd_mail_entry: false,
                })
                .collect(),
        }
    }
}

/// The whole directory: entries by uid, an index by Telematik-ID, and the Fachdaten loaded from
/// storage (which seeding never overwrites).
#[derive(Debug, Default)]
pub struct Directory {
    entries: BTreeMap<String, Entry>,
    by_tid: HashMap<String, String>,
    persisted: HashMap<String, Fachdaten>,
    default_fad: String,
}

impl Directory {
    /// An empty directory; `persisted` are Fachdaten by Telematik-ID read from storage,
    /// `default_fad` owns seeded Fachdaten.
    #[must_use]
    pub fn new(persisted: HashMap<String, Fachdaten>, default_fad: &str) -> Self {
        Self {
            entries: BTreeMap::new(),
            by_tid: HashMap::new(),
            persisted,
            default_fad: default_fad.to_owned(),
        }
    }

    /// Adds or replaces the base data of an entry. Its Fachdaten come from storage when any
    /// were persisted for the Telematik-ID, else from the seed's addresses.
    pub fn seed(&mut self, seed: SeedEntry) {
        let tid = seed.telematik_id.as_str().to_owned();
        let uid = uuid::Uuid::new_v5(&UID_NAMESPACE, tid.as_bytes()).to_string();
        let fachdaten = match self.persisted.get(&tid) {
            Some(f) => f.clone(),
            None => Fachdaten::from_seed(&self.default_fad, &seed.addresses),
        };
        self.by_tid.insert(tid, uid.clone());
        let entry = Entry {
            uid: uid.clone(),
            base: seed,
            fachdaten,
        };
        self.entries.insert(uid, entry);
    }

    /// The entry with this Telematik-ID.
    #[must_use]
    pub fn by_telematik_id(&self, tid: &str) -> Option<&Entry> {
        self.by_tid.get(tid).and_then(|uid| self.entries.get(uid))
    }

    /// Replaces the Fachdaten of an existing entry (the caller validated and persisted them).
    /// Returns `false` when no entry has this Telematik-ID.
    pub fn set_fachdaten(&mut self, tid: &str, fachdaten: Fachdaten) -> bool {
        let Some(entry) = self.by_tid.get(tid).and_then(|u| self.entries.get_mut(u)) else {
            return false;
        };
        entry.fachdaten = fachdaten.clone();
        self.persisted.insert(tid.to_owned(), fachdaten);
        true
    }

    /// Entries visible to searches: those with at least one certificate (kim-spec §10).
    pub fn visible(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .values()
            .filter(|e| !e.base.certificates.is_empty())
    }

    /// Number of entries, visible or not.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn addr(s: &str) -> KimAddress {
        KimAddress::parse(s).unwrap()
    }

    fn seed(tid: &str, certs: usize) -> SeedEntry {
        SeedEntry {
            telematik_id: TelematikId::parse(tid).unwrap(),
            holder: "Praxis".into(),
            kind: HolderKind::Institution,
            profession_oid: "1.2.276.0.76.4.50".into(),
            entry_type: String::new(),
            domain_ids: vec![],
            given_name: None,
            surname: None,
            postal: None,
            certificates: vec![vec![0x30, 0x00]; certs],
            addresses: vec![(addr("a@x.kim.telematik"), KimVersion::V1_5Plus)],
            max_kom_le_adr: Some(2),
        }
    }

    fn req(mail: &[&str], kom: &[(&str, &str)]) -> FadRequest {
        FadRequest {
            mail: mail.iter().map(|s| (*s).to_owned()).collect(),
            kom_le_data: kom
                .iter()
                .map(|(m, v)| FadRequestAddress {
                    mail: (*m).into(),
                    version: (*v).into(),
                    ..Default::default()
                })
                .collect(),
        }
    }

    #[test]
    fn seeded_entry_has_kom_le_and_kim_data_in_their_orders() {
        let mut d = Directory::new(HashMap::new(), "fad1");
        d.seed(seed("1-2.58.1", 1));
        let e = d.by_telematik_id("1-2.58.1").unwrap();
        assert_eq!(e.kom_le_data(), vec!["1.5+,a@x.kim.telematik"]);
        assert_eq!(e.kim_data(), vec!["a@x.kim.telematik,1.5+"]);
        assert!(e.dn().starts_with("uid=") && e.dn().ends_with(",dc=data,dc=vzd"));
    }

    #[test]
    fn entries_without_certificates_are_invisible() {
        let mut d = Directory::new(HashMap::new(), "fad1");
        d.seed(seed("1-2.58.1", 0));
        d.seed(seed("1-2.58.2", 2));
        let visible: Vec<_> = d.visible().map(|e| e.base.telematik_id.as_str()).collect();
        assert_eq!(visible, vec!["1-2.58.2"]);
    }

    #[test]
    fn persisted_fachdaten_survive_reseeding() {
        let stored = Fachdaten {
            fad: "fad1".into(),
            mail: vec![addr("b@x.kim.telematik")],
            addresses: vec![],
        };
        let mut d = Directory::new(HashMap::from([("1-2.58.1".into(), stored)]), "fad1");
        d.seed(seed("1-2.58.1", 1));
        let e = d.by_telematik_id("1-2.58.1").unwrap();
        assert_eq!(e.fachdaten.mail, vec![addr("b@x.kim.telematik")]);
        assert!(e.kom_le_data().is_empty());
    }

    #[test]
    fn validation_reports_each_yaml_case() {
        let two = req(&["a@x.de", "b@x.de", "c@x.de"], &[]);
        assert!(matches!(
            two.validate("f", Some(2)),
            Err(FadError::MaxExceeded { count: 3, max: 2 })
        ));
        let bad_version = req(&["a@x.de"], &[("a@x.de", "2.0")]);
        assert_eq!(
            bad_version.validate("f", None),
            Err(FadError::InvalidVersion("2.0".into()))
        );
        let inconsistent = req(&["a@x.de"], &[("b@x.de", "1.5")]);
        assert_eq!(
            inconsistent.validate("f", None),
            Err(FadError::Inconsistent)
        );
        let mut tagged = req(&["a@x.de"], &[("a@x.de", "1.5")]);
        tagged.kom_le_data[0].app_tags = vec!["eEB;V1.0|x".into()];
        assert_eq!(
            tagged.validate("f", None),
            Err(FadError::InvalidAppTag("eEB;V1.0|x".into()))
        );
        let ok = req(&["A@x.de"], &[("a@X.de", "1.5")]).validate("f", Some(1));
        assert_eq!(ok.unwrap().addresses.len(), 1);
        assert_eq!(
            FadError::Inconsistent.inner_error().1,
            "Inkonsistenz zwischen FAD1.mail und FAD1.komLeData.mail"
        );
    }

    #[test]
    fn no_vzd_mail_entry_is_left_out_of_kom_le_data_only() {
        let mut r = req(&["a@x.de"], &[("a@x.de", "1.5")]);
        r.kom_le_data[0].no_vzd_mail_entry = true;
        let mut d = Directory::new(HashMap::new(), "fad1");
        d.seed(seed("1-2.58.1", 1));
        assert!(d.set_fachdaten("1-2.58.1", r.validate("f", None).unwrap()));
        let e = d.by_telematik_id("1-2.58.1").unwrap();
        assert!(e.kom_le_data().is_empty());
        assert_eq!(e.kim_data(), vec!["a@x.de,1.5"]);
    }

    #[test]
    fn attribute_names_resolve_case_insensitively_with_options() {
        assert_eq!(canonical_attribute("MAIL"), Some("mail"));
        assert_eq!(
            canonical_attribute("usercertificate;binary"),
            Some("userCertificate")
        );
        assert_eq!(canonical_attribute("l"), Some("localityName"));
        assert_eq!(canonical_attribute("nonsense"), None);
    }
}
