//! Changes of `cm.properties` while `kim clientmodul serve` runs. The manual's table 4 marks
//! two keys as taking effect without a restart: `clientmodul.core.log.operation` and
//! `clientmodul.proxy.pop3.timeout.client`. The file is looked at every
//! [`POLL_INTERVAL`]; when it changed and is valid, those two are applied and every other
//! changed key is named in a warning (it takes effect at the next start). An invalid file
//! is reported with the loader's error and the running values stay.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use kim_cm_config::CmConfig;

/// How often the file's modification time and length are compared.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The keys `serve` applies while running: those of the manual's table without restart
/// (a test checks that the table has no others).
const LIVE: [&str; 2] = [
    "clientmodul.core.log.operation",
    "clientmodul.proxy.pop3.timeout.client",
];

/// What a valid change means for the running process.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    /// The new configuration (its live keys are to be applied).
    pub config: CmConfig,
    /// Live keys whose value changed.
    pub applied: Vec<String>,
    /// Other keys whose value changed, added or removed: in effect after a restart.
    pub need_restart: Vec<String>,
}

/// The watched file with what was read last.
#[derive(Debug)]
pub struct Watched {
    path: PathBuf,
    stamp: Option<(SystemTime, u64)>,
    entries: BTreeMap<String, String>,
}

impl Watched {
    /// Loads `path` once: its validated configuration, and the watcher starting from that
    /// same text (a change made right after start is seen by the first poll).
    pub fn load(path: &Path) -> anyhow::Result<(Watched, CmConfig)> {
        let stamp = stamp(path);
        let (config, entries) = load_text(path)?;
        let watched = Watched {
            path: path.to_owned(),
            stamp,
            entries,
        };
        Ok((watched, config))
    }

    /// `None` if the file did not change since the last look; else the outcome of loading
    /// it (`Err`: invalid, with the loader's message naming key, value and range).
    pub fn poll(&mut self) -> Option<anyhow::Result<Change>> {
        let now = stamp(&self.path);
        if now == self.stamp {
            return None;
        }
        self.stamp = now;
        let (config, new) = match load_text(&self.path) {
            Ok(loaded) => loaded,
            Err(e) => return Some(Err(e)),
        };
        let changed: BTreeSet<String> = self
            .entries
            .keys()
            .chain(new.keys())
            .filter(|k| self.entries.get(*k) != new.get(*k))
            .cloned()
            .collect();
        self.entries = new;
        let (applied, need_restart) = changed
            .into_iter()
            .partition(|k| LIVE.contains(&k.as_str()));
        Some(Ok(Change {
            config,
            applied,
            need_restart,
        }))
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// One read of the file (UTF-8, else ISO-8859-1, as the loader reads it) for both the
/// validated configuration and the key comparison; errors name the file.
fn load_text(path: &Path) -> anyhow::Result<(CmConfig, BTreeMap<String, String>)> {
    let loaded = std::fs::read(path)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| {
            let text = kim_cm_config::properties::decode(&bytes);
            let base = path.parent().unwrap_or(Path::new("."));
            let config = CmConfig::parse(&text, base)?;
            Ok((config, entries(&text)?))
        });
    loaded.with_context(|| format!("{}", path.display()))
}

/// The entries of a file's text (the loader has refused duplicates already).
fn entries(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(kim_cm_config::properties::parse(text)?
        .into_iter()
        .map(|p| (p.key, p.value))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use kim_cm_config::keys::KEYS;

    use super::*;

    fn example() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cm.properties"),
        )
        .unwrap()
    }

    /// Writes `text` and makes sure the stamp differs (same-second writes of equal length).
    fn write(path: &Path, text: &str, nth: u64) {
        std::fs::write(path, text).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + nth))
            .unwrap();
    }

    #[test]
    fn the_live_keys_are_the_manuals_keys_without_restart() {
        let mut without_restart: Vec<&str> =
            KEYS.iter().filter(|k| !k.restart).map(|k| k.name).collect();
        without_restart.sort_unstable();
        assert_eq!(without_restart, LIVE);
    }

    #[test]
    fn live_keys_apply_and_the_others_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cm.properties");
        let original = example();
        write(&path, &original, 0);
        let (mut watched, _) = Watched::load(&path).unwrap();
        assert!(watched.poll().is_none(), "unchanged");

        assert!(original.contains("clientmodul.core.log.operation = false"));
        assert!(original.contains("clientmodul.proxy.smtp.port = 2525"));
        let changed = original
            .replace(
                "clientmodul.core.log.operation = false",
                "clientmodul.core.log.operation = true",
            )
            .replace(
                "clientmodul.proxy.smtp.port = 2525",
                "clientmodul.proxy.smtp.port = 2526",
            );
        write(&path, &changed, 1);
        let change = watched.poll().unwrap().unwrap();
        assert!(change.config.auth_log.log_operation);
        assert_eq!(change.applied, ["clientmodul.core.log.operation"]);
        assert_eq!(change.need_restart, ["clientmodul.proxy.smtp.port"]);
        assert!(watched.poll().is_none(), "seen");

        // An invalid value: the loader's error names the key; nothing is applied.
        let broken = changed.replace(
            "clientmodul.proxy.pop3.timeout.client = ",
            "clientmodul.proxy.pop3.timeout.client = x",
        );
        assert_ne!(broken, changed);
        write(&path, &broken, 2);
        let error = format!("{:#}", watched.poll().unwrap().unwrap_err());
        assert!(
            error.contains("clientmodul.proxy.pop3.timeout.client"),
            "{error}"
        );
    }
}
