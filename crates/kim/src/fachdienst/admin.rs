//! Provider administration: contracts (referenceID + initial password + domains), the
//! provider lock (manual §3.6: users cannot lift it), accounts with their mailbox usage,
//! provider-side deregistration and unlock, and the relay queue.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kim_message::cms::der::civil_from_unix;
use kim_store::{Contract, RegState};

use super::ConfigArg;
use super::config::Config;
use crate::Outcome;

/// Length of a deregistration window started by the provider (A_19464-03: at least 30 days).
const DEREGISTRATION_DAYS: i64 = 30;

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Creates a contract and prints its generated initial password once.
    Create(CreateArgs),
    /// Lists contracts with their domains, account counts and lock state.
    List(ConfigArg),
    /// Locks a contract: all its accounts stop sending, receiving and logging in.
    Lock(ContractArg),
    /// Lifts the provider lock of a contract.
    Unlock(ContractArg),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// The contract id (`referenceID`, at most 256 characters).
    #[arg(long)]
    reference_id: String,
    /// Mail domain the contract's accounts may use (repeatable); default: all served domains.
    #[arg(long = "domain")]
    domains: Vec<String>,
    /// How many accounts may be registered under the contract.
    #[arg(long, default_value_t = 1)]
    max_accounts: u32,
}

#[derive(Debug, Args)]
pub struct ContractArg {
    #[command(flatten)]
    config: ConfigArg,
    /// The contract id.
    reference_id: String,
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Lists accounts with state, lock and mailbox usage.
    List(ListArgs),
    /// Deregisters an account (30-day window: retrieval only, then deletion).
    Deregister(AddressArg),
    /// Lifts the lock after wrong passwords.
    Unlock(AddressArg),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Only accounts of this contract.
    #[arg(long)]
    contract: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddressArg {
    #[command(flatten)]
    config: ConfigArg,
    /// The KIM address.
    address: String,
}

async fn open(config: &ConfigArg) -> anyhow::Result<kim_fachdienst::Fachdienst> {
    let config = Config::load(&config.config)?;
    super::open_storage(&config).await
}

pub async fn contract(cmd: ContractCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ContractCommand::Create(args) => create(args).await,
        ContractCommand::List(config) => {
            let fd = open(&config).await?;
            println!(
                "{:<24} {:<8} {:>8} DOMAINS",
                "REFERENCE-ID", "STATE", "ACCOUNTS"
            );
            for c in fd.meta.list_contracts().await? {
                let n = fd.meta.list_accounts(Some(&c.reference_id)).await?.len();
                let state = if c.locked { "locked" } else { "active" };
                println!(
                    "{:<24} {:<8} {:>4}/{:<3} {}",
                    c.reference_id,
                    state,
                    n,
                    c.max_accounts,
                    c.domains.join(",")
                );
            }
            Ok(Outcome::Success)
        }
        ContractCommand::Lock(arg) => set_lock(arg, true).await,
        ContractCommand::Unlock(arg) => set_lock(arg, false).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<Outcome> {
    let config = Config::load(&args.config.config)?;
    let id = args.reference_id.trim();
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        bail!("reference id {id:?}: 1 to 256 printable characters required");
    }
    let domains = if args.domains.is_empty() {
        config.domains.clone()
    } else {
        args.domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect()
    };
    if let Some(d) = domains
        .iter()
        .find(|d| !config.domains.iter().any(|s| s.eq_ignore_ascii_case(d)))
    {
        bail!(
            "--domain {d}: not served by this Fachdienst (domains = {:?})",
            config.domains
        );
    }
    if args.max_accounts == 0 {
        bail!("--max-accounts 0: at least 1 required");
    }
    let fd = super::open_storage(&config).await?;
    if fd.meta.contract(id).await?.is_some() {
        bail!("contract {id:?} exists already");
    }
    let password = initial_password()?;
    fd.meta
        .create_contract(&Contract::new(
            id,
            &kim_store::password::hash(&password)?,
            domains,
            args.max_accounts,
            now(),
        ))
        .await?;
    println!("contract {id} created");
    println!("initial password: {password}");
    Ok(Outcome::Success)
}

async fn set_lock(arg: ContractArg, locked: bool) -> anyhow::Result<Outcome> {
    let fd = open(&arg.config).await?;
    let Some(mut c) = fd.meta.contract(&arg.reference_id).await? else {
        bail!("no contract {:?}", arg.reference_id);
    };
    c.locked = locked;
    fd.meta.update_contract(&c).await?;
    let n = fd.meta.list_accounts(Some(&c.reference_id)).await?.len();
    let what = if locked { "locked" } else { "unlocked" };
    println!("contract {} {what} ({n} accounts)", c.reference_id);
    Ok(Outcome::Success)
}

pub async fn account(cmd: AccountCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AccountCommand::List(args) => {
            let fd = open(&args.config).await?;
            println!(
                "{:<40} {:<18} {:<14} {:<7} {:>8} {:>12}",
                "ADDRESS", "TELEMATIK-ID", "STATE", "LOCKED", "MESSAGES", "BYTES"
            );
            for a in fd.meta.list_accounts(args.contract.as_deref()).await? {
                let usage = fd.meta.usage(&a.address).await?;
                let state = match a.state {
                    RegState::Registered => "registered".to_owned(),
                    RegState::Deregistered { until, .. } => format!("dereg→{}", day(until)),
                };
                println!(
                    "{:<40} {:<18} {:<14} {:<7} {:>8} {:>12}",
                    a.address,
                    a.telematik_id,
                    state,
                    if a.locked { "yes" } else { "no" },
                    usage.messages,
                    usage.bytes
                );
            }
            Ok(Outcome::Success)
        }
        AccountCommand::Deregister(arg) => {
            let fd = open(&arg.config).await?;
            let mut a = existing(&fd, &arg.address).await?;
            if matches!(a.state, RegState::Deregistered { .. }) {
                bail!("{} is deregistered already", a.address);
            }
            let since = now();
            let until = since + DEREGISTRATION_DAYS * 86_400;
            a.state = RegState::Deregistered { since, until };
            fd.meta.update_account(&a).await?;
            println!(
                "{} deregistered; retrieval possible until {}",
                a.address,
                day(until)
            );
            Ok(Outcome::Success)
        }
        AccountCommand::Unlock(arg) => {
            let fd = open(&arg.config).await?;
            let a = existing(&fd, &arg.address).await?;
            fd.meta.clear_login_failures(&a.address).await?;
            println!("{} unlocked", a.address);
            Ok(Outcome::Success)
        }
    }
}

