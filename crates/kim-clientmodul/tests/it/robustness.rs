//! Robustness of the Clientmodul end to end: the Konnektor, the VZD or the Fachdienst cut
//! off or stalled in the middle of a transaction. The cut happens at the network level: a
//! [`Relay`] between the Clientmodul and the peer forwards bytes until the test kills it
//! (connections closed, port refused), stalls it (bytes held back) or lets only a number
//! of bytes through. A Python client pauses at a named point (`pause('x')`) until the test
//! has changed the conditions ([`Pauses`]). Every test checks what the practice software
//! was answered and that nothing was sent half or lost.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kim_clientmodul::{Running, SendConfig};
use kim_konnektor::client::{KonnektorClient, KonnektorConfig};
use kim_ti_sim::knobs::{Knob, Operation};
use kim_vzd::{VzdClient, VzdClientConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::harness::{ARZT, Chain, PRAXIS, pki, trust};
use crate::receive::start_recv;

/// A TCP relay on loopback in front of one peer, with a kill switch.
pub struct Relay {
    /// Where clients connect.
    pub addr: SocketAddr,
    target: SocketAddr,
    state: Arc<RelayState>,
}

struct RelayState {
    stalled: watch::Sender<bool>,
    /// Bytes from the peer still let through before every connection is cut.
    budget: Mutex<u64>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Relay {
    /// A relay to `target` on a free loopback port.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            addr: listener.local_addr().unwrap(),
            target,
            state: Arc::new(RelayState {
                stalled: watch::channel(false).0,
                budget: Mutex::new(u64::MAX),
                tasks: Mutex::new(Vec::new()),
            }),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (state, target) = (self.state.clone(), self.target);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(peer) = TcpStream::connect(target).await else {
                    continue;
                };
                let conn = tokio::spawn(pipe(client, peer, state.clone()));
                state.tasks.lock().unwrap().push(conn);
            }
        });
        self.state.tasks.lock().unwrap().push(accept);
    }

    /// Closes every connection and the listening port (the peer looks dead).
    pub async fn kill(&self) {
        let tasks: Vec<_> = self.state.tasks.lock().unwrap().drain(..).collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens on the same port again (the peer is back).
    pub async fn restart(&self) {
        *self.state.budget.lock().unwrap() = u64::MAX;
        self.state.stalled.send_replace(false);
        self.serve(TcpListener::bind(self.addr).await.unwrap());
    }

    /// Holds back (or releases) the bytes in both directions.
    pub fn stall(&self, stalled: bool) {
        self.state.stalled.send_replace(stalled);
    }

    /// Lets `bytes` more bytes from the peer through, then cuts the connection.
    pub fn cut_after(&self, bytes: u64) {
        *self.state.budget.lock().unwrap() = bytes;
    }
}

async fn pipe(client: TcpStream, peer: TcpStream, state: Arc<RelayState>) {
    let (client_read, client_write) = client.into_split();
    let (peer_read, peer_write) = peer.into_split();
    tokio::select! {
        () = pump(client_read, peer_write, &state, false) => {}
        () = pump(peer_read, client_write, &state, true) => {}
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: &RelayState,
    metered: bool,
) {
    let mut stalled = state.stalled.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        while *stalled.borrow_and_update() {
            if stalled.changed().await.is_err() {
                return;
            }
        }
        let allowed = if metered {
            let mut budget = state.budget.lock().unwrap();
            let allowed = n.min(usize::try_from(*budget).unwrap_or(usize::MAX));
            *budget -= allowed as u64;
            allowed
        } else {
            n
        };
        if to.write_all(&buf[..allowed]).await.is_err() || allowed < n {
            return;
        }
    }
}

/// Named points where a Python client waits for the test (files in a directory).
pub struct Pauses {
    dir: PathBuf,
}

impl Pauses {
    pub fn new(chain: &Chain) -> Pauses {
        let dir = chain.dir.path().join("pauses");
        std::fs::create_dir_all(&dir).unwrap();
        Pauses { dir }
    }

