//! Helpers: run the `openssl` CLI, make test keys and certificates in a temporary directory.

use std::path::Path;
use std::process::Command;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// A seeded RNG, so outputs are reproducible.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Runs `openssl` with `args` in `dir`, panicking with its stderr on failure; returns stdout.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `openssl` and returns (success, stdout, stderr) without asserting.
pub fn openssl_status(dir: &Path, args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Key algorithm for generated test identities.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Rsa,
    Brainpool,
}

/// A generated identity in `dir` (`leaf.key`, `leaf.pem`, `ca.pem`) and its DER forms: PKCS#8
/// key, leaf certificate issued by the CA, self-signed CA certificate.
#[derive(Debug)]
pub struct Identity {
    pub dir: tempfile::TempDir,
    pub key_der: Vec<u8>,
    pub cert_der: Vec<u8>,
    pub ca_der: Vec<u8>,
}

/// Generates a CA and a leaf identity with the openssl CLI.
pub fn identity(kind: KeyKind) -> Identity {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let genkey = |out: &str| match kind {
        KeyKind::Rsa => openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                out,
            ],
        ),
        KeyKind::Brainpool => openssl(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:brainpoolP256r1",
                "-out",
                out,
            ],
        ),
    };
    genkey("ca.key");
    genkey("leaf.key");
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Test CA",
            "-days",
            "2",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=Test Leaf",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "leaf.pem",
        ],
    );
    let key_der = openssl(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "leaf.key", "-outform", "DER",
        ],
    );
    let cert_der = openssl(d, &["x509", "-in", "leaf.pem", "-outform", "DER"]);
    let ca_der = openssl(d, &["x509", "-in", "ca.pem", "-outform", "DER"]);
    Identity {
        dir,
        key_der,
        cert_der,
        ca_der,
    }
}

/// Decodes a PEM document of the given label into DER.
pub fn pem_to_der(pem: &[u8], label: &str) -> Vec<u8> {
    let (found, der) = pem_rfc7468::decode_vec(pem).unwrap();
    assert_eq!(found, label);
    der
}

/// All PEM blocks with `label` in `text`, decoded, in order.
pub fn pem_blocks(text: &[u8], label: &str) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(text);
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find(&begin) {
        let tail = &rest[start..];
        let stop = tail.find(&end).expect("unterminated PEM block") + end.len();
        out.push(pem_to_der(&tail.as_bytes()[..stop], label));
        rest = &tail[stop..];
    }
    out
}
