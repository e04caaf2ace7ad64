//! python-zeep, loaded with the vendored gematik WSDLs, as a foreign SOAP client over HTTPS;
//! its results are checked with openssl. Fails if python3 or zeep is missing.

use std::process::Command;

use crate::common::*;

#[tokio::test(flavor = "multi_thread")]
async fn zeep_client_drives_every_kim_operation_and_openssl_checks_the_results() {
    let sim = start(default_config()).await;
    let out = tempfile::tempdir().unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/zeep_client.py");
    let base = format!("https://localhost:{}", sim.addr().port());
    let ca = pki_dir().join("ca-bundle.pem");
    let out_path = out.path().to_path_buf();
    let summary = tokio::task::spawn_blocking(move || {
        run(Command::new("python3")
            .arg(script)
            .arg(base)
            .arg(ca)
            .arg(out_path))
    })
    .await
    .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(summary["GetCards"], serde_json::json!([SMCB, SMCB2]));
    assert_eq!(summary["VerifyPin"], serde_json::json!(["OK", "OK"]));
    assert_eq!(summary["SignDocument"], serde_json::json!(["zeep-1", "OK"]));
    assert_eq!(summary["ExternalAuthenticate"], "urn:ietf:rfc:3447");

    let f = |n: &str| out.path().join(n);
    let doc = std::fs::read(f("document.bin")).unwrap();
    let weber = pki_dir().join("cards/2-2.58.00000041");
    assert_eq!(
        std::fs::read(f("weber-enc-rsa.der")).unwrap(),
        std::fs::read(weber.join("enc-rsa.crt.der")).unwrap()
    );
    let verified = run(Command::new("openssl")
        .args([
            "cms", "-verify", "-inform", "DER", "-purpose", "any", "-binary", "-in",
        ])
        .arg(f("signed.der"))
        .arg("-CAfile")
        .arg(pki_dir().join("ca-bundle.pem")));
    assert_eq!(verified, doc);
    let decrypted = run(Command::new("openssl")
        .args(["cms", "-decrypt", "-inform", "DER", "-binary", "-in"])
        .arg(f("encrypted.der"))
        .arg("-recip")
        .arg(weber.join("enc-rsa.crt.pem"))
        .arg("-inkey")
        .arg(weber.join("enc-rsa.key.pem")));
    assert_eq!(decrypted, doc);
    assert_eq!(std::fs::read(f("decrypted.bin")).unwrap(), doc);
    let aut = pki_dir().join("cards/1-2.58.00000040/aut-rsa.crt.pem");
    let ok = run(Command::new("openssl")
        .args(["pkeyutl", "-verify", "-certin", "-inkey"])
        .arg(aut)
        .arg("-in")
        .arg(f("hash.bin"))
        .arg("-sigfile")
        .arg(f("auth.sig"))
        .args([
            "-pkeyopt",
            "rsa_padding_mode:pss",
            "-pkeyopt",
            "rsa_pss_saltlen:32",
            "-pkeyopt",
            "digest:sha256",
        ]));
    assert!(String::from_utf8_lossy(&ok).contains("Signature Verified Successfully"));
    sim.shutdown().await;
}
