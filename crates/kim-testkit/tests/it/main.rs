//! Integration tests of the test PKI against the `openssl` CLI.
//!
//! One PKI ([`TestPki::shared_default`]) and one written copy of it are shared by all
//! tests of this binary; only the determinism and expiry tests generate more.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod admission;
mod determinism;
mod expiry;
mod files;
mod p12;
mod profiles;
mod verify;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kim_testkit::pki::{Manifest, TestPki};

/// Password of the PKCS#12 files in the shared output directory.
pub const P12_PASSWORD: &str = "00";

/// The shared default PKI.
pub fn pki() -> &'static TestPki {
    TestPki::shared_default().expect("default PKI generates")
}

/// The shared default PKI written to a temporary directory, with its manifest.
pub fn written() -> &'static (tempfile::TempDir, Manifest) {
    static DIR: OnceLock<(tempfile::TempDir, Manifest)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let manifest = pki().write_dir(dir.path(), P12_PASSWORD).unwrap();
        (dir, manifest)
    })
}

/// Path of a file in the shared output directory.
pub fn out(relative: &str) -> PathBuf {
    written().0.path().join(relative)
}

/// Output of one `openssl` run.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `openssl` with `args`; panics if the binary cannot be started (the
/// tests must not pass silently without their peer).
pub fn openssl(args: &[&str]) -> Run {
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI must be installed for these tests");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Writes `bytes` to a fresh file in `dir`.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}
