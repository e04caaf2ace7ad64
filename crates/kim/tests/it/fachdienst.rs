//! `kim fachdienst` as a provider runs it: the configuration file, the administration
//! commands, the daemon with real SMTPS/POP3S clients (swaks, curl, python), and a `kill -9`
//! in the middle of a stream of submissions.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use kim_store::{Account, AccountStore, SqliteStore};

use crate::{kim, pki_dir};

const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
const ZAHNARZT: &str = "zahnarzt.weber@test.kim.telematik";
const PASSWORD: &str = "Sehr-geheim-1";

/// A data directory with a configuration file (ports chosen by the system).
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let pki = pki_dir();
        let config = format!(
            r#"hostname = "fd.test.kim.telematik"
domains = ["test.kim.telematik"]
data_dir = "data"
[tls]
chain_pem = "{pki}/tls/fachdienst.crt.pem"
key_pem = "{pki}/tls/fachdienst.key.pem"
client_ca_pem = "{pki}/ca-bundle.pem"
[smtp]
listen = "127.0.0.1:0"
[pop3]
listen = "127.0.0.1:0"
[http]
listen = "127.0.0.1:0"
public_url = "https://localhost"
[service_information]
jwt_expiration = 900
[account_manager]
card_ca_pem = "{pki}/ca-bundle.pem"
provider_ca_cert_pem = "{pki}/ca/rsa/komp.crt.pem"
provider_ca_key_pem = "{pki}/ca/rsa/komp.key.pem"
[account_manager.vzd]
base_url = "http://127.0.0.1:9"
fad = "kim-test"
bearer_token = "test-token"
[portal]
listen = "127.0.0.1:0"
public_url = "https://localhost"
sender = "portal@fd.test.kim.telematik"
mail_dir = "portal-mails"
"#,
            pki = pki.display()
        );
        std::fs::write(dir.path().join("fd.toml"), config).unwrap();
        Site { dir }
    }

    fn config(&self) -> String {
        self.dir.path().join("fd.toml").display().to_string()
    }

    fn admin(&self, args: &[&str]) -> (bool, String, String) {
        let mut all = vec!["fachdienst"];
        all.extend_from_slice(args);
        let config = self.config();
        all.extend_from_slice(&["--config", &config]);
        let out = kim(&all);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A contract through the CLI and two accounts under it (registration is the Account
    /// Manager's job; here the accounts are written to the store directly).
    async fn provision(&self) -> String {
        let (ok, out, err) = self.admin(&[
            "contract",
            "create",
            "--reference-id",
            "V-1",
            "--max-accounts",
            "2",
        ]);
        assert!(ok, "{err}");
        let ini = out
            .lines()
            .find_map(|l| l.strip_prefix("initial password: "))
            .unwrap()
            .to_owned();
        let store = SqliteStore::open(&self.dir.path().join("data/fachdienst.sqlite")).unwrap();
        let hash = kim_store::password::hash(PASSWORD).unwrap();
        for (address, tid) in [(PRAXIS, "1-2.58.00000040"), (ZAHNARZT, "2-2.58.00000041")] {
            let account = Account::registered(address, "V-1", tid, &hash, 0);
            store.create_account(&account).await.unwrap();
        }
        ini
    }

    fn serve(&self) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
            .args(["fachdienst", "serve", "--config", &self.config()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"smtps"), "daemon said {line:?}");
        let addr = |name: &str| {
            let i = words.iter().position(|w| *w == name).unwrap();
            words[i + 1].to_owned()
        };
        Daemon {
            smtp: addr("smtps"),
            pop3: addr("pop3s"),
            https: format!(
                "https://localhost:{}",
                addr("https").rsplit_once(':').unwrap().1
            ),
            portal: format!(
                "https://localhost:{}",
                addr("portal").rsplit_once(':').unwrap().1
            ),
            child,
        }
    }
}

struct Daemon {
    smtp: String,
    pop3: String,
    /// Base URL of the REST interfaces.
    https: String,
    /// Base URL of the registration portal.
    portal: String,
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn swaks(daemon: &Daemon, from: &str, to: &str, subject: &str) -> (bool, String) {
    let pki = pki_dir();
    let (host, port) = daemon.smtp.rsplit_once(':').unwrap();
    let out = Command::new("swaks")
        .args(["--server", host, "--port", port, "--tlsc"])
        .args([
            "--tls-cert",
            &format!("{}/tls/clientmodul.crt.pem", pki.display()),
        ])
        .args([
            "--tls-key",
            &format!("{}/tls/clientmodul.key.pem", pki.display()),
        ])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            from,
            "--auth-password",
            PASSWORD,
        ])
        .args(["--from", from, "--to", to, "--h-Subject", subject])
        .args([
            "--header",
            &format!("From: {from}"),
            "--body",
            "Befund anbei.",
        ])
        .output()
        .expect("swaks is installed by scripts/test");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `curl -sS` trusting the sandbox CAs and presenting the Clientmodul certificate.
