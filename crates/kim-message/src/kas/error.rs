//! Errors of the KAS format and crypto.

use thiserror::Error;

/// Everything that can go wrong while reading, writing, encrypting or decrypting a
/// KIM-Attachment.
///
/// The variants fall into three groups by blame:
/// - the peer sent something malformed: the JSON structure ([`Self::InvalidJson`],
///   [`Self::MissingField`], [`Self::WrongFieldType`], [`Self::InvalidBase64`],
///   [`Self::WrongLength`]), the mail ([`Self::MalformedMail`]) or the blob
///   ([`Self::TooShort`], [`Self::TagMismatch`], [`Self::HashMismatch`]);
/// - the local input is out of range ([`Self::TooLarge`]);
/// - the environment failed ([`Self::Io`], [`Self::Random`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KasError {
    /// The KIM-Attachment is not a JSON object.
    #[error("KIM-Attachment is not a JSON object: {0}")]
    InvalidJson(String),
    /// A field required by `Attachment_schema.json` is absent.
    #[error("KIM-Attachment lacks the required field `{0}`")]
    MissingField(&'static str),
    /// A field has the wrong JSON type.
    #[error("KIM-Attachment field `{field}` must be {expected}")]
    WrongFieldType {
        /// The field name.
        field: &'static str,
        /// The JSON type the schema requires.
        expected: &'static str,
    },
    /// `k` or `hash` is not standard, padded Base64.
    #[error("KIM-Attachment field `{field}` is not valid Base64: {reason}")]
    InvalidBase64 {
        /// The field name.
        field: &'static str,
        /// What the decoder rejected.
        reason: String,
    },
    /// `k` or `hash` decodes to the wrong number of bytes.
    #[error("KIM-Attachment field `{field}` decodes to {actual} bytes, expected {expected}")]
    WrongLength {
        /// The field name.
        field: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The decoded length in bytes.
        actual: usize,
    },
    /// The mail cannot be processed as an RFC 5322 message.
    #[error("mail is malformed: {0}")]
    MalformedMail(&'static str),
    /// The blob is shorter than IV plus tag (28 bytes).
    #[error("KAS blob has {actual} bytes, less than the {minimum} bytes of IV and tag")]
    TooShort {
        /// Bytes received.
        actual: u64,
        /// Minimum length of a blob.
        minimum: u64,
    },
    /// The AES-GCM tag does not match: wrong key or the blob was altered (A_19371-04).
    #[error("AES-GCM authentication of the KAS blob failed (wrong key or altered data)")]
    TagMismatch,
    /// SHA-256 over the decrypted mail differs from `hash` (A_19372-03).
    #[error("SHA-256 of the decrypted mail data does not match the KIM-Attachment hash")]
    HashMismatch,
    /// The plaintext exceeds what one AES-GCM key/IV pair may encrypt (2^36 - 32 bytes).
    #[error("plaintext exceeds the AES-GCM limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading the input or writing the output failed.
    #[error("I/O error while processing KAS data: {0}")]
    Io(#[from] std::io::Error),
    /// The random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(String),
}

impl KasError {
    /// The gematik error code (`X-KIM-Fehlermeldung`, Tab_Fehlercodes_KOMLE-Clientmodule) this
    /// error maps to on the receive side, if the specification defines one.
    ///
    /// - [`Self::TagMismatch`] and [`Self::TooShort`] ⇒ 4007 (decryption of the KAS mail data
    ///   failed, A_19371-04);
    /// - [`Self::HashMismatch`] ⇒ 4012 (hash mismatch, A_19372-03).
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::TagMismatch | Self::TooShort { .. } => Some(4007),
            Self::HashMismatch => Some(4012),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_gematik_table() {
        assert_eq!(KasError::TagMismatch.code(), Some(4007));
        assert_eq!(
            KasError::TooShort {
                actual: 3,
                minimum: 28
            }
            .code(),
            Some(4007)
        );
        assert_eq!(KasError::HashMismatch.code(), Some(4012));
        assert_eq!(KasError::MissingField("k").code(), None);
        assert_eq!(KasError::Io(std::io::Error::other("x")).code(), None);
    }

    #[test]
    fn messages_name_the_field() {
        let e = KasError::WrongFieldType {
            field: "size",
            expected: "a non-negative integer",
        };
        assert_eq!(
            e.to_string(),
            "KIM-Attachment field `size` must be a non-negative integer"
        );
        assert!(
            KasError::MissingField("hash")
                .to_string()
                .contains("`hash`")
        );
    }
}
