//! The portal's flows end to end: pages over HTTP, mails through the SMTP sink, the token at
//! the real Account Manager, certificates opened by `openssl pkcs12`.

use kim_store::{AccountStore, PortalStore, RegState};

use crate::{
    CONTRACT, DOMAIN, Env, INI_PASSWORD, LOCKED_CONTRACT, PASSWORD, RECOVERY, link, query_param,
};

/// Registers `local`@DOMAIN at the portal and returns (address, token, mails of this run).
async fn reserve(env: &Env, local: &str) -> (String, String, Vec<crate::Captured>) {
    let before = env.mails().len();
    let (status, page) = env.register(local, CONTRACT, RECOVERY).await;
    assert_eq!(status, 200, "{page}");
    let address = format!("{local}@{DOMAIN}").to_ascii_lowercase();
    assert!(
        page.contains(&format!("Die KIM-Adresse {address} ist für Sie reserviert")),
        "{page}"
    );
    let mails: Vec<_> = env.mails().into_iter().skip(before).collect();
    let link_mail = mails
        .iter()
        .find(|m| m.subject() == "Ihr Registrierungslink für KIM")
        .expect("registration link mail");
    let url = link(&link_mail.body(), "http://127.0.0.1:12001/registrieren?");
    assert_eq!(query_param(&url, "contract"), CONTRACT);
    assert_eq!(query_param(&url, "address"), address);
    let token = query_param(&url, "token");
    (address, token, mails)
}

