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
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use kim_pkcs12::{BuildOptions, build, parse};
//! # let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");
//! # let pem = |name: &str| pem_rfc7468::decode_vec(&std::fs::read(format!("{data}{name}")).unwrap()).unwrap().1;
//! let key_pkcs8 = pem("hci-enc-2-kim-bsp.prv.pem");
//! let certificate = pem("hci-enc-2-kim-bsp.pem");
//!
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let options = BuildOptions { friendly_name: Some("Praxis"), ..BuildOptions::default() };
//! let pfx = build(&key_pkcs8, &certificate, &[], "geheim", &options, &mut rng)?;
//!
//! let store = parse(&pfx, "geheim")?;
//! assert_eq!(*store.private_key, key_pkcs8);
//! assert_eq!(store.certificate, certificate);
//! assert_eq!(store.friendly_name.as_deref(), Some("Praxis"));
//! # Ok(())
//! # }
//! ```
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
#[cfg(test)]
mod test_data;
mod tlv;

pub use build::{BuildOptions, build};
pub use error::Pkcs12Error;
pub use parse::parse;

/// The contents of a PKCS#12 file that holds one private key.
///
/// `Debug` shows the key's length only, never its bytes.
#[derive(Clone, PartialEq, Eq)]
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

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field(
                "private_key",
                &format_args!("<{} bytes redacted>", self.private_key.len()),
            )
            .field(
                "certificate",
                &format_args!("<{} bytes>", self.certificate.len()),
            )
            .field("ca_certificates", &self.ca_certificates.len())
            .field("friendly_name", &self.friendly_name)
            .finish()
    }
}
