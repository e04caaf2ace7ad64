//! `kim sandbox` (README command 1), `kim sandbox --serve` with `sandbox.json`, and
//! `kim pki create`.

use crate::{kim, pki_dir};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

#[test]
fn sandbox_delivers_the_arztbrief_with_its_vermerk() {
    let out = kim(&["sandbox"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("X-KIM-DecryptionResult: 00\r\n"), "{text}");
    assert!(
        text.contains("X-KIM-IntegrityCheckResult: 01\r\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Die Nachricht wurde entschlüsselt.\r\nDie Signatur wurde erfolgreich geprüft."
        ),
        "{text}"
    );
    assert!(text.contains("Frau Müller"), "8-bit text survives: {text}");
    assert!(
        text.contains(
            "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls"
        ),
        "the attachment survives: {text}"
    );
}

/// A running `kim sandbox --serve`; killed on drop.
pub struct Sandbox {
    child: Child,
    pub info: serde_json::Value,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    pub fn start(dir: &Path, base_port: u16) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
            .args(["sandbox", "--serve", "--state-dir"])
            .arg(dir)
            .args(["--base-port", &base_port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = String::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line == "READY" => break,
                Some(Ok(line)) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                _ => panic!("the sandbox ended before READY: {seen}"),
            }
        }
        assert!(seen.contains("user name"), "setup guide printed: {seen}");
        std::thread::spawn(move || for _ in lines {});
        let json = std::fs::read(dir.join("sandbox.json")).unwrap();
        Sandbox {
            child,
            info: serde_json::from_slice(&json).unwrap(),
        }
    }

    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "SIGTERM ends the sandbox cleanly: {exit:?}");
    }

    pub fn s(&self, pointer: &str) -> String {
        match self.info.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            other => panic!("sandbox.json {pointer}: {other:?}"),
        }
    }
}

