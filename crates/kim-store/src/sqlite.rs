//! [`SqliteStore`]: every record store on one SQLite database (WAL, `synchronous=FULL`).
//!
//! One connection behind a mutex; every call runs on a blocking thread. Writes that belong
//! together (a message to several mailboxes plus its relay entries) are one transaction.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::blob::BlobKey;
use crate::model::{
    Acceptance, Account, Contract, KasObject, LoginFailure, Otp, OutOfOffice, PortalCertificate,
    PortalPurge, PortalToken, Profile, QueueEntry, QueuedRecipient, RegState, Reservation,
    StoredMessage, TokenPurpose, Usage,
};
use crate::{
    AccountStore, KasStore, MailStore, MetaStore, PortalStore, QueueStore, StoreError, schema,
};

/// Records in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating and migrating) the database file.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    /// An in-memory database (tests of code above the store).
    ///
    /// # Errors
    /// SQLite failed.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let start = usize::try_from(version).unwrap_or(usize::MAX);
        if start > schema::MIGRATIONS.len() {
            return Err(StoreError::Corrupt {
                what: "database".into(),
                reason: format!("schema version {version} is newer than this program"),
            });
        }
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(start) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i + 1).unwrap_or(i64::MAX),
            )?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Task("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

fn to_sql_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

fn size_at(r: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(r.get::<_, i64>(idx)?).unwrap_or(0))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Task(format!("encoding: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

fn blob_key(what: &str, text: &str) -> Result<BlobKey, StoreError> {
    BlobKey::parse(text).map_err(|_| StoreError::Corrupt {
        what: what.to_owned(),
        reason: format!("blob key {text:?}"),
    })
}

fn conflict_or(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict { what: what() }
        }
        other => StoreError::Sqlite(other),
    }
}

fn not_found_if_zero(changed: usize, what: impl FnOnce() -> String) -> Result<(), StoreError> {
    if changed == 0 {
        Err(StoreError::NotFound { what: what() })
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Row mapping

const CONTRACT_COLS: &str =
    "reference_id, ini_password_hash, domains, max_accounts, locked, created";

fn contract_row(r: &Row<'_>) -> rusqlite::Result<(Contract, String)> {
    Ok((
        Contract {
            reference_id: r.get(0)?,
            ini_password_hash: r.get(1)?,
            domains: Vec::new(),
            max_accounts: r.get(3)?,
            locked: r.get(4)?,
            created: r.get(5)?,
        },
        r.get(2)?,
    ))
}

fn finish_contract((mut c, domains): (Contract, String)) -> Result<Contract, StoreError> {
    c.domains = from_json(&format!("contract {}", c.reference_id), &domains)?;
    Ok(c)
}

const ACCOUNT_COLS: &str = "address, reference_id, telematik_id, password_hash, kim_version, \
    data_time_to_live, no_vzd_mail_entry, dereg_since, dereg_until, failed_logins, locked, \
    otp_hash, otp_expires, out_of_office, quota, created";

struct AccountRow {
    account: Account,
    dereg: (Option<i64>, Option<i64>),
    otp: (Option<String>, Option<i64>),
    ooo: Option<String>,
}

fn account_row(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        account: Account {
            address: r.get(0)?,
            reference_id: r.get(1)?,
            telematik_id: r.get(2)?,
            password_hash: r.get(3)?,
            kim_version: r.get(4)?,
            data_time_to_live: r.get(5)?,
            no_vzd_mail_entry: r.get(6)?,
            state: RegState::Registered,
            failed_logins: r.get(9)?,
            locked: r.get(10)?,
            otp: None,
            out_of_office: None,
            quota: r.get(14)?,
            created: r.get(15)?,
        },
        dereg: (r.get(7)?, r.get(8)?),
        otp: (r.get(11)?, r.get(12)?),
        ooo: r.get(13)?,
    })
}

fn finish_account(row: AccountRow) -> Result<Account, StoreError> {
    let mut a = row.account;
    a.state = match row.dereg {
        (Some(since), Some(until)) => RegState::Deregistered { since, until },
        _ => RegState::Registered,
    };
    a.otp = match row.otp {
        (Some(hash), Some(expires)) => Some(Otp { hash, expires }),
        _ => None,
    };
    a.out_of_office = match row.ooo {
        Some(text) => Some(from_json::<OutOfOffice>(
            &format!("account {}", a.address),
            &text,
        )?),
        None => None,
    };
    Ok(a)
}

/// The row values of `a` in [`ACCOUNT_COLS`] order, for INSERT (all) and UPDATE (all but the
/// last, `created`, which never changes).
fn account_values(a: &Account) -> Result<Vec<Value>, StoreError> {
    let (since, until) = match a.state {
        RegState::Registered => (None, None),
        RegState::Deregistered { since, until } => (Some(since), Some(until)),
    };
    Ok(vec![
        a.address.clone().into(),
        a.reference_id.clone().into(),
        a.telematik_id.clone().into(),
        a.password_hash.clone().into(),
        a.kim_version.clone().into(),
        a.data_time_to_live.into(),
        a.no_vzd_mail_entry.into(),
        since.into(),
        until.into(),
        a.failed_logins.into(),
        a.locked.into(),
        a.otp.as_ref().map(|o| o.hash.clone()).into(),
        a.otp.as_ref().map(|o| o.expires).into(),
        a.out_of_office.as_ref().map(json).transpose()?.into(),
        a.quota.into(),
        a.created.into(),
    ])
}

const MESSAGE_COLS: &str = "id, mailbox, uid, blob, size, received";

fn message_row(r: &Row<'_>) -> rusqlite::Result<(StoredMessage, String)> {
    Ok((
        StoredMessage {
            id: r.get(0)?,
            mailbox: r.get(1)?,
            uid: r.get(2)?,
            blob: BlobKey::placeholder(),
            size: size_at(r, 4)?,
            received: r.get(5)?,
        },
        r.get(3)?,
    ))
}

fn finish_message((mut m, blob): (StoredMessage, String)) -> Result<StoredMessage, StoreError> {
    m.blob = blob_key(&format!("message {}", m.id), &blob)?;
    Ok(m)
}

const QUEUE_COLS: &str = "id, blob, size, mail_from, ret, envid, domain, recipients, created, \
    attempts, next_attempt, last_error";

fn queue_row(r: &Row<'_>) -> rusqlite::Result<(QueueEntry, String, String)> {
    Ok((
        QueueEntry {
            id: r.get(0)?,
            blob: BlobKey::placeholder(),
            size: size_at(r, 2)?,
            mail_from: r.get(3)?,
            ret: r.get(4)?,
            envid: r.get(5)?,
            domain: r.get(6)?,
            recipients: Vec::new(),
            created: r.get(8)?,
            attempts: r.get(9)?,
            next_attempt: r.get(10)?,
            last_error: r.get(11)?,
        },
        r.get(1)?,
        r.get(7)?,
    ))
}

fn finish_queue(
    (mut q, blob, rcpts): (QueueEntry, String, String),
) -> Result<QueueEntry, StoreError> {
    let what = format!("queue entry {}", q.id);
    q.blob = blob_key(&what, &blob)?;
    q.recipients = from_json::<Vec<QueuedRecipient>>(&what, &rcpts)?;
    Ok(q)
}

const KAS_COLS: &str = "id, owner, blob, size, message_id, recipients, expires, created";

fn kas_row(r: &Row<'_>) -> rusqlite::Result<(KasObject, String, String)> {
    Ok((
        KasObject {
            id: r.get(0)?,
            owner: r.get(1)?,
            blob: BlobKey::placeholder(),
            size: size_at(r, 3)?,
            message_id: r.get(4)?,
            recipients: Vec::new(),
            expires: r.get(6)?,
            created: r.get(7)?,
        },
        r.get(2)?,
        r.get(5)?,
    ))
}

fn finish_kas((mut k, blob, rcpts): (KasObject, String, String)) -> Result<KasObject, StoreError> {
    let what = format!("KAS object {}", k.id);
    k.blob = blob_key(&what, &blob)?;
    k.recipients = from_json(&what, &rcpts)?;
    Ok(k)
}

const RESERVATION_COLS: &str =
    "address, reference_id, token_hash, recovery_email, lanr, bsnr, kzv, ik, created, expires";

fn reservation_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    let address: String = r.get(0)?;
    Ok(Reservation {
        reference_id: r.get(1)?,
        token_hash: r.get(2)?,
        profile: Profile {
            address: address.clone(),
            recovery_email: r.get(3)?,
            lanr: r.get(4)?,
            bsnr: r.get(5)?,
            kzv: r.get(6)?,
            ik: r.get(7)?,
        },
        address,
        created: r.get(8)?,
        expires: r.get(9)?,
    })
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<(PortalToken, String)> {
    Ok((
        PortalToken {
            hash: r.get(0)?,
            purpose: TokenPurpose::Download,
            address: r.get(2)?,
            expires: r.get(3)?,
        },
        r.get(1)?,
    ))
}

fn finish_token((mut t, purpose): (PortalToken, String)) -> Result<PortalToken, StoreError> {
    t.purpose = TokenPurpose::parse(&purpose).ok_or_else(|| StoreError::Corrupt {
        what: "portal token".into(),
        reason: format!("purpose {purpose:?}"),
    })?;
    Ok(t)
}

/// Whether no message, queue entry or KAS object references `blob` any more.
fn unreferenced(conn: &Connection, blob: &str) -> Result<bool, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM messages WHERE blob = ?1)
              + (SELECT COUNT(*) FROM queue WHERE blob = ?1)
              + (SELECT COUNT(*) FROM kas_objects WHERE blob = ?1)",
        [blob],
        |r| r.get(0),
    )?;
    Ok(n == 0)
}

