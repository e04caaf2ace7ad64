//! Card listing and selection, the PIN, and the errors of a missing card or a wrong context,
//! against the software Konnektor.

use kim_admin::auth::{Algorithm, CardKind, ensure_pin, use_algorithm};
use kim_admin::{AdminError, Context, list_cards, select_card, sign_jwt};
use kim_konnektor::model::PinStatus;
use kim_ti_sim::cards::PinOutcome;
use kim_ti_sim::model::{PinStatus as SimPinStatus, PinType as SimPinType};

use crate::{HBA_ICCSN, HBA_TID, PRAXIS_ICCSN, PRAXIS_TID, ZAHNARZT_TID, ctx, konnektor};

#[tokio::test]
async fn lists_every_smcb_and_hba_with_aut_certificate_and_pin_status() {
    let (_sim, k) = konnektor().await;
    let cards = list_cards(&k, &ctx()).await.unwrap();
    let mut seen: Vec<(CardKind, &str)> = cards
        .iter()
        .map(|c| (c.kind, c.telematik_id.as_str()))
        .collect();
    seen.sort_by_key(|(_, t)| t.to_string());
    assert_eq!(
        seen,
        vec![
            (CardKind::Hba, HBA_TID),
            (CardKind::SmcB, PRAXIS_TID),
            (CardKind::SmcB, ZAHNARZT_TID)
        ]
    );
    let praxis = cards.iter().find(|c| c.telematik_id == PRAXIS_TID).unwrap();
    assert_eq!(praxis.iccsn.as_deref(), Some(PRAXIS_ICCSN));
    assert_eq!(praxis.algorithm, Algorithm::Rsa);
    assert_eq!(praxis.pin_status, Some(PinStatus::Verifiable));
    assert_eq!(praxis.pin_left_tries, Some(3));
    assert!(praxis.holder.contains("Arztpraxis"), "{}", praxis.holder);
    let expected = &crate::pki()
        .card(PRAXIS_TID)
        .unwrap()
        .aut(kim_testkit::pki::KeyAlgorithm::Rsa2048)
        .certificate_der;
    assert_eq!(&praxis.aut_certificate_der, expected);
    assert!(praxis.aut_not_after > 0);
}

#[tokio::test]
async fn selects_by_kind_and_telematik_id_and_names_what_is_missing() {
    let (_sim, k) = konnektor().await;
    let hba = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap();
    assert_eq!(hba.telematik_id, HBA_TID);
    let zahnarzt = select_card(&k, &ctx(), None, Some(ZAHNARZT_TID))
        .await
        .unwrap();
    assert_eq!(zahnarzt.kind, CardKind::SmcB);
    let e = select_card(&k, &ctx(), Some(CardKind::Hba), Some(PRAXIS_TID))
        .await
        .unwrap_err();
    let AdminError::NoCard(text) = &e else {
        panic!("{e:?}")
    };
    assert!(
        text.contains("HBA with Telematik-ID 1-2.58.00000040"),
        "{text}"
    );
    assert!(text.contains("Mandant1/ClientID1/Workplace1"), "{text}");
    assert!(text.contains("found: "), "{text}");
    assert!(e.german_message().contains("keine passende Karte"));
    // Workplace2 reaches terminal CT2, which is empty.
    let empty = Context::new("Mandant1", "ClientID1", "Workplace2").unwrap();
    let e = select_card(&k, &empty, None, None).await.unwrap_err();
    assert!(e.to_string().contains("reaches no SMC-B or HBA"), "{e}");
}

#[tokio::test]
async fn an_unknown_mandant_is_a_clear_konnektor_error() {
    let (_sim, k) = konnektor().await;
    let wrong = Context::new("Mandant9", "ClientID1", "Workplace1").unwrap();
    let e = list_cards(&k, &wrong).await.unwrap_err();
    assert_eq!(e.konnektor_code(), Some(4004), "{e:?}");
    assert!(e.to_string().contains("GetCards"), "{e}");
    assert!(e.to_string().contains("Mandanten-ID"), "{e}");
    assert!(
        e.german_message().contains("Aufrufkontext"),
        "{}",
        e.german_message()
    );
}

