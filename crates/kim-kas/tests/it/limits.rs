//! AccountLimit and ServiceInformation driven by curl.

use kim_kas::MAX_MAIL_SIZE;

use crate::harness::{ARZT, Env, KLEIN, PASSWORD, service_information, upload};

async fn limits(env: &Env, user: &str, password: &str) -> (u16, serde_json::Value) {
    let (status, body) = env
        .curl(&[
            "-u",
            &format!("{user}:{password}"),
            &env.url("/AccountLimit/v1.1/limit"),
        ])
        .await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_limits_follow_quota_and_usage() {
    let env = Env::start().await;
    let (status, json) = limits(&env, ARZT, PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(
        json,
        serde_json::json!({"dataTimeToLive": 90, "maxMailSize": MAX_MAIL_SIZE,
                           "quota": -1, "remainQuota": -1})
    );
    let file = env.data_file("blob", 300_000);
    let (status, _) = upload(&env, KLEIN, &file, &[ARZT]).await;
    assert_eq!(status, 201);
    let (_, json) = limits(&env, KLEIN, PASSWORD).await;
    assert_eq!(json["quota"], 1024 * 1024);
    assert_eq!(json["remainQuota"], 1024 * 1024 - 300_000);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_limits_need_the_mailbox_password() {
    let env = Env::start().await;
    let (status, json) = limits(&env, ARZT, "falsch").await;
    assert_eq!(status, 401);
    assert!(json["traceId"].is_string());
    let (status, _) = env.curl(&[&env.url("/AccountLimit/v1.1/limit")]).await;
    assert_eq!(status, 401);
    env.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_information_is_the_configured_document() {
    let env = Env::start().await;
    let (status, body) = env
        .curl(&[&env.url("/ServiceInformation/v1.0/serviceinfo")])
        .await;
    assert_eq!(status, 200);
    let got: kim_kas::ServiceInformation = serde_json::from_slice(&body).unwrap();
    assert_eq!(got, service_information());
    let (status, body) = env.curl(&[&env.url("/ServiceInformation/v1.0/nix")]).await;
    assert_eq!(status, 404);
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    env.stop();
}
