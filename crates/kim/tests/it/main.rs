//! The `kim` binary as scripts use it: forms, exit codes, files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod account;
mod admin_ui;
mod clientmodul;
mod fachdienst;
mod message;
mod sandbox;
mod ti;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub fn kim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(args)
        .output()
        .expect("run kim")
}

pub fn gematik(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kim-message/tests/data/gematik")
        .join(name)
}

/// One PKI directory per test binary, written by `kim pki create`.
pub fn pki_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = kim(&["pki", "create", "--out", dir.path().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}
