//! Several Konnektors behind one Clientmodul (gemSpec_CM_KOMLE 3.3.2.2 and 3.4.2.2; kim-spec
//! §3.1, §4.1): the user name's optional KonnektorId selects one of them, a user name without
//! KonnektorId uses the default one.
//!
//! Invariant: every selection goes through [`Konnektors::get`]; a KonnektorId that is not
//! configured selects nothing (the proxies refuse the login naming the id). Per-Konnektor
//! state (card handles, the ICCSN cache) lives in the values, so it never mixes between
//! Konnektors.

use std::collections::BTreeMap;
use std::sync::Arc;

use kim_types::KonnektorId;

/// The default Konnektor and further ones by KonnektorId.
#[derive(Debug)]
pub struct Konnektors<K> {
    default: Arc<K>,
    by_id: BTreeMap<String, Arc<K>>,
}

impl<K> Clone for Konnektors<K> {
    fn clone(&self) -> Self {
        Konnektors {
            default: self.default.clone(),
            by_id: self.by_id.clone(),
        }
    }
}

impl<K> Konnektors<K> {
    /// Only the default Konnektor (user names without KonnektorId).
    pub fn single(default: Arc<K>) -> Konnektors<K> {
        Konnektors {
            default,
            by_id: BTreeMap::new(),
        }
    }

    /// Adds (or replaces) the Konnektor that user names with KonnektorId `id` use; returns
    /// the one it replaced.
    pub fn insert(&mut self, id: KonnektorId, konnektor: Arc<K>) -> Option<Arc<K>> {
        self.by_id.insert(id.as_str().to_string(), konnektor)
    }

    /// [`Konnektors::insert`] in builder form.
    #[must_use]
    pub fn with(mut self, id: KonnektorId, konnektor: Arc<K>) -> Konnektors<K> {
        self.insert(id, konnektor);
        self
    }

    /// The default Konnektor.
    pub fn default_konnektor(&self) -> &Arc<K> {
        &self.default
    }

    /// The Konnektor for a user name's KonnektorId: the default one for `None`, nothing
    /// for an id that is not configured.
    pub fn get(&self, id: Option<&KonnektorId>) -> Option<&Arc<K>> {
        match id {
            None => Some(&self.default),
            Some(id) => self.by_id.get(id.as_str()),
        }
    }

    /// The configured KonnektorIds (the default Konnektor has none), sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }

    /// Number of Konnektors, the default one included.
    pub fn len(&self) -> usize {
        self.by_id.len() + 1
    }

    /// Never empty: there is always the default Konnektor.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The same set with per-Konnektor state built by `f` for every Konnektor.
    pub(crate) fn map<U>(&self, mut f: impl FnMut(&Arc<K>) -> U) -> Konnektors<U> {
        Konnektors {
            default: Arc::new(f(&self.default)),
            by_id: self
                .by_id
                .iter()
                .map(|(id, k)| (id.clone(), Arc::new(f(k))))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn id(s: &str) -> KonnektorId {
        KonnektorId::parse(s).unwrap()
    }

    #[test]
    fn user_names_select_by_konnektor_id_and_unknown_ids_select_nothing() {
        let set = Konnektors::single(Arc::new("default")).with(id("Konn_2"), Arc::new("second"));
        assert_eq!(set.get(None).map(|k| **k), Some("default"));
        assert_eq!(set.get(Some(&id("Konn_2"))).map(|k| **k), Some("second"));
        assert!(
            set.get(Some(&id("konn_2"))).is_none(),
            "ids are case-sensitive"
        );
        assert!(set.get(Some(&id("Konn_3"))).is_none());
        assert_eq!(set.len(), 2);
        assert_eq!(set.ids().collect::<Vec<_>>(), ["Konn_2"]);
    }

    #[test]
    fn map_builds_separate_state_per_konnektor() {
        let set = Konnektors::single(Arc::new(1)).with(id("B"), Arc::new(2));
        let mapped = set.map(|k| std::sync::Mutex::new(vec![**k]));
        mapped.get(None).unwrap().lock().unwrap().push(10);
        assert_eq!(*mapped.get(None).unwrap().lock().unwrap(), [1, 10]);
        assert_eq!(*mapped.get(Some(&id("B"))).unwrap().lock().unwrap(), [2]);
    }
}
