//! The records the Fachdienst keeps: contracts, accounts, stored messages, relay queue entries
//! and KAS objects. Times are Unix seconds (UTC) throughout.

use serde::{Deserialize, Serialize};

use crate::blob::BlobKey;

/// A provider contract: the `referenceID` handed to a customer together with an initial
/// password, under which accounts are registered (kim-spec §6.3, manual chapter 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The `referenceID` (≤ 256 characters), the contract id.
    pub reference_id: String,
    /// PHC string of the initial password (see [`crate::password`]).
    pub ini_password_hash: String,
    /// Mail domains accounts of this contract may use (lower case, e.g. `test.kim.telematik`).
    pub domains: Vec<String>,
    /// How many accounts may be registered under this contract.
    pub max_accounts: u32,
    /// Locked by the provider: every account stops sending, receiving and logging in, and the
    /// users cannot lift it (manual §3.6).
    pub locked: bool,
    /// Creation time.
    pub created: i64,
}

impl Contract {
    /// A new contract, not locked.
    #[must_use]
    pub fn new(
        reference_id: &str,
        ini_password_hash: &str,
        domains: Vec<String>,
        max_accounts: u32,
        created: i64,
    ) -> Contract {
        Contract {
            reference_id: reference_id.into(),
            ini_password_hash: ini_password_hash.into(),
            domains,
            max_accounts,
            locked: false,
            created,
        }
    }
}

/// Registration state of an account (`regStat`, plus the end of the deregistration window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegState {
    /// Registered: sends, receives, retrieves.
    Registered,
    /// Deregistered at `since`; POP3 retrieval stays possible until `until` (`deregDate`),
    /// after which the account and its data are deleted (A_19464-03).
    Deregistered {
        /// When the deregistration was requested.
        since: i64,
        /// End of the window (`deregDate`).
        until: i64,
    },
}

/// The out-of-office notification of an account (`OutOfOfficeNotification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutOfOffice {
    /// Whether autoreplies are sent.
    pub active: bool,
    /// First moment autoreplies are sent.
    pub start: i64,
    /// Last moment autoreplies are sent.
    pub end: i64,
    /// The reply text (≤ 2048 characters).
    pub message: String,
}

/// A one-time password for moving an address to another Telematik-ID (getOTP/setTID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otp {
    /// PHC string of the OTP.
    pub hash: String,
    /// Expiry (issued + 7 days).
    pub expires: i64,
}

/// A KIM mail account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The KIM address, lower case; the primary key.
    pub address: String,
    /// Contract the account was registered under.
    pub reference_id: String,
    /// Telematik-ID of the owning SMC-B/HBA (from the registering JWT).
    pub telematik_id: String,
    /// PHC string of the mailbox password.
    pub password_hash: String,
    /// `kimVersion` (`1.0`, `1.5`, `1.5+`).
    pub kim_version: String,
    /// `dataTimeToLive` in days (10..=365).
    pub data_time_to_live: u16,
    /// `noVzdMailEntry`.
    pub no_vzd_mail_entry: bool,
    /// Registration state.
    pub state: RegState,
    /// Consecutive failed logins.
    pub failed_logins: u32,
    /// Locked after too many failed logins; unlocked through the account flows.
    pub locked: bool,
    /// Pending OTP, if any.
    pub otp: Option<Otp>,
    /// Out-of-office settings, `None` before the first update.
    pub out_of_office: Option<OutOfOffice>,
    /// KAS quota in bytes, −1 = unlimited.
    pub quota: i64,
    /// Creation time.
    pub created: i64,
}

impl Account {
    /// A freshly registered account: KIM version `1.5+`, 90 days dataTimeToLive (the
    /// default), no lock, no OTP, no out-of-office, unlimited quota, created at `created`.
    #[must_use]
    pub fn registered(
        address: &str,
        reference_id: &str,
        telematik_id: &str,
        password_hash: &str,
        created: i64,
    ) -> Account {
        Account {
            address: address.to_ascii_lowercase(),
            reference_id: reference_id.into(),
            telematik_id: telematik_id.into(),
            password_hash: password_hash.into(),
            kim_version: "1.5+".into(),
            data_time_to_live: 90,
            no_vzd_mail_entry: false,
            state: RegState::Registered,
            failed_logins: 0,
            locked: false,
            otp: None,
            out_of_office: None,
            quota: -1,
            created,
        }
    }
}

/// A message in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Row id, unique across mailboxes.
    pub id: i64,
    /// Mailbox (KIM address).
    pub mailbox: String,
    /// Persistent unique id for POP3 UIDL (printable ASCII, ≤ 70 characters).
    pub uid: String,
    /// The message bytes as stored (CRLF line ends).
    pub blob: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// Arrival time.
    pub received: i64,
}

/// One recipient of a queued relay entry, with its DSN parameters (RFC 3461).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedRecipient {
    /// The recipient address.
    pub address: String,
    /// NOTIFY keywords as given (`SUCCESS`, `FAILURE`, `DELAY`, `NEVER`), empty = default.
    pub notify: Vec<String>,
    /// ORCPT as given.
    pub orcpt: Option<String>,
}

