//! Directory checks of sender and recipients (gemSpec_CM_KOMLE 3.4 step 5, KOM-LE-A_2026,
//! KOM-LE-A_2178, A_2192-01, A_17464).

use kim_message::mime::dsn::SendErrorCode;
use kim_types::{KimAddress, KimVersion};
use kim_vzd::{KeyAlgorithm, VzdClient, VzdEntry};

use crate::error::SendFailure;

/// An address the message can be encrypted for.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The address as the client gave it (never rewritten).
    pub address: String,
    /// Telematik-ID of its directory entry.
    pub telematik_id: String,
    /// Its KIM version from `komLeData`/`kimData` (missing: 1.0).
    pub version: KimVersion,
    /// DER of every valid ENC certificate to encrypt for (all of them, e.g. old and new
    /// HBA; RSA always, ECC if the Konnektor can).
    pub certificates: Vec<Vec<u8>>,
}

/// The outcome for one address.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// Usable.
    Found(Resolved),
    /// Not usable, with the code for `X-KIM-Fehlermeldung` and a reason.
    Dropped(SendErrorCode, String),
}

/// Looks `address` up and applies the checks. `Err` only if the directory could not be
/// asked.
pub async fn resolve(vzd: &VzdClient, address: &str, ecc: bool) -> Result<Lookup, SendFailure> {
    let _timer = crate::perf::timer("vzd");
    let Ok(parsed) = KimAddress::parse(address) else {
        return Ok(Lookup::Dropped(
            SendErrorCode::NotEncryptableForAll,
            "not a KIM address".into(),
        ));
    };
    let entries = vzd.lookup(&parsed).await.map_err(|e| {
        tracing::warn!(error = %e, transient = e.is_transient(), "VZD lookup failed");
        SendFailure::Directory(e.to_string())
    })?;
    Ok(check_entries(&parsed, address, &entries, ecc, now()))
}

/// The checks on the entries found for one address, at `now` (Unix seconds).
pub fn check_entries(
    parsed: &KimAddress,
    address: &str,
    entries: &[VzdEntry],
    ecc: bool,
    now: i64,
) -> Lookup {
    let Some(first) = entries.first() else {
        return Lookup::Dropped(
            SendErrorCode::NotEncryptableForAll,
            "no directory entry".into(),
        );
    };
    if entries.iter().any(|e| e.telematik_id != first.telematik_id) {
        return Lookup::Dropped(
            SendErrorCode::NoUniqueTelematikId,
            "directory entries with different Telematik-IDs".into(),
        );
    }
    if entries.iter().any(|e| e.check_telematik_ids().is_err()) {
        return Lookup::Dropped(
            SendErrorCode::AmbiguousCertificates,
            "encryption certificates with different Telematik-IDs".into(),
        );
    }
    let mut certificates = Vec::new();
    for entry in entries {
        for cert in entry.usable_certificates(now) {
            let wanted = match cert.algorithm {
                KeyAlgorithm::Rsa => true,
                KeyAlgorithm::Ecc => ecc,
                KeyAlgorithm::Other => false,
            };
            if wanted && !certificates.contains(&cert.der) {
                certificates.push(cert.der.clone());
            }
        }
    }
    if certificates.is_empty() {
        return Lookup::Dropped(
            SendErrorCode::NotEncryptableForAll,
            "no valid encryption certificate".into(),
        );
    }
    let version = entries
        .iter()
        .map(|e| e.version_of(parsed))
        .max()
        .unwrap_or(KimVersion::V1_0);
    Lookup::Found(Resolved {
        address: address.to_string(),
        telematik_id: first.telematik_id.as_str().to_string(),
        version,
        certificates,
    })
}

/// Current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn no_entry_is_4004() {
        let parsed = KimAddress::parse("a@test.kim.telematik").unwrap();
        match check_entries(&parsed, "a@test.kim.telematik", &[], true, 0) {
            Lookup::Dropped(code, _) => assert_eq!(code.code(), "4004"),
            Lookup::Found(_) => panic!("an address without entry is not usable"),
        }
    }
}
