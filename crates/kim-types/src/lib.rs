//! KIM vocabulary types (see ARCHITECTURE.md).

mod address;
mod context;
mod id;
mod telematik_id;

pub use address::{AddressError, KimAddress};
pub use context::{ClientSystemId, KonnektorContext, KonnektorId, MandantId, UserId, WorkplaceId};
pub use id::{IdError, IdProblem};
pub use telematik_id::TelematikId;