    /// Python code defining `pause(name)`.
    pub fn python(&self) -> String {
        format!(
            "import os, time\n\
             def pause(name):\n    \
             open(os.path.join({dir:?}, name + '.at'), 'w').close()\n    \
             while not os.path.exists(os.path.join({dir:?}, name + '.go')): time.sleep(0.02)\n",
            dir = self.dir
        )
    }

    /// Waits until the client is at `name`.
    pub async fn reached(&self, name: &str) {
        let at = self.dir.join(format!("{name}.at"));
        while !at.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Lets the client go on from `name`.
    pub fn release(&self, name: &str) {
        std::fs::write(self.dir.join(format!("{name}.go")), b"").unwrap();
    }
}

/// A Clientmodul (send side) on its own Konnektor and directory clients.
async fn start_cm_on(
    konnektor: Arc<KonnektorClient>,
    vzd: Arc<VzdClient>,
    adjust: impl FnOnce(&mut SendConfig),
) -> Running {
    let mut config = SendConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        "cm.praxis.test",
        crate::harness::fachdienst_tls(),
    );
    adjust(&mut config);
    kim_clientmodul::start(
        config,
        kim_clientmodul::Konnektors::single(konnektor),
        vzd,
        None,
    )
    .await
    .unwrap()
}

/// A Konnektor client for `base` with `request_timeout`; endpoints rewritten to `base`.
fn konnektor_client(base: String, request_timeout: Duration) -> Arc<KonnektorClient> {
    let mut config = KonnektorConfig::new(base, trust());
    config.rewrite_endpoints = true;
    config.request_timeout = request_timeout;
    Arc::new(KonnektorClient::new(config).unwrap())
}

/// The SMTP user name of `address` with the MTA at `port`.
fn smtp_user(address: &str, port: u16) -> String {
    format!("{address}#localhost:{port}#Mandant1#ClientID1#Workplace1")
}

/// Python: `send(s, id)` sends one mail PRAXIS → ARZT on the open session `s` and prints
/// `<id> OK <refused>` or `<id> ERR <code> <text>`.
fn send_fn() -> String {
    format!(
        r#"
def send(s, id):
    msg = b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Robust\r\nMessage-ID: <" + id.encode() + b"@praxis.test>\r\n\r\nText.\r\n"
    try:
        print(id, 'OK', s.sendmail({PRAXIS:?}, [{ARZT:?}], msg))
    except smtplib.SMTPResponseException as e:
        print(id, 'ERR', e.smtp_code, e.smtp_error.decode())
"#
    )
}

/// The line of `out` that starts with `tag `.
fn line<'a>(out: &'a str, tag: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{tag} ")))
        .unwrap_or_else(|| panic!("no line {tag} in\n{out}"))
}

