//! Password and OTP hashing (A_2164: passwords are stored hashed): Argon2id with the
//! parameters RFC 9106 §4 and OWASP recommend for interactive logins (19 MiB, 2 passes), as
//! PHC strings so the parameters can be raised later without breaking stored hashes.
//!
//! Both functions are CPU-bound (tens of milliseconds); call them from a blocking task.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};

fn hasher() -> Argon2<'static> {
    // 19 MiB, t = 2, p = 1: valid constants, so `Params::new` cannot fail; fall back to the
    // crate default (which is the same recommendation) rather than panic.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a fresh random salt.
///
/// # Errors
/// Only if the system random generator fails.
pub fn hash(password: &str) -> Result<String, crate::StoreError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| crate::StoreError::Task(format!("password hashing: {e}")))
}

/// Whether `password` matches the PHC string `phc`. A malformed stored hash never matches.
#[must_use]
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_mismatch() {
        let phc = hash("Geheim-123").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("Geheim-123", &phc));
        assert!(!verify("geheim-123", &phc));
        assert!(!verify("Geheim-123", "not a phc string"));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("x").unwrap(), hash("x").unwrap());
    }
}
