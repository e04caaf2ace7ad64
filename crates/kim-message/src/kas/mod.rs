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
//!
//! The whole round trip, send side then receive side:
//!
//! ```
//! use kim_message::kas::*;
//!
//! let client_mail = b"From: <a@x.kim.telematik>\r\nSubject: big\r\n\r\n(20 MiB of mail)\r\n";
//! assert!(!contains_kas_part(client_mail)); // A_22341
//!
//! let (key, iv) = generate_key_and_iv()?;
//! let mut blob = Vec::new(); // in practice a spool file, streamed to the KAS upload
//! let summary = encrypt_stream(&key, &iv, &client_mail[..], &mut blob)?;
//! assert_eq!(summary.blob_size, blob_size(client_mail.len() as u64));
//! let link = "https://kas.example/attachments/v2.4/attachment/1".to_owned(); // from the KAS
//! let att = KimAttachment::from_upload(link, &key, &summary);
//! let kas_mail = replace_body_with_attachment(client_mail, &att)?; // then sign and encrypt
//!
//! let found = find_attachments(&kas_mail)?; // more than one: A_19369-02
//! assert_eq!(found, vec![att.clone()]);
//! let (restored, check) = decrypt_to_vec(&found[0].key()?, blob.as_slice())?; // 4007 on error
//! verify_hash(&found[0], &check)?; // 4012 on error
//! assert_eq!(restored, client_mail);
//! # Ok::<(), KasError>(())
//! ```

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
