//! `kim clientmodul doctor`: one line per check (`OK`, `WARN`, `FAIL`), then the user names
//! to type into the practice software. Exit code 1 when any check fails.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use kim_cm_config::{CmConfig, KonnektorSettings, Listed, Partner};
use kim_konnektor::client::{Konnektor, KonnektorClient};
use kim_konnektor::model::{CardType, Context, PinType};
use kim_konnektor::ops::{GetCards, GetPinStatus};
use kim_tls::ClientOptions;
use kim_tls::rustls::pki_types::ServerName;
use zeroize::Zeroizing;

use super::keytool::date;
use super::secrets::{read_secret, read_visible};
use super::setup::{self, Stores};
use crate::Outcome;

/// Certificates expiring within this many days are reported as WARN.
const EXPIRY_WARN_DAYS: u64 = 30;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The configuration file.
    #[arg(short = 'c', long = "config", default_value = "cm.properties")]
    pub config: PathBuf,
    /// The practice's KIM address: used in the printed user names and the VZD search.
    #[arg(long)]
    pub address: Option<String>,
    /// Also log in at the Fachdienst: reads the KIM address and its password as two lines
    /// from stdin (or prompts on a terminal).
    #[arg(long)]
    pub login_stdin: bool,
}

/// Collects the check lines.
#[derive(Debug, Default)]
struct Report {
    failed: bool,
}

impl Report {
    fn ok(&mut self, check: &str, detail: impl std::fmt::Display) {
        println!("OK    {check}: {detail}");
    }
    fn warn(&mut self, check: &str, detail: impl std::fmt::Display) {
        println!("WARN  {check}: {detail}");
    }
    fn fail(&mut self, check: &str, detail: impl std::fmt::Display) {
        self.failed = true;
        println!("FAIL  {check}: {detail}");
    }
}

pub async fn doctor(args: &DoctorArgs) -> anyhow::Result<Outcome> {
    let login = if args.login_stdin {
        let address = read_visible("KIM address")?;
        Some((address, read_secret("password")?))
    } else {
        None
    };
    let mut r = Report::default();
    let config = match CmConfig::load(&args.config) {
        Ok(c) => {
            r.ok("configuration", args.config.display());
            c
        }
        Err(e) => {
            r.fail("configuration", format!("{}: {e}", args.config.display()));
            return Ok(Outcome::Negative);
        }
    };
    check_ports(&mut r, &config);
    match Stores::open(&config) {
        Ok(stores) => {
            check_expiry(&mut r, &stores);
            for k in &config.konnektors {
                check_konnektor(&mut r, &config, k, &stores).await;
            }
            check_vzd(&mut r, &config, &stores, args.address.as_deref()).await;
            check_fachdienst(&mut r, &config, &stores, login.as_ref()).await;
        }
        Err(e) => r.fail("stores", format!("{e:#}")),
    }
    let address = login
        .as_ref()
        .map(|(a, _)| a.clone())
        .or_else(|| args.address.clone());
    print_user_names(&config, address.as_deref());
    Ok(if r.failed {
        Outcome::Negative
    } else {
        Outcome::Success
    })
}

fn check_ports(r: &mut Report, config: &CmConfig) {
    let p = &config.proxy;
    for (name, port) in [("smtp", p.smtp_port), ("pop3", p.pop3_port)] {
        let check = format!("{name} port {}:{port}", p.bind);
        match std::net::TcpListener::bind((p.bind, port)) {
            Ok(_) => r.ok(&check, "free"),
            Err(e) => r.fail(
                &check,
                format!("cannot listen: {e} (in use by another program?)"),
            ),
        }
    }
}

fn check_expiry(r: &mut Report, stores: &Stores) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let lists: [(&str, Vec<Listed>); 2] = [
        ("key store", stores.keys.list()),
        ("trust store", stores.trust.list()),
    ];
    for (store, entries) in lists {
        if entries.is_empty() {
            r.warn(store, "empty");
        }
        for e in entries {
            for c in &e.certificates {
                let check = format!("{store} {} certificate {}", e.alias, c.subject);
                let until = date(c.not_after);
                if c.not_after < now {
                    r.fail(&check, format!("expired on {until}"));
                } else if c.not_after < now + EXPIRY_WARN_DAYS * 86_400 {
                    r.warn(
                        &check,
                        format!("expires on {until} (within {EXPIRY_WARN_DAYS} days)"),
                    );
                } else {
                    r.ok(&check, format!("valid until {until}"));
                }
            }
        }
    }
}

