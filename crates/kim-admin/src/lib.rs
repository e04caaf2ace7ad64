//! The client side of KIM account administration (kim-spec §6.3 and §7), shared by the
//! `kim account` command line and the administration web UI.
//!
//! Modules:
//! - [`auth`]: the practice's cards at the Konnektor ([`auth::list_cards`],
//!   [`auth::select_card`]) and the Bearer token of the Account Manager
//!   ([`auth::sign_jwt`]: `PS256` with an RSA AUT key, `ES256` over brainpoolP256r1 with an
//!   ECC AUT key, signed by `ExternalAuthenticate`; KOM-LE-A_2187, A_19457);
//!   [`auth::Token`] keeps one for its lifetime.
//! - [`am`]: [`am::AccountManagerClient`], the REST client of `I_AccountManager_Service`
//!   (AccountManager.yaml 2.4.0), `I_ServiceInformation` and `I_AccountLimit_Service`, with
//!   the yaml's types ([`am::Account`], [`am::AccountUpdate`], [`am::OutOfOffice`],
//!   [`am::ServiceInformation`], [`am::AccountLimit`]).
//! - [`rules`]: checks a UI runs before asking the Fachdienst: [`rules::check_address`]
//!   (registration rules of a KIM address) and [`rules::check_password`] (the provider's
//!   `passwordPolicyRegEx`).
//! - [`AdminError`]: the one error type; [`AdminError::german_message`] is a short German
//!   text for people, [`AdminError::status`] the Account Manager's HTTP status if it answered.
//!
//! Invariants: passwords, initial passwords, OTPs and tokens are never logged and never part
//! of an error's or a type's `Debug` output; private keys stay in the Konnektor.

pub mod am;
pub mod auth;
mod error;
pub mod rules;

pub use am::{
    Account, AccountLimit, AccountManagerClient, AccountUpdate, AmClientConfig, NewAccount,
    OutOfOffice, ServiceInformation,
};
pub use auth::{
    Algorithm, AuthCard, CardKind, Context, Token, ensure_pin, list_cards, select_card, sign_jwt,
    unix_now, use_algorithm,
};
pub use error::AdminError;
pub use rules::{check_address, check_password};
