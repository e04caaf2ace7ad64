//! The administration web UI of `kim sandbox --serve` in headless Chromium
//! (`tests/browser/admin_ui.mjs` with playwright-core): the reservation at the registration
//! portal, registration with its error cases (an expired registration link among them) and
//! through the portal mail's link, login, out-of-office, consent to large messages, password change, Telematik-ID change,
//! certificate download and import, deregistration and revocation.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::sandbox::Sandbox;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// `npm ci` once if playwright-core is not installed yet.
fn ensure_playwright() {
    let dir = browser_dir();
    if dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("npm (Node.js) is needed for the browser tests");
    assert!(
        out.status.success(),
        "npm ci in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("KIM_SCREENSHOT_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"),
        PathBuf::from,
    )
}

#[test]
fn the_admin_ui_walk_passes_in_chromium() {
    ensure_playwright();
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(dir.path(), crate::sandbox::free_base_port());
    let url = sandbox.s("/admin_ui_url");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let shots = screenshot_dir().join("admin-ui");
    let out = Command::new("node")
        .arg("admin_ui.mjs")
        .arg(&url)
        .arg(dir.path().join("sandbox.json"))
        .arg(&shots)
        .current_dir(browser_dir())
        .output()
        .expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser walk failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(stdout.contains("admin UI walk passed"), "{stdout}");
    // The import wrote the Clientmodul's key store, and its key pair is the one downloaded.
    let store = dir.path().join("clientmodul/keystore.json");
    assert!(store.exists(), "key store {} written", store.display());
    let password =
        kim_cm_config::StorePassword::load(&dir.path().join("clientmodul/store-password")).unwrap();
    let keys = kim_cm_config::KeyStore::open(&store, &password).unwrap();
    let imported = keys
        .keypair(&kim_cm_config::Partner::Fachdienst)
        .expect("the FD key pair is in the key store");
    let p12 = std::fs::read(shots.join("clientmodul.p12")).unwrap();
    let downloaded = kim_cm_config::KeyPair::from_pkcs12("download", &p12, "Zertifikat-2026")
        .expect("the download opens with the password given in the form");
    assert_eq!(imported.chain, downloaded.chain);
    sandbox.stop();
}
