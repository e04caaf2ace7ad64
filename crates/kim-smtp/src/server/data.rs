//! DATA (RFC 5321 §4.1.1.4): content streamed to the backend's spool, size enforced
//! while reading (RFC 1870 §6.3), the reply after the dot.

use tokio::io::{AsyncRead, AsyncWrite};

use super::session::{DataState, Session, State};
use super::{DataSpool, SmtpBackend};
use crate::reply::{Reply, canned};

impl<S, B> Session<'_, S, B>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    /// The DATA command.
    pub(super) async fn data(&mut self) {
        let envelope = match &self.state {
            State::Mail { envelope } if !envelope.rcpts.is_empty() => envelope,
            State::Mail { .. } => {
                self.reply(Reply::new(554, (5, 5, 1), "No valid recipients"));
                return;
            }
            _ => {
                self.reply(canned::bad_sequence("Need MAIL and RCPT before DATA"));
                return;
            }
        };
        let spool = match self.backend.data_start(self.info, envelope).await {
            Ok(spool) => spool,
            Err(reply) => {
                self.reply(reply);
                return;
            }
        };
        let State::Mail { envelope } = std::mem::replace(&mut self.state, State::Connected) else {
            return;
        };
        self.state = State::Data(DataState {
            envelope,
            spool: Some(spool),
            received: 0,
            failure: None,
        });
        self.decoder.start_data();
        self.reply(Reply::plain(
            354,
            "Start mail input; end with <CRLF>.<CRLF>",
        ));
    }

    /// A piece of content.
    pub(super) async fn data_chunk(&mut self, chunk: &[u8]) {
        let max = self.cfg.max_message_size;
        let State::Data(data) = &mut self.state else {
            return;
        };
        data.received = data.received.saturating_add(chunk.len() as u64);
        if data.failure.is_some() {
            return;
        }
        if data.received > max {
            // Keep reading to the dot, storing nothing more.
            data.spool = None;
            data.failure = Some(canned::too_big());
            return;
        }
        if let Some(spool) = &mut data.spool
            && let Err(reply) = spool.write(chunk).await
        {
            data.spool = None;
            data.failure = Some(reply);
        }
    }

    /// The terminating dot.
    pub(super) async fn data_end(&mut self) {
        let State::Data(data) = std::mem::replace(&mut self.state, State::Connected) else {
            return;
        };
        let helo = data.envelope.helo.clone();
        self.state = State::Greeted { helo };
        let reply = match (data.failure, data.spool) {
            (Some(reply), _) => reply,
            (None, Some(spool)) => self.backend.data_end(self.info, data.envelope, spool).await,
            (None, None) => Reply::new(451, (4, 3, 0), "Transaction aborted"),
        };
        self.reply(reply);
    }
}
