//! Writing a [`TestPki`] to a directory (used by `kim pki create --out DIR`).
//!
//! Layout (every path relative to the output directory):
//!
//! ```text
//! ca-bundle.pem                         every CA certificate (both roots, all intermediates)
//! manifest.txt                          one line per file: path, TAB, what it is
//! ca/<rsa|ecc>/<root|komp|smcb|hba>.crt.pem|.crt.der|.key.pem
//! cards/<Telematik-ID>/<aut|enc|osig|qes>-<rsa|ecc>.crt.pem|.crt.der|.key.pem|.p12
//! tls/<name>.crt.pem|.crt.der|.key.pem|.p12
//! ```
//!
//! `.key.pem` is unencrypted PKCS#8 (`PRIVATE KEY`); `.p12` holds key, certificate
//! and chain, protected with the caller's password. On Unix key files and `.p12`
//! files are created with mode 0600.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::issued::Issued;
use super::keys::derive_bytes;
use super::{Ca, PkiError, TestPki};

/// One file written by [`TestPki::write_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path relative to the output directory, `/`-separated.
    pub path: String,
    /// What the file is, e.g. `C.HCI.ENC RSA-2048 certificate (PEM) of 1-2.58.00000040`.
    pub description: String,
}

/// The list of files written by [`TestPki::write_dir`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Files in the order they were written.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// The text of `manifest.txt`: a header, then `path<TAB>description` per line.
    pub fn to_text(&self) -> String {
        let mut text = String::from(
            "# kim-testkit test PKI (TEST-ONLY, NOT-VALID; never use outside tests)\n",
        );
        for entry in &self.entries {
            let _ = writeln!(text, "{}\t{}", entry.path, entry.description);
        }
        text
    }

    /// The entry for `path`, if written.
    pub fn get(&self, path: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.path == path)
    }
}

/// Collects files under a root directory and records them in the manifest.
struct Writer<'a> {
    root: &'a Path,
    /// PKI seed; PKCS#12 salts and IVs derive from it and the entity label.
    seed: [u8; 32],
    manifest: Manifest,
}

impl Writer<'_> {
    fn write(
        &mut self,
        relative: &str,
        bytes: &[u8],
        secret: bool,
        description: String,
    ) -> Result<(), PkiError> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io_error(parent, source))?;
        }
        write_file(&path, bytes, secret).map_err(|source| io_error(&path, source))?;
        self.manifest.entries.push(ManifestEntry {
            path: relative.to_string(),
            description,
        });
        Ok(())
    }

    fn write_ca(&mut self, ca: &Ca, what: &str) -> Result<(), PkiError> {
        let stem = &ca.label;
        self.write(
            &format!("{stem}.crt.pem"),
            ca.certificate_pem()?.as_bytes(),
            false,
            format!("{what} certificate (PEM)"),
        )?;
        self.write(
            &format!("{stem}.crt.der"),
            &ca.certificate_der,
            false,
            format!("{what} certificate (DER)"),
        )?;
        self.write(
            &format!("{stem}.key.pem"),
            ca.private_key_pem()?.as_bytes(),
            true,
            format!("{what} private key (PKCS#8 PEM, unencrypted)"),
        )
    }

    fn write_issued(
        &mut self,
        stem: &str,
        issued: &Issued,
        what: &str,
        p12_password: &str,
    ) -> Result<(), PkiError> {
        self.write(
            &format!("{stem}.crt.pem"),
            issued.certificate_pem()?.as_bytes(),
            false,
            format!("{what} certificate (PEM)"),
        )?;
        self.write(
            &format!("{stem}.crt.der"),
            &issued.certificate_der,
            false,
            format!("{what} certificate (DER)"),
        )?;
        self.write(
            &format!("{stem}.key.pem"),
            issued.private_key_pem()?.as_bytes(),
            true,
            format!("{what} private key (PKCS#8 PEM, unencrypted)"),
        )?;
        let rng_seed = *derive_bytes(&self.seed, &format!("{}/p12", issued.label));
        let p12 = issued.to_pkcs12(p12_password, rng_seed)?;
        self.write(
            &format!("{stem}.p12"),
            &p12,
            true,
            format!("{what} PKCS#12: key, certificate and chain"),
        )
    }
}

