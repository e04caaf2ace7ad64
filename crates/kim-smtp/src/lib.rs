//! SMTP for KIM.
mod envelope;
mod reply;
pub mod server;
pub use envelope::*;
pub use reply::{Reply, Severity};
