//! schemathesis against each vendored yaml with valid Basic credentials: no 5xx, every answer
//! conforms to the schema.

use std::path::PathBuf;

use crate::harness::{ARZT, Env, PASSWORD, run};

fn spec(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../spec/fachdienst")
        .join(name)
}

async fn schemathesis(env: &Env, yaml: &str, base: &str) {
    let report = env.path(&format!("{yaml}.junit.xml"));
    let args: Vec<String> = vec![
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
    let output = run("schemathesis", args).await;
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_service_conforms() {
    let env = Env::start().await;
    schemathesis(&env, "AttachmentService.yaml", "/attachments/v2.4").await;
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_limit_conforms() {
    let env = Env::start().await;
    schemathesis(&env, "AccountLimit.yaml", "/AccountLimit/v1.1").await;
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_information_conforms() {
    let env = Env::start().await;
    schemathesis(&env, "ServiceInformation.yaml", "/ServiceInformation/v1.0").await;
    env.stop();
}