fn insert_queue(conn: &Connection, q: &QueueEntry) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO queue ({QUEUE_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
        ),
        params![
            q.id,
            q.blob.as_str(),
            to_sql_size(q.size),
            q.mail_from,
            q.ret,
            q.envid,
            q.domain,
            json(&q.recipients)?,
            q.created,
            q.attempts,
            q.next_attempt,
            q.last_error
        ],
    )
    .map_err(|e| conflict_or(e, || format!("queue entry {}", q.id)))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_contract(&self, contract: &Contract) -> Result<(), StoreError> {
        let c = contract.clone();
        self.run(move |conn| {
            conn.execute(
                &format!("INSERT INTO contracts ({CONTRACT_COLS}) VALUES (?1,?2,?3,?4,?5,?6)"),
                params![
                    c.reference_id,
                    c.ini_password_hash,
                    json(&c.domains)?,
                    c.max_accounts,
                    c.locked,
                    c.created
                ],
            )
            .map_err(|e| conflict_or(e, || format!("contract {}", c.reference_id)))?;
            Ok(())
        })
        .await
    }

    async fn contract(&self, reference_id: &str) -> Result<Option<Contract>, StoreError> {
        let id = reference_id.to_owned();
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT {CONTRACT_COLS} FROM contracts WHERE reference_id = ?1"),
                [id],
                contract_row,
            )
            .optional()?
            .map(finish_contract)
            .transpose()
        })
        .await
    }

    async fn update_contract(&self, contract: &Contract) -> Result<(), StoreError> {
        let c = contract.clone();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE contracts SET ini_password_hash = ?2, domains = ?3, max_accounts = ?4,
                 locked = ?5 WHERE reference_id = ?1",
                params![
                    c.reference_id,
                    c.ini_password_hash,
                    json(&c.domains)?,
                    c.max_accounts,
                    c.locked
                ],
            )?;
            not_found_if_zero(n, || format!("contract {}", c.reference_id))
        })
        .await
    }

    async fn list_contracts(&self) -> Result<Vec<Contract>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CONTRACT_COLS} FROM contracts ORDER BY reference_id"
            ))?;
            let rows = stmt.query_map([], contract_row)?;
            rows.map(|r| finish_contract(r?)).collect()
        })
        .await
    }

    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let a = account.clone();
        self.run(move |conn| {
            conn.execute(
                &format!(
                    "INSERT INTO accounts ({ACCOUNT_COLS})
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
                ),
                params_from_iter(account_values(&a)?),
            )
            .map_err(|e| conflict_or(e, || format!("account {}", a.address)))?;
            Ok(())
        })
        .await
    }

    async fn account(&self, address: &str) -> Result<Option<Account>, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE address = ?1"),
                [address],
                account_row,
            )
            .optional()?
            .map(finish_account)
            .transpose()
        })
        .await
    }

    async fn update_account(&self, account: &Account) -> Result<(), StoreError> {
        let a = account.clone();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE accounts SET reference_id = ?2, telematik_id = ?3, password_hash = ?4,
                 kim_version = ?5, data_time_to_live = ?6, no_vzd_mail_entry = ?7,
                 dereg_since = ?8, dereg_until = ?9, failed_logins = ?10, locked = ?11,
                 otp_hash = ?12, otp_expires = ?13, out_of_office = ?14, quota = ?15
                 WHERE address = ?1",
                params_from_iter(account_values(&a)?.into_iter().take(15)),
            )?;
            not_found_if_zero(n, || format!("account {}", a.address))
        })
        .await
    }

    async fn delete_account(&self, address: &str) -> Result<(), StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let n = tx.execute("DELETE FROM accounts WHERE address = ?1", [&address])?;
            tx.execute("DELETE FROM messages WHERE mailbox = ?1", [&address])?;
            tx.execute("DELETE FROM autoreplies WHERE account = ?1", [&address])?;
            tx.commit()?;
            not_found_if_zero(n, || format!("account {address}"))
        })
        .await
    }

    async fn list_accounts(&self, reference_id: Option<&str>) -> Result<Vec<Account>, StoreError> {
        let filter = reference_id.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {ACCOUNT_COLS} FROM accounts
                 WHERE ?1 IS NULL OR reference_id = ?1 ORDER BY address"
            ))?;
            let rows = stmt.query_map([filter], account_row)?;
            rows.map(|r| finish_account(r?)).collect()
        })
        .await
    }

    async fn record_login_failure(
        &self,
        address: &str,
        threshold: u32,
    ) -> Result<LoginFailure, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let row: Option<(u32, bool)> = conn
                .query_row(
                    "UPDATE accounts SET failed_logins = failed_logins + 1,
                     locked = locked OR failed_logins + 1 >= ?2
                     WHERE address = ?1 RETURNING failed_logins, locked",
                    params![address, threshold],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let (count, locked) = row.ok_or_else(|| StoreError::NotFound {
                what: format!("account {address}"),
            })?;
            Ok(LoginFailure { count, locked })
        })
        .await
    }

    async fn clear_login_failures(&self, address: &str) -> Result<(), StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            conn.execute(
                "UPDATE accounts SET failed_logins = 0 WHERE address = ?1 AND failed_logins <> 0",
                [address],
            )?;
            Ok(())
        })
        .await
    }

    async fn autoreply_once(
        &self,
        account: &str,
        sender: &str,
        day: i64,
    ) -> Result<bool, StoreError> {
        let (account, sender) = (account.to_owned(), sender.to_lowercase());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM autoreplies WHERE account = ?1 AND day < ?2",
                params![account, day],
            )?;
            let n = tx.execute(
                "INSERT OR IGNORE INTO autoreplies (account, sender, day) VALUES (?1, ?2, ?3)",
                params![account, sender, day],
            )?;
            tx.commit()?;
            Ok(n == 1)
        })
        .await
    }

    async fn reservation(&self, address: &str) -> Result<Option<Reservation>, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {RESERVATION_COLS} FROM reservations WHERE address = ?1"),
                    [address],
                    reservation_row,
                )
                .optional()?)
        })
        .await
    }

    async fn complete_reservation(&self, address: &str) -> Result<(), StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let r = tx
                .query_row(
                    &format!("SELECT {RESERVATION_COLS} FROM reservations WHERE address = ?1"),
                    [&address],
                    reservation_row,
                )
                .optional()?
                .ok_or_else(|| StoreError::NotFound {
                    what: format!("reservation {address}"),
                })?;
            let p = &r.profile;
            tx.execute(
                "INSERT OR REPLACE INTO account_profiles
                 (address, recovery_email, lanr, bsnr, kzv, ik) VALUES (?1,?2,?3,?4,?5,?6)",
                params![r.address, p.recovery_email, p.lanr, p.bsnr, p.kzv, p.ik],
            )?;
            tx.execute("DELETE FROM reservations WHERE address = ?1", [&address])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl MailStore for SqliteStore {
    async fn accept(&self, acceptance: &Acceptance) -> Result<(), StoreError> {
        let a = acceptance.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            for mailbox in &a.local {
                let uid = uuid::Uuid::new_v4().simple().to_string();
                tx.execute(
                    "INSERT INTO messages (mailbox, uid, blob, size, received)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        mailbox,
                        uid,
                        a.blob.as_str(),
                        to_sql_size(a.size),
                        a.received
                    ],
                )?;
            }
            for q in &a.relay {
                insert_queue(&tx, q)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn mailbox(&self, address: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLS} FROM messages WHERE mailbox = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([address], message_row)?;
            rows.map(|r| finish_message(r?)).collect()
        })
        .await
    }

    async fn delete_messages(
        &self,
        address: &str,
        ids: &[i64],
    ) -> Result<Vec<BlobKey>, StoreError> {
        let (address, ids) = (address.to_owned(), ids.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let mut blobs = Vec::new();
            for id in ids {
                let blob: Option<String> = tx
                    .query_row(
                        "DELETE FROM messages WHERE id = ?1 AND mailbox = ?2 RETURNING blob",
                        params![id, address],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(blob) = blob {
                    blobs.push(blob);
                }
            }
            let mut free = Vec::new();
            for blob in blobs {
                if unreferenced(&tx, &blob)? {
                    free.push(blob_key("message", &blob)?);
                }
            }
            tx.commit()?;
            free.sort();
            free.dedup();
            Ok(free)
        })
        .await
    }

    async fn usage(&self, address: &str) -> Result<Usage, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let (messages, bytes) = conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages WHERE mailbox = ?1",
                [address],
                |r| Ok((size_at(r, 0)?, size_at(r, 1)?)),
            )?;
            Ok(Usage { messages, bytes })
        })
        .await
    }

    async fn expired_messages(&self, now: i64) -> Result<Vec<StoredMessage>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT m.id, m.mailbox, m.uid, m.blob, m.size, m.received
                 FROM messages m JOIN accounts a ON a.address = m.mailbox
                 WHERE m.received + a.data_time_to_live * 86400 < ?1 ORDER BY m.id",
            )?;
            let rows = stmt.query_map([now], message_row)?;
            rows.map(|r| finish_message(r?)).collect()
        })
        .await
    }
}