/// A registered account with contact data (portal reservation + registerAccount).
async fn registered(env: &Env, local: &str) -> (String, Vec<crate::Captured>) {
    let (address, token, mails) = reserve(env, local).await;
    let (status, body) = env.register_account(&address, CONTRACT, &token).await;
    assert_eq!(status, 204, "{body}");
    (address, mails)
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_in_three_steps_reserves_mails_and_the_token_registers() {
    let env = Env::start().await;
    let (status, _, page) = env.get("/registrieren").await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("<label for=\"email\">Ihre E-Mail-Adresse *</label>"),
        "{page}"
    );
    assert!(
        !page.contains("name=\"local\""),
        "step 3 only after a valid contract"
    );
    // Steps 1 and 2: a valid contract unlocks step 3 with the contract's domains.
    let (status, page) = env
        .post(
            "/registrieren",
            &[
                ("email", RECOVERY),
                ("contract", CONTRACT),
                ("schritt", "2"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"local\""), "{page}");
    assert!(
        page.contains("<option value=\"zweite.kim.telematik\">@zweite.kim.telematik</option>"),
        "{page}"
    );

    let (address, token, mails) = reserve(&env, "Dr.Mueller").await;
    assert_eq!(address, "dr.mueller@test.kim.telematik");
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(mails.iter().all(|m| m.to == RECOVERY));
    let subjects: Vec<String> = mails.iter().map(crate::Captured::subject).collect();
    for s in [
        "Willkommen bei KIM",
        "Passwort zu Ihren KIM-Schlüsselinformationen",
        "Ihr Registrierungslink für KIM",
    ] {
        assert!(
            subjects.iter().any(|x| x == s),
            "{s} missing in {subjects:?}"
        );
    }
    let welcome = mails
        .iter()
        .find(|m| m.subject() == "Willkommen bei KIM")
        .unwrap()
        .body();
    assert!(
        welcome.contains(&format!("{}/zertifikat", env.portal)),
        "{welcome}"
    );
    let reservation = env.store.reservation(&address).await.unwrap().unwrap();
    assert_eq!(reservation.reference_id, CONTRACT);
    assert_eq!(reservation.expires - reservation.created, 96 * 3600);
    assert_ne!(reservation.token_hash, token, "only the digest is stored");

    // The reserved address: not with the contract's initial password, not with a wrong token.
    let (status, body) = env.register_account(&address, CONTRACT, INI_PASSWORD).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = env
        .register_account(&address, CONTRACT, "falsches-token")
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = env
        .register_account(&address, LOCKED_CONTRACT, &token)
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("another referenceID"), "{body}");
    // With the token it registers; the contact data move to the account.
    let (status, body) = env.register_account(&address, CONTRACT, &token).await;
    assert_eq!(status, 204, "{body}");
    let account = env.store.account(&address).await.unwrap().unwrap();
    assert_eq!(account.telematik_id, crate::PRAXIS_TID);
    assert!(env.store.reservation(&address).await.unwrap().is_none());
    let profile = env.store.profile(&address).await.unwrap().unwrap();
    assert_eq!(profile.recovery_email, RECOVERY);
    assert_eq!(profile.lanr.as_deref(), Some("123456789"));
    // The contract's initial password still works for unreserved addresses.
    let (status, body) = env
        .register_account(&format!("frei@{DOMAIN}"), CONTRACT, INI_PASSWORD)
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_reservation_frees_the_address_and_its_token_is_refused() {
    let env = Env::start().await;
    let (address, token, _) = reserve(&env, "spaet").await;
    env.clock.advance(96 * 3600 + 1);
    let (status, body) = env.register_account(&address, CONTRACT, &token).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("registration link has expired"), "{body}");
    let purged = kim_portal::purge_once(env.store.as_ref(), env.now())
        .await
        .unwrap();
    assert_eq!(purged.reservations, 1);
    assert_eq!(
        purged.orphans, 1,
        "the reservation's certificate goes with it"
    );
    assert!(env.store.reservation(&address).await.unwrap().is_none());
    let (status, body) = env.register_account(&address, CONTRACT, &token).await;
    assert_eq!(status, 401, "{body}");
    // The address is free again: a new reservation works.
    let (again, new_token, _) = reserve(&env, "spaet").await;
    assert_eq!(again, address);
    assert_ne!(new_token, token);
    // An expired reservation not yet purged does not block the address either.
    env.clock.advance(96 * 3600 + 1);
    let (status, body) = env.register_account(&address, CONTRACT, INI_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
}

/// The error paragraph of `field` in a page.
fn field_error(page: &str, field: &str) -> String {
    let marker = format!("<p class=\"error\" id=\"{field}-error\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no error at {field} in\n{page}"))
        + marker.len();
    let end = page[start..].find("</p>").unwrap() + start;
    page[start..end].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn form_errors_are_german_and_beside_their_field() {
    let env = Env::start().await;
    let (status, body) = env
        .register_account(&format!("vergeben@{DOMAIN}"), CONTRACT, INI_PASSWORD)
        .await;
    assert_eq!(status, 204, "{body}");
    reserve(&env, "reserviert").await;
    let mails_before = env.mails().len();

    let cases: [(&str, &str, &str, &str, &str); 7] = [
        ("vergeben", CONTRACT, RECOVERY, "local", "bereits vergeben"),
        (
            "reserviert",
            CONTRACT,
            RECOVERY,
            "local",
            "laufende Registrierung reserviert",
        ),
        ("neu", "V-UNBEKANNT", RECOVERY, "contract", "nicht bekannt"),
        (
            "neu",
            LOCKED_CONTRACT,
            RECOVERY,
            "contract",
            "vom Anbieter gesperrt",
        ),
        ("neu", CONTRACT, "keine-adresse", "email", "ungültig"),
        (
            "neu",
            CONTRACT,
            "",
            "email",
            "Bitte geben Sie Ihre E-Mail-Adresse an.",
        ),
        (
            "-müller",
            CONTRACT,
            RECOVERY,
            "local",
            "Buchstaben ohne Umlaute",
        ),
    ];
    for (local, contract, email, field, text) in cases {
        let (status, page) = env.register(local, contract, email).await;
        assert_eq!(status, 422, "{local} {contract} {email}: {page}");
        let error = field_error(&page, field);
        assert!(error.contains(text), "{field}: {error:?} lacks {text:?}");
        let control = page
            .split('<')
            .find(|tag| tag.contains(&format!("id=\"{field}\" ")) && !tag.starts_with("label"))
            .unwrap();
        assert!(
            control.contains(&format!("{field}-error\"")) && control.contains("aria-invalid"),
            "{field} not tied to its error: {control}"
        );
    }
    let (status, page) = env
        .post(
            "/registrieren",
            &[
                ("email", RECOVERY),
                ("lanr", "12ab"),
                ("contract", CONTRACT),
                ("schritt", "2"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&page, "lanr").contains("9 Ziffern"));
    // Values are shown again, escaped.
    let (_, page) = env.register("neu", CONTRACT, "<b>x").await;
    assert!(page.contains("value=\"&lt;b&gt;x\""), "{page}");
    assert_eq!(env.mails().len(), mails_before, "no mail for refused forms");
    // Not a form at all.
    let response = env
        .http
        .post(format!("{}/registrieren", env.portal))
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert!(response.text().await.unwrap().contains("Formulardaten"));
}

async fn cert_login(env: &Env, address: &str, number: &str) -> (u16, String) {
    env.post(
        "/zertifikat",
        &[
            ("address", address),
            ("contract", CONTRACT),
            ("number", number),
            ("password", PASSWORD),
        ],
    )
    .await
}

/// The confirmation link of the last mail.
fn last_link(env: &Env) -> String {
    let mail = env.mails().pop().expect("a mail");
    assert_eq!(mail.to, RECOVERY);
    link(&mail.body(), &format!("{}/bestaetigen?token=", env.portal))
}

async fn confirm(env: &Env, url: &str) -> (u16, String) {
    let token = query_param(url, "token");
    env.post("/bestaetigen", &[("token", &token)]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_and_deregistration_by_single_use_expiring_links() {
    let env = Env::start().await;
    let (address, _) = registered(&env, "praxis").await;
    // Three wrong passwords at the portal lock the account like mailbox logins do.
    for _ in 0..3 {
        let (status, page) = env
            .post(
                "/deregistrieren",
                &[
                    ("address", &address),
                    ("password", "falsch"),
                    ("contract", CONTRACT),
                ],
            )
            .await;
        assert_eq!(status, 422);
        assert!(field_error(&page, "password").contains("passen nicht zusammen"));
        assert!(
            !page.contains("falsch\""),
            "passwords are never shown again"
        );
    }
    assert!(env.store.account(&address).await.unwrap().unwrap().locked);

    // Unlock: link, expiry, a fresh link, single use.
    let (status, page) = env
        .post(
            "/accountEntsperren",
            &[("address", &address), ("contract", CONTRACT)],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let expired = last_link(&env);
    env.clock.advance(24 * 3600 + 1);
    let (status, _, page) = env.get(&expired).await;
    assert_eq!(status, 410);
    assert!(String::from_utf8(page).unwrap().contains("abgelaufen"));
    let (status, _) = confirm(&env, &expired).await;
    assert_eq!(status, 410);
    env.post(
        "/accountEntsperren",
        &[("address", &address), ("contract", CONTRACT)],
    )
    .await;
    let url = last_link(&env);
    let (status, _, page) = env.get(&url).await;
    let page = String::from_utf8(page).unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("Entsperrung bestätigen"), "{page}");
    assert!(
        env.store.account(&address).await.unwrap().unwrap().locked,
        "GET changes nothing"
    );
    let (status, page) = confirm(&env, &url).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("ist entsperrt"), "{page}");
    let account = env.store.account(&address).await.unwrap().unwrap();
    assert!(!account.locked);
    assert_eq!(account.failed_logins, 0);
    let (status, page) = confirm(&env, &url).await;
    assert_eq!(status, 404);
    assert!(page.contains("bereits verwendet"), "{page}");
    let (status, page) = env
        .post(
            "/accountEntsperren",
            &[("address", &address), ("contract", CONTRACT)],
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&page, "address").contains("nicht gesperrt"));

    // Provider lock (§3.6): no self-service unlock, deregistration still works.
    let mut contract = env.store.contract(CONTRACT).await.unwrap().unwrap();
    contract.locked = true;
    env.store.update_contract(&contract).await.unwrap();
    let mut account = env.store.account(&address).await.unwrap().unwrap();
    account.locked = true;
    env.store.update_account(&account).await.unwrap();
    let (status, page) = env
        .post(
            "/accountEntsperren",
            &[("address", &address), ("contract", CONTRACT)],
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&page, "contract").contains("nicht selbst entsperren"));

    let mails = env.mails().len();
    let (status, page) = env
        .post(
            "/deregistrieren",
            &[
                ("address", &address),
                ("password", PASSWORD),
                ("contract", CONTRACT),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(env.mails().len(), mails + 1);
    let url = last_link(&env);
    assert!(
        env.vzd_has(&address).await,
        "still in the VZD before confirmation"
    );
    let (status, page) = confirm(&env, &url).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("ist deregistriert"), "{page}");
    let account = env.store.account(&address).await.unwrap().unwrap();
    let RegState::Deregistered { since, until } = account.state else {
        panic!("not deregistered: {account:?}");
    };
    assert_eq!(until - since, 30 * 86_400);
    assert!(!env.vzd_has(&address).await, "removed from the VZD");
    let (status, _) = confirm(&env, &url).await;
    assert_eq!(status, 404, "single use");
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_download_is_a_pkcs12_openssl_opens() {
    let env = Env::start().await;
    let (address, mails) = registered(&env, "zertifikat").await;
    let welcome = mails
        .iter()
        .find(|m| m.subject() == "Willkommen bei KIM")
        .unwrap()
        .body();
    let number = welcome
        .lines()
        .find_map(|l| l.strip_prefix("Ihre Zertifikatsnummer: "))
        .expect("certificate number")
        .trim()
        .to_owned();
    let password_mail = mails
        .iter()
        .find(|m| m.subject() == "Passwort zu Ihren KIM-Schlüsselinformationen")
        .unwrap()
        .body();
    let p12_password = password_mail
        .split("\n\n")
        .nth(2)
        .expect("password paragraph")
        .trim()
        .to_owned();
    assert_eq!(p12_password.len(), 16, "{password_mail}");

    let (status, page) = cert_login(&env, &address, "999999").await;
    assert_eq!(status, 422);
    assert!(field_error(&page, "number").contains("passen nicht zusammen"));
    let (status, page) = cert_login(&env, &address, "").await;
    assert_eq!(status, 422, "a stored certificate needs its number");
    assert!(field_error(&page, "number").contains("Zertifikatsnummer"));

    let (status, page) = cert_login(&env, &address, &number).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("noch nicht heruntergeladen"), "{page}");
    let href = link(&page, "/zertifikat/download?").replace("&amp;", "&");
    let href = href.split('"').next().unwrap().to_owned();
    let (status, kind, p12) = env.get(&href).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "application/x-pkcs12");
    let file = env.dir.path().join("cm.p12");
    std::fs::write(&file, &p12).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&file)
        .args(["-nokeys", "-clcerts", "-passin"])
        .arg(format!("pass:{p12_password}"))
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("zertifikat#CM"), "{text}");
    let wrong = std::process::Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&file)
        .args(["-nokeys", "-passin", "pass:falsch"])
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "the file is password-protected");

    let (_, page) = cert_login(&env, &address, &number).await;
    assert!(page.contains("<td>heruntergeladen</td>"), "{page}");
    // A session from someone else's token does not work, nor an expired one.
    let (status, _, _) = env.get("/zertifikat/download?sitzung=abc&nr=1").await;
    assert_eq!(status, 403);
    env.clock.advance(16 * 60);
    let (status, _, _) = env.get(&href).await;
    assert_eq!(status, 403);

    // An account registered without the portal gets a certificate protected by its password.
    let other = format!("ohne-portal@{DOMAIN}");
    let (status, body) = env.register_account(&other, CONTRACT, INI_PASSWORD).await;
    assert_eq!(status, 204, "{body}");
    let (status, page) = env
        .post(
            "/zertifikat",
            &[
                ("address", &other),
                ("contract", CONTRACT),
                ("number", ""),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("mit dem Passwort Ihrer KIM-Adresse geschützt"),
        "{page}"
    );
    let href = link(&page, "/zertifikat/download?").replace("&amp;", "&");
    let href = href.split('"').next().unwrap().to_owned();
    let (status, _, p12) = env.get(&href).await;
    assert_eq!(status, 200);
    let file = env.dir.path().join("other.p12");
    std::fs::write(&file, &p12).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["pkcs12", "-in"])
        .arg(&file)
        .args(["-nokeys", "-passin"])
        .arg(format!("pass:{PASSWORD}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_registration_mail_releases_the_reservation() {
    let env = Env::start().await;
    env.sink
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, page) = env.register("ohne-mail", CONTRACT, RECOVERY).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("konnte nicht versendet werden"), "{page}");
    let address = format!("ohne-mail@{DOMAIN}");
    assert!(env.store.reservation(&address).await.unwrap().is_none());
    env.sink
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    reserve(&env, "ohne-mail").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_is_renewed_thirty_days_before_its_end() {
    let env = Env::start().await;
    let (address, _) = registered(&env, "erneuern").await;
    let before = env.mails().len();
    assert_eq!(env.store.certificates(&address).await.unwrap().len(), 1);
    // 730 days of validity: nothing to do 31 days before the end.
    env.clock.advance((730 - 31) * 86_400);
    assert_eq!(env.renew().await, 0);
    env.clock.advance(86_400 + 1);
    assert_eq!(env.renew().await, 1);
    let certificates = env.store.certificates(&address).await.unwrap();
    assert_eq!(certificates.len(), 2);
    let mails: Vec<_> = env.mails().into_iter().skip(before).collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let notice = mails
        .iter()
        .find(|m| m.subject() == "Neues Zertifikat für Ihr KIM-Clientmodul")
        .unwrap()
        .body();
    assert!(
        notice.contains(&format!("Zertifikatsnummer: {}", certificates[1].number)),
        "{notice}"
    );
    assert_eq!(env.renew().await, 0, "the new certificate is fresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_accounts_and_wrong_passwords_get_the_same_answer() {
    let env = Env::start().await;
    let (address, _) = registered(&env, "gleich").await;
    let unknown = format!("niemand@{DOMAIN}");
    let mut pages = Vec::new();
    for (who, password) in [(address.as_str(), "falsch"), (unknown.as_str(), PASSWORD)] {
        let (status, page) = env
            .post(
                "/deregistrieren",
                &[
                    ("address", who),
                    ("password", password),
                    ("contract", CONTRACT),
                ],
            )
            .await;
        assert_eq!(status, 422);
        pages.push(page.replace(who, "ADDRESS"));
    }
    assert_eq!(pages[0], pages[1]);
    let (status, page) = env
        .post(
            "/zertifikat",
            &[
                ("address", &unknown),
                ("contract", CONTRACT),
                ("number", "1"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(field_error(&page, "password").contains("passen nicht zusammen"));
    // Unknown paths and methods get German pages, never a panic.
    let (status, _, page) = env.get("/gibt-es-nicht").await;
    assert_eq!(status, 404);
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("Seite nicht gefunden")
    );
    let (status, _, page) = env.get("/bestaetigen").await;
    assert_eq!(status, 404);
    assert!(String::from_utf8(page).unwrap().contains("ungültig"));
}
