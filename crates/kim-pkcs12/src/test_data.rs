//! Unit-test access to the committed sample files in `tests/data` (see `SOURCE.md` there).
#![allow(clippy::unwrap_used)]

/// Reads `tests/data/NAME` and decodes it from PEM with the expected `label`.
pub(crate) fn pem(name: &str, label: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
    let pem = std::fs::read(format!("{path}{name}")).unwrap();
    let (found, der) = pem_rfc7468::decode_vec(&pem).unwrap();
    assert_eq!(found, label);
    der
}
