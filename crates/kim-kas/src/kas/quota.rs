//! Quota accounting across concurrent uploads of one account (A_19378-02, `507`).
//!
//! The store knows only committed objects. An upload therefore first reserves its expected
//! size here and only then reads the stored usage; it checks against both, and keeps the
//! reservation until its record is committed. Of two overlapping uploads the later one to
//! reserve sees the earlier one, either as a reservation or, once released, in the store:
//! together they never exceed the quota.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes being uploaded, per account.
#[derive(Debug, Default)]
pub(crate) struct Reservations {
    inflight: Mutex<HashMap<String, u64>>,
}

/// Bytes reserved for one upload; released on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    table: Arc<Reservations>,
    owner: String,
    bytes: u64,
}

impl Reservations {
    /// Reserves `bytes` for `owner`; returns the reservation and what other uploads of
    /// `owner` hold.
    pub(crate) fn reserve(self: &Arc<Self>, owner: &str, bytes: u64) -> (Reservation, u64) {
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        let held = inflight.entry(owner.to_owned()).or_insert(0);
        let others = *held;
        *held = held.saturating_add(bytes);
        let reservation = Reservation {
            table: Arc::clone(self),
            owner: owner.to_owned(),
            bytes,
        };
        (reservation, others)
    }

    #[cfg(test)]
    fn held(&self, owner: &str) -> u64 {
        let inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        inflight.get(owner).copied().unwrap_or(0)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut inflight = self
            .table
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = inflight.get_mut(&self.owner) {
            *held = held.saturating_sub(self.bytes);
            if *held == 0 {
                inflight.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_uploads_see_each_other_and_release_on_drop() {
        let table = Arc::new(Reservations::default());
        let (a, others) = table.reserve("x", 100);
        assert_eq!(others, 0);
        let (b, others) = table.reserve("x", 50);
        assert_eq!(others, 100);
        let (_c, others) = table.reserve("y", 7);
        assert_eq!(others, 0, "per account");
        drop(a);
        assert_eq!(table.held("x"), 50);
        drop(b);
        assert_eq!(table.held("x"), 0);
        assert!(!table.inflight.lock().is_ok_and(|m| m.contains_key("x")));
    }
}
