//! AUTHORIZATION state (RFC 1939 §4): CAPA, USER/PASS, AUTH PLAIN (RFC 5034, RFC 4616),
//! QUIT.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncRead, AsyncWrite};
use zeroize::Zeroizing;

use super::conn::{Conn, RawLine};
use super::{
    AuthError, Maildrop, MessageInfo, Pop3Backend, ServerConfig, SessionError, SessionInfo, Stop,
};
use crate::command::{Command, Sensitive};
use crate::response::ResponseCode;

/// Longest accepted user name (KIM POP3 user names carry address and host).
const MAX_USER: usize = 512;

/// Data of the AUTHORIZATION state.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    /// The name from a successful USER, waiting for PASS.
    user: Option<String>,
    failures: u32,
}

/// What follows a command in AUTHORIZATION.
pub(crate) enum Next<M> {
    Stay,
    LoggedIn(M),
    Quit,
}

pub(crate) async fn handle<S, B>(
    conn: &mut Conn<S>,
    info: &SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
    state: &mut AuthState,
    command: Command,
) -> Result<Next<B::Maildrop>, Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    // Any command but PASS forgets a pending USER (RFC 1939 §7).
    let pending_user = state.user.take();
    match command {
        Command::Capa => super::capa::write(&mut conn.out, cfg, false),
        Command::Quit => {
            conn.ok("bye");
            return Ok(Next::Quit);
        }
        Command::User(_) if !cfg.allow_user_pass => {
            conn.bad_command("USER/PASS not offered, use AUTH PLAIN")?;
        }
        Command::User(name) => {
            if valid_user(&name) {
                state.user = Some(name);
                conn.ok("send PASS");
            } else {
                conn.bad_command("invalid user name")?;
            }
        }
        Command::Pass(password) => match pending_user {
            Some(user) => return login(conn, info, cfg, backend, state, &user, &password).await,
            None => conn.bad_command("USER first")?,
        },
        Command::Auth {
            mechanism: None, ..
        } => {
            conn.ok("SASL mechanisms follow");
            conn.out.extend_from_slice(b"PLAIN\r\n.\r\n");
        }
        Command::Auth {
            mechanism: Some(mechanism),
            initial,
        } => {
            if mechanism != "PLAIN" {
                conn.err(None, "unsupported SASL mechanism");
                return Ok(Next::Stay);
            }
            return auth_plain(conn, info, cfg, backend, state, initial).await;
        }
        _ => conn.bad_command("not allowed before login")?,
    }
    Ok(Next::Stay)
}

fn valid_user(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_USER && !name.chars().any(char::is_control)
}

/// SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64; the response comes as
/// initial response or after a `+ ` continuation, `*` cancels (RFC 5034 §4).
async fn auth_plain<S, B>(
    conn: &mut Conn<S>,
    info: &SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
    state: &mut AuthState,
    initial: Option<Sensitive>,
) -> Result<Next<B::Maildrop>, Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    let encoded: Zeroizing<Vec<u8>> = match initial {
        Some(initial) if initial.expose() == "=" => Zeroizing::new(Vec::new()),
        Some(initial) => Zeroizing::new(initial.expose().as_bytes().to_vec()),
        None => {
            conn.out.extend_from_slice(b"+ \r\n");
            match conn.next_raw_line().await? {
                RawLine::Closed => return Ok(Next::Quit),
                RawLine::TooLong => {
                    conn.bad_command("line too long")?;
                    return Ok(Next::Stay);
                }
                RawLine::Line(line) if line.as_slice() == b"*" => {
                    conn.err(None, "authentication cancelled");
                    return Ok(Next::Stay);
                }
                RawLine::Line(line) => line,
            }
        }
    };
    let Some((authcid, password)) = decode_plain(&encoded) else {
        conn.bad_command("invalid SASL PLAIN response")?;
        return Ok(Next::Stay);
    };
    login(conn, info, cfg, backend, state, &authcid, &password).await
}