fn curl_tls() -> Command {
    let pki = pki_dir().display().to_string();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert", &format!("{pki}/ca-bundle.pem")])
        .args(["--cert", &format!("{pki}/tls/clientmodul.crt.pem")])
        .args(["--key", &format!("{pki}/tls/clientmodul.key.pem")]);
    cmd
}

fn curl_pop3(daemon: &Daemon, user: &str, path: &str) -> String {
    let port = daemon.pop3.rsplit_once(':').unwrap().1;
    stdout_of(
        curl_tls()
            .args(["--user", &format!("{user}:{PASSWORD}")])
            .arg(format!("pop3s://localhost:{port}/{path}")),
    )
}

/// Runs `cmd`, which must succeed, and returns its stdout.
fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .expect("the program is installed by scripts/test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn python(args: &[&str]) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/py/fd_stream.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).args(args);
    cmd
}

#[test]
fn a_broken_configuration_is_refused_with_key_value_and_range() {
    let site = Site::new();
    let path = site.dir.path().join("fd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}max_message_size = 5\n")).unwrap();
    // A top-level key after [pop3] belongs to [pop3]: unknown there.
    let (ok, _, err) = site.admin(&["check-config"]);
    assert!(!ok);
    assert!(
        err.contains("max_message_size") && err.contains("fd.toml"),
        "{err}"
    );

    std::fs::write(
        &path,
        text.replace("[smtp]\n", "[smtp]\nmax_message_size = 5\n"),
    )
    .unwrap();
    let (ok, _, err) = site.admin(&["check-config"]);
    assert!(!ok);
    assert!(
        err.contains("smtp.max_message_size = 5: allowed 25165824..=1073741824"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_commands_steer_a_running_daemon() {
    let site = Site::new();
    let ini = site.provision().await;
    assert!(ini.len() == 20, "{ini}");
    let (ok, _, err) = site.admin(&["contract", "create", "--reference-id", "V-1"]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let (ok, _, err) = site.admin(&[
        "contract",
        "create",
        "--reference-id",
        "V-2",
        "--domain",
        "other.kim.telematik",
    ]);
    assert!(
        !ok && err.contains("--domain other.kim.telematik: not served"),
        "{err}"
    );

    let daemon = site.serve();
    let (ok, out) = swaks(&daemon, PRAXIS, ZAHNARZT, "Arztbrief 1");
    assert!(ok, "{out}");
    let listing = curl_pop3(&daemon, ZAHNARZT, "");
    assert!(listing.starts_with("1 "), "{listing:?}");
    let message = curl_pop3(&daemon, ZAHNARZT, "1");
    assert!(message.contains("Subject: Arztbrief 1") && message.contains("Befund anbei."));

    let (_, list, _) = site.admin(&["account", "list"]);
    let line = list.lines().find(|l| l.starts_with(ZAHNARZT)).unwrap();
    assert!(
        line.contains("registered") && line.contains(" 1 "),
        "{list}"
    );

    // The provider lock stops the whole contract; users cannot lift it.
    let (ok, out, _) = site.admin(&["contract", "lock", "V-1"]);
    assert!(ok && out.contains("locked (2 accounts)"), "{out}");
    let (ok, out) = swaks(&daemon, PRAXIS, ZAHNARZT, "Arztbrief 2");
    assert!(!ok && out.contains("535"), "{out}");
    let (_, list, _) = site.admin(&["contract", "list"]);
    assert!(
        list.contains("V-1") && list.contains("locked") && list.contains("2/2"),
        "{list}"
    );
    let (ok, _, _) = site.admin(&["contract", "unlock", "V-1"]);
    assert!(ok);
    let (ok, out) = swaks(&daemon, PRAXIS, ZAHNARZT, "Arztbrief 3");
    assert!(ok, "{out}");

    // Provider-side deregistration: no more sending.
    let (ok, out, _) = site.admin(&["account", "deregister", PRAXIS]);
    assert!(ok && out.contains("retrieval possible until"), "{out}");
    let (ok, out) = swaks(&daemon, PRAXIS, ZAHNARZT, "Arztbrief 4");
    assert!(!ok, "{out}");
    let (_, list, _) = site.admin(&["account", "list", "--contract", "V-1"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(PRAXIS) && l.contains("dereg→")),
        "{list}"
    );

    let (ok, out, _) = site.admin(&["queue"]);
    assert!(ok && out.contains("0 queued"), "{out}");

    // The REST interfaces on the HTTPS listener.
    let (status, body) = curl_https(&daemon, &["/ServiceInformation/v1.0/serviceinfo"]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"jwtExpiration\":900"), "{body}");
    let auth = format!("{ZAHNARZT}:{PASSWORD}");
    let (status, body) = curl_https(&daemon, &["/AccountLimit/v1.1/limit", "-u", &auth]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"maxMailSize\":734003200"), "{body}");
    let (status, body) = curl_https(&daemon, &["/AccountMgmt/v2.4/account/x@test.kim.telematik"]);
    assert_eq!(status, 401, "no JWT: {body}");
    assert!(body.contains("\"traceId\""), "{body}");
    let (status, body) = curl_https(&daemon, &["/nowhere"]);
    assert_eq!(status, 404, "{body}");

    // fetchmail takes both messages and deletes them at the Fachdienst.
    let mbox = fetchmail(&site, &daemon, ZAHNARZT);
    assert!(mbox.contains("Subject: Arztbrief 1") && mbox.contains("Subject: Arztbrief 3"));
    assert_eq!(
        curl_pop3(&daemon, ZAHNARZT, "").trim(),
        "",
        "mailbox emptied"
    );
}

/// The registration portal as the daemon serves it: HTTPS with the Fachdienst's identity, a
/// reservation whose mails land in `mail_dir`, the provider lock refusing registrations.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_serves_the_registration_portal() {
    let site = Site::new();
    let (ok, _, err) = site.admin(&["contract", "create", "--reference-id", "V-3"]);
    assert!(ok, "{err}");
    let daemon = site.serve();
    let portal = |path: &str, form: &[&str]| {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--cacert",
            &format!("{}/ca-bundle.pem", pki_dir().display()),
        ])
        .args(["-w", "\n%{http_code}"]);
        for f in form {
            cmd.args(["--data-urlencode", f]);
        }
        let text = stdout_of(cmd.arg(format!("{}{path}", daemon.portal)));
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.trim().parse::<u16>().unwrap(), body.to_owned())
    };
    let (status, page) = portal("/registrieren", &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    let form = [
        "email=praxis@beispiel.de",
        "contract=V-3",
        "local=neue.praxis",
        "domain=test.kim.telematik",
        "schritt=3",
    ];
    let (status, page) = portal("/registrieren", &form);
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("neue.praxis@test.kim.telematik ist für Sie reserviert"),
        "{page}"
    );
    let dir = site.dir.path().join("portal-mails");
    let mails: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|m| m.contains("To: <praxis@beispiel.de>\r\n"))
    );
    let (ok, _, _) = site.admin(&["contract", "lock", "V-3"]);
    assert!(ok);
    let second: Vec<String> = form.iter().map(|f| f.replace("neue.", "zweite.")).collect();
    let second: Vec<&str> = second.iter().map(String::as_str).collect();
    let (status, page) = portal("/registrieren", &second);
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("vom Anbieter gesperrt"), "{page}");
    drop(daemon);
}

