//! LDAPS and HTTPS listeners against `ldapsearch` and `curl` with the test PKI's CA bundle.

use kim_vzd_sim::StartOptions;

use crate::*;

async fn start_tls(dir: &Path) -> (RunningVzd, String) {
    let (tls, bundle) = tls_server(dir);
    let config = VzdSimConfig {
        data_dir: dir.join("data"),
        ldaps_listen: Some(([127, 0, 0, 1], 0).into()),
        rest_https: true,
        ..VzdSimConfig::default()
    };
    let options = StartOptions {
        tls: Some(tls),
        ..StartOptions::default()
    };
    (VzdSim::start_with(config, options).await.unwrap(), bundle)
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

#[tokio::test(flavor = "multi_thread")]
async fn https_rest_api_with_the_ca_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (vzd, bundle) = start_tls(dir.path()).await;
    let url = format!(
        "https://localhost:{}/DirectoryEntries/{PRAXIS_TID}/KOM-LE_Fachdaten/kim-sim",
        vzd.rest_addr.unwrap().port()
    );
    let args = vec![
        "-s".into(),
        "--cacert".into(),
        bundle,
        "-H".into(),
        format!("Authorization: Bearer {TOKEN}"),
        url,
    ];
    let out = run("curl", args, vec![]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mail"][0], PRAXIS_MAIL);
}
