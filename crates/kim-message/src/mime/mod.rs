//! MIME handling of KOM-LE messages (gemSMIME_KOMLE, gemSpec_CM_KOMLE).
//!
//! Everything here works on whole in-memory byte buffers and is free of I/O, clocks and
//! random numbers: dates, Message-IDs and similar values are passed in by the caller.
//!
//! Main pieces:
//! * [`HeaderBlock`] keeps every header field as its original bytes (name, value, folding,
//!   line ending) so that fields can be copied byte-exactly (KOM-LE-A_2098-03, FAQ "orig-date
//!   byte-identical"); [`address`] extracts addr-specs for the ID 08 comparison.
//! * [`compose`] builds what the sending Clientmodul produces: the prepared Client-Mail
//!   (A_19488-02), the `message/rfc822` wrapper that is signed, the signed-data MIME entity
//!   (KOM-LE-A_2299-01) and the outer KOM-LE message (KOM-LE-A_2097 … A_2102, A_21388-01,
//!   A_22417-01, A_23467); plus the self-forward extraction of KOM-LE-A_2029.
//! * [`outer`] reads a received KOM-LE message and the layers inside it, and compares the
//!   outer with the inner header fields (KOM-LE-A_2048-01, ID 08).
//! * [`deliver`] turns the decrypted inner message into the mail handed to the client:
//!   trace fields (A_21236, A_20628), result headers and Vermerke (KOM-LE-A_2179-02,
//!   KOM-LE-A_2050-05).
//! * [`mod@error_mail`] and [`dsn`] build the error messages on receive (§4.6 of the digest) and the
//!   delivery status notifications on send (A_20650-05).
//! * [`texts`] holds every German literal the specification fixes.
//!
//! Invariants: bytes that the specification requires to be kept (copied header fields, parts
//! that are not modified, embedded messages) are never re-encoded; everything this module
//! generates uses CRLF line endings.

pub mod address;
pub mod compose;
mod content_type;
pub mod deliver;
pub mod dsn;
mod encoding;
mod entity;
pub mod error_mail;
mod errors;
pub mod header;
mod lines;
pub mod outer;
pub mod texts;
mod vermerk;

pub use address::{addr_specs, address_set};
pub use compose::{
    OuterParams, PreparedMail, extract_self_forward, outer_message, prepare_client_mail,
    rfc822_wrap, signed_data_entity,
};
pub use content_type::ContentType;
pub use deliver::{DeliveryResult, build_delivered};
pub use dsn::{DsnParams, DsnRecipient, SendErrorCode, sender_dsn};
pub use error_mail::{
    DecryptionFailure, ErrorMailContext, ErrorMailKind, KasFailure, error_mail,
    integrity_error_mail, kas_error_mail,
};
pub use errors::{MimeError, OuterError};
pub use header::{HeaderBlock, HeaderField};
pub use lines::to_crlf;
pub use outer::{
    OuterContent, OuterMessage, compare_outer_inner, parse_signed_data_entity, unwrap_rfc822,
    version_supported,
};
