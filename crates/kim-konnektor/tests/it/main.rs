//! Integration tests of kim-konnektor: golden SOAP files (byte-exact writers, parsers read
//! them back), XSD validation with xmllint, negative parser cases, field-shaped samples,
//! connector.sds, and property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod field;
mod golden;
mod negative;
mod props;
mod samples;
mod sds;
mod xsd;
mod zeep;

use std::path::PathBuf;

/// `tests/data/<sub>` of this crate.
pub fn data_dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}

/// Whether golden files are regenerated instead of compared.
pub fn update_expect() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1")
}
