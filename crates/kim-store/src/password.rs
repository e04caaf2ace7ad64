//! Password and OTP hashing (A_2164: passwords are stored hashed): Argon2id with the
//! parameters RFC 9106 §4 and OWASP recommend for interactive logins (19 MiB, 2 passes), as
//! PHC strings so the parameters can be raised later without breaking stored hashes.
//!
//! Both functions are CPU-bound (tens of milliseconds); call them from a blocking task.
//! [`VerifyCache`] remembers recent successful verifications, so that clients that log in
//! for every mail or every HTTP request do not pay that each time.

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

/// Digest of a random link token (registration, confirmation links): lower-case hex
/// SHA-256. Tokens carry 256 random bits, so a fast digest suffices; only the digest is
/// stored, the token itself lives only in the link.
#[must_use]
pub fn token_digest(token: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Recent successful verifications, so that a Clientmodul that opens a session per mail
/// (SMTP, POP3) or authenticates every KAS request does not pay Argon2 each time.
///
/// An entry is HMAC-SHA256 under a per-process random key over the stored PHC string and the
/// password: the cache never holds a password, a password change (new PHC string, new salt)
/// makes old entries useless, and failures are never cached (every wrong guess pays full
/// price). Entries expire after `ttl`; at `capacity` the expired ones are dropped, and if that
/// is not enough, all of them. If the system random generator fails, the cache stays off
/// (every call runs Argon2).
pub struct VerifyCache {
    key: Option<[u8; 32]>,
    ttl: std::time::Duration,
    capacity: usize,
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], std::time::Instant>>,
    argon2_runs: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl VerifyCache {
    /// An empty cache.
    #[must_use]
    pub fn new(ttl: std::time::Duration, capacity: usize) -> Self {
        let mut key = [0u8; 32];
        let key = match getrandom::fill(&mut key) {
            Ok(()) => Some(key),
            Err(e) => {
                tracing::warn!(error = %e, "no system randomness: password cache off");
                None
            }
        };
        Self {
            key,
            ttl,
            capacity: capacity.max(1),
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
            argon2_runs: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many verifications were not answered from the cache (each ran Argon2).
    #[must_use]
    pub fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Like [`verify`], answered from the cache when the same password matched the same PHC
    /// string within `ttl`.
    #[must_use]
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        use hmac::{KeyInit, Mac};
        let Some(Ok(mut mac)) = self
            .key
            .map(|key| hmac::Hmac::<sha2::Sha256>::new_from_slice(&key))
        else {
            self.argon2_runs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return verify(password, phc);
        };
        mac.update(&(phc.len() as u64).to_be_bytes());
        mac.update(phc.as_bytes());
        mac.update(password.as_bytes());
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let now = std::time::Instant::now();
        if let Ok(entries) = self.entries.lock()
            && entries
                .get(&tag)
                .is_some_and(|at| now.duration_since(*at) < self.ttl)
        {
            return true;
        }
        self.argon2_runs
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ok = verify(password, phc);
        if ok && let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.capacity {
                entries.retain(|_, at| now.duration_since(*at) < self.ttl);
                if entries.len() >= self.capacity {
                    entries.clear();
                }
            }
            entries.insert(tag, now);
        }
        ok
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
    fn cache_answers_repeated_successes_and_never_failures() {
        let phc = hash("Geheim-123").unwrap();
        let cache = VerifyCache::new(std::time::Duration::from_secs(60), 2);
        assert!(cache.verify("Geheim-123", &phc));
        for _ in 0..100 {
            assert!(cache.verify("Geheim-123", &phc));
        }
        assert_eq!(cache.argon2_runs(), 1);
        assert!(!cache.verify("Geheim-124", &phc));
        assert!(!cache.verify("Geheim-124", &phc));
        assert_eq!(cache.argon2_runs(), 3, "failures are never cached");
        // A new PHC string for the same password (a password change) is verified afresh.
        let other = hash("Other-123").unwrap();
        assert!(!cache.verify("Geheim-123", &other));
        // Capacity: a third success evicts, the cache stays correct.
        let third = hash("Third-123").unwrap();
        assert!(cache.verify("Other-123", &other));
        assert!(cache.verify("Third-123", &third));
        assert!(cache.verify("Geheim-123", &phc));
    }

    #[test]
    fn expired_entries_are_verified_again() {
        let phc = hash("Geheim-123").unwrap();
        let cache = VerifyCache::new(std::time::Duration::ZERO, 8);
        assert!(cache.verify("Geheim-123", &phc));
        assert!(cache.verify("Geheim-123", &phc));
        assert_eq!(cache.argon2_runs(), 2);
        assert!(!cache.verify("x", &phc));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("x").unwrap(), hash("x").unwrap());
    }
}
