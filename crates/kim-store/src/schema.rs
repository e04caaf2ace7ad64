//! The SQLite schema. `user_version` counts migrations; each entry below is applied once, in
//! order, inside a transaction.

pub(crate) const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE contracts (
    reference_id TEXT PRIMARY KEY,
    ini_password_hash TEXT NOT NULL,
    domains TEXT NOT NULL,          -- JSON array
    max_accounts INTEGER NOT NULL,
    locked INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE accounts (
    address TEXT PRIMARY KEY,
    reference_id TEXT NOT NULL,
    telematik_id TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    kim_version TEXT NOT NULL,
    data_time_to_live INTEGER NOT NULL,
    no_vzd_mail_entry INTEGER NOT NULL,
    dereg_since INTEGER,            -- NULL = registered
    dereg_until INTEGER,
    failed_logins INTEGER NOT NULL,
    locked INTEGER NOT NULL,
    otp_hash TEXT,
    otp_expires INTEGER,
    out_of_office TEXT,             -- JSON OutOfOffice
    quota INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX accounts_by_contract ON accounts(reference_id);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    mailbox TEXT NOT NULL,
    uid TEXT NOT NULL UNIQUE,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL
);
CREATE INDEX messages_by_mailbox ON messages(mailbox, id);
CREATE INDEX messages_by_blob ON messages(blob);
CREATE TABLE queue (
    id TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    mail_from TEXT NOT NULL,
    ret TEXT,
    envid TEXT,
    domain TEXT NOT NULL,
    recipients TEXT NOT NULL,       -- JSON array of QueuedRecipient
    created INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX queue_by_due ON queue(next_attempt);
CREATE INDEX queue_by_blob ON queue(blob);
CREATE TABLE kas_objects (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,       -- JSON array
    expires INTEGER NOT NULL,
    created INTEGER NOT NULL
);
CREATE INDEX kas_by_owner ON kas_objects(owner);
CREATE INDEX kas_by_expiry ON kas_objects(expires);
CREATE TABLE autoreplies (
    account TEXT NOT NULL,
    sender TEXT NOT NULL,
    day INTEGER NOT NULL,
    PRIMARY KEY (account, sender, day)
);
",
    r"
CREATE TABLE reservations (
    address TEXT PRIMARY KEY,
    reference_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    recovery_email TEXT NOT NULL,
    lanr TEXT,
    bsnr TEXT,
    kzv TEXT,
    ik TEXT,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX reservations_by_expiry ON reservations(expires);
CREATE TABLE account_profiles (
    address TEXT PRIMARY KEY,
    recovery_email TEXT NOT NULL,
    lanr TEXT,
    bsnr TEXT,
    kzv TEXT,
    ik TEXT
);
CREATE TABLE portal_tokens (
    hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    address TEXT NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX portal_tokens_by_expiry ON portal_tokens(expires);
CREATE TABLE portal_certificates (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    pkcs12 BLOB NOT NULL,
    created INTEGER NOT NULL,
    downloaded INTEGER NOT NULL
);
CREATE INDEX portal_certificates_by_address ON portal_certificates(address);
",
];