/// Decodes a PLAIN response; `None` unless it is valid base64 with three UTF-8 fields and
/// an authzid that is empty or equal to the authcid (no proxy logins).
fn decode_plain(encoded: &[u8]) -> Option<(String, Sensitive)> {
    let decoded = Zeroizing::new(STANDARD.decode(encoded).ok()?);
    let mut fields = decoded.split(|&b| b == 0);
    let authzid = std::str::from_utf8(fields.next()?).ok()?;
    let authcid = std::str::from_utf8(fields.next()?).ok()?;
    let password = std::str::from_utf8(fields.next()?).ok()?;
    if fields.next().is_some() || !valid_user(authcid) {
        return None;
    }
    if !authzid.is_empty() && authzid != authcid {
        return None;
    }
    Some((authcid.to_owned(), Sensitive::new(password.to_owned())))
}

/// Asks the backend; answers `+OK` with the maildrop size or `-ERR` with the RFC 2449/3206
/// response code of the refusal.
async fn login<S, B>(
    conn: &mut Conn<S>,
    info: &SessionInfo,
    cfg: &ServerConfig,
    backend: &B,
    state: &mut AuthState,
    user: &str,
    password: &Sensitive,
) -> Result<Next<B::Maildrop>, Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Pop3Backend,
{
    let result = conn
        .backend(backend.authenticate(info, user, password.expose()))
        .await?;
    let refusal = match result {
        Ok(maildrop) => {
            let messages = maildrop.messages();
            let octets: u64 = messages.iter().map(|m| m.size).sum();
            let bad_uids = messages
                .iter()
                .filter(|m| !MessageInfo::uid_is_valid(&m.uid))
                .count();
            if bad_uids > 0 {
                // A backend bug that breaks UIDL for clients; the session still works.
                tracing::warn!(peer = %info.peer, bad_uids, "maildrop has invalid unique-ids");
            }
            conn.ok(&format!(
                "maildrop has {} messages ({octets} octets)",
                messages.len()
            ));
            tracing::debug!(peer = %info.peer, messages = messages.len(), "POP3 login");
            return Ok(Next::LoggedIn(maildrop));
        }
        Err(refusal) => refusal,
    };
    tracing::debug!(peer = %info.peer, reason = ?refusal, "POP3 login refused");
    match &refusal {
        AuthError::Invalid => conn.err(Some(&ResponseCode::Auth), "authentication failed"),
        AuthError::Locked(text) => conn.err(Some(&ResponseCode::Auth), text),
        AuthError::InUse => conn.err(Some(&ResponseCode::InUse), "maildrop already locked"),
        AuthError::Temporary(text) => conn.err(Some(&ResponseCode::SysTemp), text),
    }
    if matches!(refusal, AuthError::Invalid | AuthError::Locked(_)) {
        state.failures = state.failures.saturating_add(1);
        if state.failures >= cfg.max_auth_failures {
            return Err(Stop::Error(SessionError::TooManyErrors));
        }
    }
    Ok(Next::Stay)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    fn plain(raw: &[u8]) -> Vec<u8> {
        STANDARD.encode(raw).into_bytes()
    }

    #[test]
    fn plain_response_rules() {
        let (user, pw) = decode_plain(&plain(b"\0alice\0sec ret")).unwrap();
        assert_eq!((user.as_str(), pw.expose()), ("alice", "sec ret"));
        let (user, _) = decode_plain(&plain(b"alice\0alice\0pw")).unwrap();
        assert_eq!(user, "alice");
        // Proxy authorisation, missing fields, extra fields, bad base64, empty user.
        assert!(decode_plain(&plain(b"bob\0alice\0pw")).is_none());
        assert!(decode_plain(&plain(b"\0alice")).is_none());
        assert!(decode_plain(&plain(b"\0alice\0pw\0x")).is_none());
        assert!(decode_plain(b"!!!").is_none());
        assert!(decode_plain(&plain(b"\0\0pw")).is_none());
        assert!(decode_plain(&plain(b"\0al\xffice\0pw")).is_none());
        assert!(decode_plain(b"").is_none());
    }
}
