//! `kim account` against a running `kim sandbox --serve` (software Konnektor with the
//! practices' cards, VZD, Fachdienst with its Account Manager, Clientmodul), and the
//! certificate renewal of `kim clientmodul serve` (A_21381).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NEW: &str = "neu.schmidt@test.kim.telematik";
const NEW_PASSWORD: &str = "Neu-Passwort-1";
const CHANGED_PASSWORD: &str = "Neu-Passwort-2";

/// A running `kim sandbox --serve`; killed on drop.
struct Sandbox {
    child: Child,
    info: serde_json::Value,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    fn start(dir: &Path) -> Sandbox {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
            .args(["sandbox", "--serve", "--state-dir"])
            .arg(dir)
            .args(["--base-port", &crate::sandbox::free_base_port().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line == "READY" => break,
                Some(Ok(_)) => {}
                _ => panic!("the sandbox ended before READY"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let json = std::fs::read(dir.join("sandbox.json")).unwrap();
        Sandbox {
            child,
            info: serde_json::from_slice(&json).unwrap(),
        }
    }

    fn s(&self, pointer: &str) -> String {
        match self.info.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            other => panic!("sandbox.json {pointer}: {other:?}"),
        }
    }

    fn fd_smtp_port(&self) -> String {
        self.s("/fachdienst/smtp")
            .rsplit_once(':')
            .unwrap()
            .1
            .into()
    }

    fn fd_pop3_port(&self) -> String {
        self.s("/fachdienst/pop3")
            .rsplit_once(':')
            .unwrap()
            .1
            .into()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `kim <args>` with `stdin` piped in.
fn kim_in(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(args)
        .env_remove("KIM_ACCOUNT_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// cm.properties for the sandbox in `dir`, with the stores filled by the keytool (trust:
/// the sandbox CAs; FD: the Clientmodul's PKCS#12) and `extra` lines appended.
fn practice_config(sandbox: &Sandbox, dir: &Path, extra: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cm.properties");
    let config = std::fs::read_to_string(example)
        .unwrap()
        .replace(
            "https://127.0.0.1:18443/connector.sds",
            &sandbox.s("/konnektor/sds_url"),
        )
        .replace("ldap://127.0.0.1:18389", &sandbox.s("/vzd/ldap_url"))
        .replace("smtp.port = 2525", &format!("smtp.port = {}", free_port()))
        .replace("pop3.port = 2995", &format!("pop3.port = {}", free_port()))
        .replace("localhost:465", &sandbox.s("/fachdienst/smtp"))
        .replace("localhost:995", &sandbox.s("/fachdienst/pop3"));
    let path = dir.join("cm.properties");
    std::fs::write(&path, format!("{config}\n{extra}\n")).unwrap();
    keytool(
        "add-certificate",
        "-t",
        &dir.join("trustStore"),
        &["-a", "TI", &sandbox.s("/ca_file")],
        "",
    );
    path
}

/// `kim clientmodul keytool <sub> <store_flag> <store> <args>` with `stdin` (`-t` names the
/// trust store, `-k` the key store); must succeed; its output.
fn keytool(sub: &str, flag: &str, store: &Path, args: &[&str], stdin: &str) -> String {
    let mut all = vec!["clientmodul", "keytool", sub, flag, store.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = kim_in(&all, stdin);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn add_fd_keypair(dir: &Path, p12: &str, password: &str) {
    keytool(
        "add-client-keypair",
        "-k",
        &dir.join("keyStore"),
        &["-o", "FD", "-p", p12],
        &format!("{password}\n"),
    );
}

fn list_keystore(dir: &Path) -> String {
    keytool("list-keystore", "-k", &dir.join("keyStore"), &[], "")
}

/// `kim account -c <config> <args>` with `stdin`.
fn account(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["account", "-c", config.to_str().unwrap()];
    all.extend_from_slice(args);
    kim_in(&all, stdin)
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn failed(out: Output, expected: &[&str]) -> String {
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    for e in expected {
        assert!(all.contains(e), "{e:?} in {all}");
    }
    all
}

fn ldap(sandbox: &Sandbox, filter: &str) -> String {
    let out = Command::new("ldapsearch")
        .args(["-x", "-LLL", "-H", &sandbox.s("/vzd/ldap_url")])
        .args(["-b", &sandbox.s("/vzd/base_dn")])
        .arg(filter)
        .args(["telematikID", "mail", "komLeData", "kimData"])
        .output()
        .expect("ldapsearch (Debian package ldap-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends a mail through the sandbox's Clientmodul with swaks.
fn swaks(sandbox: &Sandbox, from: &str, password: &str, to: &str, subject: &str) {
    let user = format!(
        "{from}#localhost:{}#Mandant1#ClientID1#Workplace1",
        sandbox.fd_smtp_port()
    );
    let out = Command::new("swaks")
        .args(["--server", "127.0.0.1"])
        .args(["--port", &sandbox.s("/mailboxes/0/smtp_port")])
        .args(["--auth", "PLAIN", "--auth-user", &user])
        .args(["--auth-password", password])
        .args(["--from", from, "--to", to])
        .args(["--header", &format!("Subject: {subject}")])
        .args(["--body", "Befund: unauffällig"])
        .output()
        .expect("swaks (Debian package swaks)");
    assert!(out.status.success(), "{}", text(&out));
}

/// Every message of a mailbox, fetched through the sandbox's Clientmodul (POP3) and
/// deleted.
fn fetch(sandbox: &Sandbox, address: &str, password: &str, user_suffix: &str) -> String {
    let user = format!(
        "{address}#localhost:{}#{user_suffix}",
        sandbox.fd_pop3_port()
    );
    kim_testkit::peers::python(&format!(
        "import poplib\n\
         p = poplib.POP3('127.0.0.1', {port})\n\
         p.user({user:?}); p.pass_({password:?})\n\
         for i in range(len(p.list()[1])):\n    \
         print(b'\\r\\n'.join(p.retr(i + 1)[1]).decode('utf-8'))\n    \
         p.dele(i + 1)\n\
         p.quit()\n",
        port = sandbox.s("/mailboxes/0/pop3_port"),
    ))
}

#[test]
fn account_lifecycle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("sandbox"));
    let cm_dir = dir.path().join("cm");
    let am = format!(
        "clientmodul.fachdienst.account_manager = {}",
        sandbox.s("/fachdienst/account_manager_url")
    );
    let config = practice_config(&sandbox, &cm_dir, &am);
    add_fd_keypair(
        &cm_dir,
        &sandbox.s("/fachdienst/client_p12"),
        &sandbox.s("/fachdienst/client_p12_password"),
    );
    let reference = sandbox.s("/fachdienst/contract_reference_id");
    let initial = sandbox.s("/fachdienst/contract_initial_password");

    // Refused before any call: an address against the rules, a weak password.
    failed(
        account(&config, &["register", "Neu Schmidt@test.kim.telematik"], ""),
        &["Das Zeichen „ “ ist vor dem „@“ nicht erlaubt"],
    );
    failed(
        account(&config, &["register", "neu@example.org"], ""),
        &[".kim.telematik"],
    );
    failed(
        account(
            &config,
            &["register", NEW, "--reference-id", &reference],
            &format!("{initial}\nkurz\n"),
        ),
        &["Passwortrichtlinie"],
    );
    // Refused by the Account Manager: wrong initial password (401), taken address (409).
    failed(
        account(
            &config,
            &["register", NEW, "--reference-id", &reference],
            &format!("falsch-Initial-1\n{NEW_PASSWORD}\n"),
        ),
        &["Anmeldung abgelehnt", "HTTP 401"],
    );
    failed(
        account(
            &config,
            &[
                "register",
                &sandbox.s("/mailboxes/0/address"),
                "--reference-id",
                &reference,
            ],
            &format!("{initial}\n{NEW_PASSWORD}\n"),
        ),
        &["bereits vergeben", "HTTP 409"],
    );
    // 1.5+ needs the confirmed risk notice.
    failed(
        account(
            &config,
            &[
                "register",
                NEW,
                "--reference-id",
                &reference,
                "--kim-version",
                "1.5+",
            ],
            "",
        ),
        &["--accept-risk", "großer Nachrichten"],
    );

    // A second address for practice A's SMC-B (the default card of the context).
    let out = ok(account(
        &config,
        &[
            "register",
            NEW,
            "--reference-id",
            &reference,
            "--kim-version",
            "1.5+",
            "--accept-risk",
        ],
        &format!("{initial}\n{NEW_PASSWORD}\n"),
    ));
    assert!(
        out.contains("registered neu.schmidt@test.kim.telematik for SMC-B 1-2.58.00000040"),
        "{out}"
    );
    let entry = ldap(&sandbox, &format!("(mail={NEW})"));
    assert!(entry.contains(&format!("mail: {NEW}")), "{entry}");
    assert!(entry.contains("telematikID: 1-2.58.00000040"), "{entry}");
    assert!(entry.contains("komLeData:"), "{entry}");
    assert!(entry.contains("kimData:"), "{entry}");

    // The new account sends and receives through the Clientmodul at once.
    let b = sandbox.s("/mailboxes/1/address");
    let b_password = sandbox.s("/mailboxes/1/password");
    swaks(&sandbox, NEW, NEW_PASSWORD, &b, "Vom neuen Konto");
    let got = fetch(&sandbox, &b, &b_password, "Mandant2#ClientID2#Workplace3");
    assert!(got.contains("Subject: Vom neuen Konto"), "{got}");
    assert!(got.contains("X-KIM-IntegrityCheckResult: 01"), "{got}");
    let a = sandbox.s("/mailboxes/0/address");
    swaks(
        &sandbox,
        &a,
        &sandbox.s("/mailboxes/0/password"),
        NEW,
        "An das neue Konto",
    );
    let got = fetch(&sandbox, NEW, NEW_PASSWORD, "Mandant1#ClientID1#Workplace1");
    assert!(got.contains("Subject: An das neue Konto"), "{got}");
    assert!(got.contains("X-KIM-DecryptionResult: 00"), "{got}");

    // show, as text and JSON.
    let out = ok(account(
        &config,
        &["show", NEW],
        &format!("{NEW_PASSWORD}\n"),
    ));
    assert!(out.contains("regStat registered"), "{out}");
    assert!(out.contains("kimVersion 1.5+"), "{out}");
    let out = account(
        &config,
        &["show", NEW, "--json"],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["username"], NEW);
    assert_eq!(json["referenceID"], reference.as_str());

    // set: a weak new password is refused locally, a good one works.
    failed(
        account(
            &config,
            &["set", NEW, "--new-password"],
            &format!("{NEW_PASSWORD}\nschwach\n"),
        ),
        &["Passwortrichtlinie"],
    );
    failed(
        account(&config, &["set", NEW, "--new-password", "Geheim-9"], ""),
        &["never accepted on the command line"],
    );
    ok(account(
        &config,
        &["set", NEW, "--new-password", "--data-time-to-live", "30"],
        &format!("{NEW_PASSWORD}\n{CHANGED_PASSWORD}\n"),
    ));
    failed(
        account(&config, &["show", NEW], &format!("{NEW_PASSWORD}\n")),
        &["HTTP 401"],
    );
    // The password from a file and from the environment.
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, format!("{CHANGED_PASSWORD}\n")).unwrap();
    let out = ok(account(
        &config,
        &["show", NEW, "--password-file", pw_file.to_str().unwrap()],
        "",
    ));
    assert!(out.contains("dataTimeToLive 30"), "{out}");
    let out = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["account", "-c", config.to_str().unwrap(), "show", NEW])
        .env("KIM_ACCOUNT_PASSWORD", CHANGED_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(text(&out).contains("regStat registered"), "{}", text(&out));

    // kimVersion: back to 1.5, and 1.5+ again only with the confirmed risk notice.
    ok(account(
        &config,
        &["set", NEW, "--kim-version", "1.5"],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    let out = ok(account(
        &config,
        &["show", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("kimVersion 1.5\n"), "{out}");
    failed(
        account(
            &config,
            &["set", NEW, "--kim-version", "1.5+"],
            &format!("{CHANGED_PASSWORD}\n"),
        ),
        &["--accept-risk"],
    );
    ok(account(
        &config,
        &["set", NEW, "--kim-version", "1.5+", "--accept-risk"],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    let out = ok(account(
        &config,
        &["show", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("kimVersion 1.5+"), "{out}");

    // Out-of-office on and off.
    let out = ok(account(
        &config,
        &[
            "out-of-office",
            NEW,
            "--on",
            "--from",
            "2026-12-24T00:00:00Z",
            "--until",
            "2027-01-02T00:00:00Z",
            "--message",
            "Die Praxis ist geschlossen.",
        ],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("out-of-office on"), "{out}");
    assert!(out.contains("message Die Praxis ist geschlossen."), "{out}");
    let out = ok(account(
        &config,
        &["out-of-office", NEW, "--off"],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("out-of-office off"), "{out}");

    // Deregistration and its revocation; the VZD follows.
    let out = ok(account(
        &config,
        &["deregister", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("deregistered"), "{out}");
    assert!(!ldap(&sandbox, &format!("(mail={NEW})")).contains("mail:"));
    let out = ok(account(
        &config,
        &["show", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("regStat deregistered"), "{out}");
    ok(account(
        &config,
        &["revoke-deregistration", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(ldap(&sandbox, &format!("(mail={NEW})")).contains(&format!("mail: {NEW}")));
    failed(
        account(
            &config,
            &["revoke-deregistration", NEW],
            &format!("{CHANGED_PASSWORD}\n"),
        ),
        &["HTTP 403"],
    );

    // cert: the key store now holds the Fachdienst's new certificate for this Clientmodul.
    let before = list_keystore(&cm_dir);
    assert!(before.contains("CN=clientmodul.test"), "{before}");
    let out = ok(account(
        &config,
        &["cert", NEW, "--common-name", "cm.praxis-schmidt.test"],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    assert!(out.contains("imported FD_CERTIFICATE-pk"), "{out}");
    let after = list_keystore(&cm_dir);
    assert!(after.contains("CN=cm.praxis-schmidt.test"), "{after}");
    assert!(!after.contains("CN=clientmodul.test"), "{after}");
    // … and it works towards the Fachdienst (mutual TLS of the Account Manager).
    ok(account(
        &config,
        &["show", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));

    // otp + set-tid: the address moves to the doctor's HBA.
    let out = ok(account(
        &config,
        &["otp", NEW],
        &format!("{CHANGED_PASSWORD}\n"),
    ));
    let otp = out.lines().next().unwrap().trim().to_string();
    assert!(!otp.is_empty());
    let hba = ["--card", "hba", "--user-id", "alice.schmidt"];
    let mut args = vec!["set-tid", NEW];
    args.extend_from_slice(&hba);
    let out = ok(account(
        &config,
        &args,
        &format!("{CHANGED_PASSWORD}\n{otp}\n"),
    ));
    assert!(out.contains("now belongs to HBA 1-1.58.00000050"), "{out}");
    let entry = ldap(&sandbox, &format!("(mail={NEW})"));
    assert!(entry.contains("telematikID: 1-1.58.00000050"), "{entry}");
    // Now the HBA owns it, the SMC-B no longer.
    let mut args = vec!["show", NEW];
    args.extend_from_slice(&hba);
    ok(account(&config, &args, &format!("{CHANGED_PASSWORD}\n")));
    let out = account(&config, &["show", NEW], &format!("{CHANGED_PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A used OTP does not move it again.
    let mut args = vec!["set-tid", NEW];
    args.extend_from_slice(&hba);
    let out = account(&config, &args, &format!("{CHANGED_PASSWORD}\n{otp}\n"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("HTTP"), "{}", text(&out));
}

/// A Clientmodul certificate that ends in `days` days, issued by the sandbox's provider CA
/// with openssl: a PEM file with the chain and the PKCS#8 key.
pub(crate) fn short_lived_certificate(pki: &Path, dir: &Path, days: u32) -> PathBuf {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "extendedKeyUsage = clientAuth\nkeyUsage = digitalSignature\n",
    )
    .unwrap();
    run(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "short.key",
        "-subj",
        "/CN=kurzlebig.test",
        "-out",
        "short.csr",
    ]);
    let ca = pki.join("ca/rsa/komp.crt.pem");
    let ca_key = pki.join("ca/rsa/komp.key.pem");
    run(&[
        "x509",
        "-req",
        "-in",
        "short.csr",
        "-CA",
        ca.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-set_serial",
        "4711",
        "-days",
        &days.to_string(),
        "-extfile",
        "ext.cnf",
        "-out",
        "short.crt",
    ]);
    let pem = [
        std::fs::read_to_string(dir.join("short.crt")).unwrap(),
        std::fs::read_to_string(&ca).unwrap(),
        std::fs::read_to_string(dir.join("short.key")).unwrap(),
    ]
    .concat();
    let path = dir.join("short.pem");
    std::fs::write(&path, pem).unwrap();
    path
}

/// `kim clientmodul serve -c config` until dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(config: &Path) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kim"))
        .args(["clientmodul", "serve", "-c", config.to_str().unwrap()])
        .env("KIM_CM_LOG_DIR", config.parent().unwrap().join("log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("smtp "), "{line:?}");
    Serve(child)
}

/// A renewal setup: config with `extra`, the short-lived key pair, FD credentials of
/// practice A.
fn renewal_practice(sandbox: &Sandbox, dir: &Path, extra: &str) -> PathBuf {
    let config = practice_config(sandbox, dir, extra);
    let pki = Path::new(&sandbox.s("/state_dir")).join("pki");
    let pem = short_lived_certificate(&pki, dir, 10);
    let key_store = dir.join("keyStore");
    keytool(
        "add-client-keypair",
        "-k",
        &key_store,
        &["-o", "FD", pem.to_str().unwrap()],
        "",
    );
    keytool(
        "add-client-password",
        "-k",
        &key_store,
        &["-o", "FD", "-u", "-p"],
        &format!(
            "{}\n{}\n",
            sandbox.s("/mailboxes/0/address"),
            sandbox.s("/mailboxes/0/password")
        ),
    );
    config
}

fn wait_for(what: &str, mut check: impl FnMut() -> Option<String>) -> String {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn serve_renews_an_expiring_certificate_and_reports_a_failed_renewal() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(&dir.path().join("sandbox"));
    let a = sandbox.s("/mailboxes/0/address");
    let a_password = sandbox.s("/mailboxes/0/password");

    // The Account Manager is not reachable: the renewal fails and practice A's mailbox
    // gets the 4016 notification.
    let broken = dir.path().join("broken");
    let config = renewal_practice(
        &sandbox,
        &broken,
        &format!(
            "clientmodul.fachdienst.account_manager = https://localhost:{}/AccountMgmt/v2.4\n\
             clientmodul.fachdienst.renewal.interval = 3600",
            free_port()
        ),
    );
    let daemon = serve(&config);
    let notice = wait_for("the 4016 notification", || {
        let got = fetch(&sandbox, &a, &a_password, "Mandant1#ClientID1#Workplace1");
        got.contains("X-KIM-Fehlermeldung").then_some(got)
    });
    drop(daemon);
    assert!(notice.contains("X-KIM-Fehlermeldung: 4016"), "{notice}");
    assert!(notice.contains(&format!("To: {a}")), "{notice}");
    assert!(
        notice.contains("Fehlertext: Der KIM-Fachdienst ist nicht erreichbar"),
        "{notice}"
    );
    assert!(list_keystore(&broken).contains("CN=kurzlebig.test"));

    // With the Account Manager: the certificate ending in 10 days is replaced by a new one
    // from createCert, stored in the key store.
    let good = dir.path().join("good");
    let config = renewal_practice(
        &sandbox,
        &good,
        &format!(
            "clientmodul.fachdienst.account_manager = {}\n\
             clientmodul.fachdienst.renewal.interval = 3600",
            sandbox.s("/fachdienst/account_manager_url")
        ),
    );
    assert!(list_keystore(&good).contains("CN=kurzlebig.test"));
    let _daemon = serve(&config);
    let listing = wait_for("the renewed certificate", || {
        let listing = list_keystore(&good);
        (!listing.contains("CN=kurzlebig.test")).then_some(listing)
    });
    assert!(listing.contains(&format!("CN={a}")), "{listing}");
    // Nothing was reported for the successful renewal.
    let got = fetch(&sandbox, &a, &a_password, "Mandant1#ClientID1#Workplace1");
    assert!(!got.contains("X-KIM-Fehlermeldung"), "{got}");
}
