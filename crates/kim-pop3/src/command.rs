//! Sans-IO command parsing: bytes in, [`Command`] (or "need more data", or an error) out.
//!
//! [`LineSplitter`] cuts a byte stream into CRLF-terminated lines of at most `max_line`
//! octets and resynchronises after an over-long line; [`Command::parse`] turns one line into
//! a command of RFC 1939, RFC 2449 (CAPA) or RFC 5034 (AUTH). [`CommandParser`] combines
//! both.

use std::fmt;

use zeroize::Zeroizing;

/// Default maximum length of a command line including CRLF. RFC 2449 allows 255 octets per
/// command; RFC 5034 needs more for SASL initial responses.
pub const DEFAULT_MAX_LINE: usize = 512;

/// Longest accepted message number (decimal digits); `u32::MAX` has ten.
const MAX_NUMBER_DIGITS: usize = 10;

/// A secret argument (PASS password, SASL response). `Debug` never shows the value and the
/// memory is wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(Zeroizing<String>);

impl Sensitive {
    /// Wraps a secret.
    pub fn new(value: String) -> Sensitive {
        Sensitive(Zeroizing::new(value))
    }

    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(***)")
    }
}

/// One POP3 command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `CAPA` (RFC 2449).
    Capa,
    /// `USER name`.
    User(String),
    /// `PASS secret` (the rest of the line; passwords may contain spaces, RFC 1939 §7).
    Pass(Sensitive),
    /// `AUTH [mechanism [initial-response]]` (RFC 5034). Without mechanism the server lists
    /// its mechanisms.
    Auth {
        /// The SASL mechanism, upper-cased; `None` for a bare `AUTH`.
        mechanism: Option<String>,
        /// The base64 initial response (`=` stands for an empty one).
        initial: Option<Sensitive>,
    },
    /// `QUIT`.
    Quit,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `TOP msg n`.
    Top(u32, u64),
    /// `DELE msg`.
    Dele(u32),
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
}

impl Command {
    /// The keyword, for logs (never the arguments).
    pub fn keyword(&self) -> &'static str {
        match self {
            Command::Capa => "CAPA",
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Quit => "QUIT",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
        }
    }

    /// Parses one line without its line terminator.
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let (keyword, rest) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (
                line.get(..space).unwrap_or_default(),
                line.get(space + 1..).unwrap_or_default(),
            ),
            None => (line, &[][..]),
        };
        if keyword.is_empty() {
            return Err(CommandError::Empty);
        }
        if keyword.eq_ignore_ascii_case(b"PASS") {
            // The only command whose argument is the raw rest of the line.
            let password = std::str::from_utf8(rest).map_err(|_| CommandError::NotUtf8)?;
            return Ok(Command::Pass(Sensitive::new(password.to_owned())));
        }
        let rest = std::str::from_utf8(rest).map_err(|_| CommandError::NotUtf8)?;
        let args: Vec<&str> = rest.split(' ').filter(|a| !a.is_empty()).collect();
        let upper = keyword.to_ascii_uppercase();
        let command = match upper.as_slice() {
            b"CAPA" => no_args(Command::Capa, &args)?,
            b"QUIT" => no_args(Command::Quit, &args)?,
            b"STAT" => no_args(Command::Stat, &args)?,
            b"RSET" => no_args(Command::Rset, &args)?,
            b"NOOP" => no_args(Command::Noop, &args)?,
            b"USER" => match args.as_slice() {
                [name] => Command::User((*name).to_owned()),
                _ => return Err(CommandError::Arguments("USER needs one name")),
            },
            b"AUTH" => parse_auth(&args)?,
            b"LIST" => Command::List(optional_number(&args)?),
            b"UIDL" => Command::Uidl(optional_number(&args)?),
            b"RETR" => Command::Retr(one_number(&args)?),
            b"DELE" => Command::Dele(one_number(&args)?),
            b"TOP" => match args.as_slice() {
                [msg, lines] => Command::Top(number(msg)?, line_count(lines)?),
                _ => {
                    return Err(CommandError::Arguments(
                        "TOP needs a message and a line count",
                    ));
                }
            },
            _ => return Err(CommandError::Unknown),
        };
        Ok(command)
    }
}

fn no_args(command: Command, args: &[&str]) -> Result<Command, CommandError> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(CommandError::Arguments("no arguments expected"))
    }
}

fn parse_auth(args: &[&str]) -> Result<Command, CommandError> {
    match args {
        [] => Ok(Command::Auth {
            mechanism: None,
            initial: None,
        }),
        [mechanism] => Ok(Command::Auth {
            mechanism: Some(mechanism.to_ascii_uppercase()),
            initial: None,
        }),
        [mechanism, initial] => Ok(Command::Auth {
            mechanism: Some(mechanism.to_ascii_uppercase()),
            initial: Some(Sensitive::new((*initial).to_owned())),
        }),
        _ => Err(CommandError::Arguments(
            "AUTH takes a mechanism and a response",
        )),
    }
}

