//! `kim ti`: the simulated Telematikinfrastruktur on this machine — a software Konnektor
//! (SOAP over HTTPS with software SMC-B/HBA cards) and the directory (VZD over LDAP/LDAPS,
//! with its maintenance REST API) — and control of the simulated card terminals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kim_testkit::pki::TestPki;

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum TiCommand {
    /// Starts the software Konnektor and the VZD and serves until Ctrl-C.
    Serve(ServeArgs),
    /// Lists, inserts or removes the simulated cards of a running `kim ti serve`.
    #[command(subcommand)]
    Card(CardCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// State directory: the test PKI (`pki/`, with `ca-bundle.pem` to trust) and the VZD's
    /// database (`vzd/`). Created if missing; reused on the next start.
    #[arg(long, default_value = "kim-ti")]
    pub data: PathBuf,
    /// Konnektor HTTPS address (`/connector.sds` and the SOAP services).
    #[arg(long, default_value = "127.0.0.1:18443")]
    pub konnektor: SocketAddr,
    /// Konnektor configuration (TOML, see kim-ti-sim's `examples/konnektor.toml`) instead of
    /// the default built from the test PKI.
    #[arg(long)]
    pub konnektor_config: Option<PathBuf>,
    /// VZD LDAP address.
    #[arg(long, default_value = "127.0.0.1:18389")]
    pub ldap: SocketAddr,
    /// VZD LDAPS address.
    #[arg(long, default_value = "127.0.0.1:18636")]
    pub ldaps: SocketAddr,
    /// VZD maintenance API (HTTPS) address.
    #[arg(long, default_value = "127.0.0.1:18444")]
    pub vzd_api: SocketAddr,
    /// Stop after this many seconds (for scripts); default: run until Ctrl-C.
    #[arg(long)]
    pub seconds: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Lists the cards with handle, terminal, slot and PIN states.
    List(AdminArgs),
    /// Inserts a card (it gets a new card handle).
    Insert {
        #[command(flatten)]
        admin: AdminArgs,
        /// ICCSN of the card.
        iccsn: String,
    },
    /// Removes a card (its handle becomes invalid, verified PINs are reset).
    Remove {
        #[command(flatten)]
        admin: AdminArgs,
        /// ICCSN of the card.
        iccsn: String,
    },
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base address of the Konnektor.
    #[arg(long, default_value = "https://127.0.0.1:18443")]
    pub konnektor: String,
    /// CA bundle the Konnektor's certificate chains to.
    #[arg(long, default_value = "kim-ti/pki/ca-bundle.pem")]
    pub trust: PathBuf,
}

pub fn run(cmd: TiCommand) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cmd {
        TiCommand::Serve(args) => runtime.block_on(serve(&args)),
        TiCommand::Card(cmd) => runtime.block_on(card(cmd)),
    }
}

async fn serve(args: &ServeArgs) -> anyhow::Result<Outcome> {
    let pki =
        TestPki::shared_default().map_err(|e| anyhow::anyhow!("generating the test PKI: {e}"))?;
    let pki_dir = args.data.join("pki");
    if !pki_dir.join("ca-bundle.pem").exists() {
        pki.write_dir(&pki_dir, "00")
            .with_context(|| format!("writing the test PKI to {}", pki_dir.display()))?;
    }

    let mut konnektor_config = match &args.konnektor_config {
        Some(path) => kim_ti_sim::SimConfig::load(path)
            .with_context(|| format!("reading {}", path.display()))?,
        None => kim_ti_sim::SimConfig::from_test_pki(pki)?,
    };
    if args.konnektor_config.is_none() {
        konnektor_config.listen = args.konnektor;
    }
    let konnektor = kim_ti_sim::KonnektorSim::start(konnektor_config.clone())
        .await
        .context("starting the Konnektor")?;

    let seeds = vzd_seeds(&konnektor_config)?;
    let vzd_config = kim_vzd_sim::VzdSimConfig {
        data_dir: args.data.join("vzd"),
        ldap_listen: Some(args.ldap),
        ldaps_listen: Some(args.ldaps),
        rest_listen: Some(args.vzd_api),
        rest_https: true,
        tls: Some(kim_vzd_sim::TlsFiles {
            chain_pem: pki_dir.join("tls/konnektor.crt.pem"),
            key_pem: pki_dir.join("tls/konnektor.key.pem"),
            client_ca_pem: Some(pki_dir.join("ca-bundle.pem")),
        }),
        seed_test_pki: false,
        ..kim_vzd_sim::VzdSimConfig::default()
    };
    let token = vzd_config
        .api_clients
        .first()
        .and_then(|c| c.token.clone())
        .unwrap_or_default();
    let vzd =
        kim_vzd_sim::VzdSim::start_with(vzd_config, kim_vzd_sim::StartOptions { tls: None, seeds })
            .await
            .context("starting the VZD")?;

    print_summary(&konnektor, &vzd, &pki_dir, &token);

    match args.seconds {
        Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
        None => tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?,
    }
    konnektor.shutdown().await;
    vzd.shutdown().await;
    println!("stopped");
    Ok(Outcome::Success)
}

