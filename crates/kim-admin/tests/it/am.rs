//! Every client method against the real Account Manager (HTTPS, mutual TLS), and the mapping
//! of its error answers.

use kim_admin::am::{AccountUpdate, NewAccount, OutOfOffice};
use kim_admin::{AdminError, AuthCard, check_password, select_card, sign_jwt};
use zeroize::Zeroizing;

use crate::{CONTRACT, Env, INI_PASSWORD, PASSWORD, PRAXIS_TID, ZAHNARZT_TID, ctx};

const ADDRESS: &str = "praxis.schmidt@test.kim.telematik";

fn new_account(username: &str, password: &str) -> NewAccount {
    NewAccount {
        reference_id: Some(CONTRACT.into()),
        username: username.into(),
        password: Zeroizing::new(password.into()),
        kim_version: Some("1.5+".into()),
        data_time_to_live: Some(90),
        no_vzd_mail_entry: None,
    }
}

async fn card(env: &Env, tid: &str) -> AuthCard {
    select_card(&env.konnektor, &ctx(), None, Some(tid))
        .await
        .unwrap()
}

async fn token(env: &Env, card: &AuthCard) -> String {
    sign_jwt(&env.konnektor, &ctx(), card, env.now())
        .await
        .unwrap()
}

/// An environment with the praxis card's account registered; returns the card and token.
async fn registered() -> (Env, AuthCard, String) {
    let env = Env::start().await;
    let praxis = card(&env, PRAXIS_TID).await;
    let jwt = token(&env, &praxis).await;
    env.am
        .register(&jwt, &new_account(ADDRESS, PASSWORD), Some(INI_PASSWORD))
        .await
        .unwrap();
    (env, praxis, jwt)
}

#[tokio::test]
async fn service_information_and_account_limit() {
    let env = Env::start().await;
    assert_eq!(env.am.origin(), env.origin);
    let info = env.am.service_information(env.am.origin()).await.unwrap();
    assert_eq!(info.kim_service_version.as_deref(), Some("1.5.3"));
    assert_eq!(info.jwt_expiration, Some(600));
    assert_eq!(info.reference_id_required, Some(true));
    assert_eq!(info.initial_password_required, Some(true));
    let policy = info.password_policy_reg_ex.unwrap();
    assert!(check_password(&policy, PASSWORD));
    assert!(!check_password(&policy, "kurz"));
    assert!(!check_password(&policy, "nurkleinbuchstaben"));
    assert!(info.password_policy_display.unwrap().contains('8'));

    let praxis = card(&env, PRAXIS_TID).await;
    let jwt = token(&env, &praxis).await;
    env.am
        .register(&jwt, &new_account(ADDRESS, PASSWORD), Some(INI_PASSWORD))
        .await
        .unwrap();
    let limit = env
        .am
        .account_limit(&env.origin, ADDRESS, PASSWORD)
        .await
        .unwrap();
    assert_eq!(limit.max_mail_size, Some(734_003_200));
    assert_eq!(limit.data_time_to_live, Some(90));
    let e = env
        .am
        .account_limit(&env.origin, ADDRESS, "Falsch-2026!")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
}

#[tokio::test]
async fn register_get_set_and_password_change() {
    let (env, _praxis, jwt) = registered().await;
    let account = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap();
    assert_eq!(account.username, ADDRESS);
    assert_eq!(account.reference_id.as_deref(), Some(CONTRACT));
    assert_eq!(account.kim_version.as_deref(), Some("1.5+"));
    assert_eq!(account.data_time_to_live, Some(90));
    assert_eq!(account.max_mail_size, Some(734_003_200));
    assert_eq!(account.reg_stat.as_deref(), Some("registered"));
    // Upper case and surrounding blanks address the same account.
    let same = env
        .am
        .get(&jwt, " Praxis.Schmidt@test.kim.telematik ", PASSWORD)
        .await
        .unwrap();
    assert_eq!(same.username, ADDRESS);

    let update = AccountUpdate {
        kim_version: Some("1.5".into()),
        data_time_to_live: Some(30),
        ..AccountUpdate::default()
    };
    env.am.set(&jwt, ADDRESS, PASSWORD, &update).await.unwrap();
    let account = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap();
    assert_eq!(account.kim_version.as_deref(), Some("1.5"));
    assert_eq!(account.data_time_to_live, Some(30));

    let new_password = "Neues-Passwort-7";
    let update = AccountUpdate {
        password: Some(Zeroizing::new(new_password.into())),
        ..AccountUpdate::default()
    };
    env.am.set(&jwt, ADDRESS, PASSWORD, &update).await.unwrap();
    env.am.get(&jwt, ADDRESS, new_password).await.unwrap();
    let e = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    assert!(e.to_string().contains("wrong password"), "{e}");
}

