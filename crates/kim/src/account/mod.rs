//! `kim account`: administration of KIM accounts at the Fachdienst's Account Manager
//! (kim-spec §6.3, §7) for administrators and scripts.
//!
//! Every subcommand reads the Clientmodul's `cm.properties` (Konnektor, key store with the
//! Clientmodul's TLS identity towards the Fachdienst, trust store, and
//! `clientmodul.fachdienst.account_manager`), selects a card in the Konnektor context,
//! has the Konnektor sign the Bearer token and calls the Account Manager.
//!
//! Secrets (account password, new password, initial password of the contract, OTP) are
//! never command-line values: each is taken from its environment variable, else from a
//! file option where one exists, else prompted without echo (a line from stdin when stdin
//! is not a terminal, in the order the command names them).

mod session;

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use kim_admin::{AccountUpdate, CardKind, NewAccount, OutOfOffice};
use zeroize::Zeroizing;

use crate::Outcome;
use session::Session;
pub(crate) use session::{am_client, explain, import_fachdienst_keypair};

/// Environment variable with the account's password.
pub const ENV_PASSWORD: &str = "KIM_ACCOUNT_PASSWORD";
/// Environment variable with the new password (`register`, `set --new-password`).
pub const ENV_NEW_PASSWORD: &str = "KIM_ACCOUNT_NEW_PASSWORD";
/// Environment variable with the contract's initial password (`register`).
pub const ENV_INITIAL_PASSWORD: &str = "KIM_ACCOUNT_INITIAL_PASSWORD";
/// Environment variable with the one-time password (`set-tid`).
pub const ENV_OTP: &str = "KIM_ACCOUNT_OTP";

/// The risk notice of A_23505 shown before consenting to large messages (`1.5+`).
pub const RISK_NOTICE: &str = "Hinweis zur Einwilligung in den Empfang großer Nachrichten \
(KIM-Version 1.5+): Nachrichten über 15 MiB werden verschlüsselt im KIM-Attachment-Service \
(KAS) des Anbieters abgelegt und beim Abruf von dort geladen. Clientmodule, die nur KIM 1.0 \
unterstützen, können solche Nachrichten nicht entschlüsseln; das Primärsystem muss große \
Nachrichten verarbeiten können. Mit --accept-risk bestätigen Sie, dass Sie diese Hinweise \
zur Kenntnis genommen haben.";

#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: AccountCommand,
}

/// Options of every subcommand.
#[derive(Debug, Args)]
pub struct Common {
    /// The Clientmodul configuration (Konnektor, key store, trust store, Account Manager
    /// URL `clientmodul.fachdienst.account_manager`).
    #[arg(
        short = 'c',
        long = "config",
        default_value = "cm.properties",
        global = true
    )]
    pub config: PathBuf,
    /// The Konnektor section (`clientmodul.konnektor.<KonnektorId>`); default: the default
    /// Konnektor.
    #[arg(long, global = true)]
    pub konnektor_id: Option<String>,
    /// MandantId of the Konnektor context (default: the configuration's).
    #[arg(long, global = true)]
    pub mandant: Option<String>,
    /// ClientSystemId of the Konnektor context (default: the configuration's).
    #[arg(long, global = true)]
    pub client_system: Option<String>,
    /// WorkplaceId of the Konnektor context (default: the configuration's).
    #[arg(long, global = true)]
    pub workplace: Option<String>,
    /// UserId of the Konnektor context (needed for an HBA; default: the configuration's).
    #[arg(long, global = true)]
    pub user_id: Option<String>,
    /// The card that authenticates: SMC-B or HBA (default: the first card matching
    /// `--telematik-id`, else the first SMC-B, else the first HBA).
    #[arg(long, value_enum, global = true)]
    pub card: Option<Card>,
    /// The Telematik-ID of the card that authenticates.
    #[arg(long, global = true)]
    pub telematik_id: Option<String>,
    /// A file whose first line is the account's password (instead of the prompt or
    /// `KIM_ACCOUNT_PASSWORD`).
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Card {
    /// Institution card (SMC-B).
    Smcb,
    /// Health professional card (HBA).
    Hba,
}

