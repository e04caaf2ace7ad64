//! SMTP and POP3 user names, through which a mail client hands the Clientmodul its KIM
//! address, the Fachdienst server and the Konnektor call context (kim-spec §3.1:
//! gemSpec_CM_KOMLE 3.3.2.2, A_21519-02, A_21457; §4.1: 3.4.2.2, A_21518-02, A_21517).
//!
//! Fields are separated by `#`:
//!
//! | pos | SMTP | POP3 |
//! |---|---|---|
//! | 0 | KIM address | KIM address |
//! | 1 | `fd-host[:port]` | `fd-host[:port]` |
//! | 2 | MandantId | MandantId |
//! | 3 | ClientSystemId | ClientSystemId |
//! | 4 | WorkplaceId | WorkplaceId |
//! | 5 | KonnektorId (optional) | UserId (optional) |
//! | 6 | UserId (optional) | KonnektorId (optional) |
//! | 7… | further fields, kept | further fields, kept |
//!
//! Reading rules:
//!
//! * Fields 0, 2, 3, 4 are mandatory; fewer than five fields is [`UserNameError::TooFewFields`].
//! * Field 1 is optional since KIM 1.5.4: empty or `*` means "not given" (the Clientmodul then
//!   locates the Fachdienst by DNS-SD); otherwise a [`ServerAddress`].
//! * Fields 5 and 6 are optional: `*` (the spec's placeholder) or empty means "not given".
//! * Further fields are kept verbatim in order and never rejected (the spec requires unknown
//!   optional parameters to be evaluated, not refused). The SMTP/POP3 layer bounds the length
//!   of the whole line.
//!
//! `Display` writes the canonical form: `*` for an absent server, placeholders for fields 5/6
//! only where a later field is present, so that `parse(&x.to_string()) == Ok(x)`.

mod server;

use std::fmt;
use std::marker::PhantomData;

use crate::address::{AddressError, KimAddress};
use crate::context::{
    ClientSystemId, KonnektorContext, KonnektorId, MandantId, UserId, WorkplaceId,
};
use crate::id::{IdError, IdProblem};

pub use server::{HOST_MAX_LEN, ServerAddress, ServerAddressError};

const PLACEHOLDER: &str = "*";

/// Field order of one protocol's user name. Implemented by [`Smtp`] and [`Pop3`] only.
pub trait Layout: sealed::Sealed {
    /// Protocol name for messages.
    const PROTOCOL: &'static str;
    /// Position of the KonnektorId (5 or 6); the UserId takes the other one.
    const KONNEKTOR_ID_POSITION: usize;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Smtp {}
    impl Sealed for super::Pop3 {}
}

/// SMTP layout: `…#WorkplaceId[#KonnektorId[#UserId]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Smtp;

/// POP3 layout: `…#WorkplaceId[#UserId[#KonnektorId]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pop3;

impl Layout for Smtp {
    const PROTOCOL: &'static str = "SMTP";
    const KONNEKTOR_ID_POSITION: usize = 5;
}

impl Layout for Pop3 {
    const PROTOCOL: &'static str = "POP3";
    const KONNEKTOR_ID_POSITION: usize = 6;
}

/// A parsed user name; use the aliases [`SmtpUserName`] and [`Pop3UserName`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserName<L> {
    address: KimAddress,
    server: Option<ServerAddress>,
    context: KonnektorContext,
    konnektor_id: Option<KonnektorId>,
    extra: Vec<String>,
    layout: PhantomData<L>,
}

/// SMTP user name (kim-spec §3.1).
pub type SmtpUserName = UserName<Smtp>;
/// POP3 user name (kim-spec §4.1).
pub type Pop3UserName = UserName<Pop3>;

/// Why a user name is ill-formed. The Clientmodul answers SMTP `501 5.5.4` / POP3 `-ERR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    /// Fewer than the five mandatory fields.
    #[error(
        "too few fields: found {found}, 5 are required (KIM address#server#MandantId#ClientSystemId#WorkplaceId)"
    )]
    TooFewFields {
        /// Number of `#`-separated fields found.
        found: usize,
    },
    /// A field is present but invalid.
    #[error("field {position} ({name}): {problem}")]
    Field {
        /// 0-based field position.
        position: usize,
        /// Field name, e.g. `ClientSystemId`.
        name: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

/// What is wrong with one user-name field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// Field 0.
    #[error(transparent)]
    Address(AddressError),
    /// Field 1.
    #[error(transparent)]
    Server(ServerAddressError),
    /// A context id or the KonnektorId.
    #[error(transparent)]
    Id(IdProblem),
}

impl<L: Layout> UserName<L> {
    /// Builds a user name from its parts, e.g. to show a practice what to type into its
    /// mail client. `context.user_id` becomes the UserId field.
    #[must_use]
    pub fn new(
        address: KimAddress,
        server: Option<ServerAddress>,
        context: KonnektorContext,
        konnektor_id: Option<KonnektorId>,
    ) -> Self {
        Self {
            address,
            server,
            context,
            konnektor_id,
            extra: Vec::new(),
            layout: PhantomData,
        }
    }

