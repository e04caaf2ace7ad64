//! Out-of-office replies (KOM-LE-A_2223/2224/2277/2278, RFC 3834).
//!
//! When a message is delivered into a mailbox whose out-of-office notification is active and
//! the current time lies in `[start, end]`, the sender gets at most one reply per day
//! ([`kim_store::AccountStore::autoreply_once`]): plain `text/plain; charset=UTF-8`, neither
//! signed nor encrypted (receiving Clientmodule pass it through), `From` the account,
//! `Auto-Submitted: auto-replied`, `X-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0`,
//! `In-Reply-To`/`References` to the original, sent with the null sender.
//!
//! Never answered (RFC 3834 §2): the null sender (DSNs), `Auto-Submitted` other than `no`,
//! `Precedence: bulk|list|junk`, any `List-*` field, reports (`multipart/report`), other
//! autoreplies (Dienstkennung `…;Abwesend;…`), and mail from the account itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_store::{Account, RegState};

use crate::rfc5322::{self, HeaderFacts};
use crate::{Fachdienst, now};

/// The Dienstkennung of an autoreply (kim-spec §2.7).
pub const DIENSTKENNUNG: &str = "KIM-Mail;Abwesend;V1.0";
/// Subject of an autoreply (our wording; A_2278 is not available to us).
pub const SUBJECT: &str = "Abwesenheitsnotiz";

/// Whether a message with envelope sender `mail_from` and these header facts may be
/// answered automatically.
pub(crate) fn may_answer(mail_from: &str, facts: &HeaderFacts) -> bool {
    if mail_from.is_empty() || facts.list || facts.report {
        return false;
    }
    if facts.auto_submitted.as_deref().is_some_and(|v| v != "no") {
        return false;
    }
    if facts
        .precedence
        .as_deref()
        .is_some_and(|p| matches!(p, "bulk" | "list" | "junk"))
    {
        return false;
    }
    !facts.dienstkennung.as_deref().is_some_and(|d| {
        d.split(';')
            .nth(1)
            .is_some_and(|k| k.eq_ignore_ascii_case("Abwesend"))
    })
}

/// Inputs of one autoreply.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    /// The absent account (`From`).
    pub from: &'a str,
    /// The original sender (`To`).
    pub to: &'a str,
    /// The account's out-of-office text.
    pub text: &'a str,
    /// Message-ID of the original, with angle brackets.
    pub in_reply_to: Option<&'a str>,
    /// RFC 5322 date.
    pub date: &'a str,
    /// Message-ID of the reply, with angle brackets.
    pub message_id: &'a str,
}

