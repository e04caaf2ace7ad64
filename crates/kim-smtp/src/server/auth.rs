//! AUTH PLAIN and LOGIN (RFC 4954, RFC 4616).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncRead, AsyncWrite};

use super::session::{AuthStep, Session, State};
use super::{AuthMechanism, SmtpBackend};
use crate::reply::Reply;

/// `334` challenge of LOGIN asking for the user name ("Username:").
const LOGIN_USER: &str = "VXNlcm5hbWU6";
/// `334` challenge of LOGIN asking for the password ("Password:").
const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

impl<S, B> Session<'_, S, B>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: SmtpBackend,
{
    /// The AUTH command.
    pub(super) async fn auth(&mut self, mechanism: u64, initial_response: &str) {
        if let Err(reply) = self.auth_allowed() {
            self.reply(reply);
            return;
        }
        let helo = match std::mem::replace(&mut self.state, State::Connected) {
            State::Greeted { helo } => helo,
            other => {
                self.state = other;
                return;
            }
        };
        let offered = |m: AuthMechanism| self.cfg.auth_mechanisms.contains(&m);
        let step = if mechanism == smtp_proto::AUTH_PLAIN && offered(AuthMechanism::Plain) {
            AuthStep::Plain
        } else if mechanism == smtp_proto::AUTH_LOGIN && offered(AuthMechanism::Login) {
            AuthStep::LoginUser
        } else {
            self.state = State::Greeted { helo };
            // 5.7.4 as the Clientmodul's pre-AUTH table demands (KOM-LE-A_2007).
            self.reply(Reply::new(
                504,
                (5, 7, 4),
                "Unrecognized authentication type",
            ));
            return;
        };
        self.state = State::Auth { helo, step };
        if initial_response.is_empty() {
            let challenge = match self.state {
                State::Auth {
                    step: AuthStep::LoginUser,
                    ..
                } => LOGIN_USER,
                _ => "",
            };
            self.challenge(challenge);
        } else {
            self.auth_line(initial_response.as_bytes()).await;
        }
    }

    fn auth_allowed(&self) -> Result<(), Reply> {
        if self.cfg.auth_mechanisms.is_empty() {
            return Err(Reply::new(502, (5, 5, 1), "AUTH not available"));
        }
        if self.auth_user.is_some() {
            return Err(Reply::new(503, (5, 5, 1), "Already authenticated"));
        }
        match self.state {
            State::Greeted { .. } => {}
            State::Connected => return Err(Reply::new(503, (5, 5, 1), "Send EHLO first")),
            _ => {
                return Err(Reply::new(
                    503,
                    (5, 5, 1),
                    "AUTH not permitted during a mail transaction",
                ));
            }
        }
        if self.cfg.require_tls_for_auth && !self.info.tls {
            return Err(Reply::new(
                538,
                (5, 7, 11),
                "Encryption required for requested authentication mechanism",
            ));
        }
        Ok(())
    }

    fn challenge(&mut self, text: &str) {
        self.decoder.expect_line();
        self.reply(Reply::plain(334, text));
    }

    /// A SASL response: the initial response of AUTH or a line after `334`.
    pub(super) async fn auth_line(&mut self, line: &[u8]) {
        let State::Auth { helo, step } = std::mem::replace(&mut self.state, State::Connected)
        else {
            self.reply(crate::reply::canned::unknown_command(
                self.cfg.unknown_command_code,
            ));
            return;
        };
        let finished = State::Greeted { helo: helo.clone() };
        if line == b"*" {
            self.state = finished;
            self.reply(Reply::new(501, (5, 7, 0), "Authentication cancelled"));
            return;
        }
        let decoded = match decode_response(line) {
            Ok(decoded) => decoded,
            Err(reply) => {
                self.state = finished;
                self.reply(reply);
                return;
            }
        };
        let credentials = match step {
            AuthStep::Plain => parse_plain(&decoded),
            AuthStep::LoginUser => {
                self.state = State::Auth {
                    helo,
                    step: AuthStep::LoginPassword { user: decoded },
                };
                self.challenge(LOGIN_PASSWORD);
                return;
            }
            AuthStep::LoginPassword { user } => Ok((user, decoded)),
        };
        self.state = finished;
        match credentials {
            Ok((user, password)) => self.check_credentials(user, &password).await,
            Err(reply) => self.reply(reply),
        }
    }

    async fn check_credentials(&mut self, user: String, password: &str) {
        match self.backend.authenticate(self.info, &user, password).await {
            Ok(()) => {
                self.auth_user = Some(user);
                self.reply(Reply::new(235, (2, 7, 0), "Authentication successful"));
            }
            Err(reply) => self.reply(reply),
        }
    }
}

/// Base64 of a SASL response; `=` is the empty response (RFC 4954 §4).
fn decode_response(line: &[u8]) -> Result<String, Reply> {
    let bytes = if line == b"=" {
        Vec::new()
    } else {
        STANDARD
            .decode(line)
            .map_err(|_| Reply::new(501, (5, 5, 2), "Invalid base64 in SASL response"))?
    };
    String::from_utf8(bytes).map_err(|_| Reply::new(501, (5, 5, 2), "SASL response is not UTF-8"))
}

/// `authzid NUL authcid NUL passwd` (RFC 4616 §2). An authorization identity other than
/// the authentication identity is refused.
fn parse_plain(message: &str) -> Result<(String, String), Reply> {
    let mut parts = message.split('\0');
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Reply::new(501, (5, 5, 2), "Malformed PLAIN response"));
    };
    if authcid.is_empty() {
        return Err(Reply::new(501, (5, 5, 2), "Malformed PLAIN response"));
    }
    if !authzid.is_empty() && authzid != authcid {
        return Err(Reply::new(
            535,
            (5, 7, 8),
            "Authorization identity not permitted",
        ));
    }
    Ok((authcid.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn plain_message_parts() {
        assert_eq!(
            parse_plain("\0user\0pw").unwrap(),
            ("user".to_string(), "pw".to_string())
        );
        assert_eq!(parse_plain("user\0user\0pw").unwrap().0, "user");
        assert_eq!(parse_plain("admin\0user\0pw").unwrap_err().code, 535);
        assert_eq!(parse_plain("user\0pw").unwrap_err().code, 501);
        assert_eq!(parse_plain("\0\0pw").unwrap_err().code, 501);
        assert_eq!(parse_plain("a\0b\0c\0d").unwrap_err().code, 501);
    }

    #[test]
    fn responses_are_base64() {
        assert_eq!(decode_response(b"dXNlcg==").unwrap(), "user");
        assert_eq!(decode_response(b"=").unwrap(), "");
        assert_eq!(decode_response(b"not base64!").unwrap_err().code, 501);
        assert_eq!(decode_response(b"//79").unwrap_err().code, 501);
    }
}