/// Message-IDs of the messages in `address`'s mailbox at the Fachdienst (taken out; a
/// mailbox still locked by a session that just ended is waited for).
async fn message_ids(chain: &Chain, address: &str) -> Vec<String> {
    let out = chain
        .python(&format!(
            "import time, email\n\
             for _ in range(200):\n    \
             p = poplib.POP3_SSL('localhost', pop3_port, context=ctx())\n    p.user({address:?})\n    \
             try:\n        p.pass_(password); break\n    \
             except poplib.error_proto as e:\n        \
             if b'IN-USE' not in e.args[0]: raise\n        p.quit(); time.sleep(0.05)\n\
             n = len(p.list()[1])\n\
             for i in range(n):\n    \
             m = email.message_from_bytes(b'\\r\\n'.join(p.retr(i + 1)[1]))\n    \
             print('ID', m['Message-ID']); p.dele(i + 1)\n\
             p.quit()\n"
        ))
        .await;
    out.lines()
        .filter_map(|l| l.strip_prefix("ID "))
        .map(|l| {
            l.trim_start_matches('<')
                .split('@')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Python: one SMTP session that stops in the middle of DATA at `pause('mid')` and prints
/// the final reply as `MID <code> <text>`.
fn data_interrupted(port: u16, user: &str) -> String {
    format!(
        r#"
s = smtplib.SMTP('127.0.0.1', {port})
s.login({user:?}, password)
s.mail({PRAXIS:?}); s.rcpt({ARZT:?})
print('DATA', s.docmd('DATA')[0])
s.send(b"From: <{PRAXIS}>\r\nTo: <{ARZT}>\r\nSubject: Halb\r\nMessage-ID: <mid@praxis.test>\r\n\r\nErster Teil.\r\n")
pause('mid')
s.send(b"Zweiter Teil.\r\n.\r\n")
code, text = s.getreply()
print('MID', code, text.decode())
s.close()
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_konnektor_cut_off_during_data_gives_451_and_after_its_return_mail_flows_again() {
    let chain = Chain::start(|_| {}).await;
    let relay = Relay::start(chain.konnektor.as_ref().unwrap().addr()).await;
    let konnektor = konnektor_client(format!("https://{}", relay.addr), Duration::from_secs(60));
    let cm = start_cm_on(konnektor, chain.vzd_client.clone(), |_| {}).await;
    let pauses = Pauses::new(&chain);
    let user = chain.user(PRAXIS);
    let script = format!(
        "{}{}",
        pauses.python(),
        data_interrupted(cm.smtp_addr.port(), &user)
    );
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("mid").await;
        relay.kill().await;
        pauses.release("mid");
    });
    assert!(line(&out, "DATA").ends_with("354"), "{out}");
    // KOM-LE-A_2021: signing impossible → RSET + 451.
    assert!(line(&out, "MID").starts_with("MID 451 4.7.0"), "{out}");
    assert!(message_ids(&chain, ARZT).await.is_empty(), "sent half");
    assert!(message_ids(&chain, PRAXIS).await.is_empty(), "DSN sent");

    relay.restart().await;
    let out = chain
        .python(&format!(
            "{}s = smtplib.SMTP('127.0.0.1', {})\ns.login({user:?}, password)\nsend(s, 'back')\ns.quit()\n",
            send_fn(),
            cm.smtp_addr.port()
        ))
        .await;
    assert_eq!(line(&out, "back"), "back OK {}", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["back"]);
    cm.shutdown().await;
    relay.kill().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_sign_or_encrypt_gives_451_after_the_timeout_and_the_session_goes_on() {
    let chain = Chain::start(|_| {}).await;
    let sim = chain.konnektor.as_ref().unwrap();
    let base = sim.sds_url().trim_end_matches("/connector.sds").to_string();
    let cm = start_cm_on(
        konnektor_client(base, Duration::from_secs(3)),
        chain.vzd_client.clone(),
        |_| {},
    )
    .await;
    let pauses = Pauses::new(&chain);
    let stall = Knob {
        stall: true,
        ..Knob::default()
    };
    sim.knobs().set(Operation::SignDocument, stall.clone());
    let user = chain.user(PRAXIS);
    let script = format!(
        "{}{}s = smtplib.SMTP('127.0.0.1', {})\ns.login({user:?}, password)\n\
         send(s, 'sign')\npause('encrypt')\nsend(s, 'encrypt')\npause('ok')\nsend(s, 'ok')\ns.quit()\n",
        pauses.python(),
        send_fn(),
        cm.smtp_addr.port()
    );
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("encrypt").await;
        sim.knobs().set(Operation::SignDocument, Knob::default());
        sim.knobs().set(Operation::EncryptDocument, stall.clone());
        pauses.release("encrypt");
        pauses.reached("ok").await;
        sim.knobs().set(Operation::EncryptDocument, Knob::default());
        pauses.release("ok");
    });
    // KOM-LE-A_2021 and KOM-LE-A_2025: RSET + 451; the session stays usable.
    assert!(
        line(&out, "sign").starts_with("sign ERR 451 4.7.0 Signing"),
        "{out}"
    );
    assert!(
        line(&out, "encrypt").starts_with("encrypt ERR 451 4.7.0 Encryption"),
        "{out}"
    );
    assert_eq!(line(&out, "ok"), "ok OK {}", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["ok"], "only the last one");
    assert!(message_ids(&chain, PRAXIS).await.is_empty(), "DSN sent");
    cm.shutdown().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_stopped_directory_gives_451_without_dsn_and_its_return_heals() {
    let chain = Chain::start(|_| {}).await;
    let relay = Relay::start(chain.vzd.as_ref().unwrap().ldap_addr.unwrap()).await;
    let mut config = VzdClientConfig::new(&format!("ldap://{}", relay.addr));
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(2);
    let vzd = Arc::new(VzdClient::new(config).unwrap());
    let cm = start_cm_on(chain.konnektor_client.clone(), vzd, |_| {}).await;
    let pauses = Pauses::new(&chain);
    let user = chain.user(PRAXIS);
    let script = format!(
        "{}{}s = smtplib.SMTP('127.0.0.1', {})\ns.login({user:?}, password)\n\
         send(s, 'stalled')\npause('down')\nsend(s, 'down')\npause('back')\nsend(s, 'back')\ns.quit()\n",
        pauses.python(),
        send_fn(),
        cm.smtp_addr.port()
    );
    relay.stall(true);
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("down").await;
        relay.kill().await;
        pauses.release("down");
        pauses.reached("back").await;
        relay.restart().await;
        pauses.release("back");
    });
    // No code of Tab_Fehlercodes fits an unreachable directory: a transient 451, no DSN.
    for tag in ["stalled", "down"] {
        assert!(
            line(&out, tag).starts_with(&format!("{tag} ERR 451 4.4.3")),
            "{out}"
        );
    }
    assert_eq!(line(&out, "back"), "back OK {}", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["back"]);
    assert!(message_ids(&chain, PRAXIS).await.is_empty(), "DSN sent");
    cm.shutdown().await;
    relay.kill().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fachdienst_cut_off_gives_4xx_and_no_dsn_and_its_return_heals() {
    let chain = Chain::start(|_| {}).await;
    let relay = Relay::start(chain.fd.as_ref().unwrap().smtp_addr).await;
    let pauses = Pauses::new(&chain);
    let user = smtp_user(PRAXIS, relay.addr.port());
    let script = format!(
        "{}{}{}\
         s = smtplib.SMTP('127.0.0.1', cm_port)\n\
         try:\n    s.login({user:?}, password); print('LOGIN ok')\n\
         except smtplib.SMTPResponseException as e: print('LOGIN', e.smtp_code, e.smtp_error.decode())\n\
         pause('back')\ns = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({user:?}, password)\n\
         send(s, 'back')\ns.quit()\n",
        pauses.python(),
        send_fn(),
        data_interrupted(chain.cm_port(), &user),
    );
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("mid").await;
        relay.kill().await;
        pauses.release("mid");
        pauses.reached("back").await;
        relay.restart().await;
        pauses.release("back");
    });
    // The MTA connection is gone after AUTH: 421 and the connection closes (KOM-LE-A_2016).
    assert!(line(&out, "MID").starts_with("MID 421 4.4.2"), "{out}");
    // No MTA to authenticate at: 454 4.7.0 (Tab_SMTP_Verbindung).
    assert!(line(&out, "LOGIN").starts_with("LOGIN 454 4.7.0"), "{out}");
    assert_eq!(line(&out, "back"), "back OK {}", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["back"]);
    assert!(message_ids(&chain, PRAXIS).await.is_empty(), "a DSN lie");
    relay.kill().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_fachdienst_gives_421_after_the_server_timeout_and_delivers_nothing() {
    let chain = Chain::start(|_| {}).await;
    let cm = chain
        .start_cm(|c| c.timeout_server = Duration::from_secs(3))
        .await;
    let relay = Relay::start(chain.fd.as_ref().unwrap().smtp_addr).await;
    let pauses = Pauses::new(&chain);
    let user = smtp_user(PRAXIS, relay.addr.port());
    let script = format!(
        "{}{}",
        pauses.python(),
        data_interrupted(cm.smtp_addr.port(), &user)
    );
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("mid").await;
        relay.stall(true);
        pauses.release("mid");
    });
    // SMTP_TIMEOUT_SERVER (KOM-LE-A_2016/2017): 421 and the connection closes.
    assert!(line(&out, "MID").starts_with("MID 421 4.4.2"), "{out}");
    // What the relay held back arrives now: an envelope without the end of DATA.
    relay.stall(false);
    assert!(message_ids(&chain, ARZT).await.is_empty(), "sent half");
    assert!(message_ids(&chain, PRAXIS).await.is_empty(), "DSN sent");
    cm.shutdown().await;
    relay.kill().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_with_the_fachdienst_down_or_cut_during_retr_keeps_the_message_upstream() {
    let chain = Chain::start(|_| {}).await;
    let recv = start_recv(&chain, |_| {}).await;
    let relay = Relay::start(chain.fd.as_ref().unwrap().pop3_addr).await;
    let pauses = Pauses::new(&chain);
    let praxis = chain.user(PRAXIS);
    // A KOM-LE message of about 300 KB for the Zahnarztpraxis, through the send side.
    chain
        .python(&format!(
            "body = b''.join(b'Zeile %06d ' % i + b'x' * 60 + b'\\r\\n' for i in range(4000))\n\
             s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({praxis:?}, password)\n\
             assert s.sendmail({PRAXIS:?}, [{ARZT:?}], b'From: <{PRAXIS}>\\r\\nTo: <{ARZT}>\\r\\n\
             Subject: Gross\\r\\nMessage-ID: <gross@praxis.test>\\r\\n\\r\\n' + body) == {{}}\ns.quit()\n"
        ))
        .await;
    let user = format!(
        "{ARZT}#localhost:{}#Mandant1#ClientID1#Workplace1",
        relay.addr.port()
    );
    let login = format!(
        "def login():\n    p = poplib.POP3('127.0.0.1', {})\n    p.user({user:?})\n    \
         for _ in range(200):\n        try:\n            p.pass_(password); return p\n        \
         except poplib.error_proto as e:\n            if b'IN-USE' not in e.args[0]: raise\n            \
         time.sleep(0.05)\n    raise Exception('mailbox stays locked')\n",
        recv.pop3_addr.port()
    );
    let script = format!(
        "{}{login}\
         try:\n    login(); print('DOWN logged in')\nexcept poplib.error_proto as e: print('DOWN', e.args[0].decode())\n\
         pause('up')\np = login()\nprint('STAT', p.stat()[0])\npause('retr')\n\
         try:\n    p.retr(1); print('RETR complete')\n\
         except (poplib.error_proto, OSError, EOFError) as e: print('RETR', type(e).__name__, e)\n\
         pause('whole')\np = login()\nm = b'\\r\\n'.join(p.retr(1)[1])\np.quit()\n\
         print('WHOLE', b'X-KIM-DecryptionResult: 00' in m, b'Zeile 003999' in m)\n",
        pauses.python()
    );
    relay.kill().await;
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("up").await;
        relay.restart().await;
        pauses.release("up");
        pauses.reached("retr").await;
        relay.cut_after(64 * 1024);
        pauses.release("retr");
        pauses.reached("whole").await;
        relay.kill().await;
        relay.restart().await;
        pauses.release("whole");
    });
    // Tab_POP3_Verbindung: no connection to the POP3 server → -ERR.
    assert!(
        line(&out, "DOWN").starts_with("DOWN -ERR [SYS/TEMP]"),
        "{out}"
    );
    assert_eq!(line(&out, "STAT"), "STAT 1", "{out}");
    assert!(line(&out, "RETR").contains("-ERR [SYS/TEMP]"), "{out}");
    // Nothing was deleted upstream: the message comes whole in the next session.
    assert_eq!(line(&out, "WHOLE"), "WHOLE True True", "{out}");
    assert_eq!(
        message_ids(&chain, ARZT).await,
        ["gross"],
        "deleted upstream"
    );
    recv.shutdown().await;
    relay.kill().await;
    chain.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_konnektor_cut_off_before_retr_gives_e2_03_and_the_same_session_retries() {
    let chain = Chain::start(|_| {}).await;
    let relay = Relay::start(chain.konnektor.as_ref().unwrap().addr()).await;
    let konnektor = konnektor_client(format!("https://{}", relay.addr), Duration::from_secs(60));
    let recv = crate::receive::start_recv_with(&chain, konnektor, |_| {}).await;
    let pauses = Pauses::new(&chain);
    let praxis = chain.user(PRAXIS);
    chain
        .python(&format!(
            "s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({praxis:?}, password)\n\
             assert s.sendmail({PRAXIS:?}, [{ARZT:?}], b'From: <{PRAXIS}>\\r\\nTo: <{ARZT}>\\r\\n\
             Subject: Wiederholt\\r\\nMessage-ID: <again@praxis.test>\\r\\n\\r\\nNochmal.\\r\\n') == {{}}\n\
             s.quit()\n"
        ))
        .await;
    let script = format!(
        "{}p = poplib.POP3('127.0.0.1', {})\np.user({:?}); p.pass_(password)\n\
         pause('down')\nm = b'\\r\\n'.join(p.retr(1)[1])\n\
         print('DOWN', b'X-KIM-DecryptionResult: 03' in m, b'weil der Konnektor nicht antwortet' in m)\n\
         pause('back')\nm = b'\\r\\n'.join(p.retr(1)[1])\n\
         print('BACK', b'X-KIM-DecryptionResult: 00' in m, b'Nochmal.' in m)\np.quit()\n",
        pauses.python(),
        recv.pop3_addr.port(),
        crate::receive::pop3_user(&chain, ARZT)
    );
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("down").await;
        relay.kill().await;
        pauses.release("down");
        pauses.reached("back").await;
        relay.restart().await;
        pauses.release("back");
    });
    // Tab_Fehlertext_Entschl ID 03; the message stays upstream and decrypts on retry.
    assert_eq!(line(&out, "DOWN"), "DOWN True True", "{out}");
    assert_eq!(line(&out, "BACK"), "BACK True True", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["again"]);
    recv.shutdown().await;
    relay.kill().await;
    chain.stop().await;
}

