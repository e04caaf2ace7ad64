//! Retention purge: old messages and ended deregistrations go with their blobs; a mailbox
//! with an open session is left alone.

use kim_fachdienst::purge;
use kim_store::{Acceptance, Namespace, RegState};

use crate::harness::{ARZT, Env, PASSWORD, account};

const DAY: i64 = 86_400;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn store(env: &Env, mailbox: &str, received: i64) {
    let mut writer = env.fd.blobs.create(Namespace::Mail).await.unwrap();
    writer.write(b"Subject: x\r\n\r\nx\r\n").await.unwrap();
    let size = writer.written();
    let blob = writer.commit().await.unwrap();
    env.fd
        .meta
        .accept(&Acceptance {
            blob,
            size,
            received,
            local: vec![mailbox.into()],
            relay: Vec::new(),
        })
        .await
        .unwrap();
}

async fn blobs(env: &Env) -> usize {
    env.fd.blobs.list(Namespace::Mail).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn old_mail_is_purged_except_under_an_open_session() {
    let env = Env::start().await;
    let locks = env.running().locks.clone();
    let session = locks.try_lock(ARZT).expect("mailbox free");
    // The purge's lock table is the POP3 server's: a held mailbox is [IN-USE] for POP3 too.
    let out = env
        .python(&format!(
            "p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())
p.user({ARZT:?})
try:
    p.pass_({PASSWORD:?}); print('opened')
except poplib.error_proto as e:
    print('refused', e)
"
        ))
        .await;
    assert!(out.contains("refused") && out.contains("IN-USE"), "{out}");
    store(&env, ARZT, now() - 91 * DAY).await;
    store(&env, ARZT, now() - 89 * DAY).await;

    let purged = purge::run_once(&env.fd, &locks, now()).await.unwrap();
    assert_eq!(purged.skipped_mailboxes, 1, "{purged:?}");
    assert_eq!(purged.messages, 0, "{purged:?}");
    assert_eq!(env.fd.meta.mailbox(ARZT).await.unwrap().len(), 2);

    drop(session);
    purge::run_once(&env.fd, &locks, now()).await.unwrap();
    let left = env.fd.meta.mailbox(ARZT).await.unwrap();
    assert_eq!(left.len(), 1, "only the 89-day-old message stays");
    assert!(left[0].received > now() - 90 * DAY);
    assert_eq!(blobs(&env).await, 1, "the purged message's blob is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_deleted_when_the_deregistration_window_ends() {
    let env = Env::start().await;
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    let mut gone = account("weg@test.kim.telematik", &hash);
    gone.state = RegState::Deregistered {
        since: now() - 31 * DAY,
        until: now() - 1,
    };
    let mut leaving = account("bald@test.kim.telematik", &hash);
    leaving.state = RegState::Deregistered {
        since: now() - DAY,
        until: now() + 29 * DAY,
    };
    for a in [&gone, &leaving] {
        env.fd.meta.create_account(a).await.unwrap();
        store(&env, &a.address, now()).await;
    }
    let locks = env.running().locks.clone();
    purge::run_once(&env.fd, &locks, now()).await.unwrap();
    assert!(env.fd.meta.account(&gone.address).await.unwrap().is_none());
    assert!(
        env.fd
            .meta
            .account(&leaving.address)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        env.fd.meta.mailbox(&leaving.address).await.unwrap().len(),
        1
    );
    assert_eq!(blobs(&env).await, 1, "the deleted account's blob is gone");
}
