//! EHLO and HELO (RFC 5321 §4.1.1.1) with the extensions this engine offers.

use tokio::io::{AsyncRead, AsyncWrite};

use super::SmtpBackend;
use super::session::{Session, State};
use crate::reply::Reply;

impl<S, B> Session<'_, S, B>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    /// EHLO/HELO: aborts any transaction and names the client.
    pub(super) fn hello(&mut self, host: String, extended: bool) {
        let _aborted = std::mem::replace(&mut self.state, State::Connected);
        self.state = State::Greeted { helo: host };
        let greeting = format!("{} Hello", self.cfg.hostname);
        if !extended {
            self.reply(Reply::plain(250, greeting));
            return;
        }
        let mut lines = vec![
            greeting,
            "PIPELINING".to_string(),
            format!("SIZE {}", self.cfg.max_message_size),
            "8BITMIME".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.cfg.dsn {
            lines.push("DSN".to_string());
        }
        if self.auth_offered() {
            let names: Vec<&str> = self.cfg.auth_mechanisms.iter().map(|m| m.name()).collect();
            lines.push(format!("AUTH {}", names.join(" ")));
        }
        lines.push("HELP".to_string());
        self.reply(Reply::plain(250, lines.join("\n")));
    }

    /// Whether AUTH is offered on this connection.
    pub(super) fn auth_offered(&self) -> bool {
        !self.cfg.auth_mechanisms.is_empty() && (self.info.tls || !self.cfg.require_tls_for_auth)
    }
}