/// Nine consecutive free loopback ports (a sandbox's `--base-port`), a different block for
/// every call in this process: the tests of one binary run in parallel in one process.
pub fn free_base_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let seed = (std::process::id() as u16) % 400;
    for _ in 0..500u16 {
        let block = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = 20000 + (seed.wrapping_add(block.wrapping_mul(7)) % 4000) * 9;
        let free = (0..9).all(|k| std::net::TcpListener::bind(("127.0.0.1", base + k)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no nine consecutive free ports");
}

/// Sends a 20 MiB mail through the Clientmodul (KAS) and fetches it; prints whether the
/// result headers are 00/01 and whether the body arrived unchanged.
const LARGE_MAIL_PY: &str = r#"
import poplib, smtplib, os, base64
data = base64.encodebytes(os.urandom(15 * 1024 * 1024)).replace(b'\n', b'\r\n')
mail = (b'From: FROM\r\nTo: TO\r\nSubject: Roentgenbilder\r\n'
        b'Message-ID: <gross@praxis.test>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0100\r\n'
        b'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n'
        b'Content-Transfer-Encoding: base64\r\n\r\n' + data)
s = smtplib.SMTP('127.0.0.1', SMTP_PORT, timeout=300)
s.login('SMTP_USER', 'SMTP_PASSWORD')
s.sendmail('FROM', ['TO'], mail)
s.quit()
p = poplib.POP3('127.0.0.1', POP3_PORT, timeout=300)
p.user('POP3_USER'); p.pass_('POP3_PASSWORD')
msg = b'\r\n'.join(p.retr(1)[1])
p.dele(1); p.quit()
head, _, body = msg.partition(b'\r\n\r\n')
print(b'X-KIM-DecryptionResult: 00' in head, b'X-KIM-IntegrityCheckResult: 01' in head,
      data.rstrip(b'\r\n') in body)
"#;

fn python(program: &str) -> String {
    kim_testkit::peers::python(program)
}

#[test]
fn sandbox_serve_writes_sandbox_json_and_keeps_state_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let base = free_base_port();
    let sandbox = Sandbox::start(dir.path(), base);
    for key in [
        "/ca_file",
        "/konnektor/sds_url",
        "/konnektor/client_p12",
        "/konnektor/client_p12_password",
        "/konnektor/contexts/0/mandant_id",
        "/konnektor/contexts/1/workplace_id",
        "/vzd/ldap_url",
        "/vzd/base_dn",
        "/fachdienst/smtp",
        "/fachdienst/pop3",
        "/fachdienst/account_manager_url",
        "/fachdienst/account_limit_url",
        "/fachdienst/service_information_url",
        "/fachdienst/kas_url",
        "/fachdienst/client_p12",
        "/fachdienst/client_p12_password",
        "/mailboxes/0/card/enc_p12",
        "/mailboxes/1/card/aut_p12",
        "/mailboxes/1/card/iccsn",
    ] {
        assert!(!sandbox.s(key).is_empty(), "{key}");
    }
    assert_ne!(
        sandbox.s("/mailboxes/0/card/telematik_id"),
        sandbox.s("/mailboxes/1/card/telematik_id"),
        "two practices"
    );
    assert_eq!(sandbox.s("/mailboxes/0/card/type"), "SMC-B");
    assert_eq!(sandbox.s("/mailboxes/1/card/type"), "SMC-B");
    assert_eq!(sandbox.s("/hba/type"), "HBA");
    // The key material opens with the password given (TEST-ONLY).
    let out = Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            &sandbox.s("/mailboxes/1/card/enc_p12"),
            "-nokeys",
        ])
        .args([
            "-passin",
            &format!("pass:{}", sandbox.s("/mailboxes/1/card/p12_password")),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The directory lists practice B's address (ldapsearch, the real client).
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", &sandbox.s("/vzd/ldap_url")])
        .args(["-b", &sandbox.s("/vzd/base_dn")])
        .arg(format!("(mail={})", sandbox.s("/mailboxes/1/address")))
        .arg("telematikID")
        .output()
        .expect("ldapsearch (Debian package ldap-utils)");
    let ldif = String::from_utf8_lossy(&out.stdout);
    assert!(ldif.contains("telematikID: 2-2.58.00000041"), "{ldif}");

    // ServiceInformation over HTTPS with the Clientmodul's PKCS#12 (curl).
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--cacert", &sandbox.s("/ca_file")])
        .args(["--cert-type", "P12", "--cert"])
        .arg(format!(
            "{}:{}",
            sandbox.s("/fachdienst/client_p12"),
            sandbox.s("/fachdienst/client_p12_password")
        ))
        .arg(format!(
            "{}/serviceinfo",
            sandbox.s("/fachdienst/service_information_url")
        ))
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{body} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        body.contains("passwordPolicy") || body.contains("kimServiceVersion"),
        "{body}"
    );

    // swaks sends as practice A through the Clientmodul with the settings of sandbox.json.
    let out = Command::new("swaks")
        .args(["--server", &sandbox.s("/mailboxes/0/smtp_host")])
        .args(["--port", &sandbox.s("/mailboxes/0/smtp_port")])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            &sandbox.s("/mailboxes/0/smtp_user"),
        ])
        .args(["--auth-password", &sandbox.s("/mailboxes/0/password")])
        .args(["--from", &sandbox.s("/mailboxes/0/address")])
        .args(["--to", &sandbox.s("/mailboxes/1/address")])
        .args(["--header", "Subject: Befund vor dem Neustart"])
        .args(["--body", "Befund: unauffällig"])
        .output()
        .expect("swaks (Debian package swaks)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let pop3 = (
        sandbox.s("/mailboxes/1/pop3_port"),
        sandbox.s("/mailboxes/1/pop3_user"),
        sandbox.s("/mailboxes/1/password"),
    );
    sandbox.stop();

    // Restarted on the same state directory, the mail waits in the mailbox.
    let sandbox = Sandbox::start(dir.path(), base);
    let (port, user, password) = pop3;
    let out = python(&format!(
        "import poplib\n\
         p = poplib.POP3('127.0.0.1', {port})\n\
         p.user({user:?}); p.pass_({password:?})\n\
         n = len(p.list()[1])\n\
         assert n == 1, n\n\
         msg = b'\\r\\n'.join(p.retr(1)[1]).decode('utf-8')\n\
         p.dele(1); p.quit()\n\
         print(msg)\n"
    ));
    assert!(out.contains("Subject: Befund vor dem Neustart"), "{out}");
    assert!(out.contains("X-KIM-DecryptionResult: 00"), "{out}");
    assert!(out.contains("X-KIM-IntegrityCheckResult: 01"), "{out}");
    assert!(
        out.contains("Die Signatur wurde erfolgreich geprüft."),
        "{out}"
    );

    // A 20 MiB mail goes through the KAS and arrives byte-exact.
    let program = LARGE_MAIL_PY
        .replace("FROM", &sandbox.s("/mailboxes/0/address"))
        .replace("TO", &sandbox.s("/mailboxes/1/address"))
        .replace("SMTP_PORT", &sandbox.s("/mailboxes/0/smtp_port"))
        .replace("SMTP_USER", &sandbox.s("/mailboxes/0/smtp_user"))
        .replace("SMTP_PASSWORD", &sandbox.s("/mailboxes/0/password"))
        .replace("POP3_PORT", &port)
        .replace("POP3_USER", &user)
        .replace("POP3_PASSWORD", &password);
    let out = python(&program);
    assert_eq!(out.trim(), "True True True", "{out}");
    sandbox.stop();
}

#[test]
fn sandbox_refuses_an_unusable_state_dir() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["sandbox", "--state-dir"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&file.path().display().to_string()), "{err}");
}

#[test]
fn pki_create_writes_certificates_that_openssl_verifies() {
    let dir = pki_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    assert!(manifest.lines().count() > 50, "{manifest}");
    let leaf = dir.join("cards/2-2.58.00000041/enc-rsa.crt.pem");
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(dir.join("ca-bundle.pem"))
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pki_create_is_deterministic_and_reports_io_errors() {
    let a = tempfile::tempdir().unwrap();
    let out = kim(&["pki", "create", "--out", a.path().to_str().unwrap()]);
    assert!(out.status.success());
    let f = "cards/1-2.58.00000040/osig-rsa.crt.der";
    assert_eq!(
        std::fs::read(a.path().join(f)).unwrap(),
        std::fs::read(pki_dir().join(f)).unwrap()
    );

    let blocker = a.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let out = kim(&[
        "pki",
        "create",
        "--out",
        blocker.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("writing the test PKI"));
}
