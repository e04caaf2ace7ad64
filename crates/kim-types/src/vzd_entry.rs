//! The per-address version entry of a VZD directory entry (kim-spec §10; api-vzd
//! `DirectoryApplicationMaintenance.yaml`, FAD1 `komLeData`/`kimData`).
//!
//! Two LDAP flat-list forms carry it:
//!
//! * `komLeData`: `<version>,<mail>`, e.g. `1.5+,mc_smcb_za@dom1.komle.telematik-test`. The
//!   yaml's prose says `mail,version` while every example shows `version,mail`, so the reader
//!   takes whichever of the two components contains `@` as the address.
//! * `kimData`: `<mail>,<version>[,<appTag>|<appTag>…]`, e.g.
//!   `mz_smcb_za@dom2.kim.telematik-test,1.0,DALE-UV;Einsendung;V1.0|eEB;V1.0`. The same `@`
//!   rule decides the order of the first two components; empty app tags are skipped.

use crate::address::{AddressError, KimAddress};
use crate::version::{KimVersion, VersionError};

/// Address, version and application tags of one KIM address in the VZD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VzdVersionEntry {
    address: KimAddress,
    version: KimVersion,
    app_tags: Vec<String>,
}

/// Why a `komLeData` or `kimData` value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VzdDataError {
    /// Wrong number of `,`-separated components.
    #[error("expected {expected} ','-separated components, found {found}")]
    ComponentCount {
        /// What the form allows, e.g. `"2"` or `"2 or 3"`.
        expected: &'static str,
        /// Number found.
        found: usize,
    },
    /// Neither of the first two components contains `@`.
    #[error("no component contains '@' (expected an address)")]
    NoAddress,
    /// Both of the first two components contain `@`.
    #[error("both components contain '@' (expected one address and one version)")]
    TwoAddresses,
    /// The address component is not a KIM address.
    #[error("address: {0}")]
    Address(AddressError),
    /// The version component is not a known KIM version.
    #[error(transparent)]
    Version(VersionError),
    /// An app tag (when constructing) is empty or contains `,`, `|` or a control character.
    #[error("app tag {tag:?} is empty or contains ',', '|' or a control character")]
    InvalidAppTag {
        /// The offending tag.
        tag: String,
    },
}

impl VzdVersionEntry {
    /// Builds an entry.
    ///
    /// # Errors
    /// [`VzdDataError::InvalidAppTag`] if a tag could not be written into `kimData` and read
    /// back unchanged.
    pub fn new(
        address: KimAddress,
        version: KimVersion,
        app_tags: Vec<String>,
    ) -> Result<Self, VzdDataError> {
        if let Some(tag) = app_tags.iter().find(|t| !is_valid_app_tag(t)) {
            return Err(VzdDataError::InvalidAppTag { tag: tag.clone() });
        }
        Ok(Self {
            address,
            version,
            app_tags,
        })
    }

    /// Reads a `komLeData` value (`<version>,<mail>`, either order).
    ///
    /// # Errors
    /// [`VzdDataError`] naming the broken component.
    pub fn parse_kom_le_data(input: &str) -> Result<Self, VzdDataError> {
        let components: Vec<&str> = input.split(',').collect();
        let [a, b] = components[..] else {
            return Err(VzdDataError::ComponentCount {
                expected: "2",
                found: components.len(),
            });
        };
        let (address, version) = address_and_version(a, b)?;
        Ok(Self {
            address,
            version,
            app_tags: Vec::new(),
        })
    }

    /// Reads a `kimData` value (`<mail>,<version>[,<appTag>|<appTag>…]`).
    ///
    /// # Errors
    /// [`VzdDataError`] naming the broken component.
    pub fn parse_kim_data(input: &str) -> Result<Self, VzdDataError> {
        let components: Vec<&str> = input.splitn(3, ',').collect();
        let (a, b, tags) = match components[..] {
            [a, b] => (a, b, ""),
            [a, b, tags] => (a, b, tags),
            _ => {
                return Err(VzdDataError::ComponentCount {
                    expected: "2 or 3",
                    found: components.len(),
                });
            }
        };
        if tags.contains(',') {
            return Err(VzdDataError::ComponentCount {
                expected: "2 or 3",
                found: input.split(',').count(),
            });
        }
        let (address, version) = address_and_version(a, b)?;
        let app_tags = tags
            .split('|')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        Self::new(address, version, app_tags)
    }

