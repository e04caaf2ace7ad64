//! `kim message inspect | seal | open`.

use crate::{gematik, kim, pki_dir};

fn p(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn seal_then_open_gives_01_with_trust_and_07_without() {
    let pki = pki_dir();
    let work = tempfile::tempdir().unwrap();
    let mail = work.path().join("mail.eml");
    std::fs::write(&mail, "From: <praxis.schmidt@test.kim.telematik>\nTo: <zahnarzt.weber@test.kim.telematik>\nSubject: Befund\nDate: Mon, 23 Nov 2026 09:00:00 +0100\nMessage-ID: <cli-1@praxis.test>\n\nHallo Kollege,\nanbei der Befund.\n").unwrap();
    let a = pki.join("cards/1-2.58.00000040");
    let b = pki.join("cards/2-2.58.00000041");
    let out = kim(&[
        "message",
        "seal",
        "--signer",
        p(&a.join("osig-rsa.p12")),
        "--password",
        "00",
        "--recipient",
        p(&b.join("enc-rsa.crt.pem")),
        "--recipient",
        p(&a.join("enc-rsa.crt.pem")),
        p(&mail),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sealed = work.path().join("sealed.eml");
    std::fs::write(&sealed, &out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Subject: KOM-LE-Nachricht\r\n")
            && text.contains("X-KOM-LE-Version: 1.0\r\n"),
        "{text}"
    );

    let inspect = kim(&["message", "inspect", p(&sealed)]);
    assert_eq!(
        inspect.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&inspect.stdout)
    );
    assert!(
        String::from_utf8_lossy(&inspect.stdout)
            .contains("zahnarzt.weber@test.kim.telematik -> serial")
    );

    let out = kim(&[
        "message",
        "open",
        "--key",
        p(&b.join("enc-rsa.p12")),
        "--password",
        "00",
        "--trust",
        p(&pki.join("ca-bundle.pem")),
        p(&sealed),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("X-KIM-IntegrityCheckResult: 01\r\n") && text.contains("anbei der Befund."),
        "{text}"
    );

    let out = kim(&[
        "message",
        "open",
        "--key",
        p(&b.join("enc-rsa.p12")),
        "--password",
        "00",
        p(&sealed),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("X-KIM-IntegrityCheckResult: 07\r\n"));

    // The HBA's key is not a recipient: E2 with 01, exit 1.
    let hba = pki.join("cards/1-1.58.00000050/enc-rsa.p12");
    let out = kim(&[
        "message",
        "open",
        "--key",
        p(&hba),
        "--password",
        "00",
        "--receiver",
        "zahnarzt.weber@test.kim.telematik",
        p(&sealed),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("X-KIM-DecryptionResult: 01\r\n"));
}

#[test]
fn gematik_sample_opens_with_00_then_04_and_exit_1() {
    let out = kim(&[
        "message",
        "open",
        "--key",
        p(&gematik("hci-enc-3-kim-bsp.p12")),
        "--password",
        "00",
        p(&gematik("inputEmail.txt.05.encryptedwrap")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("X-KIM-DecryptionResult: 00\r\n")
            && text.contains("X-KIM-IntegrityCheckResult: 04\r\n"),
        "{text}"
    );
}

#[test]
fn inspect_reads_the_gematik_layers() {
    for f in [
        "inputEmail.txt.05.encryptedwrap",
        "inputEmail.txt.04.encryptedcms",
        "inputEmail.txt.02.signedcms",
    ] {
        let out = kim(&["message", "inspect", p(&gematik(f))]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{f}: {text}");
        assert!(text.contains("mustersender@komle.de"), "{f}: {text}");
    }
    let out = kim(&[
        "message",
        "inspect",
        p(&gematik("inputEmail.txt.02.signedcms")),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Asclepios"));
    // The .03 entity holds the line-ending-mangled signature: reported, exit 1.
    let out = kim(&[
        "message",
        "inspect",
        p(&gematik("inputEmail.txt.03.signedwrap")),
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_2_and_name_the_cause() {
    let out = kim(&[
        "message",
        "open",
        "--key",
        "/nonexistent/key.p12",
        "--password",
        "00",
        p(&gematik("inputEmail.txt.05.encryptedwrap")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/key.p12"));
    let out = kim(&[
        "message",
        "open",
        "--key",
        p(&gematik("hci-enc-3-kim-bsp.p12")),
        "--password",
        "wrong",
        p(&gematik("inputEmail.txt.05.encryptedwrap")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("password")
            || String::from_utf8_lossy(&out.stderr).contains("MAC"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kim(&["message", "seal", "--signer", "x.p12"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kim(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
