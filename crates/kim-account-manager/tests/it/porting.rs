//! getOTP / setTID: moving an address to the Telematik-ID of another card.

use base64::Engine;
use kim_store::AccountStore;
use serde_json::Value;

use crate::*;

const MAIL: &str = "umzug@test.kim.telematik";

async fn get_otp(env: &Env) -> String {
    let (status, body) = env.call("GET", MAIL, "/OTP", PRAXIS_TID, None).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let otp = v["otp"].as_str().unwrap().to_owned();
    STANDARD.decode(&otp).unwrap();
    otp
}

async fn set_tid(env: &Env, tid: &str, otp_b64: &str) -> (u16, String) {
    let headers = vec![
        auth(&env.jwt(tid, KeyAlgorithm::Rsa2048)),
        ("password".to_owned(), b64(PASSWORD)),
        ("otp".to_owned(), otp_b64.to_owned()),
    ];
    curl(
        "PUT",
        &format!("{}/account/{MAIL}/telematikID", env.url),
        &headers,
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn otp_moves_the_address_to_the_new_card() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let first = get_otp(&env).await;
    let second = get_otp(&env).await;
    // A new OTP invalidates the old one; a wrong one is 403.
    let (status, body) = set_tid(&env, ZAHNARZT_TID, &first).await;
    assert_eq!(status, 403, "{body}");
    assert_error_body(&body);
    assert_eq!(set_tid(&env, ZAHNARZT_TID, &b64("RATEN")).await.0, 403);
    let stored = env.store.account(MAIL).await.unwrap().unwrap();
    assert!(
        stored
            .otp
            .as_ref()
            .is_some_and(|o| !o.hash.contains(&second))
    );

    let (status, body) = set_tid(&env, ZAHNARZT_TID, &second).await;
    assert_eq!(status, 204, "{body}");
    let account = env.store.account(MAIL).await.unwrap().unwrap();
    assert_eq!(account.telematik_id, ZAHNARZT_TID);
    assert!(account.otp.is_none());
    let entries = env.vzd_entries(MAIL).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0]["DirectoryEntryBase"]["telematikID"],
        ZAHNARZT_TID
    );
    let ldif = env.ldap(MAIL).await;
    assert!(
        ldif.contains(&format!("telematikID: {ZAHNARZT_TID}")),
        "{ldif}"
    );
    assert!(!ldif.contains(PRAXIS_TID), "{ldif}");

    // The OTP is used up; the old card no longer owns the account, the new one does.
    assert_eq!(set_tid(&env, ZAHNARZT_TID, &second).await.0, 403);
    assert_eq!(env.call("GET", MAIL, "", PRAXIS_TID, None).await.0, 401);
    assert_eq!(env.call("GET", MAIL, "", ZAHNARZT_TID, None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_otp_is_408_and_getotp_needs_the_owner() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let (status, _) = env.call("GET", MAIL, "/OTP", HBA_TID, None).await;
    assert_eq!(status, 401);
    let otp = get_otp(&env).await;
    env.clock.advance(7 * 86_400 + 1);
    let (status, body) = set_tid(&env, ZAHNARZT_TID, &otp).await;
    assert_eq!(status, 408, "{body}");
    assert_error_body(&body);
    assert_eq!(
        env.store.account(MAIL).await.unwrap().unwrap().telematik_id,
        PRAXIS_TID
    );
    // Missing otp header: 400.
    let headers = vec![
        auth(&env.jwt(ZAHNARZT_TID, KeyAlgorithm::Rsa2048)),
        ("password".to_owned(), b64(PASSWORD)),
    ];
    let (status, _) = curl(
        "PUT",
        &format!("{}/account/{MAIL}/telematikID", env.url),
        &headers,
        None,
    )
    .await;
    assert_eq!(status, 400);
}
