//! SQLite persistence of the Fachdaten written through the maintenance API.
//!
//! One table `fachdaten(telematik_id PRIMARY KEY, fad, body)` where `body` is the `FAD_Req`
//! JSON that validates back into the stored Fachdaten. Writes run in autocommit mode with
//! `synchronous=FULL`, so a write has reached the disk when [`Store::put`] returns.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;

use crate::model::{Fachdaten, FadRequest};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "vzd.sqlite";

/// Storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row does not parse or validate any more.
    #[error("stored Fachdaten of {telematik_id} unreadable: {reason}")]
    Corrupt {
        /// Row key.
        telematik_id: String,
        /// What is wrong.
        reason: String,
    },
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) `<dir>/vzd.sqlite`.
    ///
    /// # Errors
    /// [`StoreError`] when the directory or database cannot be created.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join(DB_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fachdaten (
                telematik_id TEXT PRIMARY KEY,
                fad TEXT NOT NULL,
                body TEXT NOT NULL)",
            [],
        )?;
        Ok(Self { conn })
    }

    /// All stored Fachdaten by Telematik-ID.
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] for a row that no longer validates.
    pub fn load(&self) -> Result<HashMap<String, Fachdaten>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT telematik_id, fad, body FROM fachdaten")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = HashMap::new();
        for row in rows {
            let (tid, fad, body) = row?;
            let corrupt = |reason: String| StoreError::Corrupt {
                telematik_id: tid.clone(),
                reason,
            };
            let req: FadRequest =
                serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?;
            let fachdaten = req
                .validate(&fad, None)
                .map_err(|e| corrupt(e.to_string()))?;
            out.insert(tid, fachdaten);
        }
        Ok(out)
    }

    /// Stores (replaces) the Fachdaten of an entry; an empty list records a deletion.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] when the write fails.
    pub fn put(&self, telematik_id: &str, fachdaten: &Fachdaten) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(&fachdaten.to_request()).map_err(|e| StoreError::Corrupt {
                telematik_id: telematik_id.to_owned(),
                reason: e.to_string(),
            })?;
        self.conn.execute(
            "INSERT INTO fachdaten (telematik_id, fad, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(telematik_id) DO UPDATE SET fad = excluded.fad, body = excluded.body",
            (telematik_id, &fachdaten.fad, &body),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::FadRequestAddress;

    #[test]
    fn put_then_reopen_loads_the_same_fachdaten() {
        let dir = tempfile::tempdir().unwrap();
        let req = FadRequest {
            mail: vec!["a@x.kim.telematik".into()],
            kom_le_data: vec![FadRequestAddress {
                mail: "a@x.kim.telematik".into(),
                version: "1.5+".into(),
                app_tags: vec!["eEB;V1.0".into()],
                no_vzd_mail_entry: false,
            }],
        };
        let f = req.validate("fad1", None).unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.put("1-2.58.1", &f).unwrap();
            s.put("1-2.58.2", &Fachdaten::default()).unwrap();
        }
        let loaded = Store::open(dir.path()).unwrap().load().unwrap();
        assert_eq!(loaded.get("1-2.58.1"), Some(&f));
        assert_eq!(loaded.get("1-2.58.2").map(|f| f.mail.len()), Some(0));
    }
}
