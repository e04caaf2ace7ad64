//! An in-process Fachdienst (SQLite + files) with the three routers on a loopback port, and
//! runners for the real peers (curl, python3, schemathesis).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use kim_fachdienst::{Fachdienst, Policy};
use kim_kas::{
    AccountLimitConfig, KasConfig, KasState, LimitState, ServiceInformation, account_limit_router,
    json_not_found, kas_router, service_information_router,
};
use kim_store::{Account, AccountStore, Contract, FileBlobStore, SqliteStore};

pub const PRAXIS: &str = "praxis.schmidt@test.kim.telematik";
pub const ARZT: &str = "zahnarzt.weber@test.kim.telematik";
pub const APOTHEKE: &str = "apotheke.mueller@test.kim.telematik";
/// Quota of 1 MiB.
pub const KLEIN: &str = "klein@test.kim.telematik";
/// Used for the lock test only.
pub const OPFER: &str = "opfer@test.kim.telematik";
pub const PASSWORD: &str = "Sehr-geheim-1";
pub const PUBLIC_BASE: &str = "https://kas.test.kim.telematik:8443";
/// `maxMailSize` of the test KAS.
pub const MAX: u64 = 4 * 1024 * 1024;
/// Downloads before 429 in the test KAS.
pub const DOWNLOADS: u32 = 3;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub fd: Fachdienst,
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

pub fn service_information() -> ServiceInformation {
    ServiceInformation {
        kim_service_version: "1.5.3;1.5.2".into(),
        password_policy_reg_ex: r"^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z]).{12,256}$".into(),
        password_policy_display: "Mindestens 12 Zeichen, Ziffer, Klein- und Großbuchstabe".into(),
        jwt_expiration: 3600,
        reference_id_required: true,
        initial_password_required: true,
    }
}

fn account(address: &str, hash: &str, quota: i64) -> Account {
    Account {
        quota,
        ..Account::registered(address, "V-100", "1-2.58.00000040", hash, 0)
    }
}

impl Env {
    /// The test KAS: `maxMailSize` [`MAX`], [`DOWNLOADS`] downloads.
    pub async fn start() -> Env {
        let mut config = KasConfig::new(PUBLIC_BASE).unwrap();
        config.max_mail_size = MAX;
        config.download_limit = DOWNLOADS;
        Self::with(config).await
    }

    /// A KAS with `config`.
    pub async fn with(config: KasConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let meta = SqliteStore::open(&dir.path().join("fd.sqlite")).unwrap();
        let blobs = FileBlobStore::open(dir.path().join("blobs"), true)
            .await
            .unwrap();
        let hash = kim_store::password::hash(PASSWORD).unwrap();
        meta.create_contract(&Contract::new(
            "V-100",
            &hash,
            vec!["test.kim.telematik".into()],
            10,
            0,
        ))
        .await
        .unwrap();
        for (a, quota) in [
            (PRAXIS, -1),
            (ARZT, -1),
            (APOTHEKE, 10 * 1024 * 1024 * 1024),
            (KLEIN, 1024 * 1024),
            (OPFER, -1),
        ] {
            meta.create_account(&account(a, &hash, quota))
                .await
                .unwrap();
        }
        let fd = Fachdienst::new(
            Arc::new(meta),
            Arc::new(blobs),
            Policy::new("fd.test.kim.telematik", vec!["test.kim.telematik".into()]),
        );
        let router = kas_router(KasState::new(fd.clone(), config).unwrap())
            .merge(account_limit_router(
                LimitState::new(fd.clone(), AccountLimitConfig::default()).unwrap(),
            ))
            .merge(service_information_router(service_information()).unwrap())
            .fallback(json_not_found);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Env {
            dir,
            fd,
            addr,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The local URL of a shared link.
    pub fn local(&self, shared_link: &str) -> String {
        let path = shared_link
            .strip_prefix(PUBLIC_BASE)
            .unwrap_or_else(|| panic!("link {shared_link} does not start with {PUBLIC_BASE}"));
        self.url(path)
    }

    /// A file of `len` pseudo-random bytes in the temporary directory.
    pub fn data_file(&self, name: &str, len: usize) -> PathBuf {
        let mut x: u32 = 0x2545_f491 ^ len as u32;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let path = self.dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `curl -s -o <out> -w '%{http_code}' <args>`; returns the status and the body.
    pub async fn curl(&self, args: &[&str]) -> (u16, Vec<u8>) {
        let out = self.path(&format!("curl-{}", uuid::Uuid::new_v4()));
        let mut all: Vec<String> = ["-s", "-o", out.to_str().unwrap(), "-w", "%{http_code}"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        all.extend(args.iter().map(|s| (*s).to_owned()));
        let output = run("curl", all).await;
        let code = String::from_utf8_lossy(&output.stdout);
        let status = code.trim().parse().unwrap_or_else(|_| {
            panic!(
                "curl printed no status: {code:?}, stderr {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        let body = std::fs::read(&out).unwrap_or_default();
        (status, body)
    }

    /// Runs a python3 script with `base` (the server URL) defined; returns stdout.
    pub async fn python(&self, script: &str) -> String {
        let program = format!("base = {:?}\n{script}", self.url(""));
        tokio::task::spawn_blocking(move || kim_testkit::peers::python(&program))
            .await
            .unwrap()
    }

    /// Number of KAS blobs on disk.
    pub async fn kas_blobs(&self) -> usize {
        self.fd
            .blobs
            .list(kim_store::Namespace::Kas)
            .await
            .unwrap()
            .len()
    }

    pub fn stop(self) {
        self.server.abort();
    }
}

/// Runs `program` with `args`; a missing program fails the test with the package to install.
pub async fn run(program: &str, args: Vec<String>) -> Output {
    run_in(&std::env::temp_dir(), program, args).await
}

/// [`run`] in directory `dir` (schemathesis keeps a cache in its working directory).
pub async fn run_in(dir: &Path, program: &str, args: Vec<String>) -> Output {
    let (name, dir) = (program.to_owned(), dir.to_owned());
    tokio::task::spawn_blocking(move || Command::new(&name).args(&args).current_dir(dir).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("{program} must be installed (apt-get install -y {program}): {e}")
        })
}

/// Uploads `file` as PRAXIS for `recipients` with curl; returns status and body.
pub async fn upload(env: &Env, user: &str, file: &Path, recipients: &[&str]) -> (u16, Vec<u8>) {
    let auth = format!("{user}:{PASSWORD}");
    let attachment = format!(
        "attachment=@{};type=application/octet-stream;filename=attachment.enc",
        file.display()
    );
    let mut args = vec![
        "-u".to_owned(),
        auth,
        // --form-string: a leading `<` would make curl read a file.
        "--form-string".into(),
        "messageID=<4711@test.kim.telematik>".into(),
        "--form-string".into(),
        format!("expires={}", in_days(10)),
        "-F".into(),
        attachment,
    ];
    for r in recipients {
        args.push("--form-string".into());
        args.push(format!("recipients={r}"));
    }
    args.push(env.url("/attachments/v2.4/attachment/"));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    env.curl(&refs).await
}

/// Uploads and returns the shared link.
pub async fn upload_ok(env: &Env, file: &Path, recipients: &[&str]) -> String {
    let (status, body) = upload(env, PRAXIS, file, recipients).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    json["sharedLink"].as_str().unwrap().to_owned()
}

/// An RFC 5322 date `days` from now (UTC).
pub fn in_days(days: u64) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(days * 86_400);
    let dt = mail_parser::DateTime::from_timestamp(i64::try_from(secs.as_secs()).unwrap());
    dt.to_rfc822()
}
