//! MAIL and RCPT (RFC 5321 §4.1.1.2–3) with SIZE (RFC 1870) and DSN (RFC 3461) parameters.

use std::borrow::Cow;

use tokio::io::{AsyncRead, AsyncWrite};

use super::SmtpBackend;
use super::session::{Session, State};
use crate::envelope::{mail_from_from_proto, rcpt_to_from_proto};
use crate::reply::{Reply, canned};
use crate::{Envelope, MailFrom};

impl<S, B> Session<'_, S, B>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    /// MAIL FROM: starts a transaction.
    pub(super) async fn mail(&mut self, from: smtp_proto::MailFrom<String>) {
        let helo = match &self.state {
            State::Greeted { helo } => helo.clone(),
            State::Connected => {
                self.reply(canned::bad_sequence("Send EHLO/HELO first"));
                return;
            }
            _ => {
                self.reply(canned::bad_sequence("Nested MAIL command"));
                return;
            }
        };
        if self.cfg.require_auth && self.auth_user.is_none() {
            self.reply(canned::auth_required());
            return;
        }
        let mail = match self.check_mail(from) {
            Ok(mail) => mail,
            Err(reply) => {
                self.reply(reply);
                return;
            }
        };
        let verdict = self
            .backend
            .mail_from(self.info, self.auth_user.as_deref(), &mail)
            .await;
        match verdict {
            Ok(()) => {
                self.state = State::Mail {
                    envelope: Envelope {
                        helo,
                        auth_user: self.auth_user.clone(),
                        mail_from: mail,
                        rcpts: Vec::new(),
                    },
                };
                self.reply(Reply::new(250, (2, 1, 0), "Sender OK"));
            }
            Err(reply) => self.reply(reply),
        }
    }

    fn check_mail(&self, from: smtp_proto::MailFrom<String>) -> Result<MailFrom, Reply> {
        let from = smtp_proto::MailFrom {
            address: Cow::Owned(from.address),
            flags: from.flags,
            size: from.size,
            trans_id: from.trans_id.map(Cow::Owned),
            by: from.by,
            env_id: from.env_id.map(Cow::Owned),
            solicit: from.solicit.map(Cow::Owned),
            mtrk: from.mtrk.map(|m| smtp_proto::Mtrk {
                certifier: Cow::Owned(m.certifier),
                timeout: m.timeout,
            }),
            auth: from.auth.map(Cow::Owned),
            hold_for: from.hold_for,
            hold_until: from.hold_until,
            mt_priority: from.mt_priority,
        };
        let mail = mail_from_from_proto(from, self.cfg.dsn)?;
        if mail
            .size
            .is_some_and(|size| size > self.cfg.max_message_size)
        {
            return Err(canned::too_big());
        }
        Ok(mail)
    }

    /// RCPT TO: adds a recipient.
    pub(super) async fn rcpt(&mut self, to: smtp_proto::RcptTo<String>) {
        let State::Mail { envelope } = &self.state else {
            self.reply(canned::bad_sequence("Need MAIL before RCPT"));
            return;
        };
        let to = smtp_proto::RcptTo {
            address: Cow::Owned(to.address),
            orcpt: to.orcpt.map(Cow::Owned),
            rrvs: to.rrvs,
            flags: to.flags,
        };
        let rcpt = match rcpt_to_from_proto(to, self.cfg.dsn) {
            Ok(rcpt) => rcpt,
            Err(reply) => {
                self.reply(reply);
                return;
            }
        };
        if envelope.rcpts.len() >= self.cfg.max_recipients {
            self.reply(Reply::new(452, (4, 5, 3), "Too many recipients"));
            return;
        }
        let verdict = self.backend.rcpt_to(self.info, envelope, &rcpt).await;
        match verdict {
            Ok(()) => {
                if let State::Mail { envelope } = &mut self.state {
                    envelope.rcpts.push(rcpt);
                }
                self.reply(Reply::new(250, (2, 1, 5), "Recipient OK"));
            }
            Err(reply) => self.reply(reply),
        }
    }
}
