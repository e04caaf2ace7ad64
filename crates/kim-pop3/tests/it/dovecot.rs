//! The crate's client against Dovecot's POP3 server (`dovecot-pop3d`), the reference POP3
//! server upstream of the Clientmodul proxy: SASL PLAIN, USER/PASS, listings, RETR and TOP
//! with dot-stuffing, DELE/RSET/QUIT, and the RFC 2449 code [AUTH].
//!
//! Dovecot runs in the foreground from a private configuration in a temporary directory
//! (listening on 127.0.0.1 only), mail processes as `nobody`; it needs root to switch users.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kim_pop3::{ClientError, Pop3Client, ResponseCode};
use tokio::net::TcpStream;

use crate::harness::{M1, WAIT};

const M2: &[u8] = b"Subject: second\r\n\r\nsecond body\r\n";

struct Dovecot {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM to the master we started (by its id); it stops its own children.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Dovecot {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    fn maildir_files(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|sub| {
                std::fs::read_dir(self.dir.path().join("mail/u/Maildir").join(sub))
                    .unwrap()
                    .count()
            })
            .sum()
    }
}

fn chown_nobody(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "chown (the dovecot test needs root)");
}

async fn start_dovecot() -> Dovecot {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let maildir = root.join("mail/u/Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(maildir.join("new/1000.M1P1.kim"), M1).unwrap();
    std::fs::write(maildir.join("new/1001.M2P1.kim"), M2).unwrap();
    chown_nobody(&root.join("mail"));
    std::fs::write(root.join("passwd"), "u:{PLAIN}secret pw::::::\n").unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let r = root.display();
    let config = format!(
        "protocols = pop3\nlisten = 127.0.0.1\nbase_dir = {r}/run\nstate_dir = {r}/run\n\
         log_path = {r}/dovecot.log\nssl = no\ndisable_plaintext_auth = no\n\
         auth_mechanisms = plain\nauth_failure_delay = 0\n\
         default_internal_user = dovecot\ndefault_internal_group = dovecot\n\
         default_login_user = dovenull\n\
         passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {r}/passwd\n}}\n\
         userdb {{\n  driver = static\n  args = uid=nobody gid=nogroup home={r}/mail/%u \
         mail=maildir:{r}/mail/%u/Maildir\n}}\n\
         service pop3-login {{\n  chroot =\n  inet_listener pop3 {{\n    port = {port}\n  }}\n}}\n\
         service anvil {{\n  chroot =\n}}\n"
    );
    let conf = root.join("dovecot.conf");
    std::fs::write(&conf, config).unwrap();
    let child = Command::new("dovecot")
        .arg("-F")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run dovecot (apt package dovecot-pop3d, see scripts/test): {e}")
        });
    let dovecot = Dovecot { child, dir, port };
    // Readiness: the listener accepts (bounded; not a timing assertion).
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return dovecot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("dovecot did not start listening:\n{}", dovecot.log());
}

async fn connect(port: u16) -> Pop3Client<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    Pop3Client::connect(tcp, WAIT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_against_dovecot_pop3() {
    let dovecot = start_dovecot().await;
    let mut client = connect(dovecot.port).await;
    assert!(
        client.greeting().starts_with("Dovecot"),
        "{}",
        client.greeting()
    );
    let capa = client.capa().await.unwrap();
    assert!(capa.iter().any(|c| c == "SASL PLAIN"), "{capa:?}");

    client.auth_plain("u", "secret pw", false).await.unwrap();

    assert_eq!(
        client.stat().await.unwrap(),
        (2, (M1.len() + M2.len()) as u64)
    );
    assert_eq!(
        client.list().await.unwrap(),
        vec![(1, M1.len() as u64), (2, M2.len() as u64)]
    );
    let uids = client.uidl().await.unwrap();
    assert_eq!(uids.len(), 2);
    assert_eq!(client.uidl_one(2).await.unwrap(), uids[1].1);
    assert_eq!(client.retr(1).await.unwrap().to_vec().await.unwrap(), M1);
    let top = client.top(1, 0).await.unwrap().to_vec().await.unwrap();
    assert_eq!(top, b"From: a@test.kim.telematik\r\nSubject: first\r\n\r\n");
    client.dele(2).await.unwrap();
    assert!(client.retr(2).await.is_err());
    client.rset().await.unwrap();
    client.dele(1).await.unwrap();
    client.noop().await.unwrap();
    client.quit().await.unwrap();
    drop(client);

    // UPDATE happened: one message left.
    let mut again = connect(dovecot.port).await;
    again.user("u").await.unwrap();
    again.pass("secret pw").await.unwrap();
    assert_eq!(again.stat().await.unwrap(), (1, M2.len() as u64));
    assert_eq!(again.retr(1).await.unwrap().to_vec().await.unwrap(), M2);
    again.quit().await.unwrap();
    assert_eq!(dovecot.maildir_files(), 1);

    // Last, because Dovecot slows down further logins from an address after a failure.
    let mut wrong = connect(dovecot.port).await;
    let err = wrong.auth_plain("u", "wrong", true).await.unwrap_err();
    assert!(
        matches!(
            &err,
            ClientError::Negative {
                code: Some(ResponseCode::Auth),
                ..
            }
        ),
        "{err}\n{}",
        dovecot.log()
    );
}