/// One directory entry per card of the Konnektor's configuration, so that the VZD lists
/// exactly the cards the Konnektor holds: the card's ENC certificates (RSA and/or ECC), its
/// Telematik-ID, holder and profession OID (Admission), and as KIM addresses (version 1.5)
/// the e-mail addresses in the ENC certificates' subjectAltName.
pub(crate) fn vzd_seeds(
    config: &kim_ti_sim::SimConfig,
) -> anyhow::Result<Vec<kim_vzd_sim::SeedEntry>> {
    use kim_ti_sim::model::{CardKind, KeyRole};
    let mut seeds = Vec::new();
    for card in &config.cards {
        let enc: Vec<&[u8]> = card
            .keys
            .iter()
            .filter(|k| k.role == KeyRole::Enc)
            .map(|k| k.certificate_der.as_slice())
            .collect();
        if enc.is_empty() {
            continue;
        }
        let mut addresses = Vec::new();
        let mut profession_oid = String::new();
        for der in &enc {
            let cert = kim_message::cms::CertInfo::parse(der)
                .with_context(|| format!("ENC certificate of card {}", card.iccsn))?;
            for mail in cert.email_addresses() {
                let address = kim_types::KimAddress::parse(&mail)
                    .with_context(|| format!("address {mail:?} of card {}", card.iccsn))?;
                if !addresses.iter().any(|(a, _)| a == &address) {
                    addresses.push((address, kim_types::KimVersion::V1_5));
                }
            }
            if profession_oid.is_empty()
                && let Ok(Some(admission)) = kim_testkit::pki::Admission::from_certificate_der(der)
                && let Some(oid) = admission.profession_oids.first()
            {
                profession_oid = oid.to_string();
            }
        }
        let (kind, entry_type) = match card.kind {
            CardKind::Smcb | CardKind::Hsmb => (kim_vzd_sim::HolderKind::Institution, "2"),
            CardKind::Hba => (kim_vzd_sim::HolderKind::Person, "1"),
        };
        seeds.push(kim_vzd_sim::SeedEntry {
            telematik_id: kim_types::TelematikId::parse(&card.telematik_id)
                .with_context(|| format!("Telematik-ID of card {}", card.iccsn))?,
            holder: card.holder.clone(),
            kind,
            profession_oid,
            entry_type: entry_type.into(),
            domain_ids: Vec::new(),
            given_name: None,
            surname: None,
            postal: None,
            certificates: enc.iter().map(|d| d.to_vec()).collect(),
            addresses,
            max_kom_le_adr: None,
        });
    }
    Ok(seeds)
}

fn print_summary(
    konnektor: &kim_ti_sim::RunningSim,
    vzd: &kim_vzd_sim::RunningVzd,
    pki_dir: &Path,
    token: &str,
) {
    println!("Simulated TI (TEST-ONLY keys)");
    println!("  Konnektor      {}", konnektor.sds_url());
    println!("  Context        Mandant1 / ClientID1 / Workplace1");
    for card in konnektor.konnektor().cards.list(None) {
        println!(
            "  Card           {} {} ICCSN {} Telematik-ID {} in {} slot {} ({})",
            card.kind.wire(),
            card.holder,
            card.iccsn,
            card.telematik_id,
            card.terminal,
            card.slot,
            card.keys.join(", ")
        );
    }
    if let Some(addr) = vzd.ldap_addr {
        println!("  VZD (LDAP)     ldap://{addr}  base dc=data,dc=vzd");
    }
    if let Some(addr) = vzd.ldaps_addr {
        println!("  VZD (LDAPS)    ldaps://{addr}");
    }
    if let Some(addr) = vzd.rest_addr {
        println!(
            "  VZD API        https://{addr}/DirectoryEntries/<Telematik-ID>/KOM-LE_Fachdaten  (Bearer {token})"
        );
    }
    println!(
        "  Trust          {}",
        pki_dir.join("ca-bundle.pem").display()
    );
    println!("READY");
}

async fn card(cmd: CardCommand) -> anyhow::Result<Outcome> {
    let (admin, path, method) = match &cmd {
        CardCommand::List(admin) => (admin, "/admin/cards".to_string(), reqwest::Method::GET),
        CardCommand::Insert { admin, iccsn } => (
            admin,
            format!("/admin/cards/{}/insert", checked_iccsn(iccsn)?),
            reqwest::Method::POST,
        ),
        CardCommand::Remove { admin, iccsn } => (
            admin,
            format!("/admin/cards/{}/remove", checked_iccsn(iccsn)?),
            reqwest::Method::POST,
        ),
    };
    let trust = kim_tls::TrustAnchors::from_file(&admin.trust)?;
    let tls = kim_tls::client_config(kim_tls::ClientOptions {
        trust,
        identity: None,
        danger_accept_any_hostname: false,
    })?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()?;
    let url = format!("{}{path}", admin.konnektor.trim_end_matches('/'));
    let mut request = client.request(method, &url);
    if !matches!(cmd, CardCommand::List(_)) {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{url}: HTTP {status}: {body}");
    }
    let value: serde_json::Value =
        serde_json::from_str(&body).with_context(|| format!("{url}: not JSON: {body}"))?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(Outcome::Success)
}

fn checked_iccsn(iccsn: &str) -> anyhow::Result<&str> {
    if iccsn.len() == 20 && iccsn.bytes().all(|b| b.is_ascii_digit()) {
        Ok(iccsn)
    } else {
        bail!("ICCSN {iccsn:?}: need exactly 20 digits")
    }
}
