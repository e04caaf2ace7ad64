use kim_store::{BlobStore, FileBlobStore, Namespace, StoreError};
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn committed_blob_reads_back_and_uncommitted_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileBlobStore::open(dir.path(), true).await.unwrap();

    let mut w = store.create(Namespace::Mail).await.unwrap();
    w.write(b"Subject: a\r\n\r\n").await.unwrap();
    w.write(b"body\r\n").await.unwrap();
    assert_eq!(w.written(), 20);
    let key = w.commit().await.unwrap();

    let mut r = store.open(&key).await.unwrap();
    assert_eq!(r.size, 20);
    let mut got = Vec::new();
    r.reader.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"Subject: a\r\n\r\nbody\r\n");

    // A writer dropped without commit leaves no file behind.
    let mut w = store.create(Namespace::Mail).await.unwrap();
    w.write(b"half").await.unwrap();
    drop(w);
    assert_eq!(
        store.list(Namespace::Mail).await.unwrap(),
        vec![key.clone()]
    );

    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(matches!(
        store.open(&key).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn leftover_temporary_files_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
    std::fs::write(dir.path().join("tmp/partial"), b"half a message").unwrap();
    let store = FileBlobStore::open(dir.path(), true).await.unwrap();
    assert!(store.list(Namespace::Kas).await.unwrap().is_empty());
    assert!(!dir.path().join("tmp/partial").exists());
}

#[test]
fn keys_never_name_paths_outside_the_store() {
    for bad in [
        "../etc/passwd",
        "mail/../../x",
        "mail/",
        "kas/not-a-uuid",
        "",
        "other/6f1c",
    ] {
        assert!(kim_store::BlobKey::parse(bad).is_err(), "{bad}");
    }
    assert!(kim_store::BlobKey::parse("kas/0b2e5f3c-4c53-4c53-9c1a-3f1d2e4b5a6c").is_ok());
}
