//! One POP3 proxy session (gemSpec_CM_KOMLE 3.4.2; kim-spec §4.2, §4.3):
//! AUTHORIZATION (Tab_POP3_Ant_Init: greeting, CAPA, USER/PASS, AUTH PLAIN, QUIT) and
//! PROXY (STAT, LIST, UIDL, NOOP, RSET, DELE and QUIT relayed; `TOP n m` forwarded as
//! `TOP n 0`; RETR processed).
//!
//! Deletions: DELE is relayed as the client sends it and QUIT is relayed, so the
//! Fachdienst deletes exactly the messages the client deleted, and only in its UPDATE
//! state. A session that ends any other way (client gone, timeout, shutdown) drops the
//! Fachdienst connection without QUIT: nothing is deleted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kim_konnektor::client::Konnektor;
use kim_pop3::{ClientError, Command};
use tokio::io::{AsyncRead, AsyncWrite};
use zeroize::Zeroizing;

use super::Shared;
use super::conn::{Conn, ConnError, Incoming};
use super::login;
use super::process::{self, Outcome, Recipient};
use super::upstream::{Upstream, negative_text};

/// The CAPA reply of Tab_POP3_Ant_Init.
const CAPA: &[u8] = b"+OK Capability list follows\r\nTOP\r\nUSER\r\nSASL PLAIN\r\nUIDL\r\n.\r\n";

/// Invalid commands tolerated before the session is closed.
const MAX_BAD_COMMANDS: u32 = 10;

/// Runs one session until QUIT, disconnect, timeout or shutdown.
pub(crate) async fn serve<S, K>(conn: &mut Conn<S>, shared: &Shared<K>) -> Result<(), ConnError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    K: Konnektor + 'static,
{
    conn.ok(&format!(
        "KOM-LE Clientmodul POP3 {} ready",
        shared.config.hostname
    ))
    .await?;
    let Some((upstream, recipient)) = authorization(conn, shared).await? else {
        return Ok(());
    };
    proxy(conn, shared, upstream, recipient).await
}

/// AUTHORIZATION until a successful login (`Some`) or QUIT / end of stream (`None`).
async fn authorization<S, K>(
    conn: &mut Conn<S>,
    shared: &Shared<K>,
) -> Result<Option<(Upstream, Recipient)>, ConnError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    K: Konnektor + 'static,
{
    let mut user: Option<String> = None;
    let mut bad = 0u32;
    loop {
        let command = match conn.next_command().await? {
            Incoming::Closed => return Ok(None),
            Incoming::Invalid(e) => {
                bad_command(conn, &mut bad, &e).await?;
                continue;
            }
            Incoming::Command(c) => c,
        };
        let pending = user.take();
        let credentials = match command {
            Command::Capa => {
                conn.write(CAPA).await?;
                continue;
            }
            Command::Quit => {
                conn.ok("bye").await?;
                return Ok(None);
            }
            Command::User(name) => {
                user = Some(name);
                conn.ok("send PASS").await?;
                continue;
            }
            Command::Pass(password) => match pending {
                Some(name) => (name, Zeroizing::new(password.expose().to_string())),
                None => {
                    bad_command(conn, &mut bad, "USER first").await?;
                    continue;
                }
            },
            Command::Auth {
                mechanism: None, ..
            } => {
                conn.write(b"+OK SASL mechanisms follow\r\nPLAIN\r\n.\r\n")
                    .await?;
                continue;
            }
            Command::Auth {
                mechanism: Some(mechanism),
                initial,
            } => {
                if mechanism != "PLAIN" {
                    conn.err("unsupported SASL mechanism, use PLAIN").await?;
                    continue;
                }
                let response = match initial {
                    Some(initial) => Some(Zeroizing::new(initial.expose().to_string())),
                    None => {
                        conn.write(b"+ \r\n").await?;
                        conn.raw_line().await?.map(Zeroizing::new)
                    }
                };
                match response.as_deref().and_then(|r| decode_plain(r)) {
                    Some(credentials) => credentials,
                    None => {
                        conn.err("invalid SASL PLAIN response").await?;
                        continue;
                    }
                }
            }
            _ => {
                bad_command(conn, &mut bad, "not logged in").await?;
                continue;
            }
        };
        match login::login(shared, &credentials.0, &credentials.1).await {
            Ok(session) => {
                conn.ok("logged in").await?;
                return Ok(Some(session));
            }
            Err(text) => conn.err(&text).await?,
        }
    }
}

