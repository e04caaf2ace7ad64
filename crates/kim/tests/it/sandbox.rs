//! `kim sandbox` (README command 1) and `kim pki create`.

use crate::{kim, pki_dir};
use std::process::Command;

#[test]
fn sandbox_delivers_the_arztbrief_with_its_vermerk() {
    for extra in [&[][..], &["--ecc"][..]] {
        let mut args = vec!["sandbox"];
        args.extend_from_slice(extra);
        let out = kim(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("X-KIM-DecryptionResult: 00\r\n"), "{text}");
        assert!(
            text.contains("X-KIM-IntegrityCheckResult: 01\r\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "Die Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft."
            ),
            "{text}"
        );
        assert!(text.contains("Frau Müller"), "8-bit text survives: {text}");
    }
}

#[test]
fn pki_create_writes_certificates_that_openssl_verifies() {
    let dir = pki_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    assert!(manifest.lines().count() > 50, "{manifest}");
    let leaf = dir.join("cards/2-2.58.00000041/enc-rsa.crt.pem");
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("ca-bundle.pem"))
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pki_create_is_deterministic_and_reports_io_errors() {
    let a = tempfile::tempdir().unwrap();
    let out = kim(&["pki", "create", "--out", a.path().to_str().unwrap()]);
    assert!(out.status.success());
    let f = "cards/1-2.58.00000040/osig-rsa.crt.der";
    assert_eq!(
        std::fs::read(a.path().join(f)).unwrap(),
        std::fs::read(pki_dir().join(f)).unwrap()
    );

    let blocker = a.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = kim(&[
        "pki",
        "create",
        "--out",
        blocker.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writing the test PKI"));
}