#[tokio::test]
async fn deregistration_and_its_revocation() {
    let (env, _praxis, jwt) = registered().await;
    env.am.deregister(&jwt, ADDRESS, PASSWORD).await.unwrap();
    let account = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap();
    assert_eq!(account.reg_stat.as_deref(), Some("deregistered"));
    let until = account.dereg_date.unwrap();
    assert!(until >= env.now() + 29 * 86_400, "{until}");
    env.am
        .revoke_deregistration(&jwt, ADDRESS, PASSWORD)
        .await
        .unwrap();
    let account = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap();
    assert_eq!(account.reg_stat.as_deref(), Some("registered"));
    // 403: the account is not deregistered.
    let e = env
        .am
        .revoke_deregistration(&jwt, ADDRESS, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    assert!(e.german_message().starts_with("Aktion nicht erlaubt"));
}

#[tokio::test]
async fn otp_moves_the_address_to_another_card() {
    let (env, _praxis, jwt) = registered().await;
    let otp = env.am.get_otp(&jwt, ADDRESS, PASSWORD).await.unwrap();
    assert_eq!(otp.len(), 20);
    let zahnarzt = card(&env, ZAHNARZT_TID).await;
    let new_jwt = token(&env, &zahnarzt).await;
    // 403: a wrong OTP.
    let e = env
        .am
        .set_tid(&new_jwt, ADDRESS, PASSWORD, "AAAAAAAAAAAAAAAAAAAA")
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e:?}");
    env.am
        .set_tid(&new_jwt, ADDRESS, PASSWORD, &otp)
        .await
        .unwrap();
    env.am.get(&new_jwt, ADDRESS, PASSWORD).await.unwrap();
    let e = env.am.get(&jwt, ADDRESS, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
}

#[tokio::test]
async fn an_expired_otp_is_408() {
    let (env, _praxis, jwt) = registered().await;
    let otp = env.am.get_otp(&jwt, ADDRESS, PASSWORD).await.unwrap();
    env.clock
        .advance(kim_account_manager::OTP_VALIDITY_SECS + 60);
    let zahnarzt = card(&env, ZAHNARZT_TID).await;
    let new_jwt = token(&env, &zahnarzt).await;
    let e = env
        .am
        .set_tid(&new_jwt, ADDRESS, PASSWORD, &otp)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(408), "{e:?}");
    assert!(e.german_message().contains("abgelaufen"));
}

