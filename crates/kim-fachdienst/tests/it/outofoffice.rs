//! Out-of-office replies: once per sender and day, never to automatic or bulk mail.

use kim_store::OutOfOffice;

use crate::harness::{ARZT, Env, PASSWORD, PRAXIS, Setup, free_port};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

async fn set_away(env: &Env, address: &str, start: i64, end: i64) {
    let mut account = env.fd.meta.account(address).await.unwrap().unwrap();
    account.out_of_office = Some(OutOfOffice {
        active: true,
        start,
        end,
        message: "Bin im Urlaub.\nVertretung: Praxis Müller".into(),
    });
    env.fd.meta.update_account(&account).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn autoreply_once_per_sender_and_never_to_automatic_mail() {
    let mut setup = Setup::new("test.kim.telematik", &[PRAXIS, ARZT]);
    setup.inbound_port = free_port();
    // Replies to c.kim.telematik are queued (the peer is down, the entries stay visible).
    setup.routes = vec![(
        "c.kim.telematik".into(),
        format!("localhost:{}", free_port()),
    )];
    let env = Env::start_with(setup).await;
    set_away(&env, ARZT, now() - 3600, now() + 3600).await;
    set_away(&env, PRAXIS, now() - 7200, now() - 3600).await;

    let out = env
        .python(&format!(
            "s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login({PRAXIS:?}, {PASSWORD:?})
for n in (1, 2):
    s.sendmail({PRAXIS:?}, [{ARZT:?}], 'From: {PRAXIS}\\r\\nMessage-ID: <m%d@test>\\r\\n\\r\\nx\\r\\n' % n)
s.quit()
s = smtplib.SMTP_SSL('localhost', smtp_port, context=ctx())
s.login({ARZT:?}, {PASSWORD:?})
s.sendmail({ARZT:?}, [{PRAXIS:?}], 'From: {ARZT}\\r\\n\\r\\nexpired away note\\r\\n')
s.quit()
i = smtplib.SMTP_SSL('localhost', inbound_port, context=ctx())
for sender, extra in [('ok@c.kim.telematik', ''),
                      ('bulk@c.kim.telematik', 'Precedence: bulk\\r\\n'),
                      ('junk@c.kim.telematik', 'Precedence: junk\\r\\n'),
                      ('auto@c.kim.telematik', 'Auto-Submitted: auto-generated\\r\\n'),
                      ('list@c.kim.telematik', 'List-Id: <l.c.kim.telematik>\\r\\n'),
                      ('away@c.kim.telematik', 'X-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0\\r\\n'),
                      ('', 'Content-Type: multipart/report; report-type=delivery-status; boundary=b\\r\\n')]:
    i.sendmail(sender, [{ARZT:?}], 'From: x@c.kim.telematik\\r\\n' + extra + '\\r\\nbody\\r\\n')
i.quit()
print('done')
"
        ))
        .await;
    assert!(out.contains("done"), "{out}");

    // The local sender got exactly one reply for two messages (delivered before the 250).
    let replies = env.wait_for_mail(PRAXIS, 2).await;
    let reply = replies
        .iter()
        .find(|m| m.contains("Auto-Submitted: auto-replied"))
        .expect("an autoreply");
    assert!(replies.iter().any(|m| m.contains("expired away note")));
    for needle in [
        "From: <zahnarzt.weber@test.kim.telematik>\r\n",
        "To: <praxis.schmidt@test.kim.telematik>\r\n",
        "In-Reply-To: <m1@test>\r\n",
        "X-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0\r\n",
        "Content-Type: text/plain; charset=UTF-8\r\n",
    ] {
        assert!(reply.contains(needle), "{needle:?} missing in\n{reply}");
    }
    // PRAXIS's note had expired: ARZT got no reply (only the 9 messages sent to it).
    env.wait_for_mail(ARZT, 9).await;

    // Of the foreign senders only the ordinary one is answered, through the relay queue.
    let queue = env.fd.meta.queue().await.unwrap();
    let answered: Vec<&str> = queue
        .iter()
        .flat_map(|e| e.recipients.iter().map(|r| r.address.as_str()))
        .collect();
    assert_eq!(answered, vec!["ok@c.kim.telematik"]);
    assert_eq!(queue[0].mail_from, "", "autoreplies use the null sender");
}
