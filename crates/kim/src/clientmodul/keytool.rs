//! `kim clientmodul keytool`: the key store and trust store commands of the Clientmodul
//! manual §4.4.5.2–§4.4.5.10 (same names and options; secrets are prompted).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kim_cm_config::{
    Credentials, KeyPair, KeyStore, Listed, Partner, StorePassword, TrustStore, read_certificates,
};

use super::secrets::{read_secret, read_visible, refuse_argument};
use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum KeytoolCommand {
    /// Adds a trusted certificate (PEM, possibly several, or DER) to the trust store.
    AddCertificate {
        #[command(flatten)]
        store: TrustStoreArg,
        /// The alias of the entry (freely chosen).
        #[arg(short = 'a', long = "alias")]
        alias: String,
        /// Trust the certificates only for this partner (KON, KON.ID for KonnektorId ID, FD,
        /// CLIENT); default: for every partner.
        #[arg(short = 'o', long = "other-partner")]
        partner: Option<String>,
        /// The certificate file.
        file: PathBuf,
    },
    /// Adds the Clientmodul's key pair for a partner to the key store.
    AddClientKeypair {
        #[command(flatten)]
        store: KeyStoreArg,
        /// KON, KON.ID (the Konnektor with KonnektorId ID), FD or CLIENT (alias `<partner>_CERTIFICATE-pk`).
        #[arg(short = 'o', long = "other-partner")]
        partner: String,
        /// The file is PKCS#12; its password is prompted (or read from stdin). Without it
        /// the file is PEM with the certificate chain and a PKCS#8 key.
        #[arg(short = 'p', long = "private-key-password")]
        password: bool,
        /// The key file.
        file: PathBuf,
    },
    /// Adds a user name and password (Basic auth) for a partner to the key store; both
    /// are prompted (or read from stdin: user name line, then password line).
    AddClientPassword {
        #[command(flatten)]
        store: KeyStoreArg,
        /// KON, KON.ID (the Konnektor with KonnektorId ID), FD or CLIENT (alias `<partner>_PASSWORD-cred`).
        #[arg(short = 'o', long = "other-partner")]
        partner: String,
        /// Prompt for the user name.
        #[arg(short = 'u', long = "username", num_args = 0..=1, default_missing_value = "")]
        username: Option<String>,
        /// Prompt for the password.
        #[arg(short = 'p', long = "password", num_args = 0..=1, default_missing_value = "")]
        password: Option<String>,
    },
    /// Lists the trust store.
    ListTruststore {
        #[command(flatten)]
        store: TrustStoreArg,
    },
    /// Lists the key store (passwords are never shown).
    ListKeystore {
        #[command(flatten)]
        store: KeyStoreArg,
    },
    /// Removes a trusted certificate entry.
    RemoveCertificate {
        #[command(flatten)]
        store: TrustStoreArg,
        /// The alias to remove.
        #[arg(short = 'a', long = "alias")]
        alias: String,
    },
    /// Removes a partner's key pair.
    RemoveClientKeypair {
        #[command(flatten)]
        store: KeyStoreArg,
        /// KON, KON.ID (the Konnektor with KonnektorId ID), FD or CLIENT.
        #[arg(short = 'o', long = "other-partner")]
        partner: String,
    },
    /// Removes a partner's user name and password.
    RemoveClientPassword {
        #[command(flatten)]
        store: KeyStoreArg,
        /// KON, KON.ID (the Konnektor with KonnektorId ID), FD or CLIENT.
        #[arg(short = 'o', long = "other-partner")]
        partner: String,
    },
}

#[derive(Debug, Args)]
pub struct KeyStoreArg {
    /// The key store file (created on first use).
    #[arg(short = 'k', long = "key-store")]
    pub path: PathBuf,
    /// The per-installation store password file (created with mode 0600 on first use);
    /// default: `store.password` next to the store.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrustStoreArg {
    /// The trust store file (created on first use).
    #[arg(short = 't', long = "trust-store")]
    pub path: PathBuf,
    /// The per-installation store password file (created with mode 0600 on first use);
    /// default: `store.password` next to the store.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
}

fn password(store: &Path, file: Option<&PathBuf>) -> anyhow::Result<StorePassword> {
    let path = match file {
        Some(p) => p.clone(),
        None => store
            .parent()
            .unwrap_or(Path::new("."))
            .join("store.password"),
    };
    Ok(StorePassword::load_or_create(&path)?)
}

