//! The Fachdienst daemon's configuration file (TOML) and its validation.
//!
//! Every error names the key, the value and what is allowed, so that an operator can fix the
//! file without reading code. Unknown keys are refused (a typo must not silently fall back to
//! a default).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

/// Smallest message size limit accepted: a sealed 15 MiB Client-Mail must fit (≈ 21 MiB after
/// signing, encryption and base64; kim-spec §6.1).
pub const MIN_MESSAGE_SIZE: u64 = 24 * 1024 * 1024;
/// Largest message size limit accepted (1 GiB).
pub const MAX_MESSAGE_SIZE: u64 = 1024 * 1024 * 1024;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Host name used in greetings and generated mail (e.g. `fd.kim.example`).
    pub hostname: String,
    /// Mail domains served by this Fachdienst.
    pub domains: Vec<String>,
    /// Directory of the SQLite database and the message files; created if missing. Relative
    /// paths are taken from the directory of the configuration file.
    pub data_dir: PathBuf,
    /// fsync message files and directories before answering (crash safety). Only benchmarks
    /// of the disk-less case turn it off.
    #[serde(default = "yes")]
    pub fsync: bool,
    /// TLS identity and client CAs.
    pub tls: TlsConfig,
    /// SMTPS submission listener.
    #[serde(default)]
    pub smtp: SmtpConfig,
    /// POP3S retrieval listener.
    #[serde(default)]
    pub pop3: Pop3Config,
}

/// TLS files (PEM).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain of the server (C.FD.TLS-S), leaf first.
    pub chain_pem: PathBuf,
    /// Its PKCS#8 private key.
    pub key_pem: PathBuf,
    /// CA certificates that Clientmodul certificates (C.CM.TLS-CS) must chain to. A client
    /// certificate is always required.
    pub client_ca_pem: PathBuf,
}

/// The SMTPS listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Address to listen on (implicit TLS).
    pub listen: SocketAddr,
    /// Largest message accepted, in bytes (EHLO SIZE).
    pub max_message_size: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 465)),
            max_message_size: 32 * 1024 * 1024,
        }
    }
}

/// The POP3S listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pop3Config {
    /// Address to listen on (implicit TLS).
    pub listen: SocketAddr,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 995)),
        }
    }
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads, parses and validates `path`; relative paths in it are resolved against the
    /// file's directory.
    ///
    /// # Errors
    /// The file cannot be read, is not valid TOML for this schema, or a value is out of range.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("configuration {}", path.display()))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        config.resolve(base);
        config
            .validate()
            .with_context(|| format!("configuration {}", path.display()))?;
        Ok(config)
    }

    fn resolve(&mut self, base: &Path) {
        for p in [
            &mut self.data_dir,
            &mut self.tls.chain_pem,
            &mut self.tls.key_pem,
            &mut self.tls.client_ca_pem,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks every value for its allowed range.
    ///
    /// # Errors
    /// The first value out of range, naming key, value and the allowed values.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !is_host_name(&self.hostname) {
            bail!(
                "hostname = {:?}: expected a DNS host name (letters, digits, '-', '.')",
                self.hostname
            );
        }
        if self.domains.is_empty() {
            bail!("domains = []: at least one mail domain is required");
        }
        for d in &self.domains {
            if !is_host_name(d) || !d.contains('.') {
                bail!("domains: {d:?} is not a mail domain (e.g. \"praxis.kim.telematik\")");
            }
        }
        let size = self.smtp.max_message_size;
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&size) {
            bail!(
                "smtp.max_message_size = {size}: allowed {MIN_MESSAGE_SIZE}..={MAX_MESSAGE_SIZE} \
                 bytes (a sealed 15 MiB mail needs about 21 MiB)"
            );
        }
        if self.smtp.listen == self.pop3.listen && self.smtp.listen.port() != 0 {
            bail!(
                "smtp.listen and pop3.listen are both {}: they need different ports",
                self.smtp.listen
            );
        }
        Ok(())
    }
}

/// Whether `s` is a plausible DNS name: labels of letters, digits and inner hyphens.
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
hostname = "fd.test.kim.telematik"
domains = ["test.kim.telematik"]
data_dir = "data"
[tls]
chain_pem = "fd.pem"
key_pem = "fd.key"
client_ca_pem = "ca.pem"
"#;

    fn parse(text: &str) -> anyhow::Result<Config> {
        let mut c: Config = toml::from_str(text)?;
        c.resolve(Path::new("/etc/kim"));
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn minimal_file_gets_defaults_and_absolute_paths() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.smtp.listen.port(), 465);
        assert_eq!(c.pop3.listen.port(), 995);
        assert!(c.fsync);
        assert_eq!(c.data_dir, PathBuf::from("/etc/kim/data"));
        assert_eq!(c.tls.client_ca_pem, PathBuf::from("/etc/kim/ca.pem"));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse(&format!(
            "{MINIMAL}\n[pop3]\nlisten = \"127.0.0.1:1\"\nport = 3\n"
        ))
        .unwrap_err();
        assert!(format!("{err:#}").contains("port"), "{err:#}");
    }

    #[test]
    fn out_of_range_values_name_key_value_and_range() {
        let err = parse(&format!("{MINIMAL}\n[smtp]\nmax_message_size = 1000\n")).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("smtp.max_message_size = 1000"), "{text}");
        assert!(text.contains("25165824..=1073741824"), "{text}");

        let err =
            parse(&MINIMAL.replace("[\"test.kim.telematik\"]", "[\"bad domain\"]")).unwrap_err();
        assert!(format!("{err:#}").contains("\"bad domain\""));
        let err = parse(&MINIMAL.replace("fd.test.kim.telematik", "-x")).unwrap_err();
        assert!(format!("{err:#}").contains("hostname = \"-x\""));
    }

    #[test]
    fn same_port_for_both_listeners_is_refused() {
        let text = format!(
            "{MINIMAL}\n[smtp]\nlisten = \"127.0.0.1:2000\"\n[pop3]\nlisten = \"127.0.0.1:2000\"\n"
        );
        assert!(format!("{:#}", parse(&text).unwrap_err()).contains("different ports"));
    }
}
