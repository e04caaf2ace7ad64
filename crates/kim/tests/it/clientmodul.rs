//! `kim clientmodul` as a practice runs it: `check-config` on cm.properties, the keytool
//! with secrets on stdin, and `serve` / `doctor` against `kim ti serve` (software Konnektor
//! and VZD) and `kim fachdienst serve`, with swaks as the practice software.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use kim_store::{Account, AccountStore, SqliteStore};

use crate::kim;

const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
const ZAHNARZT: &str = "zahnarzt.weber@test.kim.telematik";
const PASSWORD: &str = "Sehr-geheim-1";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cm.properties")
}

/// Runs `kim clientmodul <args>` with `stdin` piped in.
fn cm(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .arg("clientmodul")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits without reading stdin: a broken pipe here
    // is part of the outcome the caller checks, not a failure of the harness.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// `kim clientmodul keytool <args> <file>` with `stdin`, which must succeed.
fn keytool(args: &[&str], file: &Path, stdin: &str) {
    let mut all = vec!["keytool"];
    all.extend_from_slice(args);
    all.push(file.to_str().unwrap());
    let out = cm(&all, stdin);
    assert!(out.status.success(), "{}", text(&out));
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_example_configuration_is_valid() {
    let out = kim(&[
        "clientmodul",
        "check-config",
        "-c",
        example().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Mandant1/ClientID1/Workplace1"), "{stdout}");
}

#[test]
fn invalid_values_and_unknown_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(example()).unwrap();
    let cases = [
        (
            "clientmodul.proxy.smtp.port = 2525",
            "clientmodul.proxy.smtp.port = 99999",
            &["clientmodul.proxy.smtp.port", "99999", "1-65535"][..],
        ),
        (
            "clientmodul.core.konnektor.tlsAuth = NONE",
            "clientmodul.core.konnektor.tlsAuth = BASIC",
            &["BASIC", "CERTIFICATE, PASSWORD, NONE"][..],
        ),
        (
            "clientmodul.core.log.operation = false",
            "clientmodul.core.log.operation = nein",
            &["nein", "true, false"][..],
        ),
        (
            "clientmodul.proxy.smtp.timeout.client = 300",
            "clientmodul.proxy.smtp.timeout.clinet = 300",
            &[
                "unknown key",
                "did you mean clientmodul.proxy.smtp.timeout.client",
            ][..],
        ),
    ];
    for (from, to, expected) in cases {
        assert!(good.contains(from), "{from}");
        let path = dir.path().join("cm.properties");
        std::fs::write(&path, good.replace(from, to)).unwrap();
        let out = kim(&["clientmodul", "check-config", "-c", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{to}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = good.lines().position(|l| l == from).unwrap() + 1;
        assert!(stderr.contains(&format!("line {line}")), "{stderr}");
        for e in expected {
            assert!(stderr.contains(e), "{e} in {stderr}");
        }
    }
}

#[test]
fn keytool_round_trips_with_secrets_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let pki = crate::pki_dir();
    let ks = dir.path().join("keyStore");
    let ts = dir.path().join("trustStore");
    let (ks, ts) = (ks.to_str().unwrap(), ts.to_str().unwrap());
    let bundle = pki.join("ca-bundle.pem");
    let p12 = pki.join("tls/clientmodul.p12");

    let out = cm(
        &[
            "keytool",
            "add-certificate",
            "-t",
            ts,
            "-a",
            "TI",
            bundle.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = cm(
        &[
            "keytool",
            "add-client-keypair",
            "-k",
            ks,
            "-o",
            "FD",
            "-p",
            p12.to_str().unwrap(),
        ],
        "00\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = cm(
        &[
            "keytool",
            "add-client-keypair",
            "-k",
            ks,
            "-o",
            "KON",
            "-p",
            p12.to_str().unwrap(),
        ],
        "wrong\n",
    );
    assert_eq!(out.status.code(), Some(2), "a wrong PKCS#12 password fails");
    let out = cm(
        &[
            "keytool",
            "add-client-password",
            "-k",
            ks,
            "-o",
            "KON",
            "-u",
            "-p",
        ],
        "praxis-user\nBasic-Geheim-7\n",
    );
    assert!(out.status.success(), "{}", text(&out));

    let list = cm(&["keytool", "list-keystore", "-k", ks], "");
    let listing = text(&list);
    assert!(listing.contains("FD_CERTIFICATE-pk\tkey pair"), "{listing}");
    assert!(listing.contains("CN=clientmodul.test"), "{listing}");
    assert!(
        listing.contains("KON_PASSWORD-cred\tcredentials\tuser praxis-user"),
        "{listing}"
    );
    assert!(
        !listing.contains("Basic-Geheim-7"),
        "passwords are never listed"
    );
    let raw = std::fs::read(ks).unwrap();
    assert!(
        !raw.windows(14).any(|w| w == b"Basic-Geheim-7"),
        "the store is encrypted"
    );
    let trust = text(&cm(&["keytool", "list-truststore", "-t", ts], ""));
    assert!(trust.contains("TI\ttrusted certificate"), "{trust}");
    assert!(trust.contains("KIMRS.RCA-RSA TEST-ONLY"), "{trust}");

    for args in [
        &["keytool", "remove-client-password", "-k", ks, "-o", "KON"][..],
        &["keytool", "remove-client-keypair", "-k", ks, "-o", "FD"][..],
        &["keytool", "remove-certificate", "-t", ts, "-a", "TI"][..],
    ] {
        let out = cm(args, "");
        assert!(out.status.success(), "{args:?}: {}", text(&out));
    }
    assert!(text(&cm(&["keytool", "list-keystore", "-k", ks], "")).contains("(empty)"));
    let again = cm(&["keytool", "remove-certificate", "-t", ts, "-a", "TI"], "");
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("no entry \"TI\""), "{}", text(&again));
}

#[test]
fn keytool_refuses_secrets_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let ks = dir.path().join("keyStore");
    for flag in ["-p", "--password"] {
        let out = cm(
            &[
                "keytool",
                "add-client-password",
                "-k",
                ks.to_str().unwrap(),
                "-o",
                "KON",
                "-u",
                flag,
                "Geheim-1",
            ],
            "user\nother\n",
        );
        assert_eq!(out.status.code(), Some(2));
        let all = text(&out);
        assert!(all.contains("never accepted on the command line"), "{all}");
        assert!(!all.contains("Geheim-1"), "the secret is not echoed: {all}");
    }
    assert!(!ks.exists(), "nothing was stored");
}

#[test]
fn the_key_store_does_not_open_with_another_password() {
    let dir = tempfile::tempdir().unwrap();
    let ks = dir.path().join("keyStore");
    let ks = ks.to_str().unwrap();
    let out = cm(
        &[
            "keytool",
            "add-client-password",
            "-k",
            ks,
            "-o",
            "FD",
            "-u",
            "-p",
        ],
        "u\np\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let pw = dir.path().join("store.password");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&pw).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    std::fs::write(&pw, "0".repeat(64)).unwrap();
    let out = cm(&["keytool", "list-keystore", "-k", ks], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("wrong password or damaged file"),
        "{}",
        text(&out)
    );
}

/// A child process killed on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `kim ti serve` on system-chosen ports: (daemon, SDS URL, LDAP URL).
fn start_ti(data: &Path) -> (Daemon, String, String) {
    start_ti_with(data, &[])
}

fn start_ti_with(data: &Path, extra: &[&str]) -> (Daemon, String, String) {
    let (daemon, lines) = start_ti_lines(data, extra);
    let (sds, ldap) = (
        ti_field(&lines, "Konnektor"),
        ti_field(&lines, "VZD (LDAP)"),
    );
    (daemon, sds, ldap)
}

/// The first word after `name` in `kim ti serve`'s summary `lines`.
fn ti_field(lines: &[String], name: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim_start().strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{name} in {lines:?}"))
        .to_owned()
}

/// `kim ti serve` on system-chosen ports: the daemon and its summary lines.
fn start_ti_lines(data: &Path, extra: &[&str]) -> (Daemon, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["ti", "serve", "--seconds", "600", "--data"])
        .arg(data)
        .args(extra)
        .args(["--konnektor", "127.0.0.1:0", "--ldap", "127.0.0.1:0"])
        .args(["--ldaps", "127.0.0.1:0", "--vzd-api", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line == "READY" {
            break;
        }
        lines.push(line);
    }
    (Daemon(child), lines)
}

/// `kim fachdienst serve` with the two practices' accounts: (daemon, SMTPS port, POP3S
/// port).
async fn start_fachdienst(dir: &Path, pki: &Path) -> (Daemon, u16, u16) {
    let config = format!(
        "hostname = \"fd.test.kim.telematik\"\ndomains = [\"test.kim.telematik\"]\n\
         data_dir = \"data\"\n[tls]\nchain_pem = \"{p}/tls/fachdienst.crt.pem\"\n\
         key_pem = \"{p}/tls/fachdienst.key.pem\"\nclient_ca_pem = \"{p}/ca-bundle.pem\"\n\
         [smtp]\nlisten = \"127.0.0.1:0\"\n[pop3]\nlisten = \"127.0.0.1:0\"\n",
        p = pki.display()
    );
    let path = dir.join("fd.toml");
    std::fs::write(&path, config).unwrap();
    let path = path.to_str().unwrap();
    let out = kim(&[
        "fachdienst",
        "contract",
        "create",
        "--reference-id",
        "V-1",
        "--max-accounts",
        "2",
        "--config",
        path,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let store = SqliteStore::open(&dir.join("data/fachdienst.sqlite")).unwrap();
    let hash = kim_store::password::hash(PASSWORD).unwrap();
    for (address, tid) in [(PRAXIS, "1-2.58.00000040"), (ZAHNARZT, "2-2.58.00000041")] {
        let account = Account::registered(address, "V-1", tid, &hash, 0);
        store.create_account(&account).await.unwrap();
    }
    drop(store);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["fachdienst", "serve", "--config", path])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"smtps"), "{line:?}");
    let port = |word: &str| word.rsplit_once(':').unwrap().1.parse().unwrap();
    (Daemon(child), port(words[1]), port(words[3]))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// cm.properties for the simulated TI and the Fachdienst, with stores filled by the keytool.
fn practice(dir: &Path, pki: &Path, sds: &str, ldap: &str, fd_port: u16) -> (PathBuf, u16) {
    let smtp_port = free_port();
    let config = std::fs::read_to_string(example())
        .unwrap()
        .replace("https://127.0.0.1:18443/connector.sds", sds)
        .replace("ldap://127.0.0.1:18389", ldap)
        .replace("smtp.port = 2525", &format!("smtp.port = {smtp_port}"))
        .replace("pop3.port = 2995", &format!("pop3.port = {}", free_port()))
        .replace("localhost:465", &format!("localhost:{fd_port}"))
        .replace(
            "clientmodul.auth.service.port = 12001",
            &format!("clientmodul.auth.service.port = {}", free_port()),
        );
    let path = dir.join("cm.properties");
    std::fs::write(&path, config).unwrap();
    let ts = dir.join("trustStore");
    let ks = dir.join("keyStore");
    let bundle = pki.join("ca-bundle.pem");
    keytool(
        &["add-certificate", "-t", ts.to_str().unwrap(), "-a", "TI"],
        &bundle,
        "",
    );
    let p12 = pki.join("tls/clientmodul.p12");
    keytool(
        &[
            "add-client-keypair",
            "-k",
            ks.to_str().unwrap(),
            "-o",
            "FD",
            "-p",
        ],
        &p12,
        "00\n",
    );
    (path, smtp_port)
}

/// `kim fachdienst serve` in `dir/fd` and the practice's cm.properties in `dir` for the
/// Konnektor `sds` and the directory `vzd`: (daemon, SMTPS port, POP3S port, cm.properties,
/// the SMTP proxy's port).
async fn fachdienst_and_practice(
    dir: &Path,
    pki: &Path,
    sds: &str,
    vzd: &str,
) -> (Daemon, u16, u16, PathBuf, u16) {
    let fd_dir = dir.join("fd");
    std::fs::create_dir(&fd_dir).unwrap();
    let (fd, fd_port, fd_pop3) = start_fachdienst(&fd_dir, pki).await;
    let (config, smtp_port) = practice(dir, pki, sds, vzd, fd_port);
    (fd, fd_port, fd_pop3, config, smtp_port)
}

/// One simulated TI (Konnektor and VZD over LDAP), a Fachdienst and a practice's
/// `cm.properties`, all under a fresh temporary directory.
struct OnePractice {
    dir: tempfile::TempDir,
    ti: Daemon,
    pki: PathBuf,
    _fd: Daemon,
    fd_port: u16,
    fd_pop3: u16,
    config: PathBuf,
    smtp_port: u16,
}

async fn one_practice() -> OnePractice {
    let dir = tempfile::tempdir().unwrap();
    let (ti, sds, ldap) = start_ti(&dir.path().join("ti"));
    let pki = dir.path().join("ti/pki");
    let (fd, fd_port, fd_pop3, config, smtp_port) =
        fachdienst_and_practice(dir.path(), &pki, &sds, &ldap).await;
    OnePractice {
        dir,
        ti,
        pki,
        _fd: fd,
        fd_port,
        fd_pop3,
        config,
        smtp_port,
    }
}

/// Whether the MTA behind the proxy accepted swaks's mail (plain SMTP towards the proxy).
fn queued(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stdout).contains("<-  250 2.0.0 Ok: queued as")
}

/// swaks sends through the proxy at `cm_port`, the MTA accepts it, and ZAHNARZT's mailbox
/// at the Fachdienst's POP3 port `fd_pop3` holds it (returned as fetched, still sealed).
fn send_and_fetch_sealed(cm_port: u16, fd_port: u16, pki: &Path, fd_pop3: u16) -> String {
    let out = swaks(cm_port, fd_port);
    assert!(out.status.success(), "{}", text(&out));
    assert!(queued(&out), "{}", text(&out));
    fetch_sealed(pki, fd_pop3, ZAHNARZT)
}

fn swaks(cm_port: u16, fd_port: u16) -> Output {
    swaks_with(cm_port, fd_port, &[])
}

fn swaks_with(cm_port: u16, fd_port: u16, extra: &[&str]) -> Output {
    swaks_as(cm_port, &praxis_user(fd_port, None), extra)
}

/// PRAXIS's SMTP user name for the Fachdienst at `fd_port`, with a KonnektorId if given.
fn praxis_user(fd_port: u16, konnektor_id: Option<&str>) -> String {
    let user = format!("{PRAXIS}#localhost:{fd_port}#Mandant1#ClientID1#Workplace1");
    match konnektor_id {
        Some(id) => format!("{user}#{id}"),
        None => user,
    }
}

/// swaks sends an Arztbrief from PRAXIS to ZAHNARZT through the proxy at `cm_port` as
/// `user`.
fn swaks_as(cm_port: u16, user: &str, extra: &[&str]) -> Output {
    Command::new("swaks")
        .args(extra)
        .args(["--server", "127.0.0.1", "--port", &cm_port.to_string()])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            user,
            "--auth-password",
            PASSWORD,
        ])
        .args([
            "--from",
            PRAXIS,
            "--to",
            ZAHNARZT,
            "--h-Subject",
            "Arztbrief",
        ])
        .args(["--body", "Guten Tag."])
        .output()
        .expect("swaks is not installed: apt-get install -y swaks")
}

/// The headers and body of the messages in `address`'s mailbox at the Fachdienst (POP3S
/// with the Clientmodul's certificate, python poplib).
fn fetch_sealed(pki: &Path, pop3_port: u16, address: &str) -> String {
    let p = pki.display();
    kim_testkit::peers::python(&format!(
        "import poplib, ssl\n\
         c = ssl.create_default_context(cafile='{p}/ca-bundle.pem')\n\
         c.load_cert_chain('{p}/tls/clientmodul.crt.pem', '{p}/tls/clientmodul.key.pem')\n\
         s = poplib.POP3_SSL('localhost', {pop3_port}, context=c)\n\
         s.user('{address}'); s.pass_('{PASSWORD}')\n\
         for i in range(len(s.list()[1])):\n    \
         print(b'\\r\\n'.join(s.retr(i + 1)[1]).decode())\n\
         s.quit()\n"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_doctor_against_the_simulated_ti_and_a_fachdienst() {
    let OnePractice {
        dir,
        ti,
        pki,
        _fd,
        fd_port,
        fd_pop3,
        config,
        smtp_port,
    } = one_practice().await;
    let config = config.to_str().unwrap();

    // A good setup: every check passes, the user names are printed.
    let out = cm(
        &["doctor", "-c", config, "--login-stdin"],
        &format!("{PRAXIS}\n{PASSWORD}\n"),
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(!report.contains("FAIL"), "{report}");
    for line in [
        "OK    konnektor (default): connector.sds",
        "OK    konnektor (default) cards",
        "OK    vzd ldap://",
        "OK    smtp port",
    ] {
        assert!(report.contains(line), "{line} in {report}");
    }
    assert!(
        report.contains(&format!("login of {PRAXIS} OK")),
        "{report}"
    );
    let user = praxis_user(fd_port, None);
    assert!(
        report.contains(&format!("smtp user name (konnektor (default)): {user}\n")),
        "{report}"
    );
    assert!(!report.contains(PASSWORD));

    // A wrong password is a failed login.
    let out = cm(
        &["doctor", "-c", config, "--login-stdin"],
        &format!("{PRAXIS}\nfalsch\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("FAIL  fachdienst"), "{}", text(&out));

    // An occupied listen port.
    let occupied = std::net::TcpListener::bind(("127.0.0.1", smtp_port)).unwrap();
    let out = cm(&["doctor", "-c", config], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains(&format!("FAIL  smtp port 127.0.0.1:{smtp_port}")),
        "{}",
        text(&out)
    );
    drop(occupied);

    // The proxy: swaks hands a mail to `kim clientmodul serve`, which seals and relays it.
    let log_dir = dir.path().join("log");
    let mut serve = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["clientmodul", "serve", "-c", config])
        .env("KIM_CM_LOG_DIR", &log_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(serve.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.len(), 4, "{line:?}");
    assert_eq!(words[..2], ["smtp", &format!("127.0.0.1:{smtp_port}")]);
    let cm_pop3 = words[3].rsplit_once(':').unwrap().1.to_string();
    // The administration UI on loopback lists the cards of the configured context.
    let mut ui_line = String::new();
    stdout.read_line(&mut ui_line).unwrap();
    let ui = ui_line
        .trim()
        .strip_prefix("admin-ui http://")
        .unwrap_or_else(|| panic!("admin UI line: {ui_line:?}"))
        .trim_end_matches('/')
        .to_string();
    assert!(ui.starts_with("127.0.0.1:"), "{ui}");
    let page = kim_testkit::peers::python(&format!(
        "import urllib.request\n\
         print(urllib.request.urlopen('http://{ui}/').read().decode())\n"
    ));
    assert!(page.contains("<h1>Karte wählen</h1>"), "{page}");
    assert!(page.contains("Mandant Mandant1"), "{page}");
    assert!(page.contains("Telematik-ID 1-2.58.00000040"), "{page}");
    let serve = Daemon(serve);
    let inbox = send_and_fetch_sealed(smtp_port, fd_port, &pki, fd_pop3);
    assert!(inbox.contains("Subject: KOM-LE-Nachricht"), "{inbox}");
    assert!(inbox.contains("X-KOM-LE-Version:"), "{inbox}");
    assert!(
        !inbox.contains("Guten Tag."),
        "the Fachdienst only sees the sealed mail"
    );
    // Fetched through the Clientmodul's POP3 proxy, it is decrypted and verified.
    let user = format!("{ZAHNARZT}#localhost:{fd_pop3}#Mandant1#ClientID1#Workplace1");
    let delivered = kim_testkit::peers::python(&format!(
        "import poplib\n\
         s = poplib.POP3('127.0.0.1', {cm_pop3})\n\
         s.user('{user}'); s.pass_('{PASSWORD}')\n\
         print(b'\\r\\n'.join(s.retr(1)[1]).decode())\n\
         s.quit()\n"
    ));
    assert!(
        delivered.contains("X-KIM-DecryptionResult: 00"),
        "{delivered}"
    );
    assert!(
        delivered.contains("X-KIM-IntegrityCheckResult: 01"),
        "{delivered}"
    );
    assert!(delivered.contains("Guten Tag."), "{delivered}");
    let status = Command::new("kill")
        .arg(serve.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let mut serve = serve;
    assert!(
        serve.0.wait().unwrap().success(),
        "SIGTERM ends serve cleanly"
    );
    // The performance log timed every step of sending and receiving, without addresses.
    let perf: String = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    for step in [
        "cards",
        "mta_login",
        "vzd",
        "sign",
        "encrypt",
        "mta",
        "pop3_login",
        "fetch",
        "decrypt",
        "verify",
    ] {
        assert!(perf.contains(&format!("step={step} ")), "{step}: {perf}");
    }
    assert!(!perf.contains(ZAHNARZT), "{perf}");

    // A stopped Konnektor.
    drop(ti);
    let out = cm(&["doctor", "-c", config], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("FAIL  konnektor (default)"),
        "{}",
        text(&out)
    );
}

/// `kim ti serve` whose Konnektor demands client authentication (`[client_auth]` lines).
fn start_ti_with_auth(data: &Path, client_auth: &str) -> (Daemon, String, String) {
    std::fs::create_dir_all(data).unwrap();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../kim-ti-sim/examples/konnektor.toml");
    let config = std::fs::read_to_string(example)
        .unwrap()
        .replace(
            "listen = \"127.0.0.1:8443\"",
            &format!("listen = \"127.0.0.1:{}\"", free_port()),
        )
        .replace(
            "plain_listen = \"127.0.0.1:8080\"",
            &format!("plain_listen = \"127.0.0.1:{}\"", free_port()),
        )
        .replace("mode = \"none\"", client_auth);
    let path = data.join("konnektor.toml");
    std::fs::write(&path, config).unwrap();
    start_ti_with(data, &["--konnektor-config", path.to_str().unwrap()])
}

#[test]
fn doctor_authenticates_to_the_konnektor_with_stored_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (_ti, sds, ldap) = start_ti_with_auth(
        &dir.path().join("ti"),
        "mode = \"basic\"\nuser = \"cm\"\npassword = \"Konnektor-Geheim-1\"",
    );
    let pki = dir.path().join("ti/pki");
    let (config, _) = practice(dir.path(), &pki, &sds, &ldap, free_port());
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace("tlsAuth = NONE", "tlsAuth = PASSWORD"),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let ks = dir.path().join("keyStore");
    let ks = ks.to_str().unwrap();

    // No credentials in the key store yet: the doctor names the keytool command.
    let out = cm(&["doctor", "-c", config], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("keytool add-client-password -o KON"),
        "{}",
        text(&out)
    );

    for (password, ok) in [("falsch", false), ("Konnektor-Geheim-1", true)] {
        let add = cm(
            &[
                "keytool",
                "add-client-password",
                "-k",
                ks,
                "-o",
                "KON",
                "-u",
                "-p",
            ],
            &format!("cm\n{password}\n"),
        );
        assert!(add.status.success(), "{}", text(&add));
        let report = text(&cm(&["doctor", "-c", config], ""));
        assert_eq!(
            report.contains("OK    konnektor (default) cards"),
            ok,
            "{report}"
        );
        assert_eq!(
            report.contains("FAIL  konnektor (default)"),
            !ok,
            "{report}"
        );
    }
}

#[test]
fn doctor_authenticates_to_the_konnektor_with_the_stored_key_pair() {
    let dir = tempfile::tempdir().unwrap();
    let (_ti, sds, ldap) = start_ti_with_auth(
        &dir.path().join("ti"),
        "mode = \"certificate\"\ntrusted_client_cas = \"pki/ca-bundle.pem\"",
    );
    let pki = dir.path().join("ti/pki");
    let (config, _) = practice(dir.path(), &pki, &sds, &ldap, free_port());
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace("tlsAuth = NONE", "tlsAuth = CERTIFICATE"),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let report = text(&cm(&["doctor", "-c", config], ""));
    assert!(
        report.contains("keytool add-client-keypair -o KON"),
        "{report}"
    );
    let ks = dir.path().join("keyStore");
    let p12 = pki.join("tls/clientmodul.p12");
    let add = cm(
        &[
            "keytool",
            "add-client-keypair",
            "-k",
            ks.to_str().unwrap(),
            "-o",
            "KON",
            "-p",
            p12.to_str().unwrap(),
        ],
        "00\n",
    );
    assert!(add.status.success(), "{}", text(&add));
    let report = text(&cm(&["doctor", "-c", config], ""));
    assert!(
        report.contains("OK    konnektor (default) cards"),
        "{report}"
    );
}

/// Starts `kim clientmodul serve`; returns the daemon once it printed its address.
fn start_serve(config: &str) -> Daemon {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["clientmodul", "serve", "-c", config])
        .env(
            "KIM_CM_LOG_DIR",
            Path::new(config).parent().unwrap().join("log"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("smtp 127.0.0.1:"), "{line:?}");
    Daemon(serve)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_implicit_tls_towards_the_practice_software() {
    let OnePractice {
        dir,
        ti: _ti,
        pki,
        _fd,
        fd_port,
        config,
        smtp_port,
        ..
    } = one_practice().await;
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace("proxy.tls = NONE", "proxy.tls = TLS"),
    )
    .unwrap();
    let config = config.to_str().unwrap();

    // Without the CLIENT key pair the daemon refuses to start and says what is missing.
    let out = cm(&["serve", "-c", config], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("CLIENT_CERTIFICATE-pk"),
        "{}",
        text(&out)
    );

    let ks = dir.path().join("keyStore");
    let p12 = pki.join("tls/fachdienst.p12");
    let add = cm(
        &[
            "keytool",
            "add-client-keypair",
            "-k",
            ks.to_str().unwrap(),
            "-o",
            "CLIENT",
            "-p",
            p12.to_str().unwrap(),
        ],
        "00\n",
    );
    assert!(add.status.success(), "{}", text(&add));
    let _serve = start_serve(config);
    let out = swaks_with(smtp_port, fd_port, &["--tlsc"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<~  250 2.0.0 Ok: queued as"),
        "{}",
        text(&out)
    );
}

/// The KonnektorId of the user name (field 5 for SMTP) picks the `clientmodul.konnektor.<id>`
/// section in `serve`: with the default Konnektor stopped, mail through the second one still
/// goes out, the default user name gets a temporary refusal, and an unknown id is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_routes_by_konnektor_id_between_two_konnektors() {
    let dir = tempfile::tempdir().unwrap();
    // Two software Konnektors with the same cards (the test PKI is deterministic); the VZD
    // of the second one is the directory, so that stopping the first leaves it up.
    let (ti1, sds1, _) = start_ti(&dir.path().join("ti1"));
    let (_ti2, sds2, ldap2) = start_ti(&dir.path().join("ti2"));
    let pki = dir.path().join("ti2/pki");
    let (_fd, fd_port, fd_pop3, config, smtp_port) =
        fachdienst_and_practice(dir.path(), &pki, &sds1, &ldap2).await;
    let mut properties = std::fs::read_to_string(&config).unwrap();
    properties.push_str(&format!(
        "clientmodul.konnektor.Konn_2.uri = {sds2}\n\
         clientmodul.konnektor.Konn_2.tlsAuth = NONE\n\
         clientmodul.konnektor.Konn_2.context.mandantId = Mandant1\n\
         clientmodul.konnektor.Konn_2.context.clientSystemId = ClientID1\n\
         clientmodul.konnektor.Konn_2.context.workplaceId = Workplace1\n"
    ));
    std::fs::write(&config, properties).unwrap();
    let config = config.to_str().unwrap();
    let out = cm(&["check-config", "-c", config], "");
    assert!(out.status.success(), "{}", text(&out));
    let _serve = start_serve(config);
    let send =
        |konnektor_id: Option<&str>| swaks_as(smtp_port, &praxis_user(fd_port, konnektor_id), &[]);

    // Both Konnektors up: both user names send.
    let out = send(None);
    assert!(queued(&out), "{}", text(&out));
    let out = send(Some("Konn_2"));
    assert!(queued(&out), "{}", text(&out));

    // The default Konnektor stopped: its user name is refused for now, Konn_2 still sends.
    drop(ti1);
    let out = send(None);
    assert!(!queued(&out), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<** 4"),
        "a temporary refusal: {}",
        text(&out)
    );
    let out = send(Some("Konn_2"));
    assert!(queued(&out), "{}", text(&out));

    // An id without a section is refused with its name.
    let out = send(Some("Konn_9"));
    assert!(!queued(&out), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Konn_9"),
        "{}",
        text(&out)
    );

    // Exactly the three accepted mails reached the Fachdienst, sealed.
    let inbox = fetch_sealed(&pki, fd_pop3, ZAHNARZT);
    assert_eq!(
        inbox.matches("Subject: KOM-LE-Nachricht").count(),
        3,
        "{inbox}"
    );
}

/// `doctor` warns of a key store certificate that ends within 30 days (here the
/// Clientmodul's TLS certificate towards the Fachdienst, issued for 10 days).
#[test]
fn doctor_warns_of_a_certificate_that_ends_within_30_days() {
    let dir = tempfile::tempdir().unwrap();
    let (_ti, sds, ldap) = start_ti(&dir.path().join("ti"));
    let pki = dir.path().join("ti/pki");
    let (config, _) = practice(dir.path(), &pki, &sds, &ldap, free_port());
    let config = config.to_str().unwrap();
    let out = cm(&["doctor", "-c", config], "");
    let report = text(&out);
    assert!(
        report.contains("OK    key store FD_CERTIFICATE-pk certificate"),
        "{report}"
    );
    assert!(!report.contains("within 30 days"), "{report}");

    let work = dir.path().join("short");
    std::fs::create_dir(&work).unwrap();
    let pem = crate::account::short_lived_certificate(&pki, &work, 10);
    let ks = dir.path().join("keyStore");
    keytool(
        &["add-client-keypair", "-k", ks.to_str().unwrap(), "-o", "FD"],
        &pem,
        "",
    );
    let out = cm(&["doctor", "-c", config], "");
    let report = text(&out);
    let line = report
        .lines()
        .find(|l| l.contains("FD_CERTIFICATE-pk certificate") && l.contains("kurzlebig.test"))
        .unwrap_or_else(|| panic!("no line for the new certificate: {report}"));
    assert!(line.starts_with("WARN  key store"), "{line}");
    assert!(line.contains("(within 30 days)"), "{line}");
}

/// The VZD over LDAPS, trusted with the Konnektor's anchors (A_21223-01): only the LDAPS
/// listener of `kim ti serve` is configured, `doctor` reaches it and `serve` looks the
/// sender and recipient up through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_looks_up_the_vzd_over_ldaps() {
    let dir = tempfile::tempdir().unwrap();
    let (_ti, lines) = start_ti_lines(&dir.path().join("ti"), &[]);
    let (sds, ldaps) = (
        ti_field(&lines, "Konnektor"),
        ti_field(&lines, "VZD (LDAPS)"),
    );
    assert!(ldaps.starts_with("ldaps://"), "{ldaps}");
    let pki = dir.path().join("ti/pki");
    let (_fd, fd_port, fd_pop3, config, smtp_port) =
        fachdienst_and_practice(dir.path(), &pki, &sds, &ldaps).await;
    let config = config.to_str().unwrap();
    let out = cm(&["doctor", "-c", config], "");
    let report = text(&out);
    assert!(report.contains("OK    vzd ldaps://"), "{report}");
    let _serve = start_serve(config);
    let inbox = send_and_fetch_sealed(smtp_port, fd_port, &pki, fd_pop3);
    assert!(inbox.contains("Subject: KOM-LE-Nachricht"), "{inbox}");
}

/// The manual's two keys without restart take effect while `serve` runs: switching the
/// operation log on fills it, a shorter POP3 client timeout ends idle sessions; an invalid
/// change leaves the running values alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_applies_the_keys_that_need_no_restart() {
    let OnePractice {
        dir,
        ti: _ti,
        _fd,
        fd_port,
        config,
        smtp_port,
        ..
    } = one_practice().await;
    let original = std::fs::read_to_string(&config).unwrap();
    assert!(original.contains("clientmodul.core.log.operation = false"));
    assert!(original.contains("clientmodul.proxy.pop3.timeout.client = 300"));
    let pop3_port: u16 = original
        .lines()
        .find_map(|l| l.strip_prefix("clientmodul.proxy.pop3.port = "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _serve = start_serve(config.to_str().unwrap());
    let log_dir = dir.path().join("log");
    let operation_lines = || -> usize {
        std::fs::read_dir(&log_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("operation"))
                    .map(|e| {
                        std::fs::read_to_string(e.path())
                            .unwrap_or_default()
                            .lines()
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    // An idle POP3 session for `idle` seconds, then CAPA: "+OK" or how it ended.
    let idle_noop = |idle: u32| {
        kim_testkit::peers::python(&format!(
            "import poplib, time\n\
             s = poplib.POP3('127.0.0.1', {pop3_port}, timeout=30)\n\
             time.sleep({idle})\n\
             try:\n    s.capa()\n    print('+OK')\n\
             except Exception as e:\n    print('ENDED', type(e).__name__)\n"
        ))
    };
    let out = swaks(smtp_port, fd_port);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(operation_lines(), 0, "the operation log is off");
    let kept = idle_noop(3);
    assert!(kept.starts_with("+OK"), "a 300 s timeout: {kept}");

    // A file with one invalid value is refused as a whole: its valid `log.operation =
    // true` must not switch the operation log on. Then the valid change is applied.
    // cm.properties with the operation log on and `timeout` for the POP3 client, then
    // longer than one poll of the file.
    let rewrite = |timeout: &str| {
        let text = original
            .replace(
                "clientmodul.core.log.operation = false",
                "clientmodul.core.log.operation = true",
            )
            .replace(
                "clientmodul.proxy.pop3.timeout.client = 300",
                &format!("clientmodul.proxy.pop3.timeout.client = {timeout}"),
            );
        std::fs::write(&config, text).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
    };
    rewrite("vielleicht");
    let out = swaks(smtp_port, fd_port);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(operation_lines(), 0, "an invalid file changes nothing");
    rewrite("1");
    // One mail at least; more while the change has not been picked up yet (a busy machine
    // may poll the file later than usual).
    let start = std::time::Instant::now();
    loop {
        let out = swaks(smtp_port, fd_port);
        assert!(out.status.success(), "{}", text(&out));
        std::thread::sleep(std::time::Duration::from_millis(300));
        if operation_lines() > 0 || start.elapsed() > std::time::Duration::from_secs(20) {
            break;
        }
    }
    assert!(operation_lines() > 0, "the operation log is on");
    let ended = idle_noop(3);
    assert!(!ended.starts_with("+OK"), "a 1 s timeout: {ended}");
}