fn optional_number(args: &[&str]) -> Result<Option<u32>, CommandError> {
    match args {
        [] => Ok(None),
        [n] => number(n).map(Some),
        _ => Err(CommandError::Arguments(
            "at most one message number expected",
        )),
    }
}

fn one_number(args: &[&str]) -> Result<u32, CommandError> {
    match args {
        [n] => number(n),
        _ => Err(CommandError::Arguments("one message number expected")),
    }
}

/// A message number: decimal digits only (no sign), at most ten of them, within `u32`.
/// Zero parses; the session answers it with "no such message".
fn number(text: &str) -> Result<u32, CommandError> {
    if text.is_empty()
        || text.len() > MAX_NUMBER_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CommandError::BadNumber);
    }
    text.parse().map_err(|_| CommandError::BadNumber)
}

/// The TOP line count: decimal digits; values beyond `u64` saturate (all lines).
fn line_count(text: &str) -> Result<u64, CommandError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::BadNumber);
    }
    Ok(text.parse().unwrap_or(u64::MAX))
}

/// Why a line is not a valid command. Every variant is the peer's fault and answered with
/// `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Empty line.
    #[error("empty command")]
    Empty,
    /// Unknown keyword.
    #[error("unknown command")]
    Unknown,
    /// Wrong number or form of arguments.
    #[error("{0}")]
    Arguments(&'static str),
    /// A message number or line count that is not a decimal number in range.
    #[error("invalid message number")]
    BadNumber,
    /// Arguments that are not UTF-8.
    #[error("arguments must be UTF-8")]
    NotUtf8,
    /// The line exceeded the maximum length; the rest of it was discarded.
    #[error("line too long")]
    LineTooLong,
}

/// Splits a byte stream into lines. Keeps only one bit of state: whether it is discarding
/// the tail of an over-long line.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    max_line: usize,
    discarding: bool,
}

/// The outcome of one [`LineSplitter::next_line`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its CRLF (or bare LF).
    Complete(&'a [u8]),
    /// A line longer than the limit was started; it is reported once and discarded up to its
    /// end.
    TooLong,
    /// No complete line yet; call again with more bytes.
    NeedMore,
}

impl LineSplitter {
    /// A splitter for lines of at most `max_line` octets including CRLF.
    pub fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            max_line: max_line.max(3),
            discarding: false,
        }
    }

    /// Looks for the next line in `buf`. Returns how many bytes were consumed (the caller
    /// removes them from its buffer) and what was found.
    pub fn next_line<'a>(&mut self, buf: &'a [u8]) -> (usize, Line<'a>) {
        let mut consumed = 0;
        loop {
            let rest = buf.get(consumed..).unwrap_or_default();
            let newline = memchr::memchr(b'\n', rest);
            if self.discarding {
                match newline {
                    Some(end) => {
                        self.discarding = false;
                        consumed += end + 1;
                        continue;
                    }
                    None => return (buf.len(), Line::NeedMore),
                }
            }
            return match newline {
                Some(end) if end < self.max_line => {
                    let line = rest.get(..end).unwrap_or_default();
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    (consumed + end + 1, Line::Complete(line))
                }
                Some(end) => (consumed + end + 1, Line::TooLong),
                None if rest.len() >= self.max_line => {
                    self.discarding = true;
                    (buf.len(), Line::TooLong)
                }
                None => (consumed, Line::NeedMore),
            };
        }
    }
}

/// The outcome of one [`CommandParser::parse`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A command.
    Command(Command),
    /// A line that is not a valid command.
    Invalid(CommandError),
    /// No complete line yet.
    NeedMore,
}

/// Bytes to commands: [`LineSplitter`] plus [`Command::parse`].
#[derive(Debug, Clone)]
pub struct CommandParser {
    lines: LineSplitter,
}

impl CommandParser {
    /// A parser for lines of at most `max_line` octets.
    pub fn new(max_line: usize) -> CommandParser {
        CommandParser {
            lines: LineSplitter::new(max_line),
        }
    }

    /// Parses the next command from `buf`; returns the bytes consumed and the outcome.
    pub fn parse(&mut self, buf: &[u8]) -> (usize, Parsed) {
        let (consumed, line) = self.lines.next_line(buf);
        let parsed = match line {
            Line::Complete(line) => match Command::parse(line) {
                Ok(command) => Parsed::Command(command),
                Err(e) => Parsed::Invalid(e),
            },
            Line::TooLong => Parsed::Invalid(CommandError::LineTooLong),
            Line::NeedMore => Parsed::NeedMore,
        };
        (consumed, parsed)
    }

    /// The underlying line splitter (for SASL continuation lines).
    pub fn lines(&mut self) -> &mut LineSplitter {
        &mut self.lines
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
