//! The registration portal's records: reservations against accounts and each other, their
//! completion, single-use tokens, certificates, and the purge.

use kim_store::{
    Account, AccountStore, Contract, PortalStore, PortalToken, Profile, Reservation, SqliteStore,
    StoreError, TokenPurpose,
};

const ADDRESS: &str = "praxis@test.kim.telematik";

fn reservation(address: &str, token_hash: &str, expires: i64) -> Reservation {
    Reservation {
        address: address.into(),
        reference_id: "V-1".into(),
        token_hash: token_hash.into(),
        profile: Profile {
            address: address.into(),
            recovery_email: "praxis@beispiel.de".into(),
            lanr: Some("123456789".into()),
            ..Profile::default()
        },
        created: 0,
        expires,
    }
}

async fn store() -> SqliteStore {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .create_contract(&Contract::new(
            "V-1",
            "x",
            vec!["test.kim.telematik".into()],
            5,
            0,
        ))
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn reservations_block_an_address_until_they_expire_or_complete() {
    let store = store().await;
    store
        .reserve(&reservation(ADDRESS, "h1", 100), 0)
        .await
        .unwrap();
    let again = store.reserve(&reservation(ADDRESS, "h2", 200), 50).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    // Expired at 100: the next reservation replaces it.
    store
        .reserve(&reservation(ADDRESS, "h2", 200), 100)
        .await
        .unwrap();
    assert_eq!(
        store
            .reservation(ADDRESS)
            .await
            .unwrap()
            .unwrap()
            .token_hash,
        "h2"
    );
    // A taken address cannot be reserved.
    let taken = "arzt@test.kim.telematik";
    store
        .create_account(&Account::registered(taken, "V-1", "1-2", "x", 0))
        .await
        .unwrap();
    let refused = store.reserve(&reservation(taken, "h3", 100), 0).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })));
    // Completion moves the contact data and removes the reservation.
    store
        .create_account(&Account::registered(ADDRESS, "V-1", "1-2", "x", 0))
        .await
        .unwrap();
    store.complete_reservation(ADDRESS).await.unwrap();
    assert!(store.reservation(ADDRESS).await.unwrap().is_none());
    let profile = store.profile(ADDRESS).await.unwrap().unwrap();
    assert_eq!(profile.recovery_email, "praxis@beispiel.de");
    assert_eq!(profile.lanr.as_deref(), Some("123456789"));
    assert!(matches!(
        store.complete_reservation(ADDRESS).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn tokens_are_taken_once_and_the_purge_drops_what_expired_or_is_orphaned() {
    let store = store().await;
    let token = PortalToken {
        hash: "t1".into(),
        purpose: TokenPurpose::Unlock,
        address: ADDRESS.into(),
        expires: 100,
    };
    store.put_token(&token).await.unwrap();
    assert_eq!(store.token("t1").await.unwrap(), Some(token.clone()));
    assert_eq!(store.take_token("t1").await.unwrap(), Some(token.clone()));
    assert_eq!(store.take_token("t1").await.unwrap(), None);

    store
        .reserve(&reservation(ADDRESS, "h", 100), 0)
        .await
        .unwrap();
    let n1 = store.add_certificate(ADDRESS, b"p12-1", 10).await.unwrap();
    let n2 = store.add_certificate(ADDRESS, b"p12-2", 20).await.unwrap();
    assert!(n2 > n1);
    store.mark_downloaded(n1).await.unwrap();
    let certs = store.certificates(ADDRESS).await.unwrap();
    assert_eq!(certs.len(), 2);
    assert!(certs[0].downloaded && !certs[1].downloaded);
    assert_eq!(certs[1].pkcs12, b"p12-2");
    store.put_token(&token).await.unwrap();

    let nothing = store.purge_portal(99).await.unwrap();
    assert_eq!(nothing, kim_store::PortalPurge::default());
    let purged = store.purge_portal(100).await.unwrap();
    assert_eq!(purged.reservations, 1);
    assert_eq!(purged.tokens, 1);
    assert_eq!(
        purged.orphans, 2,
        "both certificates of the dropped reservation"
    );
    assert!(store.certificates(ADDRESS).await.unwrap().is_empty());
}

#[tokio::test]
async fn cancel_removes_only_the_reservation_with_that_token() {
    let store = store().await;
    store
        .reserve(&reservation(ADDRESS, "h1", 100), 0)
        .await
        .unwrap();
    store.cancel_reservation(ADDRESS, "other").await.unwrap();
    assert!(store.reservation(ADDRESS).await.unwrap().is_some());
    store.cancel_reservation(ADDRESS, "h1").await.unwrap();
    assert!(store.reservation(ADDRESS).await.unwrap().is_none());
}
