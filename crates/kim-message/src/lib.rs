//! The KOM-LE S/MIME message profile (see ARCHITECTURE.md).

pub mod cms;
pub mod kas;
pub mod mime;
