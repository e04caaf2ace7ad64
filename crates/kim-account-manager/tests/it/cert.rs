//! createCert: the PKCS#12 read by `openssl pkcs12`, its certificate verified by
//! `openssl verify` against the provider CA.

use base64::Engine;
use serde_json::{Value, json};

use crate::*;

const MAIL: &str = "cm@test.kim.telematik";

async fn create(env: &Env, body: &Value) -> (u16, String) {
    env.call("POST", MAIL, "/cert", PRAXIS_TID, Some(&body.to_string()))
        .await
}

/// The provider CA with its root, as `openssl verify -CAfile` needs them.
fn write_ca(env: &Env) -> String {
    let pem =
        pki().component_ca.certificate_pem().unwrap() + &pki().root_rsa.certificate_pem().unwrap();
    let path = env.dir.path().join("provider-ca.pem");
    std::fs::write(&path, pem).unwrap();
    path.display().to_string()
}

/// `openssl pkcs12 -in p12 -passin pass:<pw> -nokeys -clcerts` → leaf PEM path.
async fn leaf_from_p12(env: &Env, p12: &[u8], password: &str) -> (String, String) {
    let file = env.dir.path().join("cm.p12");
    std::fs::write(&file, p12).unwrap();
    let info = run(
        "openssl",
        vec![
            "pkcs12".into(),
            "-info".into(),
            "-in".into(),
            file.display().to_string(),
            "-passin".into(),
            format!("pass:{password}"),
            "-noenc".into(),
        ],
    )
    .await;
    assert!(
        info.status.success(),
        "openssl pkcs12 -info: {}",
        String::from_utf8_lossy(&info.stderr)
    );
    let text = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(text.contains("PRIVATE KEY"), "{text}");
    let leaf = env.dir.path().join("cm-leaf.pem");
    let out = run(
        "openssl",
        vec![
            "pkcs12".into(),
            "-in".into(),
            file.display().to_string(),
            "-passin".into(),
            format!("pass:{password}"),
            "-nokeys".into(),
            "-clcerts".into(),
            "-out".into(),
            leaf.display().to_string(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (leaf.display().to_string(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn pkcs12_with_a_cm_certificate_of_the_provider_ca() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let body = json!({"commonName": "Praxis Schmidt", "certPassword": b64("P12-Geheim")});
    let (status, text) = create(&env, &body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let p12 = STANDARD.decode(v["file"].as_str().unwrap()).unwrap();
    let (leaf, _) = leaf_from_p12(&env, &p12, "P12-Geheim").await;

    let ca = write_ca(&env);
    let verify = run(
        "openssl",
        vec![
            "verify".into(),
            "-CAfile".into(),
            ca.clone(),
            "-purpose".into(),
            "sslclient".into(),
            leaf.clone(),
        ],
    )
    .await;
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && out.contains(": OK"),
        "{out} {}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let x509 = run(
        "openssl",
        vec![
            "x509".into(),
            "-in".into(),
            leaf,
            "-noout".into(),
            "-subject".into(),
            "-ext".into(),
            "extendedKeyUsage,certificatePolicies,basicConstraints,keyUsage".into(),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&x509.stdout);
    assert!(
        text.contains("CN=Praxis Schmidt#CM") || text.contains("CN = Praxis Schmidt#CM"),
        "{text}"
    );
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(text.contains("1.2.276.0.76.4.175"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");

    // A wrong password does not open it.
    let file = env.dir.path().join("cm.p12");
    let wrong = run(
        "openssl",
        vec![
            "pkcs12".into(),
            "-info".into(),
            "-in".into(),
            file.display().to_string(),
            "-passin".into(),
            "pass:falsch".into(),
            "-noenc".into(),
        ],
    )
    .await;
    assert!(!wrong.status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_password_and_without_common_name() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let (status, text) = create(&env, &json!({"commonName": "Empfang"})).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let p12 = STANDARD.decode(v["file"].as_str().unwrap()).unwrap();
    leaf_from_p12(&env, &p12, "").await;

    for body in [
        json!({}),
        json!({"commonName": ""}),
        json!({"commonName": "x".repeat(80)}),
    ] {
        let (status, text) = create(&env, &body).await;
        assert_eq!(status, 400, "{body}: {text}");
        assert_error_body(&text);
    }
    // Another card may not create certificates for this account.
    let (status, _) = env
        .call(
            "POST",
            MAIL,
            "/cert",
            ZAHNARZT_TID,
            Some(&json!({"commonName": "x"}).to_string()),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn brainpool_provider_ca_signs_with_ecdsa() {
    let ca = &pki().component_ca_ecc;
    let env = Env::start_with(
        |c| {
            c.provider_ca_certificate_der = ca.certificate_der.clone();
            c.provider_ca_key_pkcs8_der = ca.private_key_pkcs8_der.clone();
        },
        None,
    )
    .await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let body = json!({"commonName": "ECC", "certPassword": b64("x")});
    let (status, text) = create(&env, &body).await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let p12 = STANDARD.decode(v["file"].as_str().unwrap()).unwrap();
    let (leaf, _) = leaf_from_p12(&env, &p12, "x").await;
    let chain = ca.certificate_pem().unwrap() + &pki().root_ecc.certificate_pem().unwrap();
    let ca_file = env.dir.path().join("ecc-ca.pem");
    std::fs::write(&ca_file, chain).unwrap();
    let verify = run(
        "openssl",
        vec![
            "verify".into(),
            "-CAfile".into(),
            ca_file.display().to_string(),
            leaf.clone(),
        ],
    )
    .await;
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && out.contains(": OK"),
        "{out} {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let text = run(
        "openssl",
        vec![
            "x509".into(),
            "-in".into(),
            leaf,
            "-noout".into(),
            "-text".into(),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");
}
