//! [`Secret`]: a wrapper that keeps a value out of logs and wipes it from memory on drop.

use std::fmt;

use zeroize::Zeroize;

/// Holds a sensitive value (password, key, identifier that must not reach logs).
///
/// `Debug` prints `Secret([REDACTED])` and `Display` prints `[REDACTED]`, whatever `T` is;
/// the value is reachable only through [`Secret::expose_secret`], which makes every use
/// visible in the code. There is deliberately no `PartialEq` (timing) and no serde support.
///
/// A `Secret` made with [`Secret::new`] (which requires `T: Zeroize`) overwrites the value
/// when dropped. [`Secret::redacted`] accepts any `T` and only redacts; use it for values that
/// wipe themselves or need no wiping, such as identifiers kept out of logs.
pub struct Secret<T> {
    value: T,
    wipe: Option<fn(&mut T)>,
}

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`; it is zeroized when the `Secret` is dropped.
    #[must_use]
    pub fn new(value: T) -> Self {
        Self {
            value,
            wipe: Some(<T as Zeroize>::zeroize),
        }
    }
}

impl<T> Secret<T> {
    /// Wraps `value` for redaction only; it is dropped normally, without zeroizing.
    #[must_use]
    pub fn redacted(value: T) -> Self {
        Self { value, wipe: None }
    }

    /// The wrapped value.
    #[must_use]
    pub fn expose_secret(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for Secret<T> {
    fn drop(&mut self) {
        if let Some(wipe) = self.wipe {
            wipe(&mut self.value);
        }
    }
}

impl<T: Clone> Clone for Secret<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            wipe: self.wipe,
        }
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Records what its `zeroize` saw, so the test can observe the wipe after drop.
    #[derive(Clone)]
    struct Probe {
        data: Vec<u8>,
        log: Rc<RefCell<Vec<Vec<u8>>>>,
    }

    impl Zeroize for Probe {
        fn zeroize(&mut self) {
            self.data.zeroize();
            self.log.borrow_mut().push(self.data.clone());
        }
    }

    #[test]
    fn formatting_never_shows_the_value() {
        let s = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{s:#?}"), "Secret([REDACTED])");
        assert_eq!(s.expose_secret(), "hunter2");
        let wrapped = Some(Secret::redacted(42_u8));
        assert_eq!(format!("{wrapped:?}"), "Some(Secret([REDACTED]))");
    }

    #[test]
    fn new_zeroizes_on_drop_and_clones_independently() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let secret = Secret::new(Probe {
            data: b"key".to_vec(),
            log: Rc::clone(&log),
        });
        let copy = secret.clone();
        drop(secret);
        assert_eq!(*log.borrow(), vec![Vec::<u8>::new()]);
        assert_eq!(copy.expose_secret().data, b"key");
        drop(copy);
        assert_eq!(log.borrow().len(), 2);
    }

    #[test]
    fn redacted_does_not_zeroize() {
        let log = Rc::new(RefCell::new(Vec::new()));
        drop(Secret::redacted(Probe {
            data: b"id".to_vec(),
            log: Rc::clone(&log),
        }));
        assert!(log.borrow().is_empty());
    }
}
