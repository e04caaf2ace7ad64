//! The Konnektor operations without XML: [`Konnektor`] holds the information model, the
//! cards, the trust store and the job numbers, and offers one method per operation. The
//! SOAP layer ([`crate::soap`]) parses requests into these calls and writes the results.
//!
//! Every card operation runs the access check first: context (see [`crate::model`]), card
//! handle (4101), terminal reachable from the workplace (4012). Private-key operations then
//! need the guarding PIN VERIFIED (4085); ReadCardCertificate does not.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use kim_message::cms::CertInfo;

use crate::cards::{CardStore, CardView, PinResult};
use crate::config::{ConfigError, SimConfig};
use crate::fault::Fault;
use crate::model::{CardKind, Context, Crypt, InfoModel, KeyRole, PinStatus, PinType};

/// How many recent job numbers are remembered to avoid repeats (TIP1-A_4645).
const JOB_WINDOW: usize = 1000;

/// The simulated Konnektor's state.
#[derive(Debug)]
pub struct Konnektor {
    pub model: InfoModel,
    pub cards: CardStore,
    pub(crate) trust: Vec<CertInfo>,
    jobs: Mutex<JobNumbers>,
    ocsp_unavailable: std::sync::atomic::AtomicBool,
}

/// A certificate the caller asked for (ReadCardCertificate).
#[derive(Debug, Clone)]
pub struct CardCertificate {
    /// `C.AUT`, `C.ENC`, `C.SIG`, `C.QES` as requested.
    pub cert_ref: String,
    pub certificate: CertInfo,
}

/// Result of VerifyCertificate (CertificateService 6.0 §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertVerification {
    /// `VALID`, `INCONCLUSIVE` or `INVALID`.
    pub result: &'static str,
    /// gematik code explaining a non-VALID result.
    pub code: Option<u32>,
    pub detail: String,
    /// Profession OIDs (Admission) or, without Admission, the TI role policies.
    pub roles: Vec<String>,
}

impl Konnektor {
    /// Builds the state from a validated configuration.
    pub fn new(config: &SimConfig) -> Result<Konnektor, ConfigError> {
        let model = InfoModel::new(&config.model)?;
        let cards = CardStore::new(&config.cards)?;
        let mut trust = Vec::new();
        for (i, der) in config.trust.iter().enumerate() {
            trust.push(CertInfo::parse(der).map_err(|e| ConfigError::Invalid {
                key: format!("trust.ca_certificates[{i}]"),
                value: "(certificate)".into(),
                allowed: format!("a readable X.509 certificate ({e})"),
            })?);
        }
        Ok(Konnektor {
            model,
            cards,
            trust,
            jobs: Mutex::new(JobNumbers::default()),
            ocsp_unavailable: config.ocsp_unavailable.into(),
        })
    }

