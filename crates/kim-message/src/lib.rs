//! The KOM-LE S/MIME message profile (gemSMIME_KOMLE, gemSpec_CM_KOMLE).
//!
//! - [`cms`]: CMS SignedData and AuthEnvelopedData — a BER-tolerant reader, a DER writer,
//!   signature verification, and (feature `software-keys`) signing and decryption.
//! - [`mime`]: the MIME layers — Client-Mail preparation, the signed-data entity, the outer
//!   message, Vermerke, error mails and DSNs, with every German literal the spec fixes.
//! - [`seal`] and [`open`]: the send and receive pipelines over both. Private-key
//!   operations are traits (`CmsSigner`, `Decryptor`, `SignatureCheck`): the Konnektor
//!   implements them in production.
//! - [`kas`]: the KIM-Attachment format for mails over 15 MiB (streaming AES-256-GCM).
//! - [`inspect`]: a key-less structural report of a message, for support.
//!
//! Invariant: no input panics; every outcome on receive is a message (delivered, error
//! mail, or the original unchanged).

pub mod cms;
pub mod inspect;
pub mod kas;
pub mod mime;
pub mod open;
pub mod seal;
