//! Many practice-software sessions at once: 200 SMTP sessions that are all authenticated at
//! the same moment before each sends a mail, and 200 POP3 sessions (one mailbox each, as
//! the Fachdienst allows one session per mailbox) all logged in at the same moment.

use kim_store::{Account, AccountStore, SqliteStore};

use crate::harness::{ARZT, Chain, PASSWORD, PRAXIS};
use crate::receive::{pop3_user, start_recv};

const SESSIONS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_smtp_sessions_each_deliver_their_mail() {
    let chain = Chain::start(|c| c.max_sessions = SESSIONS).await;
    let recv = start_recv(&chain, |c| c.max_sessions = SESSIONS).await;
    let user = chain.user(PRAXIS);
    let out = chain
        .python(&format!(
            "import threading\n\
             n = {SESSIONS}\n\
             barrier = threading.Barrier(n, timeout=300)\n\
             results = [None] * n\n\
             def run(i):\n\
             \x20   try:\n\
             \x20       s = smtplib.SMTP('127.0.0.1', cm_port, timeout=300)\n\
             \x20       s.login({user:?}, password)\n\
             \x20       barrier.wait()\n\
             \x20       body = 'From: {PRAXIS}\\r\\nTo: {ARZT}\\r\\nSubject: Last %d\\r\\nMessage-ID: <last-%d@praxis.test>\\r\\nDate: Fri, 04 Dec 2026 10:00:00 +0100\\r\\n\\r\\nBefund %d\\r\\n' % (i, i, i)\n\
             \x20       refused = s.sendmail({PRAXIS:?}, [{ARZT:?}], body.encode())\n\
             \x20       s.quit()\n\
             \x20       results[i] = 'ok' if not refused else repr(refused)\n\
             \x20   except Exception as e:\n\
             \x20       results[i] = repr(e)\n\
             threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]\n\
             for t in threads: t.start()\n\
             for t in threads: t.join()\n\
             bad = [r for r in results if r != 'ok']\n\
             print(len(bad), bad[:3])\n"
        ))
        .await;
    assert_eq!(out.trim(), "0 []", "every session delivered: {out}");

    // All 200 arrive decrypted through the POP3 proxy.
    let recv_port = recv.pop3_addr.port();
    let arzt = pop3_user(&chain, ARZT);
    let out = chain
        .python(&format!(
            "p = poplib.POP3('127.0.0.1', {recv_port}, timeout=600)\n\
             p.user({arzt:?}); p.pass_(password)\n\
             n = len(p.list()[1])\n\
             subjects = set()\n\
             ok = 0\n\
             for i in range(n):\n\
             \x20   lines = p.retr(i + 1)[1]\n\
             \x20   if b'X-KIM-DecryptionResult: 00' in lines and b'X-KIM-IntegrityCheckResult: 01' in lines: ok += 1\n\
             \x20   subjects.update(l for l in lines if l.startswith(b'Subject: Last '))\n\
             \x20   p.dele(i + 1)\n\
             p.quit()\n\
             print(n, ok, len(subjects))\n"
        ))
        .await;
    assert_eq!(
        out.trim(),
        format!("{SESSIONS} {SESSIONS} {SESSIONS}"),
        "messages, decrypted with 01, distinct subjects"
    );
    recv.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_pop3_sessions_are_served() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |c| c.max_sessions = SESSIONS).await;
    // Further mailboxes, added to the running Fachdienst's database.
    let meta = SqliteStore::open(&chain.dir.path().join("fd.sqlite")).unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    let mut users = Vec::new();
    for i in 0..SESSIONS {
        let address = format!("last{i}@test.kim.telematik");
        let account = Account::registered(&address, "V-100", "1-2.58.00000040", &hash, 0);
        meta.create_account(&account).await.unwrap();
        users.push(format!("{:?}", pop3_user(&chain, &address)));
    }
    let recv_port = recv.pop3_addr.port();
    let out = chain
        .python(&format!(
            "import threading\n\
             users = [{}]\n\
             barrier = threading.Barrier(len(users), timeout=300)\n\
             results = [None] * len(users)\n\
             def run(i):\n\
             \x20   try:\n\
             \x20       p = poplib.POP3('127.0.0.1', {recv_port}, timeout=300)\n\
             \x20       p.user(users[i]); p.pass_(password)\n\
             \x20       barrier.wait()\n\
             \x20       results[i] = 'ok' if p.stat() == (0, 0) else 'stat'\n\
             \x20       p.quit()\n\
             \x20   except Exception as e:\n\
             \x20       results[i] = repr(e)\n\
             threads = [threading.Thread(target=run, args=(i,)) for i in range(len(users))]\n\
             for t in threads: t.start()\n\
             for t in threads: t.join()\n\
             bad = [r for r in results if r != 'ok']\n\
             print(len(bad), bad[:3])\n",
            users.join(", ")
        ))
        .await;
    assert_eq!(out.trim(), "0 []", "every session was served: {out}");
    recv.shutdown().await;
    chain.stop().await;
}