/// ICCSN of the Praxis Schmidt's SMC-B.
fn praxis_iccsn() -> String {
    pki().card("1-2.58.00000040").unwrap().spec.iccsn.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_removed_or_blocked_between_two_sends_gives_451_and_reinserting_heals() {
    use kim_ti_sim::model::{PinStatus, PinType};
    let chain = Chain::start(|_| {}).await;
    let sim = chain.konnektor.as_ref().unwrap();
    let pauses = Pauses::new(&chain);
    let user = chain.user(PRAXIS);
    let script = format!(
        "{}{}s = smtplib.SMTP('127.0.0.1', cm_port)\ns.login({user:?}, password)\n\
         send(s, 'first')\npause('removed')\nsend(s, 'removed')\npause('blocked')\n\
         send(s, 'blocked')\npause('back')\nsend(s, 'back')\ns.quit()\n",
        pauses.python(),
        send_fn(),
    );
    let iccsn = praxis_iccsn();
    let cards = &sim.konnektor().cards;
    let (out, ()) = tokio::join!(chain.python(&script), async {
        pauses.reached("removed").await;
        cards.remove(&iccsn).unwrap();
        pauses.release("removed");
        pauses.reached("blocked").await;
        cards.insert(&iccsn, None).unwrap();
        cards
            .set_pin(
                &iccsn,
                PinType::Smc,
                Some(PinStatus::Blocked),
                Some(0),
                vec![],
            )
            .unwrap();
        pauses.release("blocked");
        pauses.reached("back").await;
        // Unblocked with the PUK at the card terminal.
        cards
            .set_pin(
                &iccsn,
                PinType::Smc,
                Some(PinStatus::Verifiable),
                Some(3),
                vec![],
            )
            .unwrap();
        pauses.release("back");
    });
    assert_eq!(line(&out, "first"), "first OK {}", "{out}");
    // KOM-LE-A_2021: no SMC-B to sign with, or its PIN blocked → RSET + 451.
    for tag in ["removed", "blocked"] {
        assert!(
            line(&out, tag).starts_with(&format!("{tag} ERR 451 4.7.0 Signing")),
            "{out}"
        );
    }
    assert_eq!(line(&out, "back"), "back OK {}", "{out}");
    assert_eq!(message_ids(&chain, ARZT).await, ["first", "back"]);
    chain.stop().await;
}