/// A message waiting to be relayed to another Fachdienst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// Queue id (UUID).
    pub id: String,
    /// The message bytes.
    pub blob: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// Envelope sender (`""` for the null sender of a DSN).
    pub mail_from: String,
    /// RET parameter (`FULL`/`HDRS`), if given.
    pub ret: Option<String>,
    /// ENVID parameter, if given.
    pub envid: Option<String>,
    /// Destination domain; all recipients share it.
    pub domain: String,
    /// Recipients still to deliver.
    pub recipients: Vec<QueuedRecipient>,
    /// Arrival time.
    pub created: i64,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Earliest next attempt.
    pub next_attempt: i64,
    /// Last failure, for the operator and the bounce.
    pub last_error: Option<String>,
}

/// What the MTA accepted for one message: local deliveries and relay entries, stored in one
/// transaction before the `250` is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    /// The committed message blob.
    pub blob: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// Arrival time.
    pub received: i64,
    /// Local mailboxes to deliver to.
    pub local: Vec<String>,
    /// Relay entries (one per destination domain).
    pub relay: Vec<QueueEntry>,
}

/// An object on the attachment service (KAS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KasObject {
    /// Opaque id in the shared link (UUID).
    pub id: String,
    /// Uploading account.
    pub owner: String,
    /// The stored bytes.
    pub blob: BlobKey,
    /// Size in bytes.
    pub size: u64,
    /// `messageID` form field.
    pub message_id: String,
    /// Recipients allowed to download (lower case).
    pub recipients: Vec<String>,
    /// Deletion time (`expires`).
    pub expires: i64,
    /// Upload time.
    pub created: i64,
}

/// Result of recording a failed login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailure {
    /// Consecutive failures including this one.
    pub count: u32,
    /// Whether the account is locked now.
    pub locked: bool,
}

/// Mailbox usage for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Number of messages.
    pub messages: u64,
    /// Bytes.
    pub bytes: u64,
}

/// A KIM address reserved by the registration portal for a contract, until the practice
/// completes the registration with its card (registerAccount with [`Reservation::token_hash`]'s
/// token as `iniPassword`) or the reservation expires (manual §3.1: 96 hours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The reserved address, lower case.
    pub address: String,
    /// The contract it is reserved for.
    pub reference_id: String,
    /// [`crate::password::token_digest`] of the registration token (the token itself is only
    /// in the link mailed to the recovery address).
    pub token_hash: String,
    /// The practice's contact data, moved to [`Profile`] when the registration completes.
    pub profile: Profile,
    /// Creation time.
    pub created: i64,
    /// End of validity; afterwards the address is free again.
    pub expires: i64,
}

/// Contact data of an account given at the registration portal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// The account's address, lower case.
    pub address: String,
    /// Publicly reachable e-mail address for notifications (recovery address).
    pub recovery_email: String,
    /// LANR (lebenslange Arztnummer), if given.
    pub lanr: Option<String>,
    /// BSNR (Betriebsstättennummer), if given.
    pub bsnr: Option<String>,
    /// KZV billing number (dentists), if given.
    pub kzv: Option<String>,
    /// IK number (Institutskennzeichen), if given.
    pub ik: Option<String>,
}

/// What a confirmation link of the portal is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms a deregistration request.
    Deregister,
    /// Confirms an unlock request.
    Unlock,
    /// A certificate download session after login.
    Download,
}

impl TokenPurpose {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Deregister => "deregister",
            TokenPurpose::Unlock => "unlock",
            TokenPurpose::Download => "download",
        }
    }

    /// The purpose with this stored name.
    #[must_use]
    pub fn parse(name: &str) -> Option<TokenPurpose> {
        match name {
            "deregister" => Some(TokenPurpose::Deregister),
            "unlock" => Some(TokenPurpose::Unlock),
            "download" => Some(TokenPurpose::Download),
            _ => None,
        }
    }
}

/// A confirmation link token of the portal, stored by its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalToken {
    /// [`crate::password::token_digest`] of the token.
    pub hash: String,
    /// What it confirms.
    pub purpose: TokenPurpose,
    /// The account it concerns.
    pub address: String,
    /// End of validity.
    pub expires: i64,
}

/// A Clientmodul certificate (PKCS#12) issued for an account and kept for download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalCertificate {
    /// The certificate number shown to the user.
    pub number: i64,
    /// The account's address.
    pub address: String,
    /// The PKCS#12 file (protected by its own password).
    pub pkcs12: Vec<u8>,
    /// Issue time.
    pub created: i64,
    /// Whether it has been downloaded at least once.
    pub downloaded: bool,
}

/// What one purge of the portal's records removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PortalPurge {
    /// Expired reservations (their addresses are free again).
    pub reservations: usize,
    /// Expired confirmation tokens.
    pub tokens: usize,
    /// Certificates and profiles of addresses with neither account nor reservation.
    pub orphans: usize,
}
