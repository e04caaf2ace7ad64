//! server
pub mod decoder;