    /// Parses a user name (see the module docs for the rules).
    ///
    /// # Errors
    /// [`UserNameError`] naming the first broken field by position and name.
    pub fn parse(input: &str) -> Result<Self, UserNameError> {
        let fields: Vec<&str> = input.split('#').collect();
        let [address, server, mandant, client, workplace, optional @ ..] = fields.as_slice() else {
            return Err(UserNameError::TooFewFields {
                found: fields.len(),
            });
        };
        let address = KimAddress::parse(address)
            .map_err(|e| field_error(0, "KIM address", FieldProblem::Address(e)))?;
        let server = match *server {
            "" | PLACEHOLDER => None,
            text => Some(
                ServerAddress::parse(text)
                    .map_err(|e| field_error(1, "server", FieldProblem::Server(e)))?,
            ),
        };
        let mut context = KonnektorContext::new(
            id_field(2, mandant, MandantId::parse)?,
            id_field(3, client, ClientSystemId::parse)?,
            id_field(4, workplace, WorkplaceId::parse)?,
        );
        let (five, six, extra): (&str, &str, &[&str]) = match optional {
            [] => ("", "", &[]),
            [five] => (five, "", &[]),
            [five, six, extra @ ..] => (five, six, extra),
        };
        // Validate in position order so that the first broken field is reported.
        let konnektor_id = if L::KONNEKTOR_ID_POSITION == 5 {
            let konnektor_id = optional_id_field(5, five, KonnektorId::parse)?;
            context.user_id = optional_id_field(6, six, UserId::parse)?;
            konnektor_id
        } else {
            context.user_id = optional_id_field(5, five, UserId::parse)?;
            optional_id_field(6, six, KonnektorId::parse)?
        };
        Ok(Self {
            address,
            server,
            context,
            konnektor_id,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            layout: PhantomData,
        })
    }

    /// Field 0: the KIM address, which is also the account at the Fachdienst.
    #[must_use]
    pub fn address(&self) -> &KimAddress {
        &self.address
    }

    /// Field 1: the Fachdienst server, if given.
    #[must_use]
    pub fn server(&self) -> Option<&ServerAddress> {
        self.server.as_ref()
    }

    /// Fields 2–4 and the UserId: the Konnektor call context.
    #[must_use]
    pub fn context(&self) -> &KonnektorContext {
        &self.context
    }

    /// The KonnektorId, if given.
    #[must_use]
    pub fn konnektor_id(&self) -> Option<&KonnektorId> {
        self.konnektor_id.as_ref()
    }

    /// Fields after position 6, verbatim.
    #[must_use]
    pub fn extra(&self) -> &[String] {
        &self.extra
    }

    /// The protocol this layout belongs to (`"SMTP"` or `"POP3"`).
    #[must_use]
    pub fn protocol(&self) -> &'static str {
        L::PROTOCOL
    }
}

fn field_error(position: usize, name: &'static str, problem: FieldProblem) -> UserNameError {
    UserNameError::Field {
        position,
        name,
        problem,
    }
}

fn id_error(position: usize, e: &IdError) -> UserNameError {
    field_error(position, e.kind(), FieldProblem::Id(e.problem()))
}

fn id_field<T>(
    position: usize,
    text: &str,
    parse: fn(&str) -> Result<T, IdError>,
) -> Result<T, UserNameError> {
    parse(text).map_err(|e| id_error(position, &e))
}

fn optional_id_field<T>(
    position: usize,
    text: &str,
    parse: fn(&str) -> Result<T, IdError>,
) -> Result<Option<T>, UserNameError> {
    match text {
        "" | PLACEHOLDER => Ok(None),
        text => id_field(position, text, parse).map(Some),
    }
}

impl<L: Layout> fmt::Display for UserName<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#", self.address)?;
        match &self.server {
            Some(server) => write!(f, "{server}")?,
            None => f.write_str(PLACEHOLDER)?,
        }
        write!(
            f,
            "#{}#{}#{}",
            self.context.mandant_id, self.context.client_system_id, self.context.workplace_id
        )?;
        let konnektor = self.konnektor_id.as_ref().map(KonnektorId::as_str);
        let user = self.context.user_id.as_ref().map(UserId::as_str);
        let (five, six) = if L::KONNEKTOR_ID_POSITION == 5 {
            (konnektor, user)
        } else {
            (user, konnektor)
        };
        let optional = match (five, six, self.extra.is_empty()) {
            (None, None, true) => vec![],
            (five, None, true) => vec![five],
            (five, six, _) => vec![five, six],
        };
        for field in optional {
            write!(f, "#{}", field.unwrap_or(PLACEHOLDER))?;
        }
        for field in &self.extra {
            write!(f, "#{field}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