#[tokio::test]
async fn a_verifiable_pin_is_verified_before_signing() {
    let (sim, k) = konnektor().await;
    let card = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap();
    assert_eq!(card.pin_status, Some(PinStatus::Verifiable));
    sign_jwt(&k, &ctx(), &card, 1_700_000_000).await.unwrap();
    let view = sim
        .konnektor()
        .cards
        .list(None)
        .into_iter()
        .find(|c| c.iccsn == HBA_ICCSN)
        .unwrap();
    assert!(
        view.pins
            .iter()
            .any(|(p, s, _)| p == "PIN.CH" && s == "VERIFIED"),
        "{:?}",
        view.pins
    );
    let again = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap();
    assert_eq!(again.pin_status, Some(PinStatus::Verified));
}

#[tokio::test]
async fn a_wrong_or_blocked_pin_is_a_clear_error_and_nothing_is_signed() {
    let (sim, k) = konnektor().await;
    let card = select_card(&k, &ctx(), None, Some(PRAXIS_TID))
        .await
        .unwrap();
    sim.konnektor()
        .cards
        .set_pin(
            PRAXIS_ICCSN,
            SimPinType::Smc,
            None,
            None,
            vec![PinOutcome::Wrong],
        )
        .unwrap();
    let e = sign_jwt(&k, &ctx(), &card, 1_700_000_000)
        .await
        .unwrap_err();
    let AdminError::Pin(text) = &e else {
        panic!("{e:?}")
    };
    assert!(
        text.contains("falsche PIN") && text.contains("noch 2 Versuche"),
        "{text}"
    );
    sim.konnektor()
        .cards
        .set_pin(
            PRAXIS_ICCSN,
            SimPinType::Smc,
            Some(SimPinStatus::Blocked),
            Some(0),
            Vec::new(),
        )
        .unwrap();
    let e = ensure_pin(&k, &ctx(), &card).await.unwrap_err();
    assert!(e.to_string().contains("PIN.SMC ist gesperrt"), "{e}");
    assert!(e.german_message().starts_with("Die PIN der Karte"), "{e}");
}

#[tokio::test]
async fn a_removed_card_is_a_clear_error() {
    let (sim, k) = konnektor().await;
    let card = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap();
    sim.konnektor().cards.remove(HBA_ICCSN).unwrap();
    let e = sign_jwt(&k, &ctx(), &card, 1_700_000_000)
        .await
        .unwrap_err();
    assert_eq!(e.konnektor_code(), Some(4101), "{e:?}");
    assert!(e.german_message().contains("nicht mehr gesteckt"), "{e}");
    let e = select_card(&k, &ctx(), Some(CardKind::Hba), None)
        .await
        .unwrap_err();
    assert!(matches!(e, AdminError::NoCard(_)), "{e:?}");
}

#[tokio::test]
async fn cards_with_only_ecc_keys_are_listed_with_their_ecc_certificate() {
    let (_sim, k) = crate::konnektor_with(|config| {
        for card in &mut config.cards {
            card.keys
                .retain(|key| key.crypt == kim_ti_sim::model::Crypt::Ecc);
        }
    })
    .await;
    let card = select_card(&k, &ctx(), None, Some(PRAXIS_TID))
        .await
        .unwrap();
    assert_eq!(card.algorithm, Algorithm::Ecc);
    let e = use_algorithm(&k, &ctx(), &card, Algorithm::Rsa)
        .await
        .unwrap_err();
    assert!(e.konnektor_code().is_some(), "{e:?}");
}

#[tokio::test]
async fn an_unreachable_konnektor_is_a_clear_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = kim_konnektor::client::KonnektorConfig::new(
        format!("https://127.0.0.1:{port}"),
        crate::trust(),
    );
    config.connect_timeout = std::time::Duration::from_secs(2);
    let k = kim_konnektor::client::KonnektorClient::new(config).unwrap();
    let e = list_cards(&k, &ctx()).await.unwrap_err();
    assert!(matches!(e, AdminError::Konnektor { .. }), "{e:?}");
    assert_eq!(e.konnektor_code(), None);
    assert!(
        e.german_message().contains("nicht erreichbar"),
        "{}",
        e.german_message()
    );
}
