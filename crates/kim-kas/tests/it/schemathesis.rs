//! schemathesis against each vendored yaml with valid Basic credentials: no 5xx, every answer
//! conforms to the schema.

use std::path::PathBuf;

use crate::harness::{ARZT, Env, PASSWORD, run_in, upload_ok};

fn spec(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/fachdienst")
        .join(name)
}

/// Runs schemathesis on `yaml` with the settings in `config` (schemathesis.toml syntax).
async fn schemathesis(env: &Env, yaml: &str, base: &str, config: &str) -> String {
    let report = env.path(&format!("{yaml}.junit.xml"));
    let config_file = env.path(&format!("{yaml}.schemathesis.toml"));
    std::fs::write(&config_file, config).unwrap();
    let args: Vec<String> = vec![
        "--config-file".into(),
        config_file.to_string_lossy().into_owned(),
        "run".into(),
        spec(yaml).to_string_lossy().into_owned(),
        "--url".into(),
        env.url(base),
        "--auth".into(),
        format!("{ARZT}:{PASSWORD}"),
        "--checks".into(),
        "not_a_server_error,response_schema_conformance".into(),
        "--max-examples".into(),
        "30".into(),
        "--seed".into(),
        "4711".into(),
        "--workers".into(),
        "1".into(),
        "--request-timeout".into(),
        "20".into(),
        "--generation-database".into(),
        "none".into(),
        "--no-color".into(),
        "--report".into(),
        "junit".into(),
        "--report-junit-path".into(),
        report.to_string_lossy().into_owned(),
    ];
    let output = run_in(env.dir.path(), "schemathesis", args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis failed on {yaml}:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("passed"),
        "schemathesis ran no test on {yaml}:\n{stdout}"
    );
    stdout.into_owned()
}

/// Invalid `Content-Length` values (negative, not a number) are refused by the HTTP/1.1
/// parser with a bare `400` before any route is reached, so `addMailData` is fuzzed with
/// valid data only; the other operations get an existing object and a listed recipient, so
/// they reach the download path and not only `404`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_service_conforms() {
    let env = Env::start().await;
    let file = env.data_file("blob", 2048);
    let link = upload_ok(&env, &file, &[ARZT]).await;
    let id = link.rsplit('/').next().unwrap();
    let config = format!(
        r#"
[[operations]]
include-method = "POST"
generation.mode = "positive"

[[operations]]
include-path = "/attachment/{{attachmentId}}"
parameters = {{ "path.attachmentId" = "{id}", "header.recipient" = "{ARZT}" }}
"#
    );
    let out = schemathesis(&env, "AttachmentService.yaml", "/attachments/v2.4", &config).await;
    assert!(
        !out.contains("Missing test data"),
        "the object was not used:\n{out}"
    );
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_limit_conforms() {
    let env = Env::start().await;
    schemathesis(&env, "AccountLimit.yaml", "/AccountLimit/v1.1", "").await;
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_information_conforms() {
    let env = Env::start().await;
    schemathesis(
        &env,
        "ServiceInformation.yaml",
        "/ServiceInformation/v1.0",
        "",
    )
    .await;
    env.stop();
}