/// Fetches and deletes all mail of `user` with fetchmail over POP3S with the Clientmodul
/// certificate; returns what it delivered.
fn fetchmail(site: &Site, daemon: &Daemon, user: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let home = site.dir.path().join("fetchmail");
    std::fs::create_dir_all(&home).unwrap();
    let rc = home.join("fetchmailrc");
    let port = daemon.pop3.rsplit_once(':').unwrap().1;
    let poll = format!(
        "poll localhost protocol pop3 port {port}\n  user \"{user}\" password \"{PASSWORD}\"\n"
    );
    std::fs::write(&rc, poll).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mbox = home.join("mbox");
    let pki = pki_dir().display().to_string();
    stdout_of(
        Command::new("fetchmail")
            .env("FETCHMAILHOME", &home)
            .args([
                "--fetchmailrc",
                &rc.display().to_string(),
                "--nodetach",
                "--ssl",
            ])
            .args([
                "--sslcertck",
                "--sslcertfile",
                &format!("{pki}/ca-bundle.pem"),
            ])
            .args(["--sslcert", &format!("{pki}/tls/clientmodul.crt.pem")])
            .args(["--sslkey", &format!("{pki}/tls/clientmodul.key.pem")])
            .args([
                "--auth",
                "password",
                "--mda",
                &format!("cat >> {}", mbox.display()),
            ]),
    );
    std::fs::read_to_string(mbox).unwrap()
}

