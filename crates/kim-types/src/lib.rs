//! Validated KIM vocabulary types, shared by Clientmodul, Fachdienst, Konnektor simulator and
//! tools. No I/O: every type is built by a parser or constructor that checks the spec's rules
//! once, so holders of a value never re-validate it.
//!
//! | Type | What | Spec |
//! |---|---|---|
//! | [`KimAddress`] | KIM e-mail address; tolerant reading rules, strict registration rules | kim-spec §1 (A_21455-01) |
//! | [`TelematikId`] | id of an institution or person in the TI | kim-spec §10 |
//! | [`Dienstkennung`] | `X-KIM-Dienstkennung` value `<Fachanwendung>;<Kategorie>;<Version>` | kim-spec §2.7 (A_19488-02) |
//! | [`KimVersion`], [`VzdVersionEntry`] | `1.0`/`1.5`/`1.5+`; VZD `komLeData`/`kimData` values | kim-spec §10, §11 |
//! | [`KonnektorContext`] with [`MandantId`], [`ClientSystemId`], [`WorkplaceId`], [`UserId`]; [`KonnektorId`] | Konnektor call context | konnektor.md §4 |
//! | [`SmtpUserName`], [`Pop3UserName`], [`ServerAddress`] | `#`-separated login names of the Clientmodul | kim-spec §3.1 (A_21519-02), §4.1 (A_21518-02) |
//! | [`Secret`] | redacting, zeroizing wrapper | engineering guide, logging |
//!
//! Invariants:
//!
//! * Values are never rewritten: `as_str()` and `Display` return exactly the parsed text
//!   (user names: a canonical form that parses back to an equal value).
//! * [`KimAddress`] compares, hashes and orders ASCII-case-insensitively; every other string
//!   type compares exactly.
//! * Parsers never panic; each error names what is wrong and where (field, character,
//!   position), so the message can go straight into an SMTP/POP3 reply or a log line.
//!
//! ```
//! use kim_types::{Dienstkennung, KimAddress, KimVersion, SmtpUserName, VzdVersionEntry};
//!
//! let user = SmtpUserName::parse(
//!     "erik.mustermann@hrst_domain.kim.telematik#hrst_domain.kim.telematik:465#1#KOM_LE#7#Konn_1",
//! )?;
//! assert_eq!(user.context().client_system_id.as_str(), "KOM_LE");
//! assert_eq!(user.konnektor_id().map(|k| k.as_str()), Some("Konn_1"));
//! assert_eq!(user.server().and_then(|s| s.port()), Some(465));
//!
//! let same = KimAddress::parse("Erik.Mustermann@HRST_DOMAIN.kim.telematik")?;
//! assert_eq!(user.address(), &same);
//! assert!(same.is_production());
//!
//! let entry = VzdVersionEntry::parse_kom_le_data("1.5+,erik.mustermann@praxis.kim.telematik")?;
//! assert!(entry.version().supports_large_messages());
//! assert!(KimVersion::V1_5 < entry.version());
//!
//! assert_eq!(Dienstkennung::DEFAULT.as_str(), "KIM-Mail;Default;V1.0");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Errors say which field broke:
//!
//! ```
//! use kim_types::Pop3UserName;
//!
//! let err = Pop3UserName::parse("a@x.kim.telematik#*#1##7").unwrap_err();
//! assert_eq!(err.to_string(), "field 3 (ClientSystemId): empty");
//! ```
//!
//! Secrets stay out of logs:
//!
//! ```
//! use kim_types::Secret;
//!
//! let password = Secret::new(String::from("hunter2"));
//! assert_eq!(format!("{password:?}"), "Secret([REDACTED])");
//! assert_eq!(password.expose_secret(), "hunter2");
//! ```

mod address;
mod context;
mod dienstkennung;
mod id;
mod secret;
mod telematik_id;
pub mod time;
mod user_name;
mod version;
mod vzd_entry;

pub use address::{
    ADDRESS_MAX_LEN, AddressError, DOMAIN_MAX_LEN, KimAddress, LOCAL_PART_MAX_LEN,
    REGISTRATION_LOCAL_PART_MAX_LEN,
};
pub use context::{
    CONTEXT_ID_MAX_LEN, ClientSystemId, KonnektorContext, KonnektorId, MandantId, UserId,
    WorkplaceId,
};
pub use dienstkennung::{Dienstkennung, DienstkennungError};
pub use id::{IdError, IdProblem};
pub use secret::Secret;
pub use telematik_id::{TELEMATIK_ID_MAX_LEN, TelematikId};
pub use user_name::{
    FieldProblem, HOST_MAX_LEN, Layout, Pop3, Pop3UserName, ServerAddress, ServerAddressError,
    Smtp, SmtpUserName, UserName, UserNameError,
};
pub use version::{KimVersion, VersionError};
pub use vzd_entry::{VzdDataError, VzdVersionEntry};
