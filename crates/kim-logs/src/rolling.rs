//! [`RollingFiles`]: the log files on disk (manual §4.6).
//!
//! * Names: `<dir>/<type>-YYYY-MM-DD.log` is the file being written for that day;
//!   `….log.1` is the one before it, `….log.2` the one before that, and so on (UTC dates).
//! * Size: when the next line would take the current file over `max_file_size`, the day's
//!   files shift up by one number and a fresh `….log` starts; the file that would get number
//!   `max_files_per_day` is deleted, so a type keeps at most `max_files_per_day` files per
//!   day. A single line longer than the limit still goes into a file of its own.
//! * Days: the day of a line is the day of its timestamp; the writer never goes back to an
//!   earlier day (a late line from before midnight goes into the new day's file).
//! * Retention: files whose name date lies more than `retain_days` days before today are
//!   deleted when the files are opened and at every day change, which a line of a new day
//!   or, in a quiet process, the writer's periodic [`Sink::tick`] reveals. Files not named by
//!   this scheme are never touched.
//! * Permissions (Unix): the directory is created with mode 0700, files with 0600.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::clock::{date_of_day, day_of};
use crate::writer::{LogKind, Sink};
use crate::{LogConfig, LogError};

const KINDS: [LogKind; 2] = [LogKind::Operation, LogKind::Performance];

/// The file sink: per type per day, size-limited, numbered, with retention.
#[derive(Debug)]
pub struct RollingFiles {
    dir: PathBuf,
    max_files: u32,
    max_size: u64,
    retain_days: u32,
    day: Option<i64>,
    operation: Option<Current>,
    performance: Option<Current>,
}

#[derive(Debug)]
struct Current {
    file: BufWriter<File>,
    size: u64,
}

impl RollingFiles {
    /// Creates the directory if needed and applies retention for the day of `now_unix_ms`.
    /// Files are opened lazily, at their first line.
    ///
    /// # Errors
    ///
    /// [`LogError::Io`] when the directory cannot be created or listed.
    pub fn open(config: &LogConfig, now_unix_ms: i64) -> Result<Self, LogError> {
        let io_err = |source| LogError::Io {
            path: config.dir.clone(),
            source,
        };
        create_dir(&config.dir).map_err(io_err)?;
        let files = Self {
            dir: config.dir.clone(),
            max_files: config.max_files_per_day,
            max_size: config.max_file_size,
            retain_days: config.retain_days,
            day: None,
            operation: None,
            performance: None,
        };
        files.sweep(day_of(now_unix_ms)).map_err(io_err)?;
        Ok(files)
    }

    /// Deletes the files dated more than `retain_days` before `today`.
    fn sweep(&self, today: i64) -> io::Result<()> {
        let cutoff = date_of_day(today.saturating_sub(i64::from(self.retain_days)));
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(parsed) = name.to_str().and_then(parse_name) else {
                continue;
            };
            if parsed.date < cutoff {
                remove_if_exists(&entry.path())?;
            }
        }
        Ok(())
    }

    fn slot(&mut self, kind: LogKind) -> &mut Option<Current> {
        match kind {
            LogKind::Operation => &mut self.operation,
            LogKind::Performance => &mut self.performance,
        }
    }

    fn path(&self, kind: LogKind, day: i64, number: u32) -> PathBuf {
        let (y, m, d) = date_of_day(day);
        let base = format!("{}-{y:04}-{m:02}-{d:02}.log", kind.stem());
        if number == 0 {
            self.dir.join(base)
        } else {
            self.dir.join(format!("{base}.{number}"))
        }
    }

    /// Closes the files of the old day and applies retention for the new one.
    fn change_day(&mut self, day: i64) -> io::Result<()> {
        let mut result = Ok(());
        for kind in KINDS {
            if let Some(mut current) = self.slot(kind).take() {
                result = result.and(current.file.flush());
            }
        }
        self.day = Some(day);
        result.and(self.sweep(day))
    }

    /// Shifts the day's files up by one number and drops the ones beyond the limit.
    fn rotate(&mut self, kind: LogKind, day: i64) -> io::Result<()> {
        if let Some(mut current) = self.slot(kind).take() {
            current.file.flush()?;
        }
        let keep_numbers = self.max_files.saturating_sub(1);
        let (stem, date) = (kind.stem(), date_of_day(day));
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(parsed) = name.to_str().and_then(parse_name) else {
                continue;
            };
            if parsed.stem == stem && parsed.date == date && parsed.number >= keep_numbers {
                remove_if_exists(&entry.path())?;
            }
        }
        for number in (1..keep_numbers).rev() {
            rename_if_exists(
                &self.path(kind, day, number),
                &self.path(kind, day, number + 1),
            )?;
        }
        if keep_numbers >= 1 {
            rename_if_exists(&self.path(kind, day, 0), &self.path(kind, day, 1))?;
        }
        Ok(())
    }
}

impl Sink for RollingFiles {
    fn write_line(&mut self, kind: LogKind, unix_ms: i64, line: &str) -> io::Result<()> {
        let line_day = day_of(unix_ms);
        let day = match self.day {
            Some(current) if current >= line_day => current,
            _ => {
                // A failed retention sweep must not cost the line; it is reported anyway.
                let swept = self.change_day(line_day);
                self.write_in_day(kind, line_day, line)?;
                return swept;
            }
        };
        self.write_in_day(kind, day, line)
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        for kind in KINDS {
            if let Some(current) = self.slot(kind) {
                result = result.and(current.file.flush());
            }
        }
        result
    }

    fn tick(&mut self, now_unix_ms: i64) -> io::Result<()> {
        let today = day_of(now_unix_ms);
        match self.day {
            Some(current) if current >= today => Ok(()),
            _ => self.change_day(today),
        }
    }

