//! Loopback only, session cookie flags, CSRF tokens, Host check, security headers.

use crate::{Env, HBA_TID};

#[tokio::test]
async fn a_non_loopback_listener_is_refused() {
    let env = Env::start().await;
    // Reuse the running environment's Konnektor-less configuration shape: only the address
    // matters, the check comes first.
    let err = kim_admin_web::start(kim_admin_web::AdminWebConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        konnektors: Vec::new(),
        account_manager: std::sync::Arc::new(
            kim_admin::AccountManagerClient::new(kim_admin::AmClientConfig::new(
                "http://127.0.0.1:9/AccountMgmt/v2.4",
                None,
            ))
            .unwrap(),
        ),
        key_store: None,
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(env.ui.addr.ip().is_loopback());
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_strict() {
    let env = Env::start().await;
    let mut b = crate::Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap(),
        base: format!("http://{}", env.ui.addr),
        cookie: String::new(),
        csrf: String::new(),
    };
    let page = b.get("/").await;
    assert_eq!(page.status, 200);
    let cookie = page
        .set_cookie
        .iter()
        .find(|c| c.starts_with("kim_admin_sitzung="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    // The page lists the test PKI's cards with holder, Telematik-ID and PIN status.
    assert!(
        page.body.contains("Telematik-ID 1-1.58.00000050"),
        "{}",
        page.body
    );
    assert!(page.body.contains("PIN: "), "{}", page.body);
    assert!(page.body.contains("<html lang=\"de\">"));
    // A second request keeps the session: no new cookie.
    let again = b.get("/").await;
    assert!(again.set_cookie.is_empty(), "{:?}", again.set_cookie);
}

#[tokio::test]
async fn forms_without_the_sessions_token_are_refused() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    let value = b.card_value(HBA_TID).await;
    let page = b.post_raw("/karte", &[("karte", &value)]).await;
    assert_eq!(page.status, 403);
    assert!(
        page.body.contains("Formular ist abgelaufen"),
        "{}",
        page.body
    );
    let page = b
        .post_raw("/karte", &[("karte", &value), ("csrf", "0123")])
        .await;
    assert_eq!(page.status, 403);
    // Another session's token does not work either.
    let other = env.browser().await;
    let page = b
        .post_raw("/karte", &[("karte", &value), ("csrf", &other.csrf)])
        .await;
    assert_eq!(page.status, 403);
    let page = b.post("/karte", &[("karte", &value)]).await;
    assert_eq!(page.status, 303);
}

#[tokio::test]
async fn foreign_host_names_are_refused_and_pages_carry_security_headers() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    let page = b.get_with_host("/", "attacker.example").await;
    assert_eq!(page.status, 421);
    let r = b.http.get(format!("{}/", b.base)).send().await.unwrap();
    let h = r.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    let css = b.get("/stil.css").await;
    assert!(css.body.contains("aria-invalid"));
}

#[tokio::test]
async fn bad_input_is_answered_not_panicked() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    for value in ["", "x", "0:0", "9:9:1", "0:0:unknown", "a:b:c"] {
        let page = b.post("/karte", &[("karte", value)]).await;
        assert_eq!(page.status, 422, "{value}: {}", page.body);
        assert!(
            page.body.contains("id=\"feld-karte-fehler\""),
            "{}",
            page.body
        );
    }
    // Account pages without a login lead back to the start.
    let page = b.get("/konto").await;
    assert_eq!(page.status, 303);
    let page = b.get("/gibt-es-nicht").await;
    assert_eq!(page.status, 404);
    let page = b.post("/konto/passwort", &[("neues_passwort", "x")]).await;
    assert_eq!(page.status, 303);
}