    /// The KIM address.
    #[must_use]
    pub fn address(&self) -> &KimAddress {
        &self.address
    }

    /// The KIM version of the address.
    #[must_use]
    pub fn version(&self) -> KimVersion {
        self.version
    }

    /// Application tags (`kimData` only; currently unused by KIM).
    #[must_use]
    pub fn app_tags(&self) -> &[String] {
        &self.app_tags
    }

    /// The `komLeData` form `<version>,<mail>` (app tags cannot be expressed there).
    #[must_use]
    pub fn to_kom_le_data(&self) -> String {
        format!("{},{}", self.version, self.address)
    }

    /// The `kimData` form `<mail>,<version>[,<appTag>|…]`.
    #[must_use]
    pub fn to_kim_data(&self) -> String {
        let mut out = format!("{},{}", self.address, self.version);
        if !self.app_tags.is_empty() {
            out.push(',');
            out.push_str(&self.app_tags.join("|"));
        }
        out
    }
}

fn is_valid_app_tag(tag: &str) -> bool {
    !tag.is_empty() && !tag.chars().any(|c| c == ',' || c == '|' || c.is_control())
}

fn address_and_version(a: &str, b: &str) -> Result<(KimAddress, KimVersion), VzdDataError> {
    let (mail, version) = match (a.contains('@'), b.contains('@')) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        (false, false) => return Err(VzdDataError::NoAddress),
        (true, true) => return Err(VzdDataError::TwoAddresses),
    };
    let address = KimAddress::parse(mail).map_err(VzdDataError::Address)?;
    let version = KimVersion::parse(version).map_err(VzdDataError::Version)?;
    Ok((address, version))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_kom_le_data_in_both_orders() {
        let cases = [
            (
                "1.5+,mc_smcb_za@dom1.komle.telematik-test",
                "mc_smcb_za@dom1.komle.telematik-test",
                KimVersion::V1_5Plus,
            ),
            (
                "1.0,mz_smcb_za@dom2.kim.telematik-test",
                "mz_smcb_za@dom2.kim.telematik-test",
                KimVersion::V1_0,
            ),
            (
                "a@x.kim.telematik,1.5",
                "a@x.kim.telematik",
                KimVersion::V1_5,
            ),
        ];
        for (input, mail, version) in cases {
            let e = VzdVersionEntry::parse_kom_le_data(input).unwrap();
            assert_eq!(e.address().as_str(), mail);
            assert_eq!(e.version(), version);
            assert!(e.app_tags().is_empty());
        }
        let e = VzdVersionEntry::parse_kom_le_data("1.5+,a@x.kim.telematik").unwrap();
        assert_eq!(e.to_kom_le_data(), "1.5+,a@x.kim.telematik");
        assert_eq!(e.to_kim_data(), "a@x.kim.telematik,1.5+");
    }

    #[test]
    fn reads_kim_data_with_app_tags() {
        let e = VzdVersionEntry::parse_kim_data(
            "mz_smcb_za@dom2.kim.telematik-test,1.0,DALE-UV;Einsendung;V1.0|eEB;V1.0",
        )
        .unwrap();
        assert_eq!(e.address().as_str(), "mz_smcb_za@dom2.kim.telematik-test");
        assert_eq!(e.version(), KimVersion::V1_0);
        assert_eq!(e.app_tags(), ["DALE-UV;Einsendung;V1.0", "eEB;V1.0"]);
        assert_eq!(
            e.to_kim_data(),
            "mz_smcb_za@dom2.kim.telematik-test,1.0,DALE-UV;Einsendung;V1.0|eEB;V1.0"
        );

        let e =
            VzdVersionEntry::parse_kim_data("mc_smcb_za@dom1.komle.telematik-test,1.5+,eEB;V1.0")
                .unwrap();
        assert_eq!(e.app_tags(), ["eEB;V1.0"]);
        let e = VzdVersionEntry::parse_kim_data("a@x.kim.telematik,1.5+").unwrap();
        assert!(e.app_tags().is_empty());
        let e = VzdVersionEntry::parse_kim_data("a@x.kim.telematik,1.5+,|x||").unwrap();
        assert_eq!(e.app_tags(), ["x"]);
        let e = VzdVersionEntry::parse_kim_data("1.5,a@x.kim.telematik").unwrap();
        assert_eq!(e.version(), KimVersion::V1_5);
    }

    #[test]
    fn rejects_with_reason() {
        use VzdDataError as E;
        let kom_le: &[(&str, VzdDataError)] = &[
            (
                "1.5+",
                E::ComponentCount {
                    expected: "2",
                    found: 1,
                },
            ),
            (
                "1.5+,a@x.de,eEB",
                E::ComponentCount {
                    expected: "2",
                    found: 3,
                },
            ),
            ("1.5,1.0", E::NoAddress),
            ("a@x.de,b@x.de", E::TwoAddresses),
            (
                "2.0,a@x.de",
                E::Version(KimVersion::parse("2.0").unwrap_err()),
            ),
            (
                "1.5, a@x.de",
                E::Address(AddressError::LocalPartChar {
                    ch: ' ',
                    position: 0,
                }),
            ),
        ];
        for (input, expected) in kom_le {
            assert_eq!(
                VzdVersionEntry::parse_kom_le_data(input).as_ref(),
                Err(expected),
                "{input}"
            );
        }
        let kim: &[(&str, VzdDataError)] = &[
            (
                "a@x.de",
                E::ComponentCount {
                    expected: "2 or 3",
                    found: 1,
                },
            ),
            (
                "a@x.de,1.0,t,u",
                E::ComponentCount {
                    expected: "2 or 3",
                    found: 4,
                },
            ),
            ("a@x.de,", E::Version(KimVersion::parse("").unwrap_err())),
            (
                "a@x.de,1.0,t\u{1}",
                E::InvalidAppTag {
                    tag: "t\u{1}".into(),
                },
            ),
        ];
        for (input, expected) in kim {
            assert_eq!(
                VzdVersionEntry::parse_kim_data(input).as_ref(),
                Err(expected),
                "{input}"
            );
        }
        assert_eq!(
            VzdVersionEntry::parse_kom_le_data("1.5, a@x.de")
                .unwrap_err()
                .to_string(),
            "address: local part contains ' ' at position 0"
        );
    }

    #[test]
    fn new_rejects_tags_that_would_not_round_trip() {
        let a = KimAddress::parse("a@x.kim.telematik").unwrap();
        for bad in ["", "a,b", "a|b", "a\nb"] {
            let r = VzdVersionEntry::new(a.clone(), KimVersion::V1_5, vec![bad.into()]);
            assert_eq!(r, Err(VzdDataError::InvalidAppTag { tag: bad.into() }));
        }
    }

    fn entry_strategy() -> impl Strategy<Value = VzdVersionEntry> {
        (
            "[A-Za-z0-9._-]{1,20}@[a-z0-9]{1,10}\\.kim\\.telematik(-test)?",
            prop::sample::select(KimVersion::ALL.to_vec()),
            prop::collection::vec("[ -+\\x2D-{}~äöü]{1,12}", 0..4),
        )
            .prop_map(|(mail, version, tags)| {
                VzdVersionEntry::new(KimAddress::parse(&mail).unwrap(), version, tags).unwrap()
            })
    }

    proptest! {
        #[test]
        fn kim_data_round_trips(entry in entry_strategy()) {
            let parsed = VzdVersionEntry::parse_kim_data(&entry.to_kim_data()).unwrap();
            prop_assert_eq!(&parsed, &entry);
            prop_assert_eq!(parsed.address().as_str(), entry.address().as_str());
        }

        #[test]
        fn kom_le_data_round_trips_without_tags(entry in entry_strategy()) {
            let parsed = VzdVersionEntry::parse_kom_le_data(&entry.to_kom_le_data()).unwrap();
            prop_assert_eq!(parsed.address().as_str(), entry.address().as_str());
            prop_assert_eq!(parsed.version(), entry.version());
            prop_assert!(parsed.app_tags().is_empty());
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,60}") {
            let _ = VzdVersionEntry::parse_kim_data(&s);
            let _ = VzdVersionEntry::parse_kom_le_data(&s);
        }
    }
}