#[tokio::test]
async fn create_cert_returns_a_pkcs12_that_openssl_reads() {
    let (env, _praxis, jwt) = registered().await;
    let p12 = env
        .am
        .create_cert(&jwt, ADDRESS, PASSWORD, "praxis-cm", Some("P12-Passwort-1"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cm.p12");
    std::fs::write(&file, &p12).unwrap();
    let out = crate::run(
        "openssl",
        vec![
            "pkcs12".into(),
            "-in".into(),
            file.display().to_string(),
            "-nokeys".into(),
            "-clcerts".into(),
            "-passin".into(),
            "pass:P12-Passwort-1".into(),
        ],
    )
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("praxis-cm#CM"), "{text}");
    // 400: an empty common name.
    let e = env
        .am
        .create_cert(&jwt, ADDRESS, PASSWORD, "", None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
}

#[tokio::test]
async fn out_of_office_round_trip() {
    let (env, _praxis, jwt) = registered().await;
    let notice = env
        .am
        .get_out_of_office(&jwt, ADDRESS, PASSWORD)
        .await
        .unwrap();
    assert_eq!(notice, OutOfOffice::default());
    let notice = OutOfOffice {
        start_date: Some("2026-07-20T08:00:00Z".into()),
        end_date: Some("2026-07-31T18:00:00Z".into()),
        message: Some("Die Praxis ist im Urlaub – Vertretung: Dr. Weber.".into()),
        active: true,
    };
    env.am
        .update_out_of_office(&jwt, ADDRESS, PASSWORD, &notice)
        .await
        .unwrap();
    let back = env
        .am
        .get_out_of_office(&jwt, ADDRESS, PASSWORD)
        .await
        .unwrap();
    assert_eq!(back, notice);
    // 400: the end before the start.
    let bad = OutOfOffice {
        start_date: Some("2026-08-01T00:00:00Z".into()),
        end_date: Some("2026-07-01T00:00:00Z".into()),
        ..notice
    };
    let e = env
        .am
        .update_out_of_office(&jwt, ADDRESS, PASSWORD, &bad)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e:?}");
}

#[tokio::test]
async fn registration_errors_409_420_401_and_404() {
    let (env, praxis, jwt) = registered().await;
    // 409: the address is taken.
    let e = env
        .am
        .register(&jwt, &new_account(ADDRESS, PASSWORD), Some(INI_PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(409), "{e:?}");
    assert_eq!(e.german_message(), "Die KIM-Adresse ist bereits vergeben.");
    let AdminError::Http { trace_id, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(trace_id.as_deref().is_some_and(|t| !t.is_empty()));
    // 420: password policy and address rules.
    let e = env
        .am
        .register(
            &jwt,
            &new_account("zweite@test.kim.telematik", "kurz"),
            Some(INI_PASSWORD),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(420), "{e:?}");
    assert!(e.german_message().contains("Vorgaben des Anbieters"));
    let e = env
        .am
        .register(
            &jwt,
            &new_account("zweite@andere.kim.telematik", PASSWORD),
            Some(INI_PASSWORD),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(420), "{e:?}");
    // 401: wrong initial password, missing one.
    let e = env
        .am
        .register(
            &jwt,
            &new_account("zweite@test.kim.telematik", PASSWORD),
            Some("Falsches-Start-1"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    let e = env
        .am
        .register(
            &jwt,
            &new_account("zweite@test.kim.telematik", PASSWORD),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e.status(), Some(400 | 401)), "{e:?}");
    // 404: no such account.
    let e = env
        .am
        .get(&jwt, "niemand@test.kim.telematik", PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(404), "{e:?}");
    assert_eq!(e.german_message(), "Das KIM-Konto existiert nicht.");
    // A token that is not a JWS at all.
    let e = env
        .am
        .get("kein.token", ADDRESS, PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401), "{e:?}");
    drop(praxis);
}

#[tokio::test]
async fn without_the_clientmodul_certificate_the_fachdienst_refuses_the_connection() {
    let env = Env::start().await;
    let anonymous = crate::am_client(&env.origin, None);
    let e = anonymous
        .service_information(&env.origin)
        .await
        .unwrap_err();
    assert!(matches!(e, AdminError::Transport(_)), "{e:?}");
    assert!(e.german_message().contains("nicht erreichbar"));
}

/// A plain-HTTP server on loopback whose every answer is `answer`; counts the requests that
/// carried a `password` header.
async fn fixed_server(
    answer: fn() -> axum::response::Response,
    seen_password: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let seen = seen_password.clone();
        async move {
            if headers.contains_key("password") {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            answer()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn redirects_are_not_followed_and_huge_or_foreign_answers_are_errors() {
    use axum::response::IntoResponse;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let target_seen = Arc::new(AtomicUsize::new(0));
    let target = fixed_server(|| "{}".into_response(), target_seen.clone()).await;
    // The redirecting server points at the target (the answer is a plain `fn`, so the
    // location lives in a static).
    let redirect_seen = Arc::new(AtomicUsize::new(0));
    static LOCATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOCATION
        .set(format!("{target}/AccountMgmt/v2.4/account/x"))
        .unwrap();
    let redirecting = fixed_server(
        || {
            (
                axum::http::StatusCode::TEMPORARY_REDIRECT,
                [(
                    axum::http::header::LOCATION,
                    LOCATION.get().unwrap().clone(),
                )],
            )
                .into_response()
        },
        redirect_seen.clone(),
    )
    .await;
    let client = kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
        format!("{redirecting}/AccountMgmt/v2.4"),
        None,
    ))
    .unwrap();
    let e = client.get("jwt", ADDRESS, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(307), "{e:?}");
    assert_eq!(redirect_seen.load(Ordering::SeqCst), 1);
    assert_eq!(target_seen.load(Ordering::SeqCst), 0);

    let huge = fixed_server(
        || vec![b'x'; kim_admin::am::MAX_ANSWER_BYTES + 1].into_response(),
        Arc::default(),
    )
    .await;
    let client = kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
        format!("{huge}/AccountMgmt/v2.4"),
        None,
    ))
    .unwrap();
    let e = client.get("jwt", ADDRESS, PASSWORD).await.unwrap_err();
    assert!(matches!(e, AdminError::Protocol(_)), "{e:?}");

    // A 200 whose body is not an Account.
    let foreign = fixed_server(|| "[1,2,3]".into_response(), Arc::default()).await;
    let client = kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
        format!("{foreign}/AccountMgmt/v2.4"),
        None,
    ))
    .unwrap();
    let e = client.get("jwt", ADDRESS, PASSWORD).await.unwrap_err();
    assert!(matches!(e, AdminError::Protocol(_)), "{e:?}");
    assert!(e.german_message().contains("unerwartete Antwort"));
    // An error status without the yaml body still carries the status.
    let plain = fixed_server(
        || (axum::http::StatusCode::BAD_GATEWAY, "proxy error").into_response(),
        Arc::default(),
    )
    .await;
    let client = kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
        format!("{plain}/AccountMgmt/v2.4"),
        None,
    ))
    .unwrap();
    let e = client.get("jwt", ADDRESS, PASSWORD).await.unwrap_err();
    assert_eq!(e.status(), Some(502), "{e:?}");
    assert!(e.german_message().contains("Verzeichnisdienst"));
}
