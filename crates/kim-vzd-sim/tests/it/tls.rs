//! LDAPS and HTTPS listeners (TLS from PEM files through kim-tls) against `ldapsearch` and
//! `curl` with the test PKI's CA bundle; REST clients authenticated by certificate.

use kim_vzd_sim::{ApiClient, TlsFiles};

use crate::*;

/// LDAPS + HTTPS with the `konnektor` identity; the `clientmodul` certificate (the test PKI's
/// TLS client profile) is the REST client `fad-mtls`.
async fn start_tls(dir: &Path) -> (RunningVzd, String) {
    let (chain_pem, key_pem) = tls_files(dir, "konnektor");
    let (client_cert, _) = tls_files(dir, "clientmodul");
    let bundle = ca_bundle(dir);
    let mut config = VzdSimConfig {
        data_dir: dir.join("data"),
        ldaps_listen: Some(([127, 0, 0, 1], 0).into()),
        rest_https: true,
        tls: Some(TlsFiles {
            chain_pem,
            key_pem,
            client_ca_pem: Some(bundle.clone()),
        }),
        ..VzdSimConfig::default()
    };
    config.api_clients.push(ApiClient {
        fad: "fad-mtls".into(),
        token: None,
        client_certificate_pem: Some(client_cert),
    });
    let vzd = VzdSim::start(config).await.unwrap();
    (vzd, bundle.display().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn ldaps_search_with_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (vzd, bundle) = start_tls(dir.path()).await;
    // libldap replaces "localhost" by the reverse-resolved host name; the IP SAN is used.
    let url = format!("ldaps://{}", vzd.ldaps_addr.unwrap());
    let env = vec![("LDAPTLS_CACERT".to_owned(), bundle)];
    let filter = format!("(mail={HBA_MAIL})");
    let (code, out) = ldapsearch_env(&url, &[&filter, "telematikID"], env).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("telematikID: 1-1.58.00000050"), "{out}");
    // Without the bundle the server certificate is not trusted.
    let other = vec![("LDAPTLS_CACERT".to_owned(), "/dev/null".to_owned())];
    let (code, _) = ldapsearch_env(&url, &[&filter], other).await;
    assert_ne!(code, 0);
}

async fn curl_tls(args: Vec<String>) -> (u16, String) {
    let mut all: Vec<String> = vec!["-sS".into(), "-w".into(), "\n%{http_code}".into()];
    all.extend(args);
    let out = run("curl", all, vec![]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn https_rest_api_with_token_or_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (vzd, bundle) = start_tls(dir.path()).await;
    let base = format!(
        "https://localhost:{}/DirectoryEntries/{PRAXIS_TID}/KOM-LE_Fachdaten",
        vzd.rest_addr.unwrap().port()
    );
    let (status, body) = curl_tls(vec![
        "--cacert".into(),
        bundle.clone(),
        "-H".into(),
        format!("Authorization: Bearer {TOKEN}"),
        format!("{base}/kim-sim"),
    ])
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["mail"][0], PRAXIS_MAIL);

    let (cert, key) = tls_files(dir.path(), "clientmodul");
    let with_cert = |path: String| {
        vec![
            "--cacert".into(),
            bundle.clone(),
            "--cert".into(),
            cert.display().to_string(),
            "--key".into(),
            key.display().to_string(),
            path,
        ]
    };
    let (status, body) = curl_tls(with_cert(format!("{base}/fad-mtls"))).await;
    assert_eq!(
        status, 200,
        "client certificate identifies FAD fad-mtls: {body}"
    );
    let (status, _) = curl_tls(with_cert(format!("{base}/kim-sim"))).await;
    assert_eq!(status, 403, "the certificate's FAD is fad-mtls");
    let (status, _) = curl_tls(vec!["--cacert".into(), bundle, format!("{base}/fad-mtls")]).await;
    assert_eq!(status, 401, "neither certificate nor token");
}