    /// Sets the "OCSP unavailable" knob (4264 / INCONCLUSIVE on every status check).
    pub fn set_ocsp_unavailable(&self, on: bool) {
        self.ocsp_unavailable
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn ocsp_unavailable(&self) -> bool {
        self.ocsp_unavailable
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Context check plus card handle and terminal reachability.
    pub fn access_card(&self, ctx: &Context, handle: &str) -> Result<CardView, Fault> {
        self.model.check_context(ctx)?;
        let card = self.cards.by_handle(handle)?;
        self.model.check_terminal(ctx, &card.terminal)?;
        Ok(card)
    }

    /// EventService GetCards: inserted cards reachable from the workplace (or mandant-wide).
    pub fn get_cards(
        &self,
        ctx: &Context,
        mandant_wide: bool,
        ct_id: Option<&str>,
        slot: Option<u32>,
        card_type: Option<&str>,
    ) -> Result<Vec<CardView>, Fault> {
        self.model.check_context(ctx)?;
        let terminals = self.model.reachable_terminals(ctx, mandant_wide);
        if let Some(ct) = ct_id
            && !terminals.contains(ct)
        {
            return Err(Fault::new(
                4012,
                format!("card terminal '{ct}' not reachable"),
            ));
        }
        Ok(self
            .cards
            .list(Some(&terminals))
            .into_iter()
            .filter(|c| ct_id.is_none_or(|ct| c.terminal == ct))
            .filter(|c| slot.is_none_or(|s| c.slot == s))
            .filter(|c| card_type.is_none_or(|t| c.kind.matches_filter(t)))
            .collect())
    }

    /// EventService GetCardTerminals: terminal ids and slot counts reachable.
    pub fn get_card_terminals(
        &self,
        ctx: &Context,
        mandant_wide: bool,
    ) -> Result<Vec<(String, u32)>, Fault> {
        self.model.check_context(ctx)?;
        Ok(self
            .model
            .reachable_terminals(ctx, mandant_wide)
            .into_iter()
            .map(|t| {
                let slots = self.model.slots(&t).unwrap_or(1);
                (t, slots)
            })
            .collect())
    }

    /// CardService GetPinStatus.
    pub fn get_pin_status(
        &self,
        ctx: &Context,
        handle: &str,
        pin: PinType,
    ) -> Result<(PinStatus, u32), Fault> {
        self.access_card(ctx, handle)?;
        self.cards.pin_status(handle, pin)
    }

    /// CardService VerifyPin (simulated PIN entry at the terminal).
    pub fn verify_pin(
        &self,
        ctx: &Context,
        handle: &str,
        pin: PinType,
    ) -> Result<(PinResult, u32), Fault> {
        self.access_card(ctx, handle)?;
        self.cards.verify_pin(handle, pin)
    }

    /// CertificateService ReadCardCertificate; `crypt` omitted means RSA (backward
    /// compatible with CertificateService 6.0.0, which has no `Crypt`).
    pub fn read_card_certificate(
        &self,
        ctx: &Context,
        handle: &str,
        cert_refs: &[String],
        crypt: Option<Crypt>,
    ) -> Result<Vec<CardCertificate>, Fault> {
        let card = self.access_card(ctx, handle)?;
        let mut out = Vec::new();
        for r in cert_refs {
            let role = KeyRole::from_cert_ref(r, card.kind).ok_or_else(|| {
                Fault::new(
                    4000,
                    format!("CertRef {r} does not exist on a {}", card.kind.wire()),
                )
            })?;
            let certificate = self
                .cards
                .certificate(handle, role, crypt.unwrap_or(Crypt::Rsa))?;
            out.push(CardCertificate {
                cert_ref: r.clone(),
                certificate,
            });
        }
        Ok(out)
    }

    /// SignatureService GetJobNumber: `[A-Z]{3}-[0-9]{3}`, random, not repeated within the
    /// last 1000 numbers issued (TIP1-A_4642/4643/4645).
    pub fn get_job_number(&self, ctx: &Context) -> Result<String, Fault> {
        self.model.check_context(ctx)?;
        let mut jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jobs.next()
    }

    /// CertificateService VerifyCertificate against the configured trust.
    pub fn verify_certificate(
        &self,
        ctx: &Context,
        cert_der: &[u8],
        at: Option<i64>,
    ) -> Result<CertVerification, Fault> {
        self.model.check_context(ctx)?;
        let cert = CertInfo::parse(cert_der)
            .map_err(|e| Fault::new(4000, format!("X509Certificate is not a certificate: {e}")))?;
        let roles = roles_of(&cert);
        let at = at.unwrap_or_else(crate::clock::now_unix);
        let (result, code, detail) =
            match kim_message::cms::signed::check_path(&cert, &self.trust, at) {
                Err(e) => ("INVALID", Some(4206), e.to_string()),
                Ok(()) if self.ocsp_unavailable() => (
                    "INCONCLUSIVE",
                    Some(4264),
                    "certificate status not available (OCSP responder unreachable)".into(),
                ),
                Ok(()) => ("VALID", None, String::new()),
            };
        Ok(CertVerification {
            result,
            code,
            detail,
            roles,
        })
    }

    /// The card kind of an accessible card (for operations that depend on it).
    pub fn card_kind(&self, ctx: &Context, handle: &str) -> Result<CardKind, Fault> {
        self.access_card(ctx, handle).map(|c| c.kind)
    }
}

/// Profession OIDs of the Admission extension; without one, TI role OIDs
/// (`1.2.276.0.76.4.*`) from certificatePolicies; never empty (RoleList needs one Role).
fn roles_of(cert: &CertInfo) -> Vec<String> {
    if let Ok(Some(adm)) = kim_testkit::pki::Admission::from_certificate_der(&cert.der) {
        let oids: Vec<String> = adm
            .profession_oids
            .iter()
            .map(ToString::to_string)
            .collect();
        if !oids.is_empty() {
            return oids;
        }
    }
    let policies = const_oid::ObjectIdentifier::new_unwrap("2.5.29.32");
    let mut out = Vec::new();
    for (oid, _, value) in &cert.extensions {
        if *oid != policies {
            continue;
        }
        let Ok(seq) = kim_message::cms::ber::parse(value) else {
            continue;
        };
        for info in seq.children().flatten() {
            let first = info.children().next().and_then(Result::ok);
            if let Some(Ok(o)) = first.map(|t| t.oid()) {
                let s = o.to_string();
                if s.starts_with("1.2.276.0.76.4.") {
                    out.push(s);
                }
            }
        }
    }
    if out.is_empty() {
        out.push("unknown".into());
    }
    out
}

#[derive(Debug, Default)]
struct JobNumbers {
    recent: VecDeque<String>,
    seen: HashSet<String>,
}

impl JobNumbers {
    fn next(&mut self) -> Result<String, Fault> {
        for _ in 0..64 {
            let mut r = [0u8; 6];
            getrandom::fill(&mut r).map_err(|e| Fault::internal(format!("random source: {e}")))?;
            let [a, b, c, d, e, f] = r;
            let letter = |x: u8| char::from(b'A' + x % 26);
            let digit = |x: u8| char::from(b'0' + x % 10);
            let n = format!(
                "{}{}{}-{}{}{}",
                letter(a),
                letter(b),
                letter(c),
                digit(d),
                digit(e),
                digit(f)
            );
            if self.seen.insert(n.clone()) {
                self.recent.push_back(n.clone());
                if self.recent.len() > JOB_WINDOW
                    && let Some(old) = self.recent.pop_front()
                {
                    self.seen.remove(&old);
                }
                return Ok(n);
            }
        }
        Err(Fault::internal("no fresh job number found"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn job_numbers_match_the_pattern_and_do_not_repeat_within_the_window() {
        let mut jobs = JobNumbers::default();
        let mut seen = HashSet::new();
        for _ in 0..JOB_WINDOW {
            let n = jobs.next().unwrap();
            let b = n.as_bytes();
            assert_eq!(b.len(), 7, "{n}");
            assert!(b.iter().take(3).all(u8::is_ascii_uppercase), "{n}");
            assert_eq!(b.get(3), Some(&b'-'));
            assert!(b.iter().skip(4).all(u8::is_ascii_digit), "{n}");
            assert!(seen.insert(n), "repeated within the window");
        }
        assert_eq!(jobs.recent.len(), JOB_WINDOW);
        jobs.next().unwrap();
        assert_eq!(jobs.recent.len(), JOB_WINDOW, "window stays bounded");
    }
}
