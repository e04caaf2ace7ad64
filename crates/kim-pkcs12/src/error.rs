//! The one error type of this crate.

/// Everything that can go wrong reading or writing a PKCS#12 file.
///
/// Variants are grouped by blame: the file is malformed or uses something we do not
/// implement; the password is wrong; the file is well-formed but does not hold what a key store
/// needs; or the caller handed `build` unusable input.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs12Error {
    // --- the file is malformed ---
    /// The input ended inside a structure.
    #[error("PKCS#12 structure truncated: {what} ends early")]
    Truncated {
        /// The structure that was being read.
        what: &'static str,
    },
    /// A structure is present but not what RFC 7292 prescribes.
    #[error("malformed PKCS#12 structure in {what}: {reason}")]
    Malformed {
        /// The structure that was being read.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The PFX version is not 3.
    #[error("unsupported PFX version {0} (only v3 is defined)")]
    UnsupportedVersion(u64),

    // --- the file uses something we do not implement ---
    /// An algorithm or content type we do not implement, named by its OID.
    #[error("unsupported {what}: OID {oid}")]
    UnsupportedAlgorithm {
        /// Which slot the OID was found in (MAC digest, PBE scheme, PRF, cipher, content type).
        what: &'static str,
        /// Dotted form of the OID.
        oid: String,
    },

    // --- the password is wrong (or the file was tampered with) ---
    /// The integrity MAC does not verify: wrong password, or the file was modified.
    #[error("MAC mismatch: wrong password or tampered file")]
    MacMismatch,
    /// Decryption produced invalid padding (wrong password for a file without a MAC, or a corrupted
    /// ciphertext).
    #[error("decryption of {what} failed: wrong password or corrupted data")]
    DecryptionFailed {
        /// Which encrypted part failed.
        what: &'static str,
    },

    // --- well-formed, but not a usable key store ---
    /// The file holds no private key.
    #[error("the PKCS#12 file holds no private key")]
    NoPrivateKey,
    /// The file holds more than one private key.
    #[error("the PKCS#12 file holds {0} private keys; exactly one is supported")]
    SeveralPrivateKeys(usize),
    /// The file holds no X.509 certificate.
    #[error("the PKCS#12 file holds no X.509 certificate")]
    NoCertificate,
    /// Several certificates, none of which can be tied to the private key.
    #[error(
        "none of the {0} certificates matches the private key (no localKeyId, no public key match)"
    )]
    NoMatchingCertificate(usize),

    // --- the caller's input to `build` is unusable ---
    /// An argument to [`build`](crate::build) is unusable.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which argument.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
}

impl Pkcs12Error {
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(what: &'static str, oid_der: &[u8]) -> Self {
        Self::UnsupportedAlgorithm {
            what,
            oid: crate::oid::dotted(oid_der),
        }
    }
}
