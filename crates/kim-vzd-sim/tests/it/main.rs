//! Integration tests of the VZD simulator against real peers: OpenLDAP's `ldapsearch` /
//! `ldapdelete`, `curl` and `openssl x509`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod ldap;
mod rest;
mod tls;

use std::path::Path;
use std::process::Output;

use kim_vzd_sim::{RunningVzd, VzdSim, VzdSimConfig};

/// Telematik-IDs and addresses of the test PKI (`PkiSpec::small_default`).
pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const PRAXIS_MAIL: &str = "praxis.schmidt@test.kim.telematik";
pub const ZAHNARZT_MAIL: &str = "zahnarzt.weber@test.kim.telematik";
pub const HBA_MAIL: &str = "alice.schmidt@test.kim.telematik";
pub const TOKEN: &str = "vzd-sim-token";

/// A simulator on free ports with the given data directory.
pub async fn start(dir: &Path, adjust: impl FnOnce(&mut VzdSimConfig)) -> RunningVzd {
    let mut config = VzdSimConfig {
        data_dir: dir.to_path_buf(),
        ..VzdSimConfig::default()
    };
    adjust(&mut config);
    VzdSim::start(config).await.unwrap()
}

/// Runs a command off the async runtime.
pub async fn run(program: &str, args: Vec<String>, envs: Vec<(String, String)>) -> Output {
    let program = program.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&args)
            .envs(envs)
            .output()
            .unwrap_or_else(|e| panic!("{program} not runnable: {e}"))
    })
    .await
    .unwrap()
}

/// `ldapsearch -x -LLL` against `url` with extra arguments; returns (exit code, stdout).
pub async fn ldapsearch(url: &str, extra: &[&str]) -> (i32, String) {
    ldapsearch_env(url, extra, Vec::new()).await
}

/// As [`ldapsearch`] with environment variables (e.g. `LDAPTLS_CACERT`).
pub async fn ldapsearch_env(
    url: &str,
    extra: &[&str],
    envs: Vec<(String, String)>,
) -> (i32, String) {
    let mut args: Vec<String> = ["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-b"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(kim_vzd_sim::BASE_DN.into());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = run("ldapsearch", args, envs).await;
    let code = out.status.code().unwrap_or(-1);
    if code != 0 {
        eprintln!("ldapsearch: {}", String::from_utf8_lossy(&out.stderr));
    }
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Values of `attr` in LDIF output (`attr: v` or base64 `attr:: v`), as bytes.
pub fn ldif_values(ldif: &str, attr: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    ldif.lines()
        .filter_map(|l| {
            if let Some(v) = l.strip_prefix(&format!("{attr}:: ")) {
                Some(b64.decode(v).unwrap())
            } else {
                l.strip_prefix(&format!("{attr}: "))
                    .map(|v| v.as_bytes().to_vec())
            }
        })
        .collect()
}

/// Number of entries (`dn:` lines) in LDIF output.
pub fn entry_count(ldif: &str) -> usize {
    ldif.lines().filter(|l| l.starts_with("dn:")).count()
}

/// PEM files of a test PKI TLS entity: (chain, key) paths written into `dir`.
pub fn tls_files(dir: &Path, entity: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let pki = kim_testkit::pki::TestPki::shared_default().unwrap();
    let issued = &pki.tls_entity(entity).unwrap().issued;
    let chain = dir.join(format!("{entity}-chain.pem"));
    let key = dir.join(format!("{entity}-key.pem"));
    std::fs::write(&chain, issued.certificate_pem().unwrap()).unwrap();
    std::fs::write(&key, issued.private_key_pem().unwrap().as_bytes()).unwrap();
    (chain, key)
}

/// The test PKI's CA bundle written into `dir`.
pub fn ca_bundle(dir: &Path) -> std::path::PathBuf {
    let pki = kim_testkit::pki::TestPki::shared_default().unwrap();
    let bundle = dir.join("ca-bundle.pem");
    std::fs::write(&bundle, pki.ca_bundle_pem().unwrap()).unwrap();
    bundle
}