impl From<Card> for CardKind {
    fn from(c: Card) -> CardKind {
        match c {
            Card::Smcb => CardKind::SmcB,
            Card::Hba => CardKind::Hba,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Registers a new KIM address for the card's Telematik-ID. Prompts for the initial
    /// password of the contract (if the provider requires one) and the new account's
    /// password; both are checked before the call.
    Register {
        /// The new KIM address.
        address: String,
        /// The contract's reference id (referenceID).
        #[arg(long)]
        reference_id: Option<String>,
        /// `1.0`, `1.5` or `1.5+` (`1.5+`: consent to large messages, needs --accept-risk).
        #[arg(long)]
        kim_version: Option<String>,
        /// dataTimeToLive in days (10-365).
        #[arg(long)]
        data_time_to_live: Option<u16>,
        /// Do not publish the address in the VZD.
        #[arg(long)]
        no_vzd_entry: bool,
        /// Confirms the risk notice for `--kim-version 1.5+` (A_23505).
        #[arg(long)]
        accept_risk: bool,
        /// A file whose first line is the contract's initial password.
        #[arg(long)]
        initial_password_file: Option<PathBuf>,
        /// A file whose first line is the new account's password.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
    /// Prints the account (registration state, KIM version, dataTimeToLive, …).
    Show {
        address: String,
        /// Prints the Account Manager's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Changes the password, the KIM version or dataTimeToLive.
    Set {
        address: String,
        /// Sets a new password (prompted or `KIM_ACCOUNT_NEW_PASSWORD`, after the current).
        #[arg(long, num_args = 0..=1, default_missing_value = "")]
        new_password: Option<String>,
        /// A file whose first line is the new password.
        #[arg(long)]
        new_password_file: Option<PathBuf>,
        /// `1.0`, `1.5` or `1.5+` (`1.5+` needs --accept-risk).
        #[arg(long)]
        kim_version: Option<String>,
        /// dataTimeToLive in days (10-365).
        #[arg(long)]
        data_time_to_live: Option<u16>,
        /// Confirms the risk notice for `--kim-version 1.5+` (A_23505).
        #[arg(long)]
        accept_risk: bool,
    },
    /// Shows or changes the out-of-office notice.
    OutOfOffice {
        address: String,
        /// Switches the notice on (needs --from, --until and --message the first time).
        #[arg(long, conflicts_with = "off")]
        on: bool,
        /// Switches the notice off.
        #[arg(long)]
        off: bool,
        /// Start (RFC 3339, e.g. 2026-12-24T00:00:00Z).
        #[arg(long)]
        from: Option<String>,
        /// End (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// The reply text.
        #[arg(long)]
        message: Option<String>,
    },
    /// Requests the one-time password for moving the address to another card (printed).
    Otp { address: String },
    /// Moves the address to the card chosen by --card/--telematik-id (the new card); asks
    /// for the account password and the OTP.
    SetTid { address: String },
    /// Has the Fachdienst issue a new TLS certificate for the Clientmodul and imports it
    /// into the key store as the Fachdienst key pair (FD_CERTIFICATE-pk).
    Cert {
        address: String,
        /// commonName of the certificate (default: the address).
        #[arg(long)]
        common_name: Option<String>,
        /// Writes the PKCS#12 to this file (protected by a printed random password)
        /// instead of importing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Deregisters the account (it can be restored for 30 days).
    Deregister { address: String },
    /// Takes back a deregistration within its 30 days.
    RevokeDeregistration { address: String },
}

pub fn run(args: AccountArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(dispatch(args))
}

async fn dispatch(args: AccountArgs) -> anyhow::Result<Outcome> {
    let common = &args.common;
    match args.command {
        AccountCommand::Register {
            address,
            reference_id,
            kim_version,
            data_time_to_live,
            no_vzd_entry,
            accept_risk,
            initial_password_file,
            new_password_file,
        } => {
            if let Err(reason) = kim_admin::check_address(&address) {
                bail!("{reason}");
            }
            risk_consent(kim_version.as_deref(), accept_risk)?;
            let session = Session::open(common).await?;
            let info = session
                .am
                .service_information(session.am.origin())
                .await
                .map_err(session::explain)?;
            if info.reference_id_required == Some(true) && reference_id.is_none() {
                bail!("Der Anbieter verlangt eine Referenz-ID (--reference-id).");
            }
            let ini_password = if info.initial_password_required != Some(false) {
                Some(secret(
                    "initial password of the contract",
                    ENV_INITIAL_PASSWORD,
                    initial_password_file.as_ref(),
                )?)
            } else {
                None
            };
            let password = secret(
                "password of the new account",
                ENV_NEW_PASSWORD,
                new_password_file.as_ref(),
            )?;
            check_policy(&info, &password)?;
            let card = session.card().await?;
            let jwt = session.jwt(&card).await?;
            let account = NewAccount {
                reference_id,
                username: address.clone(),
                password,
                kim_version,
                data_time_to_live,
                no_vzd_mail_entry: no_vzd_entry.then_some(true),
            };
            session
                .am
                .register(&jwt, &account, ini_password.as_deref().map(|s| s.as_str()))
                .await
                .map_err(session::explain)?;
            println!(
                "registered {address} for {} {} ({})",
                card.kind, card.telematik_id, card.holder
            );
        }
        AccountCommand::Show { address, json } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            let account = session
                .am
                .get(&jwt, &address, &password)
                .await
                .map_err(session::explain)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&account)?);
            } else {
                print_account(&account);
            }
        }
        AccountCommand::Set {
            address,
            new_password,
            new_password_file,
            kim_version,
            data_time_to_live,
            accept_risk,
        } => {
            crate::clientmodul::refuse_argument("--new-password", new_password.as_ref())?;
            let change_password = new_password.is_some() || new_password_file.is_some();
            if !change_password && kim_version.is_none() && data_time_to_live.is_none() {
                bail!(
                    "nothing to change: give --new-password, --kim-version or \
                     --data-time-to-live"
                );
            }
            risk_consent(kim_version.as_deref(), accept_risk)?;
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let mut update = AccountUpdate {
                kim_version,
                data_time_to_live,
                ..AccountUpdate::default()
            };
            if change_password {
                let new = secret("new password", ENV_NEW_PASSWORD, new_password_file.as_ref())?;
                let info = session
                    .am
                    .service_information(session.am.origin())
                    .await
                    .map_err(session::explain)?;
                check_policy(&info, &new)?;
                update.password = Some(new);
            }
            let jwt = session.jwt(&session.card().await?).await?;
            session
                .am
                .set(&jwt, &address, &password, &update)
                .await
                .map_err(session::explain)?;
            println!("changed {address}");
        }
        AccountCommand::OutOfOffice {
            address,
            on,
            off,
            from,
            until,
            message,
        } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            if on || off {
                let notice = OutOfOffice {
                    start_date: from,
                    end_date: until,
                    message,
                    active: on,
                };
                session
                    .am
                    .update_out_of_office(&jwt, &address, &password, &notice)
                    .await
                    .map_err(session::explain)?;
            }
            let notice = session
                .am
                .get_out_of_office(&jwt, &address, &password)
                .await
                .map_err(session::explain)?;
            println!("out-of-office {}", if notice.active { "on" } else { "off" });
            if let Some(start) = &notice.start_date {
                println!("from {start}");
            }
            if let Some(end) = &notice.end_date {
                println!("until {end}");
            }
            if let Some(text) = &notice.message {
                println!("message {text}");
            }
        }
        AccountCommand::Otp { address } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            let otp = session
                .am
                .get_otp(&jwt, &address, &password)
                .await
                .map_err(session::explain)?;
            println!("{}", otp.as_str());
        }
        AccountCommand::SetTid { address } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let otp = secret("one-time password (OTP)", ENV_OTP, None)?;
            let card = session.card().await?;
            let jwt = session.jwt(&card).await?;
            session
                .am
                .set_tid(&jwt, &address, &password, &otp)
                .await
                .map_err(session::explain)?;
            println!(
                "{address} now belongs to {} {} ({})",
                card.kind, card.telematik_id, card.holder
            );
        }
        AccountCommand::Cert {
            address,
            common_name,
            out,
        } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            let cert_password = random_password()?;
            let cn = common_name.unwrap_or_else(|| address.clone());
            let p12 = session
                .am
                .create_cert(&jwt, &address, &password, &cn, Some(cert_password.as_str()))
                .await
                .map_err(session::explain)?;
            match out {
                Some(path) => {
                    write_private(&path, &p12)?;
                    println!("wrote {}", path.display());
                    println!("PKCS#12 password: {}", cert_password.as_str());
                }
                None => {
                    let pair =
                        kim_cm_config::KeyPair::from_pkcs12("createCert", &p12, &cert_password)?;
                    let summary = session.import_fachdienst_keypair(pair)?;
                    println!("imported {summary}");
                }
            }
        }
        AccountCommand::Deregister { address } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            session
                .am
                .deregister(&jwt, &address, &password)
                .await
                .map_err(session::explain)?;
            println!(
                "deregistered {address}; revoke-deregistration restores it within {} days",
                kim_account_manager::DEREGISTRATION_DAYS
            );
        }
        AccountCommand::RevokeDeregistration { address } => {
            let session = Session::open(common).await?;
            let password = session.password(common)?;
            let jwt = session.jwt(&session.card().await?).await?;
            session
                .am
                .revoke_deregistration(&jwt, &address, &password)
                .await
                .map_err(session::explain)?;
            println!("{address} is registered again");
        }
    }
    Ok(Outcome::Success)
}

