//! Server-side sessions: a random id in an `HttpOnly; SameSite=Strict` cookie, everything
//! else (chosen card, JWT, account password, OTP, issued certificate) in memory here and
//! never in a page. Sessions end after [`IDLE`] without a request or with "Abmelden".

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kim_admin::auth::AuthCard;
use zeroize::Zeroizing;

/// Name of the session cookie.
pub const COOKIE: &str = "kim_admin_sitzung";
/// Idle time after which a session is dropped.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// Most sessions kept at once (the oldest is dropped beyond it).
const MAX_SESSIONS: usize = 256;

/// The card a session authenticates with.
#[derive(Debug, Clone)]
pub struct ChosenCard {
    /// Index into the configured Konnektors.
    pub konnektor: usize,
    /// Index into that Konnektor's contexts.
    pub context: usize,
    pub card: AuthCard,
}

/// The account a session administers (address and its password).
pub struct Login {
    pub username: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A certificate issued by createCert, kept for download and import.
pub struct IssuedCert {
    pub p12: Zeroizing<Vec<u8>>,
    pub password: Zeroizing<String>,
    pub file_name: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("bytes", &self.p12.len())
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

/// One browser session.
#[derive(Debug)]
pub struct Session {
    /// Token every form of this session carries (compared in constant time).
    pub csrf: String,
    last_seen: Instant,
    pub card: Option<ChosenCard>,
    /// The JWT of `card` and when it was made (Unix seconds).
    pub jwt: Option<(Zeroizing<String>, i64)>,
    pub login: Option<Login>,
    /// OTP of a pending move to another Telematik-ID.
    pub otp: Option<Zeroizing<String>>,
    pub cert: Option<IssuedCert>,
    /// A confirmation shown once on the next page.
    pub notice: Option<String>,
}

impl Session {
    fn new() -> Session {
        Session {
            csrf: random_hex(32),
            last_seen: Instant::now(),
            card: None,
            jwt: None,
            login: None,
            otp: None,
            cert: None,
            notice: None,
        }
    }

    /// Forgets the account (and what belongs to it), keeping the card.
    pub fn leave_account(&mut self) {
        self.login = None;
        self.otp = None;
        self.cert = None;
    }
}

/// 256 bits from the system's random generator as hex. Falls back to a time-derived value
/// only if the generator fails, which `getrandom` reports at start-up already.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        return format!("{nanos:032x}");
    }
    hex::encode(buf)
}

/// Compares two tokens without early exit.
#[must_use]
pub fn tokens_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every session by id.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Runs `f` on the session `id` (if it exists and is not idle too long).
    pub fn with<R>(&self, id: Option<&str>, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let id = id?;
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let expired = map.get(id).is_some_and(|s| s.last_seen.elapsed() > IDLE);
        if expired {
            map.remove(id);
            return None;
        }
        let session = map.get_mut(id)?;
        session.last_seen = Instant::now();
        Some(f(session))
    }

    /// The session `id`, or a new one; returns the id in use and whether it is new.
    pub fn ensure(&self, id: Option<&str>) -> (String, bool) {
        if let Some(id) = id
            && self.with(Some(id), |_| ()).is_some()
        {
            return (id.to_owned(), false);
        }
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, s| s.last_seen.elapsed() <= IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        let id = random_hex(32);
        map.insert(id.clone(), Session::new());
        (id, true)
    }

    /// Ends the session `id`.
    pub fn remove(&self, id: &str) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(id);
    }
}

/// The session id from a `Cookie` header.
#[must_use]
pub fn cookie_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == COOKIE && value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for session `id`.
#[must_use]
pub fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_created_found_and_removed() {
        let s = Sessions::default();
        let (id, new) = s.ensure(None);
        assert!(new);
        assert_eq!(id.len(), 64);
        let (again, new) = s.ensure(Some(&id));
        assert!(!new);
        assert_eq!(again, id);
        assert!(s.with(Some(&id), |x| x.csrf.clone()).is_some());
        s.remove(&id);
        assert!(s.with(Some(&id), |_| ()).is_none());
        assert!(s.with(Some("unknown"), |_| ()).is_none());
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
    }

    #[test]
    fn cookie_parsing_takes_only_well_formed_ids() {
        let mut h = axum::http::HeaderMap::new();
        let id = "a".repeat(64);
        h.insert(
            axum::http::header::COOKIE,
            format!("x=1; {COOKIE}={id}")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie_id(&h), Some(id));
        h.insert(
            axum::http::header::COOKIE,
            format!("{COOKIE}=short")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie_id(&h), None);
    }
}