#[async_trait]
impl QueueStore for SqliteStore {
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<QueueEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {QUEUE_COLS} FROM queue WHERE next_attempt <= ?1
                 ORDER BY next_attempt, created LIMIT ?2"
            ))?;
            let rows = stmt.query_map(params![now, limit], queue_row)?;
            rows.map(|r| finish_queue(r?)).collect()
        })
        .await
    }

    async fn queue(&self) -> Result<Vec<QueueEntry>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {QUEUE_COLS} FROM queue ORDER BY created, id"
            ))?;
            let rows = stmt.query_map([], queue_row)?;
            rows.map(|r| finish_queue(r?)).collect()
        })
        .await
    }

    async fn update_queue_entry(&self, entry: &QueueEntry) -> Result<(), StoreError> {
        let q = entry.clone();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE queue SET recipients = ?2, attempts = ?3, next_attempt = ?4,
                 last_error = ?5 WHERE id = ?1",
                params![
                    q.id,
                    json(&q.recipients)?,
                    q.attempts,
                    q.next_attempt,
                    q.last_error
                ],
            )?;
            not_found_if_zero(n, || format!("queue entry {}", q.id))
        })
        .await
    }

    async fn remove_queue_entry(&self, id: &str) -> Result<Option<BlobKey>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let blob: Option<String> = tx
                .query_row(
                    "DELETE FROM queue WHERE id = ?1 RETURNING blob",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            let free = match blob {
                Some(b) if unreferenced(&tx, &b)? => Some(blob_key("queue entry", &b)?),
                _ => None,
            };
            tx.commit()?;
            Ok(free)
        })
        .await
    }
}

