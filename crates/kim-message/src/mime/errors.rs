//! Error types of the MIME layer, split by blame.

/// Errors of the MIME layer.
///
/// `Malformed*`, `Unexpected*` and `Missing*` variants blame the input (a peer or the client
/// sent something that is not what the profile requires); `InvalidArgument` blames the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MimeError {
    /// A header block could not be parsed.
    #[error("malformed header block at byte {offset}: {reason}")]
    MalformedHeader {
        /// Byte offset of the offending line.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A header field that must be present is missing.
    #[error("required header field {0} is missing")]
    MissingHeader(&'static str),
    /// A header field has a value the profile does not allow.
    #[error("header field {field} has unexpected value {found:?}, expected {expected}")]
    UnexpectedHeader {
        /// Field name.
        field: &'static str,
        /// What the profile requires.
        expected: &'static str,
        /// What was found (unfolded, possibly shortened).
        found: String,
    },
    /// The message has no body where the profile requires one.
    #[error("the message body is empty")]
    EmptyBody,
    /// A base64 body could not be decoded.
    #[error("invalid base64 body: {0}")]
    Base64(String),
    /// A MIME structure (multipart, nested message) is broken.
    #[error("malformed MIME structure: {0}")]
    MalformedMime(&'static str),
    /// The caller passed a value that cannot be used (for example a header value with a line
    /// break, which would allow header injection).
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// Parameter name.
        name: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Outcome of reading a received message as a KOM-LE message (A_21390, KOM-LE-A_2042).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OuterError {
    /// The message carries no `X-KOM-LE-Version` header (or its header block cannot be read at
    /// all): it is not a KOM-LE message and is passed to the client unchanged.
    #[error("not a KOM-LE message (no X-KOM-LE-Version header)")]
    NotKomLe,
    /// The message declares itself a KOM-LE message but does not follow the profile: the
    /// caller reports decryption result 02 (wrong format, KOM-LE-A_2047-02).
    #[error("malformed KOM-LE message: {0}")]
    Malformed(#[from] MimeError),
}

/// Shortens a value for an error message (values may be long or hostile).
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 80;
    match value.char_indices().nth(MAX) {
        Some((idx, _)) => format!("{}…", value.get(..idx).unwrap_or_default()),
        None => value.to_owned(),
    }
}
