//! Fault injection per operation: delay, "unavailable" (connection refused or 4002), "fail
//! the next N calls with code C", "stall" (accept, never answer). Set from the configuration
//! and at run time through the admin API.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The operations the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Operation {
    GetCards,
    GetCardTerminals,
    GetPinStatus,
    VerifyPin,
    ReadCardCertificate,
    VerifyCertificate,
    GetJobNumber,
    SignDocument,
    VerifyDocument,
    EncryptDocument,
    DecryptDocument,
    ExternalAuthenticate,
    /// GET /connector.sds
    ServiceDirectory,
}

impl Operation {
    /// All operations.
    pub const ALL: [Operation; 13] = [
        Operation::GetCards,
        Operation::GetCardTerminals,
        Operation::GetPinStatus,
        Operation::VerifyPin,
        Operation::ReadCardCertificate,
        Operation::VerifyCertificate,
        Operation::GetJobNumber,
        Operation::SignDocument,
        Operation::VerifyDocument,
        Operation::EncryptDocument,
        Operation::DecryptDocument,
        Operation::ExternalAuthenticate,
        Operation::ServiceDirectory,
    ];

    /// The operation's element name (`connector.sds` for the service directory).
    pub fn name(self) -> &'static str {
        match self {
            Operation::GetCards => "GetCards",
            Operation::GetCardTerminals => "GetCardTerminals",
            Operation::GetPinStatus => "GetPinStatus",
            Operation::VerifyPin => "VerifyPin",
            Operation::ReadCardCertificate => "ReadCardCertificate",
            Operation::VerifyCertificate => "VerifyCertificate",
            Operation::GetJobNumber => "GetJobNumber",
            Operation::SignDocument => "SignDocument",
            Operation::VerifyDocument => "VerifyDocument",
            Operation::EncryptDocument => "EncryptDocument",
            Operation::DecryptDocument => "DecryptDocument",
            Operation::ExternalAuthenticate => "ExternalAuthenticate",
            Operation::ServiceDirectory => "connector.sds",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(s: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// How an "unavailable" operation fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The connection is closed without an answer (like a refused connection).
    Refuse,
    /// SOAP fault 4002 (critical operating state, TIP1-A_4510-04).
    Fault4002,
}

/// Knob settings of one operation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Knob {
    /// Added before the operation runs.
    #[serde(default, with = "millis")]
    pub delay: Duration,
    /// Fail every call.
    #[serde(default)]
    pub unavailable: Option<Unavailable>,
    /// Fail this many of the next calls with `fail_code`.
    #[serde(default)]
    pub fail_next: u32,
    /// gematik code for `fail_next`.
    #[serde(default = "default_code")]
    pub fail_code: u32,
    /// Accept the request and never answer.
    #[serde(default)]
    pub stall: bool,
}

fn default_code() -> u32 {
    4001
}

impl Default for Knob {
    fn default() -> Self {
        Knob {
            delay: Duration::ZERO,
            unavailable: None,
            fail_next: 0,
            fail_code: 4001,
            stall: false,
        }
    }
}

mod millis {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = <u64 as serde::Deserialize>::deserialize(d)?;
        Ok(Duration::from_millis(ms))
    }
}

/// Knob settings of all operations (operations without an entry run normally).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnobSettings {
    pub per_operation: BTreeMap<Operation, Knob>,
}

impl KnobSettings {
    /// The knob of `op`, created with defaults.
    pub fn entry(&mut self, op: Operation) -> &mut Knob {
        self.per_operation.entry(op).or_default()
    }
}

/// What the server does with a call after consulting the knobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run the operation (after `delay`).
    Proceed,
    /// Close the connection without an answer.
    Refuse,
    /// Answer with a fault of this code.
    Fail(u32),
    /// Never answer.
    Stall,
}

/// Run-time knob state, shared by all connections.
#[derive(Debug, Default)]
pub struct Knobs {
    state: Mutex<KnobSettings>,
}

impl Knobs {
    /// Starts from configured settings.
    pub fn new(settings: KnobSettings) -> Knobs {
        Knobs {
            state: Mutex::new(settings),
        }
    }

    /// Decides the fate of one call of `op` and the delay before it; counts `fail_next` down.
    pub fn consult(&self, op: Operation) -> (Duration, Verdict) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(k) = state.per_operation.get_mut(&op) else {
            return (Duration::ZERO, Verdict::Proceed);
        };
        let verdict = if k.stall {
            Verdict::Stall
        } else if let Some(u) = k.unavailable {
            match u {
                Unavailable::Refuse => Verdict::Refuse,
                Unavailable::Fault4002 => Verdict::Fail(4002),
            }
        } else if k.fail_next > 0 {
            k.fail_next -= 1;
            Verdict::Fail(k.fail_code)
        } else {
            Verdict::Proceed
        };
        (k.delay, verdict)
    }

    /// Replaces the knob of `op` (a default knob removes all effects).
    pub fn set(&self, op: Operation, knob: Knob) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if knob == Knob::default() {
            state.per_operation.remove(&op);
        } else {
            state.per_operation.insert(op, knob);
        }
    }

    /// A copy of the current settings.
    pub fn snapshot(&self) -> KnobSettings {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_counts_down_then_proceeds() {
        let knobs = Knobs::default();
        knobs.set(
            Operation::SignDocument,
            Knob {
                fail_next: 2,
                fail_code: 4085,
                ..Knob::default()
            },
        );
        assert_eq!(
            knobs.consult(Operation::SignDocument).1,
            Verdict::Fail(4085)
        );
        assert_eq!(knobs.consult(Operation::GetCards).1, Verdict::Proceed);
        assert_eq!(
            knobs.consult(Operation::SignDocument).1,
            Verdict::Fail(4085)
        );
        assert_eq!(knobs.consult(Operation::SignDocument).1, Verdict::Proceed);
    }

    #[test]
    fn stall_wins_over_unavailable_and_delay_is_reported() {
        let knobs = Knobs::default();
        knobs.set(
            Operation::GetCards,
            Knob {
                delay: Duration::from_millis(30),
                unavailable: Some(Unavailable::Fault4002),
                ..Knob::default()
            },
        );
        assert_eq!(
            knobs.consult(Operation::GetCards),
            (Duration::from_millis(30), Verdict::Fail(4002))
        );
        knobs.set(
            Operation::GetCards,
            Knob {
                stall: true,
                unavailable: Some(Unavailable::Refuse),
                ..Knob::default()
            },
        );
        assert_eq!(knobs.consult(Operation::GetCards).1, Verdict::Stall);
        knobs.set(Operation::GetCards, Knob::default());
        assert!(knobs.snapshot().per_operation.is_empty());
    }

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
        }
        assert_eq!(Operation::from_name("Nope"), None);
    }
}
