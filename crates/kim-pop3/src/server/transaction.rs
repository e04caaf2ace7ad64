//! TRANSACTION state (RFC 1939 §5, §7): STAT, LIST, UIDL, RETR, TOP, DELE, RSET, NOOP,
//! CAPA; QUIT enters UPDATE ([`Transaction::update`]).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use super::conn::Conn;
use super::{Maildrop, MaildropError, MessageInfo, ServerConfig, SessionError, Stop};
use crate::command::Command;
use crate::dotstuff::DotStuffer;
use crate::response::ResponseCode;

/// Bytes read from a message at a time; the session holds about twice this much.
const CHUNK: usize = 64 * 1024;

/// Data of the TRANSACTION state: the locked maildrop and the deletion marks.
pub(crate) struct Transaction<M> {
    maildrop: M,
    deleted: Vec<bool>,
}

/// What follows a command in TRANSACTION.
pub(crate) enum Next {
    Stay,
    Quit,
}

impl<M: Maildrop> Transaction<M> {
    pub(crate) fn new(maildrop: M) -> Transaction<M> {
        let deleted = vec![false; maildrop.messages().len()];
        Transaction { maildrop, deleted }
    }

    /// Index of message number `n`, or the `-ERR` text.
    fn lookup(&self, n: u32) -> Result<(usize, &MessageInfo), String> {
        let count = self.deleted.len();
        let index = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < count);
        let Some(index) = index else {
            return Err(format!(
                "no such message, only {count} messages in maildrop"
            ));
        };
        match (self.deleted.get(index), self.maildrop.messages().get(index)) {
            (Some(false), Some(info)) => Ok((index, info)),
            (Some(true), _) => Err(format!("message {n} already deleted")),
            _ => Err("no such message".into()),
        }
    }

    /// Message numbers and infos of the messages not marked as deleted.
    fn visible(&self) -> impl Iterator<Item = (usize, &MessageInfo)> {
        self.maildrop
            .messages()
            .iter()
            .zip(&self.deleted)
            .enumerate()
            .filter(|(_, (_, deleted))| !**deleted)
            .map(|(i, (info, _))| (i + 1, info))
    }

    fn totals(&self) -> (usize, u64) {
        self.visible()
            .fold((0, 0), |(n, octets), (_, info)| (n + 1, octets + info.size))
    }

    /// UPDATE state: commits the deletions and says goodbye.
    pub(crate) async fn update<S>(self, conn: &mut Conn<S>) -> Result<(), Stop>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let deleted: Vec<usize> = (0..self.deleted.len())
            .filter(|&i| self.deleted.get(i) == Some(&true))
            .collect();
        let count = deleted.len();
        match conn.backend(self.maildrop.commit(deleted)).await? {
            Ok(()) => {
                conn.ok(&format!("bye, {count} messages deleted"));
                Ok(())
            }
            Err(e) => {
                conn.err(
                    Some(&ResponseCode::SysTemp),
                    "some deleted messages not removed",
                );
                Err(Stop::Error(SessionError::Backend(e)))
            }
        }
    }
}

pub(crate) async fn handle<S, M>(
    conn: &mut Conn<S>,
    cfg: &ServerConfig,
    tx: &mut Transaction<M>,
    command: Command,
) -> Result<Next, Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    M: Maildrop,
{
    match command {
        Command::Quit => return Ok(Next::Quit),
        Command::Capa => super::capa::write(&mut conn.out, cfg, true),
        Command::Noop => conn.ok(""),
        Command::Stat => {
            let (count, octets) = tx.totals();
            conn.ok(&format!("{count} {octets}"));
        }
        Command::List(None) | Command::Uidl(None) => listing(conn, tx, &command),
        Command::List(Some(n)) => match tx.lookup(n) {
            Ok((_, info)) => conn.ok(&format!("{n} {}", info.size)),
            Err(text) => conn.err(None, &text),
        },
        Command::Uidl(Some(n)) => match tx.lookup(n) {
            Ok((_, info)) => conn.ok(&format!("{n} {}", info.uid)),
            Err(text) => conn.err(None, &text),
        },
        Command::Retr(n) => send(conn, tx, n, DotStuffer::new()).await?,
        Command::Top(n, lines) => send(conn, tx, n, DotStuffer::top(lines)).await?,
        Command::Dele(n) => match tx.lookup(n) {
            Ok((index, _)) => {
                if let Some(mark) = tx.deleted.get_mut(index) {
                    *mark = true;
                }
                conn.ok(&format!("message {n} deleted"));
            }
            Err(text) => conn.err(None, &text),
        },
        Command::Rset => {
            tx.deleted.iter_mut().for_each(|mark| *mark = false);
            let (count, octets) = tx.totals();
            conn.ok(&format!("maildrop has {count} messages ({octets} octets)"));
        }
        Command::User(_) | Command::Pass(_) | Command::Auth { .. } => {
            conn.bad_command("already logged in")?;
        }
    }
    Ok(Next::Stay)
}

/// LIST or UIDL without argument: one line per message not marked as deleted.
fn listing<S, M>(conn: &mut Conn<S>, tx: &Transaction<M>, command: &Command)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    M: Maildrop,
{
    let (count, octets) = tx.totals();
    let uidl = matches!(command, Command::Uidl(_));
    if uidl {
        conn.ok("unique-id listing follows");
    } else {
        conn.ok(&format!("{count} messages ({octets} octets)"));
    }
    let mut lines = Vec::new();
    for (n, info) in tx.visible() {
        let line = if uidl {
            format!("{n} {}\r\n", info.uid)
        } else {
            format!("{n} {}\r\n", info.size)
        };
        lines.extend_from_slice(line.as_bytes());
    }
    conn.out.extend_from_slice(&lines);
    conn.out.extend_from_slice(b".\r\n");
}

/// RETR or TOP: streams the message through `stuffer` in chunks of [`CHUNK`] bytes. A
/// message that cannot be opened or whose first read fails gets `-ERR [SYS/TEMP]`; a
/// failure after `+OK` was sent ends the session (the client sees a truncated response and
/// nothing is deleted).
async fn send<S, M>(
    conn: &mut Conn<S>,
    tx: &mut Transaction<M>,
    n: u32,
    mut stuffer: DotStuffer,
) -> Result<(), Stop>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    M: Maildrop,
{
    let (index, size) = match tx.lookup(n) {
        Ok((index, info)) => (index, info.size),
        Err(text) => {
            conn.err(None, &text);
            return Ok(());
        }
    };
    let mut chunk = vec![0u8; CHUNK];
    let opened = match conn.backend(tx.maildrop.open(index)).await? {
        Ok(mut reader) => match conn.backend(reader.read(&mut chunk)).await? {
            Ok(first) => Ok((reader, first)),
            Err(e) => Err(MaildropError::Io(e)),
        },
        Err(e) => Err(e),
    };
    let (mut reader, mut filled) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!(error = %e, "POP3 message cannot be read");
            conn.err(Some(&ResponseCode::SysTemp), "message cannot be read");
            return Ok(());
        }
    };
    if stuffer.is_top() {
        conn.ok("top of message follows");
    } else {
        conn.ok(&format!("{size} octets"));
    }
    conn.streaming = true;
    while filled > 0 {
        stuffer.encode(chunk.get(..filled).unwrap_or_default(), &mut conn.out);
        if stuffer.is_done() {
            break;
        }
        conn.flush().await?;
        filled = conn
            .backend(reader.read(&mut chunk))
            .await?
            .map_err(MaildropError::Io)?;
    }
    stuffer.finish(&mut conn.out);
    conn.streaming = false;
    Ok(())
}
