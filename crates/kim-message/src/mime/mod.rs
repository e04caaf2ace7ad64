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
//! Sending, in order (the CMS steps are done by the Konnektor and the `cms` module):
//!
//! ```
//! use kim_message::mime::{OuterMessage, OuterParams, outer_message, prepare_client_mail,
//!     rfc822_wrap, signed_data_entity};
//!
//! let mail = b"From: a@x.kim.telematik\nTo: b@y.kim.telematik\nMessage-ID: <1@x>\n\nHallo\n";
//! let prepared = prepare_client_mail(mail)?;            // CRLF, X-KIM-Dienstkennung
//! let econtent = rfc822_wrap(&prepared.bytes);          // signed by SignDocument
//! # let signed_der = b"0\x80".as_slice();
//! let entity = signed_data_entity(signed_der);          // encrypted by EncryptDocument
//! # let auth_enveloped_der = entity.as_slice();
//! let params = OuterParams { kom_le_version: "1.0".into(), ..OuterParams::default() };
//! let outer = outer_message(&prepared.bytes, auth_enveloped_der, &params)?;
//! assert_eq!(OuterMessage::parse(&outer)?.cms, auth_enveloped_der);
//! # assert!(econtent.starts_with(b"Content-Type: message/rfc822\r\n\r\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
    prepare_client_mail_owned, rfc822_wrap, signed_data_entity,
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
    OuterContent, OuterMessage, compare_outer_inner, into_signed_data, parse_signed_data_entity,
    unwrap_rfc822, version_supported,
};