async fn existing(
    fd: &kim_fachdienst::Fachdienst,
    address: &str,
) -> anyhow::Result<kim_store::Account> {
    fd.meta
        .account(&address.to_ascii_lowercase())
        .await?
        .with_context(|| format!("no account {address:?}"))
}

pub async fn queue(config: &ConfigArg) -> anyhow::Result<Outcome> {
    let fd = open(config).await?;
    let entries = fd.meta.queue().await?;
    println!(
        "{:<36} {:<24} {:>10} {:>8} {:<20} LAST ERROR",
        "ID", "DOMAIN", "BYTES", "ATTEMPTS", "NEXT ATTEMPT"
    );
    for e in &entries {
        println!(
            "{:<36} {:<24} {:>10} {:>8} {:<20} {}",
            e.id,
            e.domain,
            e.size,
            e.attempts,
            time(e.next_attempt),
            e.last_error.as_deref().unwrap_or("-")
        );
    }
    println!("{} queued", entries.len());
    Ok(Outcome::Success)
}

/// 20 characters from all four character classes (the password policy's 3 of 4 always met).
fn initial_password() -> anyhow::Result<String> {
    const CLASSES: [&[u8]; 4] = [
        b"abcdefghijkmnopqrstuvwxyz",
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"23456789",
        b"-_.+!*",
    ];
    let mut random = [0u8; 20];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("system random: {e}"))?;
    let password = random
        .iter()
        .enumerate()
        .map(|(i, r)| {
            // The first four characters take one class each, the rest rotate.
            let class = CLASSES.get(i % 4).copied().unwrap_or(CLASSES[0]);
            let c = class
                .get(usize::from(*r) % class.len())
                .copied()
                .unwrap_or(b'x');
            char::from(c)
        })
        .collect();
    Ok(password)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
fn day(t: i64) -> String {
    let (y, m, d, ..) = civil_from_unix(t);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of a Unix time.
fn time(t: i64) -> String {
    let (y, mo, d, h, mi, s) = civil_from_unix(t);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(951_782_400), "2000-02-29");
        assert_eq!(time(1_796_342_400 + 3_723), "2026-12-04 01:02:03");
    }

    #[test]
    fn initial_passwords_meet_the_policy_and_differ() {
        let a = initial_password().unwrap();
        let b = initial_password().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(a.bytes().any(|c| c.is_ascii_lowercase()));
        assert!(a.bytes().any(|c| c.is_ascii_uppercase()));
        assert!(a.bytes().any(|c| c.is_ascii_digit()));
        assert!(a.bytes().any(|c| !c.is_ascii_alphanumeric()));
    }
}