#[async_trait]
impl KasStore for SqliteStore {
    async fn put_object(&self, object: &KasObject) -> Result<(), StoreError> {
        let k = object.clone();
        self.run(move |conn| {
            conn.execute(
                &format!("INSERT INTO kas_objects ({KAS_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"),
                params![
                    k.id,
                    k.owner,
                    k.blob.as_str(),
                    to_sql_size(k.size),
                    k.message_id,
                    json(&k.recipients)?,
                    k.expires,
                    k.created
                ],
            )
            .map_err(|e| conflict_or(e, || format!("KAS object {}", k.id)))?;
            Ok(())
        })
        .await
    }

    async fn object(&self, id: &str) -> Result<Option<KasObject>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            conn.query_row(
                &format!("SELECT {KAS_COLS} FROM kas_objects WHERE id = ?1"),
                [id],
                kas_row,
            )
            .optional()?
            .map(finish_kas)
            .transpose()
        })
        .await
    }

    async fn delete_object(&self, id: &str) -> Result<Option<BlobKey>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let blob: Option<String> = tx
                .query_row(
                    "DELETE FROM kas_objects WHERE id = ?1 RETURNING blob",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            let free = match blob {
                Some(b) if unreferenced(&tx, &b)? => Some(blob_key("KAS object", &b)?),
                _ => None,
            };
            tx.commit()?;
            Ok(free)
        })
        .await
    }

    async fn expired_objects(&self, now: i64) -> Result<Vec<KasObject>, StoreError> {
        self.run(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {KAS_COLS} FROM kas_objects WHERE expires < ?1 ORDER BY expires"
            ))?;
            let rows = stmt.query_map([now], kas_row)?;
            rows.map(|r| finish_kas(r?)).collect()
        })
        .await
    }

    async fn owner_usage(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.run(move |conn| {
            Ok(conn.query_row(
                "SELECT COALESCE(SUM(size), 0) FROM kas_objects WHERE owner = ?1",
                [owner],
                |r| size_at(r, 0),
            )?)
        })
        .await
    }
}