async fn check_konnektor(
    r: &mut Report,
    config: &CmConfig,
    k: &KonnektorSettings,
    stores: &Stores,
) {
    let name = format!("konnektor {}", k.id.as_deref().unwrap_or("(default)"));
    let client = match setup::konnektor_client(config, k, stores) {
        Ok(c) => c,
        Err(e) => return r.fail(&name, format!("{e:#}")),
    };
    match client.refresh().await {
        Ok(_) => r.ok(
            &name,
            format!("connector.sds read from {} ({:?})", k.sds_url, k.tls_auth),
        ),
        Err(e) => return r.fail(&name, format!("{}: {e}", k.sds_url)),
    }
    let context = match setup::context(&k.context) {
        Ok(c) => c,
        Err(e) => return r.fail(&format!("{name} context"), e),
    };
    let cards = client
        .get_cards(&GetCards {
            mandant_wide: false,
            context: context.clone(),
            ct_id: None,
            slot_id: None,
            card_type: None,
        })
        .await;
    let cards = match cards {
        Ok(c) => c.cards,
        Err(e) => return r.fail(&format!("{name} GetCards"), e),
    };
    let ids = format!(
        "{}/{}/{}",
        k.context.mandant_id, k.context.client_system_id, k.context.workplace_id
    );
    if cards.iter().any(|c| c.card_type.is_institution()) {
        r.ok(
            &format!("{name} cards"),
            format!("{} card(s) in context {ids}", cards.len()),
        );
    } else {
        r.fail(
            &format!("{name} cards"),
            format!("no SMC-B or HSM-B visible in context {ids}"),
        );
    }
    for card in cards {
        let pin_type = match card.card_type {
            t if t.is_institution() => PinType::Smc,
            CardType::Hba => PinType::Ch,
            _ => continue,
        };
        check_pin(r, &client, &name, &context, card, pin_type).await;
    }
}

async fn check_pin(
    r: &mut Report,
    client: &KonnektorClient,
    name: &str,
    context: &Context,
    card: kim_konnektor::model::CardInfo,
    pin_type: PinType,
) {
    let iccsn = card.iccsn.as_ref().map_or("?", |i| i.as_str()).to_owned();
    let check = format!("{name} card {:?} {iccsn}", card.card_type);
    let status = client
        .get_pin_status(&GetPinStatus {
            context: context.clone(),
            card_handle: card.handle,
            pin_type,
        })
        .await;
    match status {
        Ok(s) => match s.pin_status {
            Some(kim_konnektor::model::PinStatus::Verified) => r.ok(&check, "PIN verified"),
            other => r.warn(
                &check,
                format!("PIN status {other:?}: enter the PIN at the card terminal"),
            ),
        },
        Err(e) => r.fail(&check, format!("GetPinStatus: {e}")),
    }
}

async fn check_vzd(r: &mut Report, config: &CmConfig, stores: &Stores, address: Option<&str>) {
    let check = format!("vzd {}", config.core.vzd_url);
    let client = match setup::vzd_client(config, stores) {
        Ok(c) => c,
        Err(e) => return r.fail(&check, format!("{e:#}")),
    };
    let probe = address.unwrap_or("kim-doctor@probe.kim.telematik");
    let Ok(addr) = kim_types::KimAddress::parse(probe) else {
        return r.fail(&check, format!("{probe:?} is not a KIM address"));
    };
    match client.lookup(&addr).await {
        Ok(entries) if address.is_some() && entries.is_empty() => {
            r.warn(
                &check,
                format!("search works, but {probe} is not in the directory"),
            );
        }
        Ok(entries) => r.ok(
            &check,
            format!("LDAP search answered ({} entries)", entries.len()),
        ),
        Err(e) => r.fail(&check, e),
    }
}

async fn check_fachdienst(
    r: &mut Report,
    config: &CmConfig,
    stores: &Stores,
    login: Option<&(String, Zeroizing<String>)>,
) {
    let Some((host, port)) = &config.fachdienst.smtp else {
        return r.warn(
            "fachdienst",
            "clientmodul.fachdienst.smtp is not set; TLS to the Fachdienst not checked",
        );
    };
    let check = format!("fachdienst {host}:{port}");
    match fachdienst_session(config, stores, host, *port, login).await {
        Ok(detail) => r.ok(&check, detail),
        Err(e) => r.fail(&check, format!("{e:#}")),
    }
}

