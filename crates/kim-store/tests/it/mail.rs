use kim_store::{
    Acceptance, AccountStore, BlobStore, FileBlobStore, KasObject, KasStore, MailStore, Namespace,
    QueueEntry, QueueStore, QueuedRecipient, SqliteStore, recover,
};

use crate::accounts::account;

async fn blob(store: &FileBlobStore, ns: Namespace, bytes: &[u8]) -> kim_store::BlobKey {
    let mut w = store.create(ns).await.unwrap();
    w.write(bytes).await.unwrap();
    w.commit().await.unwrap()
}

fn queue_entry(id: &str, blob: &kim_store::BlobKey, next: i64) -> QueueEntry {
    QueueEntry {
        id: id.into(),
        blob: blob.clone(),
        size: 3,
        mail_from: "a@test.kim.telematik".into(),
        ret: Some("HDRS".into()),
        envid: None,
        domain: "other.kim.telematik".into(),
        recipients: vec![QueuedRecipient {
            address: "z@other.kim.telematik".into(),
            notify: vec!["SUCCESS".into()],
            orcpt: None,
        }],
        created: 1,
        attempts: 0,
        next_attempt: next,
        last_error: None,
    }
}

#[tokio::test]
async fn shared_blob_is_freed_with_its_last_reference() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
        .await
        .unwrap();
    let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
    for a in ["a@test.kim.telematik", "b@test.kim.telematik"] {
        meta.create_account(&account(a)).await.unwrap();
    }
    let key = blob(&blobs, Namespace::Mail, b"msg").await;
    meta.accept(&Acceptance {
        blob: key.clone(),
        size: 3,
        received: 1000,
        local: vec!["a@test.kim.telematik".into(), "b@test.kim.telematik".into()],
        relay: vec![queue_entry("q1", &key, 0)],
    })
    .await
    .unwrap();

    let a = meta.mailbox("a@test.kim.telematik").await.unwrap();
    assert_eq!(a.len(), 1);
    let b = meta.mailbox("b@test.kim.telematik").await.unwrap();
    assert_ne!(a[0].uid, b[0].uid);
    assert_eq!(meta.usage("b@test.kim.telematik").await.unwrap().bytes, 3);

    // Another mailbox's id is not deleted through this mailbox.
    assert!(
        meta.delete_messages("a@test.kim.telematik", &[b[0].id])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(meta.mailbox("b@test.kim.telematik").await.unwrap().len(), 1);

    assert!(
        meta.delete_messages("a@test.kim.telematik", &[a[0].id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        meta.delete_messages("b@test.kim.telematik", &[b[0].id])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(meta.due(0, 10).await.unwrap().len(), 1);
    assert_eq!(meta.remove_queue_entry("q1").await.unwrap(), Some(key));
}

#[tokio::test]
async fn queue_due_respects_next_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FileBlobStore::open(dir.path(), true).await.unwrap();
    let meta = SqliteStore::open_in_memory().unwrap();
    let key = blob(&blobs, Namespace::Mail, b"msg").await;
    meta.accept(&Acceptance {
        blob: key.clone(),
        size: 3,
        received: 1,
        local: vec![],
        relay: vec![queue_entry("q1", &key, 100)],
    })
    .await
    .unwrap();
    assert!(meta.due(99, 10).await.unwrap().is_empty());
    let mut e = meta.due(100, 10).await.unwrap().pop().unwrap();
    e.attempts = 1;
    e.next_attempt = 400;
    e.last_error = Some("421 busy".into());
    meta.update_queue_entry(&e).await.unwrap();
    assert!(meta.due(399, 10).await.unwrap().is_empty());
    assert_eq!(meta.queue().await.unwrap(), vec![e]);
}

#[tokio::test]
async fn messages_expire_by_their_accounts_time_to_live() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FileBlobStore::open(dir.path(), true).await.unwrap();
    let meta = SqliteStore::open_in_memory().unwrap();
    let mut short = account("s@test.kim.telematik");
    short.data_time_to_live = 10;
    meta.create_account(&short).await.unwrap();
    meta.create_account(&account("l@test.kim.telematik"))
        .await
        .unwrap();
    let key = blob(&blobs, Namespace::Mail, b"msg").await;
    meta.accept(&Acceptance {
        blob: key,
        size: 3,
        received: 0,
        local: vec!["s@test.kim.telematik".into(), "l@test.kim.telematik".into()],
        relay: vec![],
    })
    .await
    .unwrap();
    let expired = meta.expired_messages(11 * 86_400).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].mailbox, "s@test.kim.telematik");
}

#[tokio::test]
async fn recovery_removes_only_unreferenced_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FileBlobStore::open(dir.path(), true).await.unwrap();
    let meta = SqliteStore::open_in_memory().unwrap();
    let kept = blob(&blobs, Namespace::Kas, b"kept").await;
    let orphan = blob(&blobs, Namespace::Kas, b"orphan").await;
    meta.put_object(&KasObject {
        id: "k1".into(),
        owner: "a@test.kim.telematik".into(),
        blob: kept.clone(),
        size: 4,
        message_id: "<m@x>".into(),
        recipients: vec!["b@test.kim.telematik".into()],
        expires: 50,
        created: 1,
    })
    .await
    .unwrap();
    assert_eq!(recover(&meta, &blobs).await.unwrap(), 1);
    assert_eq!(
        blobs.list(Namespace::Kas).await.unwrap(),
        vec![kept.clone()]
    );
    assert!(blobs.open(&orphan).await.is_err());
    assert_eq!(meta.owner_usage("a@test.kim.telematik").await.unwrap(), 4);
    assert_eq!(meta.expired_objects(51).await.unwrap().len(), 1);
    assert_eq!(meta.delete_object("k1").await.unwrap(), Some(kept));
}
