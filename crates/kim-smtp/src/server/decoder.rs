//! Sans-IO input side of an SMTP server session: bytes in, [`Event`]s out.
//!
//! The decoder frames command lines (at most [`MAX_COMMAND_LINE`] bytes including CRLF,
//! RFC 5321 §4.5.3.1.4; `AUTH` lines and SASL responses up to [`MAX_AUTH_LINE`], RFC 4954
//! §4), parses commands with `smtp-proto`, and in DATA mode removes dot-stuffing
//! incrementally (RFC 5321 §4.5.2). Which mode applies is decided by the session after
//! each event, so pipelined input (RFC 2920) is split exactly where the protocol says.
//! Memory stays bounded: an over-long line is discarded while it streams in, and DATA is
//! handed out as it arrives.

use smtp_proto::Request;
use smtp_proto::request::receiver::DataReceiver;

/// Longest command line in bytes, CRLF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest `AUTH` command line or SASL response line (RFC 4954 §4).
pub const MAX_AUTH_LINE: usize = 12_288;

/// Something the client sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A command line, parsed; `Err` for unknown commands and syntax errors.
    Command(Result<Request<String>, smtp_proto::Error>),
    /// A raw line (SASL response after a `334` challenge), without CRLF.
    Line(Vec<u8>),
    /// A line longer than allowed was received and dropped up to its LF.
    LineTooLong,
    /// Message content, dot-stuffing removed.
    Data(Vec<u8>),
    /// The terminating `.` line of DATA; the decoder is back in command mode.
    DataEnd,
}

enum Mode {
    Command,
    Line,
    Data(DataReceiver),
}

/// Incremental SMTP server input decoder. See the module docs.
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    mode: Mode,
    /// Inside an over-long line whose start was already dropped.
    discarding: bool,
    /// DATA ended together with content that was returned first.
    end_pending: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Command => "command",
            Mode::Line => "line",
            Mode::Data(_) => "data",
        };
        f.debug_struct("Decoder")
            .field("mode", &mode)
            .field("buffered", &self.buffered())
            .finish()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder in command mode.
    pub fn new() -> Decoder {
        Decoder {
            buf: Vec::new(),
            start: 0,
            mode: Mode::Command,
            discarding: false,
            end_pending: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received but not yet turned into events.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Whether the decoder is inside DATA.
    pub fn in_data(&self) -> bool {
        matches!(self.mode, Mode::Data(_)) || self.end_pending
    }

    /// The next line is a raw SASL response ([`Event::Line`]), not a command.
    pub fn expect_line(&mut self) {
        self.mode = Mode::Line;
    }

    /// The following bytes are message content up to the `.` line.
    pub fn start_data(&mut self) {
        let mut receiver = DataReceiver::new();
        // The line before the content ended with CRLF; a first line "." or ".." must be
        // seen as a dot line, which the receiver only recognises after CRLF.
        let mut scratch = Vec::with_capacity(2);
        receiver.ingest(&mut b"\r\n".iter(), &mut scratch);
        self.mode = Mode::Data(receiver);
    }

    /// The next event, or `None` if more input is needed.
    pub fn next_event(&mut self) -> Option<Event> {
        if self.end_pending {
            self.end_pending = false;
            return Some(Event::DataEnd);
        }
        match &mut self.mode {
            Mode::Data(_) => self.next_data(),
            Mode::Command | Mode::Line => self.next_line(),
        }
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    fn next_line(&mut self) -> Option<Event> {
        let pending = self.pending();
        let newline = memchr::memchr(b'\n', pending);
        let limit = self.line_limit(pending);
        match newline {
            Some(pos) => {
                let line_len = pos + 1;
                let line = pending.get(..line_len).unwrap_or_default().to_vec();
                self.start += line_len;
                let raw_line = matches!(self.mode, Mode::Line);
                self.mode = Mode::Command;
                if std::mem::take(&mut self.discarding) || line_len > limit {
                    return Some(Event::LineTooLong);
                }
                if raw_line {
                    return Some(Event::Line(trim_crlf(&line).to_vec()));
                }
                Some(Event::Command(parse_command(&line)))
            }
            None => {
                if self.discarding || pending.len() > limit {
                    // Keep only what decides the limit; the rest is dropped as it comes.
                    self.discarding = true;
                    self.start = self.buf.len();
                }
                None
            }
        }
    }

    fn line_limit(&self, pending: &[u8]) -> usize {
        let is_auth = pending
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"AUTH "));
        if matches!(self.mode, Mode::Line) || is_auth {
            MAX_AUTH_LINE
        } else {
            MAX_COMMAND_LINE
        }
    }

    fn next_data(&mut self) -> Option<Event> {
        let Mode::Data(receiver) = &mut self.mode else {
            return None;
        };
        let pending = self.buf.get(self.start..).unwrap_or_default();
        // A trailing CR stays buffered: after a dot it may belong to the end marker, and
        // the receiver would otherwise emit it before seeing the LF.
        let usable = match pending.last() {
            Some(b'\r') => pending.len() - 1,
            _ => pending.len(),
        };
        let input = pending.get(..usable).unwrap_or_default();
        if input.is_empty() {
            return None;
        }
        let mut iter = input.iter();
        let mut out = Vec::with_capacity(input.len());
        let finished = receiver.ingest(&mut iter, &mut out);
        self.start += input.len() - iter.as_slice().len();
        if finished {
            self.mode = Mode::Command;
            if out.is_empty() {
                return Some(Event::DataEnd);
            }
            self.end_pending = true;
        } else if out.is_empty() {
            return None;
        }
        Some(Event::Data(out))
    }
}

fn parse_command(line: &[u8]) -> Result<Request<String>, smtp_proto::Error> {
    match Request::parse(&mut line.iter()) {
        Ok(request) => Ok(request.into_owned()),
        // The whole line was given: running out of input means the syntax was incomplete.
        Err(smtp_proto::Error::NeedsMoreData { .. }) => Err(smtp_proto::Error::SyntaxError {
            syntax: "incomplete command",
        }),
        Err(e) => Err(e),
    }
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests;
