//! registerAccount, getAccount, setAccount, deregisterAccount, revokeDeregistration with
//! `curl`; VZD changes seen through the simulator's REST search and `ldapsearch`.

use kim_store::{AccountStore, RegState};
use serde_json::{Value, json};

use crate::*;

const MAIL: &str = "empfang@test.kim.telematik";

#[tokio::test(flavor = "multi_thread")]
async fn register_binds_the_card_and_writes_the_vzd() {
    let env = Env::start().await;
    let (status, body) = env.register(PRAXIS_TID, "Empfang@test.kim.telematik").await;
    assert_eq!(status, 204, "{body}");
    let account = env.store.account(MAIL).await.unwrap().unwrap();
    assert_eq!(account.telematik_id, PRAXIS_TID);
    assert_eq!(account.kim_version, "1.5+");
    assert!(!account.password_hash.contains(PASSWORD));

    let entries = env.vzd_entries(MAIL).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["DirectoryEntryBase"]["telematikID"], PRAXIS_TID);
    let ldif = env.ldap(MAIL).await;
    assert!(ldif.contains(&format!("komLeData: 1.5+,{MAIL}")), "{ldif}");
    assert!(ldif.contains(&format!("kimData: {MAIL},1.5+")), "{ldif}");
    assert!(ldif.contains(&format!("mail: {MAIL}")), "{ldif}");
    // The seeded address of the entry stays.
    assert!(
        ldif.contains("mail: praxis.schmidt@test.kim.telematik"),
        "{ldif}"
    );

    let (status, body) = env.call("GET", MAIL, "", PRAXIS_TID, None).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["username"], MAIL);
    assert_eq!(v["referenceID"], CONTRACT);
    assert_eq!(v["regStat"], "registered");
    assert_eq!(v["dataTimeToLive"], 90);
    assert_eq!(v["maxMailSize"], 734_003_200);
    assert!(v.get("password").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_refusals() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    // Taken address, also in another case.
    let (status, body) = env.register(PRAXIS_TID, "EMPFANG@test.kim.telematik").await;
    assert_eq!(status, 409, "{body}");
    assert_error_body(&body);

    let jwt = env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048);
    let post = |body: Value, ini: &str| {
        let headers = vec![auth(&jwt), ("iniPassword".to_owned(), b64(ini))];
        let url = format!("{}/account", env.url);
        async move { curl("POST", &url, &headers, Some(&body.to_string())).await }
    };
    let ok = |user: &str, pw: &str| json!({"referenceID": CONTRACT, "username": user, "password": b64(pw)});
    // Weak passwords: too short, too few classes.
    for weak in ["Ab1!", "abcdefgh12"] {
        let (status, body) = post(ok("neu@test.kim.telematik", weak), INI_PASSWORD).await;
        assert_eq!(status, 420, "{weak}: {body}");
        assert_error_body(&body);
    }
    // Address rules and the contract's domains.
    for bad in [
        "-neu@test.kim.telematik",
        "neu@fremd.kim.telematik",
        "nö@test.kim.telematik",
    ] {
        let (status, body) = post(ok(bad, PASSWORD), INI_PASSWORD).await;
        assert_eq!(status, 420, "{bad}: {body}");
    }
    // Wrong initial password, unknown referenceID.
    let (status, body) = post(ok("neu@test.kim.telematik", PASSWORD), "falsch").await;
    assert_eq!(status, 401, "{body}");
    let mut unknown = ok("neu@test.kim.telematik", PASSWORD);
    unknown["referenceID"] = json!("V-unbekannt");
    assert_eq!(post(unknown, INI_PASSWORD).await.0, 401);
    // Unsupported kimVersion, dataTimeToLive out of range, bad JSON, missing header.
    let mut v = ok("neu@test.kim.telematik", PASSWORD);
    v["kimVersion"] = json!("2.0");
    assert_eq!(post(v, INI_PASSWORD).await.0, 422);
    let mut v = ok("neu@test.kim.telematik", PASSWORD);
    v["dataTimeToLive"] = json!(5);
    assert_eq!(post(v, INI_PASSWORD).await.0, 400);
    let url = format!("{}/account", env.url);
    let headers = vec![auth(&jwt), ("iniPassword".to_owned(), b64(INI_PASSWORD))];
    let (status, body) = curl("POST", &url, &headers, Some("{\"username\": ")).await;
    assert_eq!(status, 400, "{body}");
    assert_error_body(&body);
    let (status, _) = curl(
        "POST",
        &url,
        &[auth(&jwt)],
        Some(&ok("x@test.kim.telematik", PASSWORD).to_string()),
    )
    .await;
    assert_eq!(status, 400);
    // Nothing of that reached the store or the VZD.
    assert!(
        env.store
            .account("neu@test.kim.telematik")
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.vzd_entries("neu@test.kim.telematik").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn locked_contract_and_account_limit() {
    let env = Env::start().await;
    env.store
        .create_contract(&contract("V-LOCKED", 5, true))
        .await
        .unwrap();
    env.store
        .create_contract(&contract("V-ONE", 1, false))
        .await
        .unwrap();
    let jwt = env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048);
    let headers = vec![auth(&jwt), ("iniPassword".to_owned(), b64(INI_PASSWORD))];
    let url = format!("{}/account", env.url);
    let body = |reference: &str, user: &str| {
        json!({"referenceID": reference, "username": user, "password": b64(PASSWORD)}).to_string()
    };
    let (status, text) = curl(
        "POST",
        &url,
        &headers,
        Some(&body("V-LOCKED", "a@test.kim.telematik")),
    )
    .await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("locked"), "{text}");
    assert_eq!(
        curl(
            "POST",
            &url,
            &headers,
            Some(&body("V-ONE", "b@test.kim.telematik"))
        )
        .await
        .0,
        204
    );
    let (status, text) = curl(
        "POST",
        &url,
        &headers,
        Some(&body("V-ONE", "c@test.kim.telematik")),
    )
    .await;
    assert_eq!(status, 420, "{text}");

    // Locking the contract later stops the account operations too.
    let mut locked = env.store.contract("V-ONE").await.unwrap().unwrap();
    locked.locked = true;
    env.store.update_contract(&locked).await.unwrap();
    assert_eq!(
        env.call("GET", "b@test.kim.telematik", "", PRAXIS_TID, None)
            .await
            .0,
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn set_account_changes_version_lifetime_password_and_vzd() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let body = json!({"kimVersion": "1.0", "dataTimeToLive": 365}).to_string();
    let (status, text) = env.call("PUT", MAIL, "", PRAXIS_TID, Some(&body)).await;
    assert_eq!(status, 204, "{text}");
    let ldif = env.ldap(MAIL).await;
    assert!(ldif.contains(&format!("komLeData: 1.0,{MAIL}")), "{ldif}");
    let account = env.store.account(MAIL).await.unwrap().unwrap();
    assert_eq!(
        (account.kim_version.as_str(), account.data_time_to_live),
        ("1.0", 365)
    );

    // noVzdMailEntry: the address leaves komLeData, kimData keeps it.
    let body = json!({"noVzdMailEntry": true}).to_string();
    assert_eq!(
        env.call("PUT", MAIL, "", PRAXIS_TID, Some(&body)).await.0,
        204
    );
    let ldif = env.ldap(MAIL).await;
    assert!(!ldif.contains(&format!("komLeData: 1.0,{MAIL}")), "{ldif}");
    assert!(ldif.contains(&format!("kimData: {MAIL},1.0")), "{ldif}");

    // Refusals: weak new password, unknown version, bad lifetime, changing the username.
    for (body, code) in [
        (json!({"password": b64("kurz")}), 420),
        (json!({"kimVersion": "9"}), 422),
        (json!({"dataTimeToLive": 400}), 400),
        (json!({"username": "anders@test.kim.telematik"}), 400),
        (json!({"dataTimeToLive": "viel"}), 400),
    ] {
        let (status, text) = env
            .call("PUT", MAIL, "", PRAXIS_TID, Some(&body.to_string()))
            .await;
        assert_eq!(status, code, "{body}: {text}");
        assert_error_body(&text);
    }

    // Locked after wrong mailbox logins: setAccount by the owner unlocks.
    for _ in 0..3 {
        env.store.record_login_failure(MAIL, 3).await.unwrap();
    }
    assert!(env.store.account(MAIL).await.unwrap().unwrap().locked);
    assert_eq!(env.call("PUT", MAIL, "", PRAXIS_TID, None).await.0, 204);
    let account = env.store.account(MAIL).await.unwrap().unwrap();
    assert!(!account.locked && account.failed_logins == 0);

    // A new password: the old one stops working.
    let body = json!({"password": b64("Neues-Passwort-7")}).to_string();
    assert_eq!(
        env.call("PUT", MAIL, "", PRAXIS_TID, Some(&body)).await.0,
        204
    );
    assert_eq!(env.call("GET", MAIL, "", PRAXIS_TID, None).await.0, 401);
    let headers = vec![
        auth(&env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048)),
        ("password".to_owned(), b64("Neues-Passwort-7")),
    ];
    let (status, _) = curl(
        "GET",
        &format!("{}/account/{MAIL}", env.url),
        &headers,
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn deregistration_and_its_revocation() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    // Revoking a registered account: 403 (A_23175).
    let (status, text) = env
        .call("PUT", MAIL, "/revokeDeregistration", PRAXIS_TID, None)
        .await;
    assert_eq!(status, 403, "{text}");
    assert_error_body(&text);

    let (status, text) = env.call("DELETE", MAIL, "", PRAXIS_TID, None).await;
    assert_eq!(status, 204, "{text}");
    let account = env.store.account(MAIL).await.unwrap().unwrap();
    let RegState::Deregistered { since, until } = account.state else {
        panic!("not deregistered: {account:?}")
    };
    assert_eq!(until - since, 30 * 86_400);
    assert!(env.vzd_entries(MAIL).await.is_empty());
    let (_, body) = env.call("GET", MAIL, "", PRAXIS_TID, None).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["regStat"], "deregistered");
    assert_eq!(v["deregDate"], until);

    let (status, text) = env
        .call("PUT", MAIL, "/revokeDeregistration", PRAXIS_TID, None)
        .await;
    assert_eq!(status, 204, "{text}");
    assert_eq!(
        env.store.account(MAIL).await.unwrap().unwrap().state,
        RegState::Registered
    );
    assert_eq!(env.vzd_entries(MAIL).await.len(), 1);

    // After the 30 days the deregistration can no longer be revoked.
    assert_eq!(env.call("DELETE", MAIL, "", PRAXIS_TID, None).await.0, 204);
    env.clock.advance(30 * 86_400 + 1);
    let (status, text) = env
        .call("PUT", MAIL, "/revokeDeregistration", PRAXIS_TID, None)
        .await;
    assert_eq!(status, 404, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_deleted_after_the_window() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    assert_eq!(
        env.register(PRAXIS_TID, "bleibt@test.kim.telematik")
            .await
            .0,
        204
    );
    assert_eq!(env.call("DELETE", MAIL, "", PRAXIS_TID, None).await.0, 204);
    let purge = |at: i64| kim_account_manager::purge_deregistered(env.store.as_ref(), at);
    assert_eq!(purge(env.now() + 29 * 86_400).await.unwrap(), 0);
    assert!(env.store.account(MAIL).await.unwrap().is_some());
    assert_eq!(purge(env.now() + 31 * 86_400).await.unwrap(), 1);
    assert!(env.store.account(MAIL).await.unwrap().is_none());
    assert!(
        env.store
            .account("bleibt@test.kim.telematik")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_accounts_routes_and_wrong_passwords() {
    let env = Env::start().await;
    assert_eq!(env.register(PRAXIS_TID, MAIL).await.0, 204);
    let (status, text) = env
        .call("GET", "niemand@test.kim.telematik", "", PRAXIS_TID, None)
        .await;
    assert_eq!(status, 404, "{text}");
    assert_error_body(&text);
    // Every answer uses the yaml's media type.
    let out = run(
        "curl",
        vec![
            "-s".into(),
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{content_type}".into(),
            format!("{}/gibtsnicht", env.origin),
        ],
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "application/json; charset=utf-8"
    );
    let (status, text) = curl("GET", &format!("{}/gibtsnicht", env.origin), &[], None).await;
    assert_eq!(status, 404, "{text}");
    assert_error_body(&text);
    let (status, text) = curl("PATCH", &format!("{}/account/{MAIL}", env.url), &[], None).await;
    assert_eq!(status, 405, "{text}");
    assert_error_body(&text);
    let headers = vec![
        auth(&env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048)),
        ("password".to_owned(), b64("Falsch-123")),
    ];
    let (status, text) = curl(
        "GET",
        &format!("{}/account/{MAIL}", env.url),
        &headers,
        None,
    )
    .await;
    assert_eq!(status, 401, "{text}");
    let headers = vec![
        auth(&env.jwt(PRAXIS_TID, KeyAlgorithm::Rsa2048)),
        ("password".to_owned(), "kein base64!".to_owned()),
    ];
    let (status, _) = curl(
        "GET",
        &format!("{}/account/{MAIL}", env.url),
        &headers,
        None,
    )
    .await;
    assert_eq!(status, 400);
    // Oversized body: refused without a 5xx.
    let big = format!("{{\"message\": \"{}\"}}", "x".repeat(70 * 1024));
    let (status, text) = env
        .call("PUT", MAIL, "/outofoffice", PRAXIS_TID, Some(&big))
        .await;
    assert_eq!(status, 400, "{text}");
}

/// The published policy regex (ServiceInformation) and the check agree, judged by Python's
/// `re` (same lookahead syntax as Java).
#[tokio::test(flavor = "multi_thread")]
async fn password_policy_regex_matches_the_check() {
    use kim_account_manager::rules::{PASSWORD_POLICY_REGEX, password_violation};
    let samples = [
        "Abcdef1!",
        "abcdefg1A",
        "Ab1!",
        "abcdefgh1",
        "ABCDEFGH!",
        "äöüÄÖÜ12",
        "äöüÄÖÜ1a",
        "        ",
        "Aa1     ",
        "abc!def?g",
        "ABC123456",
        "aA!aA!aA",
        "Geheim-2026!",
    ];
    let script = "import re, sys, json\nprint(json.dumps([bool(re.fullmatch(sys.argv[1], s)) for s in sys.argv[2:]]))";
    let mut args = vec![
        "-c".to_owned(),
        script.to_owned(),
        PASSWORD_POLICY_REGEX.to_owned(),
    ];
    args.extend(samples.iter().map(|s| (*s).to_owned()));
    let out = run("python3", args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.len(), samples.len());
    for (sample, regex_ok) in samples.iter().zip(verdicts) {
        assert_eq!(password_violation(sample).is_none(), regex_ok, "{sample:?}");
    }
}