/// Builds the reply (CRLF line ends, body base64 so any text length and any character is
/// carried unchanged).
#[must_use]
pub fn build(reply: &Reply<'_>) -> Vec<u8> {
    let clean = |v: &str| -> String { v.chars().filter(|c| !c.is_control()).collect() };
    let mut out = String::new();
    out.push_str(&format!("Date: {}\r\n", clean(reply.date)));
    out.push_str(&format!("From: <{}>\r\n", clean(reply.from)));
    out.push_str(&format!("To: <{}>\r\n", clean(reply.to)));
    out.push_str(&format!("Subject: {SUBJECT}\r\n"));
    out.push_str(&format!("Message-ID: {}\r\n", clean(reply.message_id)));
    if let Some(id) = reply.in_reply_to {
        let id = clean(id);
        out.push_str(&format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"));
    }
    out.push_str("Auto-Submitted: auto-replied\r\n");
    out.push_str(&format!("X-KIM-Dienstkennung: {DIENSTKENNUNG}\r\n"));
    out.push_str("MIME-Version: 1.0\r\n");
    out.push_str("Content-Type: text/plain; charset=UTF-8\r\n");
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let text = reply.text.replace("\r\n", "\n").replace('\n', "\r\n");
    let encoded = STANDARD.encode(text.as_bytes());
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Whether `account` is away at `t`.
fn away(account: &Account, t: i64) -> Option<&str> {
    let ooo = account.out_of_office.as_ref()?;
    (account.state == RegState::Registered && ooo.active && ooo.start <= t && t <= ooo.end)
        .then_some(ooo.message.as_str())
}

impl Fachdienst {
    /// After a delivery to `recipient`: sends the out-of-office reply to `mail_from` if the
    /// account is away, the message may be answered and no reply went to this sender today.
    /// Failures are logged; the delivery itself stands.
    pub(crate) async fn autoreply(&self, recipient: &str, mail_from: &str, facts: &HeaderFacts) {
        if !may_answer(mail_from, facts) || recipient.eq_ignore_ascii_case(mail_from) {
            return;
        }
        let t = now();
        let account = match self.meta.account(recipient).await {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "autoreply: account lookup failed");
                return;
            }
        };
        let Some(text) = away(&account, t) else {
            return;
        };
        let sender = mail_from.to_ascii_lowercase();
        match self
            .meta
            .autoreply_once(&account.address, &sender, t.div_euclid(86_400))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "autoreply: log failed");
                return;
            }
        }
        let message = build(&Reply {
            from: &account.address,
            to: &sender,
            text,
            in_reply_to: facts.message_id.as_deref(),
            date: &rfc5322::date(t),
            message_id: &rfc5322::message_id(&self.policy.hostname),
        });
        match self.inject(&sender, &message).await {
            Ok(outcome) => tracing::info!(?outcome, "autoreply sent"),
            Err(e) => tracing::warn!(error = %e, "autoreply could not be stored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(header: &str) -> HeaderFacts {
        rfc5322::facts(header.as_bytes())
    }

    #[test]
    fn ordinary_mail_is_answered() {
        assert!(may_answer("a@b", &facts("Subject: x\r\n\r\n")));
        assert!(may_answer("a@b", &facts("Auto-Submitted: no\r\n\r\n")));
        assert!(may_answer(
            "a@b",
            &facts("X-KIM-Dienstkennung: eAU;Lieferung;V1.0\r\n\r\n")
        ));
    }

    #[test]
    fn automatic_and_bulk_mail_is_not_answered() {
        assert!(!may_answer("", &facts("Subject: x\r\n\r\n")));
        for header in [
            "Auto-Submitted: auto-generated\r\n\r\n",
            "Auto-Submitted: auto-replied\r\n\r\n",
            "Precedence: bulk\r\n\r\n",
            "Precedence: list\r\n\r\n",
            "Precedence: junk\r\n\r\n",
            "List-Id: <x.example>\r\n\r\n",
            "X-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0\r\n\r\n",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n",
        ] {
            assert!(!may_answer("a@b", &facts(header)), "{header}");
        }
    }

    #[test]
    fn reply_is_plain_text_with_the_kim_markers() {
        let bytes = build(&Reply {
            from: "arzt@b",
            to: "praxis@a",
            text: "Bin im Urlaub.\nVertretung: Dr. Müller",
            in_reply_to: Some("<orig@a>"),
            date: "Thu, 03 Dec 2026 23:05:00 +0000",
            message_id: "<r@b>",
        });
        let text = String::from_utf8(bytes).unwrap_or_default();
        for needle in [
            "From: <arzt@b>\r\n",
            "To: <praxis@a>\r\n",
            "In-Reply-To: <orig@a>\r\nReferences: <orig@a>\r\n",
            "Auto-Submitted: auto-replied\r\n",
            "X-KIM-Dienstkennung: KIM-Mail;Abwesend;V1.0\r\n",
            "Content-Type: text/plain; charset=UTF-8\r\n",
        ] {
            assert!(text.contains(needle), "{needle:?} in\n{text}");
        }
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let decoded = STANDARD
            .decode(body.replace("\r\n", ""))
            .unwrap_or_default();
        assert_eq!(
            String::from_utf8(decoded).unwrap_or_default(),
            "Bin im Urlaub.\r\nVertretung: Dr. Müller"
        );
    }
}