#[async_trait]
impl PortalStore for SqliteStore {
    async fn reserve(&self, reservation: &Reservation, now: i64) -> Result<(), StoreError> {
        let r = reservation.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM reservations WHERE address = ?1 AND expires <= ?2",
                params![r.address, now],
            )?;
            let taken: i64 = tx.query_row(
                "SELECT (SELECT COUNT(*) FROM accounts WHERE address = ?1)
                      + (SELECT COUNT(*) FROM reservations WHERE address = ?1)",
                [&r.address],
                |row| row.get(0),
            )?;
            if taken > 0 {
                return Err(StoreError::Conflict {
                    what: format!("address {}", r.address),
                });
            }
            let p = &r.profile;
            tx.execute(
                &format!(
                    "INSERT INTO reservations ({RESERVATION_COLS})
                     VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
                ),
                params![
                    r.address,
                    r.reference_id,
                    r.token_hash,
                    p.recovery_email,
                    p.lanr,
                    p.bsnr,
                    p.kzv,
                    p.ik,
                    r.created,
                    r.expires
                ],
            )
            .map_err(|e| conflict_or(e, || format!("address {}", r.address)))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn cancel_reservation(&self, address: &str, token_hash: &str) -> Result<(), StoreError> {
        let (address, token_hash) = (address.to_owned(), token_hash.to_owned());
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM reservations WHERE address = ?1 AND token_hash = ?2",
                params![address, token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn profile(&self, address: &str) -> Result<Option<Profile>, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT address, recovery_email, lanr, bsnr, kzv, ik
                     FROM account_profiles WHERE address = ?1",
                    [address],
                    |r| {
                        Ok(Profile {
                            address: r.get(0)?,
                            recovery_email: r.get(1)?,
                            lanr: r.get(2)?,
                            bsnr: r.get(3)?,
                            kzv: r.get(4)?,
                            ik: r.get(5)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn put_token(&self, token: &PortalToken) -> Result<(), StoreError> {
        let t = token.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO portal_tokens (hash, purpose, address, expires)
                 VALUES (?1, ?2, ?3, ?4)",
                params![t.hash, t.purpose.as_str(), t.address, t.expires],
            )
            .map_err(|e| conflict_or(e, || "portal token".into()))?;
            Ok(())
        })
        .await
    }

    async fn token(&self, hash: &str) -> Result<Option<PortalToken>, StoreError> {
        let hash = hash.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "SELECT hash, purpose, address, expires FROM portal_tokens WHERE hash = ?1",
                [hash],
                token_row,
            )
            .optional()?
            .map(finish_token)
            .transpose()
        })
        .await
    }

    async fn take_token(&self, hash: &str) -> Result<Option<PortalToken>, StoreError> {
        let hash = hash.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "DELETE FROM portal_tokens WHERE hash = ?1
                 RETURNING hash, purpose, address, expires",
                [hash],
                token_row,
            )
            .optional()?
            .map(finish_token)
            .transpose()
        })
        .await
    }

    async fn add_certificate(
        &self,
        address: &str,
        pkcs12: &[u8],
        created: i64,
    ) -> Result<i64, StoreError> {
        let (address, pkcs12) = (address.to_owned(), pkcs12.to_vec());
        self.run(move |conn| {
            Ok(conn.query_row(
                "INSERT INTO portal_certificates (address, pkcs12, created, downloaded)
                 VALUES (?1, ?2, ?3, 0) RETURNING number",
                params![address, pkcs12, created],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn certificates(&self, address: &str) -> Result<Vec<PortalCertificate>, StoreError> {
        let address = address.to_owned();
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT number, address, pkcs12, created, downloaded FROM portal_certificates
                 WHERE address = ?1 ORDER BY number",
            )?;
            let rows = stmt.query_map([address], |r| {
                Ok(PortalCertificate {
                    number: r.get(0)?,
                    address: r.get(1)?,
                    pkcs12: r.get(2)?,
                    created: r.get(3)?,
                    downloaded: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn mark_downloaded(&self, number: i64) -> Result<(), StoreError> {
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE portal_certificates SET downloaded = 1 WHERE number = ?1",
                [number],
            )?;
            not_found_if_zero(n, || format!("certificate {number}"))
        })
        .await
    }

    async fn purge_portal(&self, now: i64) -> Result<PortalPurge, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let reservations = tx.execute("DELETE FROM reservations WHERE expires <= ?1", [now])?;
            let tokens = tx.execute("DELETE FROM portal_tokens WHERE expires <= ?1", [now])?;
            let orphan = "address NOT IN (SELECT address FROM accounts)
                          AND address NOT IN (SELECT address FROM reservations)";
            let certificates = tx.execute(
                &format!("DELETE FROM portal_certificates WHERE {orphan}"),
                [],
            )?;
            let profiles =
                tx.execute(&format!("DELETE FROM account_profiles WHERE {orphan}"), [])?;
            tx.commit()?;
            Ok(PortalPurge {
                reservations,
                tokens,
                orphans: certificates + profiles,
            })
        })
        .await
    }
}

#[async_trait]
impl MetaStore for SqliteStore {
    async fn referenced_blobs(&self) -> Result<HashSet<BlobKey>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(
                "SELECT blob FROM messages UNION SELECT blob FROM queue
                 UNION SELECT blob FROM kas_objects",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut set = HashSet::new();
            for r in rows {
                set.insert(blob_key("reference", &r?)?);
            }
            Ok(set)
        })
        .await
    }
}
