//! KIM vocabulary types (see ARCHITECTURE.md).

mod address;
mod context;
mod dienstkennung;
mod id;
mod secret;
mod telematik_id;
mod user_name;
mod version;
mod vzd_entry;

pub use address::{AddressError, KimAddress};
pub use context::{ClientSystemId, KonnektorContext, KonnektorId, MandantId, UserId, WorkplaceId};
pub use dienstkennung::{Dienstkennung, DienstkennungError};
pub use id::{IdError, IdProblem};
pub use secret::Secret;
pub use telematik_id::TelematikId;
pub use user_name::{
    FieldProblem, Layout, Pop3, Pop3UserName, ServerAddress, ServerAddressError, Smtp,
    SmtpUserName, UserName, UserNameError,
};
pub use version::{KimVersion, VersionError};
pub use vzd_entry::{VzdDataError, VzdVersionEntry};
