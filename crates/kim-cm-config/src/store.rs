//! The Clientmodul's key store and trust store (manual §4.4.5.2): certificates it trusts,
//! its own key pairs and its Basic-auth credentials, per partner (`KON` Konnektor, `FD`
//! Fachdienst, `CLIENT` practice software).
//!
//! File format (both stores): `KIMCMST1` ‖ salt (16) ‖ nonce (12) ‖ AES-256-GCM(JSON), the
//! key derived from the per-installation password with PBKDF2-HMAC-SHA-256 (the magic is
//! authenticated as associated data). A wrong password and a changed byte fail alike.
//! The password is random (32 bytes, hex), generated at first use into a file created with
//! mode 0600; a password file readable by others is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::CmConfigError;

const MAGIC: &[u8; 8] = b"KIMCMST1";
const ITERATIONS: u32 = 100_000;

/// The per-installation store password (never logged, never on a command line).
pub struct StorePassword(Zeroizing<String>);

impl std::fmt::Debug for StorePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorePassword(<redacted>)")
    }
}

impl StorePassword {
    /// Reads the password file, creating it with a fresh random password (mode 0600) when
    /// it does not exist.
    ///
    /// # Errors
    /// I/O errors, or [`CmConfigError::StoreContent`] if the file is readable by others.
    pub fn load_or_create(path: &Path) -> Result<StorePassword, CmConfigError> {
        if !path.exists() {
            let mut raw = Zeroizing::new([0u8; 32]);
            getrandom::fill(raw.as_mut())
                .map_err(|e| CmConfigError::io(path, std::io::Error::other(e.to_string())))?;
            let text = Zeroizing::new(hex::encode(raw.as_ref()));
            create_private(path, text.as_bytes())?;
        }
        StorePassword::load(path)
    }

    /// Reads an existing password file.
    ///
    /// # Errors
    /// I/O errors, or [`CmConfigError::StoreContent`] if the file is readable by others or
    /// empty.
    pub fn load(path: &Path) -> Result<StorePassword, CmConfigError> {
        check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| CmConfigError::io(path, e))?;
        let text = Zeroizing::new(text.trim().to_owned());
        if text.is_empty() {
            return Err(CmConfigError::StoreContent {
                path: path.to_path_buf(),
                reason: "the password file is empty".into(),
            });
        }
        Ok(StorePassword(text))
    }
}

/// Creates `path` readable and writable by the owner only, failing if it exists.
fn create_private(path: &Path, content: &[u8]) -> Result<(), CmConfigError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| CmConfigError::io(path, e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| CmConfigError::io(path, e))
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), CmConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| CmConfigError::io(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(CmConfigError::StoreContent {
            path: path.to_path_buf(),
            reason: format!(
                "readable by others (mode {:o}); allowed is 600",
                mode & 0o777
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), CmConfigError> {
    Ok(())
}

fn derive_key(password: &StorePassword, salt: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.0.as_bytes(), salt, ITERATIONS, key.as_mut());
    key
}

/// Encrypts and writes `plaintext` (atomically: temporary file, fsync, rename).
pub(crate) fn seal_to(
    path: &Path,
    password: &StorePassword,
    plaintext: &[u8],
) -> Result<(), CmConfigError> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut salt)
        .and_then(|()| getrandom::fill(&mut nonce))
        .map_err(|e| CmConfigError::io(path, std::io::Error::other(e.to_string())))?;
    let key = derive_key(password, &salt);
    let cipher = Aes256Gcm::new((&*key).into());
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: MAGIC,
            },
        )
        .map_err(|_| CmConfigError::StoreContent {
            path: path.to_path_buf(),
            reason: "encryption failed".into(),
        })?;
    let mut out = Vec::with_capacity(36 + sealed.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    create_private(&tmp, &out)?;
    std::fs::rename(&tmp, path).map_err(|e| CmConfigError::io(path, e))
}

/// Reads and decrypts a store file.
pub(crate) fn open_from(
    path: &Path,
    password: &StorePassword,
) -> Result<Zeroizing<Vec<u8>>, CmConfigError> {
    let bytes = std::fs::read(path).map_err(|e| CmConfigError::io(path, e))?;
    let locked = || CmConfigError::StoreLocked {
        path: path.to_path_buf(),
    };
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(locked)?;
    let (salt, rest) = rest.split_at_checked(16).ok_or_else(locked)?;
    let (nonce, sealed) = rest.split_at_checked(12).ok_or_else(locked)?;
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| locked())?;
    let key = derive_key(password, salt);
    let cipher = Aes256Gcm::new((&*key).into());
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: sealed,
                aad: MAGIC,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| locked())
}

/// Bytes in the JSON content as base64.
pub(crate) mod b64 {
    use super::B64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Several DER blobs as base64 strings.
pub(crate) fn encode_all(ders: &[Vec<u8>]) -> Vec<String> {
    ders.iter().map(|d| B64.encode(d)).collect()
}

/// The inverse of [`encode_all`].
pub(crate) fn decode_all(path: &Path, items: &[String]) -> Result<Vec<Vec<u8>>, CmConfigError> {
    items
        .iter()
        .map(|s| {
            B64.decode(s).map_err(|_| CmConfigError::StoreContent {
                path: path.to_path_buf(),
                reason: "damaged certificate entry".into(),
            })
        })
        .collect()
}

/// Serialises `value` into the sealed file.
pub(crate) fn save_json<T: Serialize>(
    path: &Path,
    password: &StorePassword,
    value: &T,
) -> Result<(), CmConfigError> {
    let json =
        Zeroizing::new(
            serde_json::to_vec(value).map_err(|e| CmConfigError::StoreContent {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?,
        );
    seal_to(path, password, &json)
}

/// Opens the sealed file and deserialises it; `Ok(None)` when it does not exist.
pub(crate) fn load_json<T: for<'de> Deserialize<'de>>(
    path: &Path,
    password: &StorePassword,
) -> Result<Option<T>, CmConfigError> {
    if !path.exists() {
        return Ok(None);
    }
    let plain = open_from(path, password)?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|e| CmConfigError::StoreContent {
            path: path.to_path_buf(),
            reason: format!("not a store of this kind: {e}"),
        })
}

/// A path for messages.
pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_path_buf()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_files_need_the_password_and_detect_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pw_path = dir.path().join("pw");
        let pw = StorePassword::load_or_create(&pw_path).unwrap();
        let file = dir.path().join("store");
        seal_to(&file, &pw, b"secret content").unwrap();
        let raw = std::fs::read(&file).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"secret"));
        assert_eq!(open_from(&file, &pw).unwrap().as_slice(), b"secret content");

        std::fs::write(dir.path().join("pw2"), "other").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(dir.path().join("pw2"), p).unwrap();
        }
        let wrong = StorePassword::load(&dir.path().join("pw2")).unwrap();
        assert!(matches!(
            open_from(&file, &wrong),
            Err(CmConfigError::StoreLocked { .. })
        ));

        let mut changed = raw.clone();
        *changed.last_mut().unwrap() ^= 1;
        std::fs::write(&file, changed).unwrap();
        assert!(matches!(
            open_from(&file, &pw),
            Err(CmConfigError::StoreLocked { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn password_file_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        let a = StorePassword::load_or_create(&path).unwrap();
        let b = StorePassword::load_or_create(&path).unwrap();
        assert_eq!(a.0.as_str(), b.0.as_str());
        assert_eq!(a.0.len(), 64);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(format!("{a:?}"), "StorePassword(<redacted>)");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = StorePassword::load(&path).unwrap_err();
        assert!(err.to_string().contains("allowed is 600"), "{err}");
    }
}
