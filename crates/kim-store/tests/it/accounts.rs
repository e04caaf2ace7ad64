use kim_store::{Account, AccountStore, Contract, OutOfOffice, RegState, SqliteStore, StoreError};

pub fn account(address: &str) -> Account {
    Account {
        address: address.into(),
        reference_id: "V-1".into(),
        telematik_id: "1-2.58.00000040".into(),
        password_hash: "x".into(),
        kim_version: "1.5+".into(),
        data_time_to_live: 90,
        no_vzd_mail_entry: false,
        state: RegState::Registered,
        failed_logins: 0,
        locked: false,
        otp: None,
        out_of_office: None,
        quota: -1,
        created: 1_700_000_000,
    }
}

#[tokio::test]
async fn contracts_and_accounts_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fd.sqlite");
    {
        let store = SqliteStore::open(&db).unwrap();
        let contract = Contract {
            reference_id: "V-1".into(),
            ini_password_hash: "h".into(),
            domains: vec!["test.kim.telematik".into()],
            max_accounts: 2,
            locked: false,
            created: 1,
        };
        store.create_contract(&contract).await.unwrap();
        assert!(matches!(
            store.create_contract(&contract).await,
            Err(StoreError::Conflict { .. })
        ));
        let mut a = account("a@test.kim.telematik");
        a.out_of_office = Some(OutOfOffice {
            active: true,
            start: 10,
            end: 20,
            message: "Praxis geschlossen".into(),
        });
        a.state = RegState::Deregistered { since: 5, until: 6 };
        store.create_account(&a).await.unwrap();
        assert!(matches!(
            store.create_account(&a).await,
            Err(StoreError::Conflict { .. })
        ));
    }
    let store = SqliteStore::open(&db).unwrap();
    let a = store
        .account("a@test.kim.telematik")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, RegState::Deregistered { since: 5, until: 6 });
    assert_eq!(a.out_of_office.unwrap().message, "Praxis geschlossen");
    assert_eq!(
        store.contract("V-1").await.unwrap().unwrap().domains,
        ["test.kim.telematik"]
    );
    assert_eq!(store.list_accounts(Some("V-1")).await.unwrap().len(), 1);
    assert!(store.list_accounts(Some("V-2")).await.unwrap().is_empty());
}

#[tokio::test]
async fn third_failed_login_locks_and_success_resets_the_count() {
    let store = SqliteStore::open_in_memory().unwrap();
    store
        .create_account(&account("b@test.kim.telematik"))
        .await
        .unwrap();
    let f1 = store
        .record_login_failure("b@test.kim.telematik", 3)
        .await
        .unwrap();
    assert_eq!((f1.count, f1.locked), (1, false));
    store
        .clear_login_failures("b@test.kim.telematik")
        .await
        .unwrap();
    for expected in 1..=2 {
        let f = store
            .record_login_failure("b@test.kim.telematik", 3)
            .await
            .unwrap();
        assert_eq!((f.count, f.locked), (expected, false));
    }
    let f3 = store
        .record_login_failure("b@test.kim.telematik", 3)
        .await
        .unwrap();
    assert_eq!((f3.count, f3.locked), (3, true));
    assert!(
        store
            .account("b@test.kim.telematik")
            .await
            .unwrap()
            .unwrap()
            .locked
    );
    assert!(matches!(
        store
            .record_login_failure("nobody@test.kim.telematik", 3)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn one_autoreply_per_sender_and_day() {
    let store = SqliteStore::open_in_memory().unwrap();
    let acc = "c@test.kim.telematik";
    assert!(
        store
            .autoreply_once(acc, "X@test.kim.telematik", 100)
            .await
            .unwrap()
    );
    assert!(
        !store
            .autoreply_once(acc, "x@test.kim.telematik", 100)
            .await
            .unwrap()
    );
    assert!(
        store
            .autoreply_once(acc, "y@test.kim.telematik", 100)
            .await
            .unwrap()
    );
    assert!(
        store
            .autoreply_once(acc, "x@test.kim.telematik", 101)
            .await
            .unwrap()
    );
}