/// `curl` against the daemon's HTTPS listener with the Clientmodul certificate: the path
/// first, then extra arguments; returns status and body.
fn curl_https(daemon: &Daemon, args: &[&str]) -> (u16, String) {
    let text = stdout_of(
        curl_tls()
            .args(["-w", "\n%{http_code}"])
            .arg(format!("{}{}", daemon.https, args[0]))
            .args(&args[1..]),
    );
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_owned())
}

/// The words of the `ACK` lines a child printed so far.
type Acks = Arc<Mutex<Vec<Vec<String>>>>;

/// Lines starting with `ACK` from a child's stdout, collected by a thread.
fn collect_acks(child: &mut Child) -> (Acks, std::thread::JoinHandle<()>) {
    let acks = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&acks);
    let thread = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let words: Vec<String> = line
                .unwrap()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if words.first().map(String::as_str) == Some("ACK") {
                sink.lock().unwrap().push(words);
            }
        }
    });
    (acks, thread)
}

/// Messages answered 250 and KAS objects answered 201 survive a `kill -9` right after the
/// answer, intact (issue: crash test).
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_loses_no_acknowledged_message_or_object() {
    let site = Site::new();
    site.provision().await;
    let pki = pki_dir().display().to_string();
    let mut daemon = site.serve();
    let (host, port) = daemon.smtp.rsplit_once(':').unwrap();
    let mut smtp = python(&[
        "send", &pki, host, port, PRAXIS, PASSWORD, ZAHNARZT, "100000",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut kas = python(&[
        "kas-send",
        &pki,
        &daemon.https,
        PRAXIS,
        PASSWORD,
        ZAHNARZT,
        "100000",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let (mail_acks, mail_thread) = collect_acks(&mut smtp);
    let (kas_acks, kas_thread) = collect_acks(&mut kas);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while mail_acks.lock().unwrap().len() < 40 || kas_acks.lock().unwrap().len() < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the streams did not get going"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Both clients are in the middle of their next transactions.
    kill_9(&mut daemon.child);
    smtp.wait().unwrap();
    kas.wait().unwrap();
    mail_thread.join().unwrap();
    kas_thread.join().unwrap();
    drop(daemon);
    let mail_acks: BTreeMap<String, String> = mail_acks
        .lock()
        .unwrap()
        .iter()
        .map(|w| (w[1].clone(), w[2].clone()))
        .collect();
    let kas_acks = kas_acks.lock().unwrap().clone();

    let daemon = site.serve();
    let (host, port) = daemon.pop3.rsplit_once(':').unwrap();
    let out = python(&["fetch", &pki, host, port, ZAHNARZT, PASSWORD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = words_by_index(&out.stdout, "MSG");
    for (n, sha) in &mail_acks {
        assert_eq!(
            stored.get(n),
            Some(sha),
            "acknowledged message {n} lost or damaged"
        );
    }
    // At most the one transaction in flight may have been stored without its 250.
    assert!(
        stored.len() <= mail_acks.len() + 1,
        "{} stored, {} acked",
        stored.len(),
        mail_acks.len()
    );

    let mut fetch = python(&["kas-fetch", &pki, &daemon.https, ZAHNARZT, PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ids: String = kas_acks
        .iter()
        .map(|w| format!("{} {}\n", w[1], w[3]))
        .collect();
    fetch
        .stdin
        .take()
        .unwrap()
        .write_all(ids.as_bytes())
        .unwrap();
    let out = fetch.wait_with_output().unwrap();
    assert!(out.status.success());
    let objects = words_by_index(&out.stdout, "OBJ");
    for w in &kas_acks {
        assert_eq!(
            objects.get(&w[1]),
            Some(&w[2]),
            "acknowledged KAS object {} lost or damaged",
            w[1]
        );
    }
    eprintln!(
        "{} messages and {} KAS objects acknowledged before the kill; all intact",
        mail_acks.len(),
        kas_acks.len()
    );
}

/// `<tag> <n> <value>` lines as a map n → value.
fn words_by_index(stdout: &[u8], tag: &str) -> BTreeMap<String, String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&tag) && w.len() == 3).then(|| (w[1].to_owned(), w[2].to_owned()))
        })
        .collect()
}

fn kill_9(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.wait();
}
