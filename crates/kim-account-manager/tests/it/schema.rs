//! schemathesis against the vendored AccountManager.yaml: no server errors, every response
//! conforms to the schema.

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let env = Env::start().await;
    assert_eq!(
        env.register(PRAXIS_TID, "schema@test.kim.telematik")
            .await
            .0,
        204
    );
    let spec = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/fachdienst/AccountManager.yaml"
    );
    let token = env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048);
    // Fixed account and passwords so the operations get past 404/401 to their logic.
    let config = env.dir.path().join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[parameters]\n\"path.username\" = \"schema@test.kim.telematik\"\n\"header.password\" = \"{}\"\n\"header.iniPassword\" = \"{}\"\n",
            b64(PASSWORD),
            b64(INI_PASSWORD)
        ),
    )
    .unwrap();
    // Its working directory receives schemathesis' cache: the temporary directory.
    let out = run_in(
        env.dir.path().to_path_buf(),
        "schemathesis",
        vec![
            "--config-file".into(),
            config.display().to_string(),
            "run".into(),
            spec.into(),
            "--url".into(),
            env.url.clone(),
            "--header".into(),
            format!("Authorization: Bearer {token}"),
            "--checks".into(),
            "not_a_server_error,response_schema_conformance".into(),
            "--max-examples".into(),
            "30".into(),
            "--seed".into(),
            "1".into(),
            "--no-color".into(),
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("Tested: 10"),
        "not every operation was tested:\n{stdout}"
    );
}