async fn fachdienst_session(
    config: &CmConfig,
    stores: &Stores,
    host: &str,
    port: u16,
    login: Option<&(String, Zeroizing<String>)>,
) -> anyhow::Result<String> {
    let tls = kim_tls::client_config(ClientOptions {
        trust: stores.anchors(&Partner::Fachdienst)?,
        identity: Some(stores.identity(&Partner::Fachdienst)?),
        danger_accept_any_hostname: config.fachdienst.danger_accept_any_hostname,
    })?;
    let timeout = Duration::from_secs(15);
    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port)))
        .await
        .context("connect timed out")?
        .context("connect")?;
    let name = ServerName::try_from(host.to_owned()).context("host name")?;
    let stream = tokio::time::timeout(
        timeout,
        kim_tls::tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
    )
    .await
    .context("TLS handshake timed out")?
    .context("TLS handshake (client certificate FD)")?;
    let (mut smtp, _) = kim_smtp::client::SmtpClient::connect(stream, timeout)
        .await
        .context("SMTP greeting")?;
    smtp.ehlo(&config.proxy.hostname).await.context("EHLO")?;
    let mut detail = "mutual TLS and SMTP greeting OK".to_owned();
    if let Some((address, password)) = login {
        smtp.auth_plain(address, password)
            .await
            .with_context(|| format!("login of {address}"))?;
        detail = format!("mutual TLS OK, login of {address} OK");
    }
    let _ = smtp.quit().await;
    Ok(detail)
}

/// The SMTP and POP3 user names per configured context (A_21519-02, A_21518-02).
fn print_user_names(config: &CmConfig, address: Option<&str>) {
    for (which, smtp, pop3) in user_names(config, address.unwrap_or("<kim-address>")) {
        println!("USER  smtp user name (konnektor {which}): {smtp}");
        println!("USER  pop3 user name (konnektor {which}): {pop3}");
    }
}

/// (Konnektor, SMTP user name, POP3 user name) per configured Konnektor: the KonnektorId
/// goes to position 5 of the SMTP name and position 6 of the POP3 name (UserId, or `*`,
/// before it).
fn user_names(config: &CmConfig, address: &str) -> Vec<(String, String, String)> {
    let server = |s: &Option<(String, u16)>| {
        s.as_ref()
            .map_or("<fachdienst-host:port>".to_owned(), |(h, p)| {
                format!("{h}:{p}")
            })
    };
    let (smtp_fd, pop3_fd) = (
        server(&config.fachdienst.smtp),
        server(&config.fachdienst.pop3),
    );
    let mut out = Vec::new();
    for k in &config.konnektors {
        let c = &k.context;
        let base = format!("{}#{}#{}", c.mandant_id, c.client_system_id, c.workplace_id);
        let mut smtp = format!("{address}#{smtp_fd}#{base}");
        let mut pop3 = format!("{address}#{pop3_fd}#{base}");
        match (&c.user_id, &k.id) {
            (Some(u), Some(id)) => pop3.push_str(&format!("#{u}#{id}")),
            (Some(u), None) => pop3.push_str(&format!("#{u}")),
            (None, Some(id)) => pop3.push_str(&format!("#*#{id}")),
            (None, None) => {}
        }
        if let Some(id) = &k.id {
            smtp.push_str(&format!("#{id}"));
        }
        out.push((
            k.id.clone().unwrap_or_else(|| "(default)".into()),
            smtp,
            pop3,
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn user_names_per_konnektor_context() {
        let text = "clientmodul.core.konnektor.uri=https://k/connector.sds\n\
            clientmodul.core.konnektor.context.mandantId=M1\n\
            clientmodul.core.konnektor.context.clientSystemId=C1\n\
            clientmodul.core.konnektor.context.workplaceId=W1\n\
            clientmodul.konnektor.Konn_2.uri=https://k2/connector.sds\n\
            clientmodul.konnektor.Konn_2.context.mandantId=M2\n\
            clientmodul.konnektor.Konn_2.context.clientSystemId=C2\n\
            clientmodul.konnektor.Konn_2.context.workplaceId=W2\n\
            clientmodul.konnektor.Konn_2.context.userId=U2\n\
            clientmodul.fachdienst.smtp=fd.example:465\n\
            clientmodul.fachdienst.pop3=fd.example:995\n";
        let config = CmConfig::parse(text, std::path::Path::new(".")).unwrap();
        let names = user_names(&config, "a@x.kim.telematik");
        assert_eq!(
            names[0],
            (
                "(default)".into(),
                "a@x.kim.telematik#fd.example:465#M1#C1#W1".into(),
                "a@x.kim.telematik#fd.example:995#M1#C1#W1".into()
            )
        );
        assert_eq!(
            names[1].1,
            "a@x.kim.telematik#fd.example:465#M2#C2#W2#Konn_2"
        );
        assert_eq!(
            names[1].2,
            "a@x.kim.telematik#fd.example:995#M2#C2#W2#U2#Konn_2"
        );
    }
}