/// `1.5+` only with the risk notice confirmed (A_23505).
fn risk_consent(kim_version: Option<&str>, accepted: bool) -> anyhow::Result<()> {
    if kim_version.map(str::trim) == Some("1.5+") {
        eprintln!("{RISK_NOTICE}");
        if !accepted {
            bail!(
                "Die Einwilligung in große Nachrichten (1.5+) erfordert --accept-risk \
                 nach Kenntnisnahme des Hinweises."
            );
        }
    }
    Ok(())
}

/// The provider's password policy, checked before the call.
fn check_policy(info: &kim_admin::ServiceInformation, password: &str) -> anyhow::Result<()> {
    if let Some(regex) = &info.password_policy_reg_ex
        && !kim_admin::check_password(regex, password)
    {
        bail!(
            "Das Passwort entspricht nicht der Passwortrichtlinie des Anbieters: {}",
            info.password_policy_display
                .as_deref()
                .unwrap_or("(keine Beschreibung)")
        );
    }
    Ok(())
}

/// A secret from its environment variable, else the file's first line, else the prompt.
pub fn secret(what: &str, env: &str, file: Option<&PathBuf>) -> anyhow::Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the {what} from {}", path.display()))?,
        );
        let line = text.lines().next().unwrap_or_default();
        if line.is_empty() {
            bail!("{}: the {what} is empty", path.display());
        }
        return Ok(Zeroizing::new(line.to_owned()));
    }
    if let Ok(value) = std::env::var(env) {
        if value.is_empty() {
            bail!("{env} is empty");
        }
        return Ok(Zeroizing::new(value));
    }
    crate::clientmodul::read_secret(what)
}

fn print_account(a: &kim_admin::Account) {
    println!("username {}", a.username);
    let show = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            println!("{name} {v}");
        }
    };
    show("referenceID", a.reference_id.clone());
    show("regStat", a.reg_stat.clone());
    show(
        "deregDate",
        a.dereg_date
            .map(|d| crate::clientmodul::date(u64::try_from(d).unwrap_or_default())),
    );
    show("kimVersion", a.kim_version.clone());
    show("dataTimeToLive", a.data_time_to_live.map(|d| d.to_string()));
    show("maxMailSize", a.max_mail_size.map(|d| d.to_string()));
    show("noVzdMailEntry", a.no_vzd_mail_entry.map(|d| d.to_string()));
}

/// 24 random bytes as hex: the transport password of a createCert PKCS#12.
pub(crate) fn random_password() -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(vec![0u8; 24]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|e| anyhow::anyhow!("random numbers: {e}"))?;
    Ok(Zeroizing::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

/// Writes a file with mode 0600.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
