//! Konnektor call context (`CCTX:Context`, ConnectorContext.xsd v2.0.0; konnektor.md §4) and
//! the KonnektorId that selects one of several configured Konnektors (gemSpec_CM_KOMLE 3.3.2.2).
//!
//! Each id is 1–64 characters of printable ASCII without whitespace and without `#` (`#`
//! separates user-name fields). The single value `*` is rejected, because user names use it as
//! the placeholder for "not given" (kim-spec §3.1), so such an id could not be carried in one.

use std::fmt;
use std::str::FromStr;

use crate::id::{IdError, IdProblem, check_id};

/// Maximum length of every context id (`string ≤ 64` in ConnectorContext.xsd).
pub const CONTEXT_ID_MAX_LEN: usize = 64;

fn check_context_id(kind: &'static str, value: &str) -> Result<(), IdError> {
    check_id(value, CONTEXT_ID_MAX_LEN).map_err(|problem| IdError::new(kind, problem))?;
    if value == "*" {
        return Err(IdError::new(kind, IdProblem::Placeholder));
    }
    Ok(())
}

macro_rules! context_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The identifier name used in errors and reports.
            pub const KIND: &'static str = stringify!($name);

            /// Validates and wraps the id (see the module docs for the rule).
            ///
            /// # Errors
            /// [`IdError`] naming this id kind and the problem.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                check_context_id(Self::KIND, input)?;
                Ok(Self(input.to_owned()))
            }

            /// The id exactly as parsed.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

context_id!(
    /// `CONN:MandantId`: the tenant (practice) in the Konnektor information model.
    MandantId
);
context_id!(
    /// `CONN:ClientSystemId`: the calling client system.
    ClientSystemId
);
context_id!(
    /// `CONN:WorkplaceId`: the workplace; decides which card terminals and cards are reachable.
    WorkplaceId
);
context_id!(
    /// `CONN:UserId`: the user; needed only when an HBA is used.
    UserId
);
context_id!(
    /// Logical Konnektor name from a user name, mapped by Clientmodul configuration to one of
    /// several Konnektors. Never sent to a Konnektor.
    KonnektorId
);

/// The call context sent with every Konnektor operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KonnektorContext {
    /// `CONN:MandantId` (mandatory).
    pub mandant_id: MandantId,
    /// `CONN:ClientSystemId` (mandatory).
    pub client_system_id: ClientSystemId,
    /// `CONN:WorkplaceId` (mandatory).
    pub workplace_id: WorkplaceId,
    /// `CONN:UserId` (optional).
    pub user_id: Option<UserId>,
}

impl KonnektorContext {
    /// A context without UserId.
    #[must_use]
    pub fn new(
        mandant_id: MandantId,
        client_system_id: ClientSystemId,
        workplace_id: WorkplaceId,
    ) -> Self {
        Self {
            mandant_id,
            client_system_id,
            workplace_id,
            user_id: None,
        }
    }

    /// The same context with `user_id` set.
    #[must_use]
    pub fn with_user_id(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// Describes every field containing a character outside `[A-Za-z0-9_-]`, or `None` if all
    /// are inside.
    ///
    /// The XSD allows any string, but some Konnektors reject other characters with fault 4000;
    /// the Clientmodul warns about such contexts instead of refusing them. The report names
    /// field, value, the first offending character and its position, e.g.
    /// `MandantId "Praxis.1" contains '.' at position 6`; several fields are joined with `"; "`.
    #[must_use]
    pub fn strict_konnektor_charset_violation(&self) -> Option<String> {
        let fields = [
            (MandantId::KIND, Some(self.mandant_id.as_str())),
            (ClientSystemId::KIND, Some(self.client_system_id.as_str())),
            (WorkplaceId::KIND, Some(self.workplace_id.as_str())),
            (UserId::KIND, self.user_id.as_ref().map(UserId::as_str)),
        ];
        let strict = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
        let reports: Vec<String> = fields
            .into_iter()
            .filter_map(|(kind, value)| {
                let value = value?;
                let (position, ch) = value.chars().enumerate().find(|&(_, c)| !strict(c))?;
                Some(format!(
                    "{kind} {value:?} contains {ch:?} at position {position}"
                ))
            })
            .collect();
        (!reports.is_empty()).then(|| reports.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn context(m: &str, c: &str, w: &str, u: Option<&str>) -> KonnektorContext {
        let ctx = KonnektorContext::new(
            MandantId::parse(m).unwrap(),
            ClientSystemId::parse(c).unwrap(),
            WorkplaceId::parse(w).unwrap(),
        );
        match u {
            Some(u) => ctx.with_user_id(UserId::parse(u).unwrap()),
            None => ctx,
        }
    }

    #[test]
    fn ids_accept_printable_ascii_up_to_64() {
        let max = "m".repeat(64);
        for input in [
            "1",
            "KOM_LE",
            "7",
            "Konn_1",
            "Mandant.1",
            "a*",
            "**",
            "{x}",
            &max,
        ] {
            assert_eq!(MandantId::parse(input).unwrap().as_str(), input);
            assert_eq!(ClientSystemId::parse(input).unwrap().to_string(), input);
            assert_eq!(WorkplaceId::parse(input).unwrap().as_str(), input);
            assert_eq!(UserId::parse(input).unwrap().as_str(), input);
            assert_eq!(KonnektorId::parse(input).unwrap().as_str(), input);
        }
    }

    #[test]
    fn ids_reject_with_kind_and_problem() {
        let long = "m".repeat(65);
        let cases: &[(&str, IdProblem)] = &[
            ("", IdProblem::Empty),
            ("*", IdProblem::Placeholder),
            (&long, IdProblem::TooLong { len: 65, max: 64 }),
            (
                "Praxis 1",
                IdProblem::InvalidChar {
                    ch: ' ',
                    position: 6,
                },
            ),
            (
                "a#b",
                IdProblem::InvalidChar {
                    ch: '#',
                    position: 1,
                },
            ),
            (
                "Zahnärzte",
                IdProblem::InvalidChar {
                    ch: 'ä',
                    position: 4,
                },
            ),
        ];
        for (input, problem) in cases {
            let e = WorkplaceId::parse(input).unwrap_err();
            assert_eq!(
                (e.kind(), e.problem()),
                ("WorkplaceId", *problem),
                "{input:?}"
            );
            let e = KonnektorId::parse(input).unwrap_err();
            assert_eq!(
                (e.kind(), e.problem()),
                ("KonnektorId", *problem),
                "{input:?}"
            );
        }
        assert_eq!(
            ClientSystemId::parse("").unwrap_err().to_string(),
            "ClientSystemId: empty"
        );
    }

    #[test]
    fn strict_charset_report() {
        assert_eq!(
            context("1", "KOM_LE", "7", Some("13")).strict_konnektor_charset_violation(),
            None
        );
        assert_eq!(
            context("Mandant-1", "CS_1", "WP-7", None).strict_konnektor_charset_violation(),
            None
        );
        assert_eq!(
            context("Praxis.1", "KOM_LE", "7", None)
                .strict_konnektor_charset_violation()
                .as_deref(),
            Some(r#"MandantId "Praxis.1" contains '.' at position 6"#)
        );
        assert_eq!(
            context("1", "CS/1", "7", Some("a@b"))
                .strict_konnektor_charset_violation()
                .as_deref(),
            Some(
                r#"ClientSystemId "CS/1" contains '/' at position 2; UserId "a@b" contains '@' at position 1"#
            )
        );
    }
}
