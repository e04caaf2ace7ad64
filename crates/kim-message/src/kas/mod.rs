//! The KIM-Attachment (KAS) format: how a Client-Mail larger than 15 MiB travels through the
//! KIM Attachment Service (gemSpec_CM_KOMLE 3.2.1 / 3.2.2, KIM 1.5).
//!
//! The sender encrypts the whole processed Client-Mail, uploads the blob to the KAS and replaces
//! the mail body by a small JSON structure (the *KIM-Attachment*) that carries the download link,
//! the key, the hash and the size. The receiver finds that structure, downloads the blob,
//! decrypts it and checks the hash.
//!
//! Main items:
//! - [`KimAttachment`]: the JSON structure of `Attachment_schema.json` (A_19359-07), parsed
//!   leniently with [`KimAttachment::parse_json`] and written compactly with
//!   [`KimAttachment::to_json`].
//! - [`attachment_body_part`], [`replace_body_with_attachment`]: the MIME form on the send side
//!   (A_19359-07); [`find_attachments`] and [`contains_kas_part`]: detection on the receive side
//!   (A_19369-02) and the send-side refusal of mails that already carry one (A_22341).
//! - [`encrypt_stream`], [`decrypt_stream`], [`decrypt_to_vec`]: AES-256-GCM (GS-A_5016) over the
//!   blob layout `IV(12) || ciphertext || tag(16)` without AAD (A_19358-01, A_19371-04), together
//!   with SHA-256 over the plaintext (A_19644, checked by [`verify_hash`], A_19372-03). They work
//!   in constant memory on any `Read`/`Write` pair, for mails up to `maxMailSize` (700 MiB);
//!   GCM is assembled from `aes` + `ctr` (Ctr32BE) + `ghash` (module `gcm`), and SHA-256 runs
//!   on a scoped helper thread when a second core is available (module `hasher`).
//!   [`blob_size`] gives the exact upload size in advance (A_22427-01).
//! - [`KasError`]: every failure, with [`KasError::code`] giving the gematik error code
//!   (4007, 4012) where the specification defines one.
//!
//! Invariants:
//! - [`decrypt_stream`] writes plaintext before the tag has been checked. When it returns an
//!   error, everything it wrote is unauthenticated and must be discarded. [`decrypt_to_vec`]
//!   never hands out unverified data.
//! - A key/IV pair is used for exactly one message; [`generate_key_and_iv`] draws both from the
//!   operating system's CSPRNG.
//! - The Debug output of [`KimAttachment`] never shows the key.

mod attachment;
mod error;
mod gcm;
mod hasher;
mod part;
mod stream;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod test_support;

pub use attachment::KimAttachment;
pub use error::KasError;
pub use part::{
    attachment_body_part, contains_kas_part, find_attachments, replace_body_with_attachment,
};
pub use stream::{
    DecryptSummary, EncryptSummary, KAS_IV_LEN, KAS_KEY_LEN, KAS_TAG_LEN, blob_size,
    decrypt_stream, decrypt_to_vec, encrypt_stream, generate_key_and_iv, generate_key_and_iv_from,
    verify_hash,
};