pub fn run(cmd: KeytoolCommand) -> anyhow::Result<Outcome> {
    match cmd {
        KeytoolCommand::AddCertificate {
            store,
            alias,
            partner,
            file,
        } => {
            let partner = partner.as_deref().map(Partner::parse).transpose()?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let certs = read_certificates(&file.display().to_string(), &bytes)?;
            with_trust(&store, |ts| {
                ts.set(&alias, partner.as_ref(), &certs);
                println!("added {alias} ({} certificate(s))", certs.len());
                Ok(true)
            })
        }
        KeytoolCommand::AddClientKeypair {
            store,
            partner,
            password,
            file,
        } => {
            let partner = Partner::parse(&partner)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let what = file.display().to_string();
            let pair = if password {
                let secret = read_secret("PKCS#12 password")?;
                KeyPair::from_pkcs12(&what, &bytes, &secret)?
            } else {
                KeyPair::from_pem(&what, &bytes)?
            };
            with_keys(&store, |ks| {
                ks.set_keypair(&partner, pair);
                println!("added {}", partner.keypair_alias());
                Ok(true)
            })
        }
        KeytoolCommand::AddClientPassword {
            store,
            partner,
            username,
            password,
        } => {
            refuse_argument("-u/--username", username.as_ref())?;
            refuse_argument("-p/--password", password.as_ref())?;
            let partner = Partner::parse(&partner)?;
            let user = read_visible("user name")?;
            let secret = read_secret("password")?;
            with_keys(&store, |ks| {
                ks.set_credentials(
                    &partner,
                    Credentials {
                        user,
                        password: secret.to_string(),
                    },
                );
                println!("added {}", partner.password_alias());
                Ok(true)
            })
        }
        KeytoolCommand::ListTruststore { store } => with_trust(&store, |ts| {
            print_listing(&ts.list());
            Ok(false)
        }),
        KeytoolCommand::ListKeystore { store } => with_keys(&store, |ks| {
            print_listing(&ks.list());
            Ok(false)
        }),
        KeytoolCommand::RemoveCertificate { store, alias } => with_trust(&store, |ts| {
            ts.remove(&alias)?;
            println!("removed {alias}");
            Ok(true)
        }),
        KeytoolCommand::RemoveClientKeypair { store, partner } => {
            let partner = Partner::parse(&partner)?;
            with_keys(&store, |ks| {
                ks.remove_keypair(&partner)?;
                println!("removed {}", partner.keypair_alias());
                Ok(true)
            })
        }
        KeytoolCommand::RemoveClientPassword { store, partner } => {
            let partner = Partner::parse(&partner)?;
            with_keys(&store, |ks| {
                ks.remove_credentials(&partner)?;
                println!("removed {}", partner.password_alias());
                Ok(true)
            })
        }
    }
}

/// Opens the key store, runs `f`, saves when `f` says it changed something.
fn with_keys(
    arg: &KeyStoreArg,
    f: impl FnOnce(&mut KeyStore) -> anyhow::Result<bool>,
) -> anyhow::Result<Outcome> {
    let pw = password(&arg.path, arg.password_file.as_ref())?;
    let mut store = KeyStore::open(&arg.path, &pw)?;
    if f(&mut store)? {
        store.save(&pw)?;
    }
    Ok(Outcome::Success)
}

/// Opens the trust store, runs `f`, saves when `f` says it changed something.
fn with_trust(
    arg: &TrustStoreArg,
    f: impl FnOnce(&mut TrustStore) -> anyhow::Result<bool>,
) -> anyhow::Result<Outcome> {
    let pw = password(&arg.path, arg.password_file.as_ref())?;
    let mut store = TrustStore::open(&arg.path, &pw)?;
    if f(&mut store)? {
        store.save(&pw)?;
    }
    Ok(Outcome::Success)
}

fn print_listing(entries: &[Listed]) {
    if entries.is_empty() {
        println!("(empty)");
    }
    for e in entries {
        match &e.user {
            Some(user) if e.kind == "credentials" => {
                println!("{}\t{}\tuser {user}", e.alias, e.kind);
            }
            Some(partner) => println!("{}\t{}\tfor {partner}", e.alias, e.kind),
            None => println!("{}\t{}", e.alias, e.kind),
        }
        for c in &e.certificates {
            println!(
                "\tsubject {}\tissuer {}\tserial {}\tnot after {}",
                c.subject,
                c.issuer,
                c.serial,
                date(c.not_after)
            );
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` of Unix seconds.
pub fn date(unix: u64) -> String {
    let (y, mo, d, h, mi, s) =
        kim_types::time::civil_from_unix(i64::try_from(unix).unwrap_or(i64::MAX));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}
