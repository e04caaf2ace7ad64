//! Every Account Manager error of registration and login appears in German beside the field
//! it concerns (without a browser).

use crate::{CONTRACT, Env, HBA_TID, INI_PASSWORD, PASSWORD, PRAXIS_TID, assert_field_error};

async fn register(b: &mut crate::Browser, address: &str, ini: &str, password: &str) -> crate::Page {
    b.post(
        "/registrieren",
        &[
            ("vertrag", CONTRACT),
            ("adresse", address),
            ("initialpasswort", ini),
            ("passwort", password),
            ("passwort2", password),
        ],
    )
    .await
}

#[tokio::test]
async fn registration_errors_are_shown_at_their_fields() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    b.choose_card(HBA_TID).await;

    // The policy of ServiceInformation, checked before any request, with its display text.
    let page = register(&mut b, "neu@test.kim.telematik", INI_PASSWORD, "schwach").await;
    assert_eq!(page.status, 422);
    assert_field_error(&page.body, "passwort", "Passwortrichtlinie");
    assert!(
        page.body
            .contains("Vorgabe des Anbieters: Mindestens 8 Zeichen aus drei Zeichenklassen."),
        "{}",
        page.body
    );

    // The address rules at the field.
    let page = register(
        &mut b,
        "dr.müller@test.kim.telematik",
        INI_PASSWORD,
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body.contains("id=\"feld-adresse-fehler\""),
        "{}",
        page.body
    );

    // 401: wrong initial password → initial password field.
    let page = register(
        &mut b,
        "neu@test.kim.telematik",
        "Falsch-Passwort-9",
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 422);
    assert_field_error(&page.body, "initialpasswort", "Initialpasswort ist falsch");

    // 420 for a domain the contract does not have → address field.
    let page = register(&mut b, "neu@fremd.kim.telematik", INI_PASSWORD, PASSWORD).await;
    assert_eq!(page.status, 422);
    assert_field_error(&page.body, "adresse", "lässt diese KIM-Adresse nicht zu");

    // Different repetition → the repetition field.
    let page = b
        .post(
            "/registrieren",
            &[
                ("vertrag", CONTRACT),
                ("adresse", "neu@test.kim.telematik"),
                ("initialpasswort", INI_PASSWORD),
                ("passwort", PASSWORD),
                ("passwort2", "Geheim-2026?"),
            ],
        )
        .await;
    assert_field_error(&page.body, "passwort2", "stimmen nicht überein");

    // Success, then 409 for the same address → address field.
    let page = register(&mut b, "neu@test.kim.telematik", INI_PASSWORD, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/konto"));
    let account = b.get("/konto").await;
    assert_eq!(account.status, 200);
    assert!(
        account.body.contains("<td id=\"status\">registriert</td>"),
        "{}",
        account.body
    );
    let page = register(&mut b, "neu@test.kim.telematik", INI_PASSWORD, PASSWORD).await;
    assert_field_error(&page.body, "adresse", "bereits vergeben");
    // The password is never written back into the page.
    assert!(!page.body.contains(PASSWORD));
    assert!(!page.body.contains(INI_PASSWORD));
}

#[tokio::test]
async fn login_errors_are_shown_at_their_fields() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    b.choose_card(HBA_TID).await;
    let page = register(
        &mut b,
        "anmeldung@test.kim.telematik",
        INI_PASSWORD,
        PASSWORD,
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);

    // A new session with the same card.
    let mut b = env.browser().await;
    b.choose_card(HBA_TID).await;
    let page = b
        .post(
            "/anmelden",
            &[
                ("adresse", "anmeldung@test.kim.telematik"),
                ("passwort", "Falsch-2026!"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert_field_error(&page.body, "passwort", "Passwort ist falsch");
    let page = b
        .post(
            "/anmelden",
            &[
                ("adresse", "unbekannt@test.kim.telematik"),
                ("passwort", PASSWORD),
            ],
        )
        .await;
    assert_field_error(&page.body, "adresse", "kein Konto");
    let page = b
        .post(
            "/anmelden",
            &[
                ("adresse", "anmeldung@test.kim.telematik"),
                ("passwort", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);

    // Another practice's card does not own the account: a form-wide alert.
    let mut c = env.browser().await;
    c.choose_card(PRAXIS_TID).await;
    let page = c
        .post(
            "/anmelden",
            &[
                ("adresse", "anmeldung@test.kim.telematik"),
                ("passwort", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(
        page.body
            .contains("role=\"alert\"><p>Die gewählte Karte gehört nicht zu diesem KIM-Konto."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_portal_link_pre_fills_the_registration_after_the_card_choice() {
    let env = Env::start().await;
    let mut b = env.browser().await;
    let page = b
        .get("/registrieren?vertrag=V-2026-0001&adresse=praxis.neu%40test.kim.telematik")
        .await;
    assert_eq!(page.status, 303);
    let next = page.location.unwrap();
    assert!(
        next.starts_with("/?weiter=%2Fregistrieren%3Fvertrag%3DV-2026-0001"),
        "{next}"
    );
    let cards = b.get(&next).await;
    assert!(
        cards.body.contains(
            "name=\"weiter\" value=\"/registrieren?vertrag=V-2026-0001&amp;adresse=praxis.neu%40test.kim.telematik\""
        ),
        "{}",
        cards.body
    );
    let value = crate::card_value_in(&cards.body, HBA_TID);
    let page = b
        .post(
            "/karte",
            &[
                ("karte", &value),
                (
                    "weiter",
                    "/registrieren?vertrag=V-2026-0001&adresse=praxis.neu%40test.kim.telematik",
                ),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let form = b.get(page.location.as_deref().unwrap()).await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("id=\"feld-vertrag\" name=\"vertrag\""),
        "{}",
        form.body
    );
    assert!(form.body.contains("value=\"V-2026-0001\""), "{}", form.body);
    assert!(
        form.body
            .contains("value=\"praxis.neu@test.kim.telematik\""),
        "{}",
        form.body
    );
    // A foreign target is not followed.
    let page = b.post("/karte/wechseln", &[]).await;
    assert_eq!(page.status, 303);
    let value = b.card_value(HBA_TID).await;
    let page = b
        .post(
            "/karte",
            &[("karte", &value), ("weiter", "//evil.example/")],
        )
        .await;
    assert_eq!(page.location.as_deref(), Some("/"));
}