impl TestPki {
    /// Writes every CA, card and TLS certificate with its key to `dir` (created if
    /// missing) in the layout documented in this module, plus `ca-bundle.pem` and
    /// `manifest.txt`. PKCS#12 files use `p12_password`; their salts and IVs derive
    /// from the entity label, so the output is reproducible.
    pub fn write_dir(&self, dir: &Path, p12_password: &str) -> Result<Manifest, PkiError> {
        let mut writer = Writer {
            root: dir,
            seed: self.spec.seed,
            manifest: Manifest::default(),
        };
        writer.write(
            "ca-bundle.pem",
            self.ca_bundle_pem()?.as_bytes(),
            false,
            "every CA certificate of both hierarchies (PEM bundle, trust anchors first)".into(),
        )?;
        let ca_names = [
            "RSA root CA",
            "RSA component CA (TLS)",
            "RSA SMC-B CA",
            "RSA HBA CA",
            "brainpoolP256r1 root CA",
            "brainpoolP256r1 component CA",
            "brainpoolP256r1 SMC-B CA",
            "brainpoolP256r1 HBA CA",
        ];
        for (ca, what) in self.cas().into_iter().zip(ca_names) {
            let what = format!("{what} {}", subject_cn(&ca.certificate_der));
            writer.write_ca(ca, &what)?;
        }
        for card in &self.cards {
            let dir = path_component(&card.spec.telematik_id);
            for (role, alg, issued) in card.all() {
                let profile = super::profiles::card_profile(card.spec.kind, role, alg);
                let stem = format!("cards/{dir}/{}-{}", role.tag(card.spec.kind), alg.tag());
                let what = format!(
                    "{} {} of {} ({})",
                    profile.type_name,
                    algorithm_name(alg),
                    card.spec.telematik_id,
                    card.spec.holder
                );
                writer.write_issued(&stem, issued, &what, p12_password)?;
            }
        }
        for tls in &self.tls {
            let profile = super::profiles::tls_profile(tls.spec.profile);
            let what = format!(
                "{} {} TLS certificate {:?}",
                profile.type_name,
                algorithm_name(tls.spec.algorithm),
                tls.spec.common_name
            );
            writer.write_issued(
                &format!("tls/{}", tls.spec.name),
                &tls.issued,
                &what,
                p12_password,
            )?;
        }
        let mut manifest = writer.manifest;
        manifest.entries.push(ManifestEntry {
            path: "manifest.txt".into(),
            description: "this list".into(),
        });
        let path = dir.join("manifest.txt");
        write_file(&path, manifest.to_text().as_bytes(), false)
            .map_err(|source| io_error(&path, source))?;
        Ok(manifest)
    }
}

fn algorithm_name(alg: super::KeyAlgorithm) -> &'static str {
    match alg {
        super::KeyAlgorithm::Rsa2048 => "RSA-2048",
        super::KeyAlgorithm::BrainpoolP256r1 => "brainpoolP256r1",
    }
}

/// `CN=…` of a certificate for descriptions; empty if unreadable.
fn subject_cn(certificate_der: &[u8]) -> String {
    use der::Decode;
    x509_cert::Certificate::from_der(certificate_der)
        .ok()
        .and_then(|c| c.tbs_certificate().subject().common_name().ok().flatten())
        .map(|cn| format!("\"{}\"", cn.value()))
        .unwrap_or_default()
}

/// A Telematik-ID as a single path component: characters outside `[A-Za-z0-9.-_]`
/// become `_`.
fn path_component(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn write_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error(path: &Path, source: std::io::Error) -> PkiError {
    PkiError::Io {
        path: PathBuf::from(path),
        source,
    }
}