    fn close(&mut self) -> io::Result<()> {
        let mut result = self.flush();
        for kind in KINDS {
            if let Some(current) = self.slot(kind).take() {
                result = result.and(current.file.get_ref().sync_data());
            }
        }
        result
    }
}

impl RollingFiles {
    fn write_in_day(&mut self, kind: LogKind, day: i64, line: &str) -> io::Result<()> {
        let len = u64::try_from(line.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let max_size = self.max_size;
        let full = self
            .slot(kind)
            .as_ref()
            .is_some_and(|c| c.size > 0 && c.size.saturating_add(len) > max_size);
        if full {
            self.rotate(kind, day)?;
        }
        if self.slot(kind).is_none() {
            let current = open_file(&self.path(kind, day, 0))?;
            *self.slot(kind) = Some(current);
        }
        let Some(current) = self.slot(kind).as_mut() else {
            return Ok(());
        };
        current.file.write_all(line.as_bytes())?;
        current.file.write_all(b"\n")?;
        current.size = current.size.saturating_add(len);
        if current.size >= max_size {
            // Rotate before the next line so a restart finds the limit respected.
            return self.rotate(kind, day);
        }
        Ok(())
    }
}

/// A log file name taken apart.
#[derive(Debug, PartialEq, Eq)]
struct ParsedName<'a> {
    stem: &'a str,
    date: (i64, u32, u32),
    number: u32,
}

/// `operation-2026-12-04.log.3` → (operation, 2026-12-04, 3); `None` for any other name.
fn parse_name(name: &str) -> Option<ParsedName<'_>> {
    let stem = KINDS
        .iter()
        .map(|k| k.stem())
        .find(|s| name.strip_prefix(s).is_some_and(|r| r.starts_with('-')))?;
    let rest = name.get(stem.len() + 1..)?;
    let date_text = rest.get(..10)?;
    let after = rest.get(10..)?.strip_prefix(".log")?;
    let number = match after {
        "" => 0,
        n => n.strip_prefix('.').filter(|n| is_digits(n))?.parse().ok()?,
    };
    let mut parts = date_text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if ![(y, 4), (m, 2), (d, 2)]
        .iter()
        .all(|(p, l)| p.len() == *l && is_digits(p))
    {
        return None;
    }
    let date = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    Some(ParsedName { stem, date, number })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn open_file(path: &Path) -> io::Result<Current> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path)?;
    narrow_permissions(&file)?;
    let size = file.metadata()?.len();
    Ok(Current {
        file: BufWriter::new(file),
        size,
    })
}

/// Narrows a file left with wider permissions (by hand, by an older version) to 0600.
#[cfg(unix)]
fn narrow_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = file.metadata()?.permissions();
    if permissions.mode() & 0o777 != 0o600 {
        permissions.set_mode(0o600);
        file.set_permissions(permissions)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn narrow_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}

fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_parse() {
        let p = parse_name("operation-2026-12-04.log").unwrap();
        assert_eq!((p.stem, p.date, p.number), ("operation", (2026, 12, 4), 0));
        let p = parse_name("performance-2026-01-31.log.12").unwrap();
        assert_eq!(
            (p.stem, p.date, p.number),
            ("performance", (2026, 1, 31), 12)
        );
        for other in [
            "operation-2026-12-04.txt",
            "operation-2026-12-4.log",
            "operation-2026-12-04.log.",
            "operation-2026-12-04.log.x",
            "operation-2026-12-04.log.+1",
            "operations-2026-12-04.log",
            "audit-2026-12-04.log",
            "operation-2026-12-04.logs",
            "operation-",
        ] {
            assert!(parse_name(other).is_none(), "{other}");
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn single_file_per_day_truncates_by_replacing() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = LogConfig::new(dir.path());
        config.max_files_per_day = 1;
        config.max_file_size = 10;
        let mut files = RollingFiles::open(&config, 0).unwrap();
        for line in ["aaaa", "bbbb", "cccc"] {
            files.write_line(LogKind::Operation, 0, line).unwrap();
        }
        files.close().unwrap();
        assert_eq!(files_in(dir.path()), ["operation-1970-01-01.log"]);
        let text = fs::read_to_string(dir.path().join("operation-1970-01-01.log")).unwrap();
        assert_eq!(text, "cccc\n");
    }

    #[test]
    fn a_tick_on_a_new_day_sweeps_without_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = LogConfig::new(dir.path());
        config.retain_days = 1;
        let day_ms = 86_400_000;
        let mut files = RollingFiles::open(&config, 0).unwrap();
        files.write_line(LogKind::Operation, 0, "day 0").unwrap();
        files.tick(day_ms).unwrap();
        assert_eq!(files_in(dir.path()), ["operation-1970-01-01.log"]);
        files.tick(2 * day_ms + 5).unwrap();
        assert!(files_in(dir.path()).is_empty());
        // Lines keep going to the tick's day from then on.
        files
            .write_line(LogKind::Operation, 2 * day_ms + 6, "day 2")
            .unwrap();
        files.close().unwrap();
        assert_eq!(files_in(dir.path()), ["operation-1970-01-03.log"]);
    }

    #[test]
    fn reopening_appends_to_the_day_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig::new(dir.path());
        for line in ["first", "second"] {
            let mut files = RollingFiles::open(&config, 0).unwrap();
            files.write_line(LogKind::Performance, 5, line).unwrap();
            files.close().unwrap();
        }
        let text = fs::read_to_string(dir.path().join("performance-1970-01-01.log")).unwrap();
        assert_eq!(text, "first\nsecond\n");
    }
}