async fn bad_command<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    bad: &mut u32,
    text: &str,
) -> Result<(), ConnError> {
    *bad += 1;
    conn.err(text).await?;
    if *bad >= MAX_BAD_COMMANDS {
        return Err(ConnError::Io(std::io::Error::other(
            "too many invalid commands",
        )));
    }
    Ok(())
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`, base64 (`=` is an empty response).
fn decode_plain(response: &str) -> Option<(String, Zeroizing<String>)> {
    let raw = Zeroizing::new(STANDARD.decode(response.trim()).ok()?);
    let mut parts = raw.split(|&b| b == 0);
    let _authzid = parts.next()?;
    let authcid = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let passwd = Zeroizing::new(std::str::from_utf8(parts.next()?).ok()?.to_string());
    if parts.next().is_some() || authcid.is_empty() {
        return None;
    }
    Some((authcid, passwd))
}

/// PROXY state.
async fn proxy<S, K>(
    conn: &mut Conn<S>,
    shared: &Shared<K>,
    mut upstream: Upstream,
    recipient: Recipient,
) -> Result<(), ConnError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    K: Konnektor + 'static,
{
    let mut bad = 0u32;
    loop {
        let command = match conn.next_command().await? {
            Incoming::Closed => return Ok(()),
            Incoming::Invalid(e) => {
                bad_command(conn, &mut bad, &e).await?;
                continue;
            }
            Incoming::Command(c) => c,
        };
        tracing::trace!(command = command.keyword(), "POP3 proxy command");
        let relayed = match command {
            Command::Capa => {
                conn.write(CAPA).await?;
                continue;
            }
            Command::User(_) | Command::Pass(_) | Command::Auth { .. } => {
                bad_command(conn, &mut bad, "already logged in").await?;
                continue;
            }
            Command::Retr(n) => retr(conn, shared, &mut upstream, &recipient, n).await,
            Command::Top(n, _) => top(&mut upstream, n).await,
            Command::Stat => match upstream.stat().await {
                Ok((count, octets)) => Reply::Ok(format!("{count} {octets}")),
                Err(e) => Reply::from(e),
            },
            Command::List(None) => listing(upstream.list().await, "scan listing follows"),
            Command::Uidl(None) => listing(upstream.uidl().await, "unique-id listing follows"),
            Command::List(Some(n)) => single(upstream.command(&format!("LIST {n}")).await),
            Command::Uidl(Some(n)) => single(upstream.command(&format!("UIDL {n}")).await),
            Command::Dele(n) => single(upstream.dele(n).await),
            Command::Rset => single(upstream.rset().await),
            Command::Noop => single(upstream.noop().await),
            Command::Quit => {
                let reply = single(upstream.quit().await);
                send(conn, reply).await?;
                return Ok(());
            }
        };
        send(conn, relayed).await?;
    }
}

/// What goes back to the client for one relayed command.
enum Reply {
    Ok(String),
    Multi(String, Vec<u8>),
    Sent,
    Err(String),
    /// The Fachdienst connection failed: `-ERR`, then the session ends (nothing deleted).
    Lost(String),
}

impl From<ClientError> for Reply {
    fn from(e: ClientError) -> Reply {
        match e {
            ClientError::Negative { .. } => Reply::Err(negative_text(&e)),
            other => {
                tracing::warn!(error = %other, "POP3 server connection lost");
                Reply::Lost("[SYS/TEMP] connection to the KIM mail server lost".into())
            }
        }
    }
}

fn single(result: Result<String, ClientError>) -> Reply {
    result.map_or_else(Reply::from, Reply::Ok)
}

fn listing<T: std::fmt::Display>(
    result: Result<Vec<(u32, T)>, ClientError>,
    status: &str,
) -> Reply {
    match result {
        Ok(lines) => {
            let mut body = String::new();
            for (n, value) in lines {
                body.push_str(&format!("{n} {value}\r\n"));
            }
            Reply::Multi(status.to_string(), body.into_bytes())
        }
        Err(e) => Reply::from(e),
    }
}

async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    reply: Reply,
) -> Result<(), ConnError> {
    match reply {
        Reply::Ok(text) => conn.ok(&text).await,
        Reply::Multi(status, body) => conn.multi_line(&status, &body).await,
        Reply::Sent => Ok(()),
        Reply::Err(text) => conn.err(&text).await,
        Reply::Lost(text) => {
            conn.err(&text).await?;
            Err(ConnError::Io(std::io::Error::other(
                "POP3 server connection lost",
            )))
        }
    }
}

/// `TOP n m` is always forwarded as `TOP n 0` (KOM-LE-A_2041); `MIME-Version` is dropped
/// from the header (the spec's hint for clients that mis-handle header-only loading).
async fn top(upstream: &mut Upstream, n: u32) -> Reply {
    let header = match upstream.top(n, 0).await {
        Ok(reader) => reader.to_vec().await,
        Err(e) => return Reply::from(e),
    };
    match header {
        Ok(header) => Reply::Multi("top of message follows".into(), drop_mime_version(&header)),
        Err(e) => Reply::from(e),
    }
}

/// RETR: the whole message from the Fachdienst, processed, dot-stuffed to the client.
async fn retr<S, K>(
    conn: &mut Conn<S>,
    shared: &Shared<K>,
    upstream: &mut Upstream,
    recipient: &Recipient,
    n: u32,
) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin,
    K: Konnektor + 'static,
{
    let fetch = crate::perf::timer("fetch");
    let received = match upstream.retr(n).await {
        Ok(reader) => reader.to_vec().await,
        Err(e) => return Reply::from(e),
    };
    drop(fetch);
    let received = match received {
        Ok(r) => r,
        Err(e) => return Reply::from(e),
    };
    let Some(konnektor) = shared
        .konnektors
        .get(recipient.konnektor.konnektor_id.as_ref())
    else {
        // Checked at login; a message is never processed at another Konnektor.
        return Reply::Err("the user name's KonnektorId is not configured".into());
    };
    let (message, outcome) = process::process(
        received,
        recipient,
        konnektor,
        shared.kas.as_ref(),
        &shared.vzd,
        &shared.config.fachdienst_cert_check,
    )
    .await;
    log_outcome(n, &outcome);
    match conn
        .multi_line(&format!("{} octets", message.len()), &message)
        .await
    {
        Ok(()) => Reply::Sent,
        Err(e) => Reply::Lost(format!("[SYS/TEMP] {e}")),
    }
}

fn log_outcome(n: u32, outcome: &Outcome) {
    match outcome {
        Outcome::PassThrough => tracing::info!(n, "message passed through (not KOM-LE)"),
        Outcome::Delivered { ids, positive } => {
            tracing::info!(n, integrity = ?ids, positive, "message decrypted and checked");
        }
        Outcome::ErrorMail { reason } => {
            tracing::info!(n, reason = %reason, "message replaced by an error mail");
        }
        Outcome::Unprocessed { reason } => {
            tracing::warn!(n, reason = %reason, "message delivered unprocessed");
        }
    }
}

/// Removes `MIME-Version` fields (with continuation lines) from a header block.
fn drop_mime_version(header: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len());
    let mut skipping = false;
    let mut in_header = true;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if in_header {
            if line == b"\r\n" || line == b"\n" {
                in_header = false;
            } else if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                if skipping {
                    continue;
                }
            } else {
                skipping = line
                    .get(..13)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"MIME-Version:"));
                if skipping {
                    continue;
                }
            }
        }
        out.extend_from_slice(line);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]
    use super::*;

    #[test]
    fn mime_version_is_dropped_from_the_header_only() {
        let top = b"From: a@b\r\nMIME-Version: 1.0\r\n (comment)\r\nmime-version:1.0\r\nSubject: x\r\n\r\nMIME-Version: body\r\n";
        assert_eq!(
            drop_mime_version(top),
            b"From: a@b\r\nSubject: x\r\n\r\nMIME-Version: body\r\n".to_vec()
        );
    }

    #[test]
    fn sasl_plain_responses_are_split() {
        let r = STANDARD.encode(b"\0user#x\0secret pass");
        let (user, pass) = decode_plain(&r).unwrap();
        assert_eq!((user.as_str(), pass.as_str()), ("user#x", "secret pass"));
        assert!(decode_plain("=").is_none());
        assert!(decode_plain("%%%").is_none());
        assert!(decode_plain(&STANDARD.encode(b"\0\0p")).is_none());
    }
}
