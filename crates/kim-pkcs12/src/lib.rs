//! PKCS#12 key stores (RFC 7292): one private key, its certificate and CA certificates.
//!
//! Used for TLS client certificates (Clientmodul → Konnektor, Fachdienst) and for test keys such
//! as gematik's sample recipients.
//!
//! - [`build`] writes a PFX in the layout OpenSSL 3 emits by default: certificate bags in a
//!   PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) `encryptedData`, a `pkcs8ShroudedKeyBag` with the
//!   same PBES2 in a plain `data` content, and an HMAC-SHA-256 integrity MAC. [`BuildOptions`]
//!   sets the friendly name and the iteration count.
//! - [`parse`] reads what OpenSSL (default and `-legacy`), Java keytool and gematik's samples
//!   write: SHA-1/SHA-2 MACs, PBES2 (PBKDF2 + AES-CBC or DES-EDE3-CBC) and the PKCS#12 PBE
//!   schemes with 3DES and RC2, into a [`KeyStore`].
//!
//! Invariants:
//! - Nothing here panics on untrusted input; every structure is bounds-checked. The reader
//!   accepts BER (indefinite lengths, chunked OCTET STRINGs), the writer emits DER.
//! - Key material is held in [`zeroize::Zeroizing`] buffers.
//! - [`build`] draws all randomness from the caller's RNG in a fixed order: a seeded RNG gives
//!   byte-identical output.
//! - Iteration counts above 10,000,000 are refused (a hostile file cannot stall us).

mod bags;
mod build;
mod error;
mod kdf;
mod keymatch;
mod mac;
mod oid;
mod parse;
mod pbe;
mod tlv;

pub use build::{BuildOptions, build};
pub use error::Pkcs12Error;
pub use parse::parse;

/// The contents of a PKCS#12 file that holds one private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    /// The private key as PKCS#8 `PrivateKeyInfo` DER (RFC 5958), RSA or EC (including
    /// brainpoolP256r1), exactly as stored in the file.
    pub private_key: zeroize::Zeroizing<Vec<u8>>,
    /// The leaf certificate (DER): the one whose `localKeyId` matches the key's; else the first
    /// certificate whose public key matches the key; else the only certificate.
    pub certificate: Vec<u8>,
    /// The other certificates (DER), in file order.
    pub ca_certificates: Vec<Vec<u8>>,
    /// The key bag's `friendlyName` attribute, or else the leaf certificate bag's.
    pub friendly_name: Option<String>,
}
