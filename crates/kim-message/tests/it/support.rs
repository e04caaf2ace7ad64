//! Shared helpers: test data paths, PEM, and the openssl CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A file of the gematik sample set (see tests/data/gematik/SOURCE.md).
pub fn gematik(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/gematik")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The DER inside the first PEM block of `pem`.
pub fn pem_der(pem: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(pem).unwrap();
    let start = text.find("-----BEGIN").expect("PEM block");
    let end_marker = text[start..].find("-----END").unwrap() + start;
    let end = text[end_marker..]
        .find('\n')
        .map_or(text.len(), |i| end_marker + i + 1);
    let (_, der) = pem_rfc7468::decode_vec(&text.as_bytes()[start..end]).unwrap();
    der
}

/// Runs `openssl` with `args` in `dir`, feeding `stdin`; panics with its stderr on failure
/// when `must_succeed`.
pub fn openssl(
    dir: &Path,
    args: &[&str],
    stdin: &[u8],
    must_succeed: bool,
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the openssl CLI must be installed (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    if must_succeed && !out.status.success() {
        panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A self-signed certificate and PKCS#8 key made by openssl: `rsa` or `bp256`.
pub struct OpensslIdentity {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

pub fn openssl_identity(dir: &Path, name: &str, kind: &str) -> OpensslIdentity {
    let key = format!("{name}.key.pem");
    let cert = format!("{name}.crt.pem");
    match kind {
        "rsa" => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &key,
            ],
            b"",
            true,
        ),
        "bp256" => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:brainpoolP256r1",
                "-out",
                &key,
            ],
            b"",
            true,
        ),
        other => panic!("unknown key kind {other}"),
    };
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            &key,
            "-out",
            &cert,
            "-days",
            "3650",
            "-subj",
            &format!("/C=DE/O=TEST-ONLY/CN={name}"),
            "-sha256",
        ],
        b"",
        true,
    );
    OpensslIdentity {
        cert_der: pem_der(&std::fs::read(dir.join(&cert)).unwrap()),
        key_der: pem_der(&std::fs::read(dir.join(&key)).unwrap()),
        cert_pem: dir.join(cert),
        key_pem: dir.join(key),
    }
}
