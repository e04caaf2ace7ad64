//! Sans-IO codec for multi-line responses (RFC 1939 §3): byte-stuffing of lines that begin
//! with `.`, the `CRLF.CRLF` terminator, and the reverse.
//!
//! Both directions work chunk by chunk with a few bits of state, so a message of any size
//! passes in constant memory.

/// Encodes message bytes for RETR and TOP: bare LF becomes CRLF, a `.` at the start of a
/// line is doubled, and [`DotStuffer::finish`] closes the last line and appends `.` CRLF.
/// With a line limit (TOP) it passes the header section, the blank line and that many body
/// lines, then reports [`DotStuffer::is_done`].
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    prev_cr: bool,
    line_empty: bool,
    in_headers: bool,
    body_lines_left: Option<u64>,
    done: bool,
}

impl DotStuffer {
    /// An encoder for a whole message (RETR).
    pub fn new() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            prev_cr: false,
            line_empty: true,
            in_headers: true,
            body_lines_left: None,
            done: false,
        }
    }

    /// An encoder for the headers and the first `body_lines` lines of the body (TOP).
    pub fn top(body_lines: u64) -> DotStuffer {
        DotStuffer {
            body_lines_left: Some(body_lines),
            ..DotStuffer::new()
        }
    }

    /// True for an encoder made by [`DotStuffer::top`].
    pub fn is_top(&self) -> bool {
        self.body_lines_left.is_some()
    }

    /// True once a TOP limit has been reached; further input is ignored.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Encodes `input`, appending to `out`. Line contents are copied in bulk; only line
    /// starts and ends are looked at byte by byte.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 16 + 2);
        let mut rest = input;
        while let Some((&first, tail)) = rest.split_first() {
            if self.done {
                return;
            }
            if first == b'\n' {
                if !self.prev_cr {
                    out.push(b'\r');
                }
                out.push(b'\n');
                self.end_line();
                rest = tail;
                continue;
            }
            if self.at_line_start && first == b'.' {
                out.push(b'.');
            }
            // The run up to (not including) the next LF.
            let run_len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let (run, after) = rest.split_at(run_len);
            out.extend_from_slice(run);
            self.at_line_start = false;
            self.prev_cr = run.last() == Some(&b'\r');
            if self.line_empty && run.iter().any(|&b| b != b'\r') {
                self.line_empty = false;
            }
            rest = after;
        }
    }

    fn end_line(&mut self) {
        if self.in_headers {
            if self.line_empty {
                self.in_headers = false;
                if self.body_lines_left == Some(0) {
                    self.done = true;
                }
            }
        } else if let Some(left) = self.body_lines_left.as_mut() {
            *left = left.saturating_sub(1);
            if *left == 0 {
                self.done = true;
            }
        }
        self.at_line_start = true;
        self.prev_cr = false;
        self.line_empty = true;
    }

    /// Closes an unterminated last line and appends the terminator `.` CRLF.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.prev_cr {
            out.push(b'\n');
        } else if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.done = true;
    }
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

/// Decodes a multi-line response body: removes the stuffing dot and stops at the terminator
/// line. Line endings are passed through as received.
#[derive(Debug, Clone, Default)]
pub struct DotUnstuffer {
    state: UnstuffState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum UnstuffState {
    /// At the start of a line.
    #[default]
    LineStart,
    /// Inside a line.
    InLine,
    /// A `.` at the start of a line was read.
    Dot,
    /// `.` CR at the start of a line was read.
    DotCr,
    /// The terminator was read.
    Done,
}

impl DotUnstuffer {
    /// A decoder at the start of a body.
    pub fn new() -> DotUnstuffer {
        DotUnstuffer::default()
    }

    /// True once the terminator line has been read.
    pub fn is_done(&self) -> bool {
        self.state == UnstuffState::Done
    }

    /// Decodes from `input`, appending body bytes to `out`. Returns how many input bytes
    /// were consumed: all of them, or fewer when the terminator ends inside `input` (the
    /// rest belongs to the next response).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> usize {
        let mut pos = 0;
        while let Some(&b) = input.get(pos) {
            match self.state {
                UnstuffState::Done => return pos,
                UnstuffState::InLine => {
                    // Copy the rest of the line, LF included, in one go.
                    let rest = input.get(pos..).unwrap_or_default();
                    match memchr::memchr(b'\n', rest) {
                        Some(end) => {
                            out.extend_from_slice(rest.get(..=end).unwrap_or_default());
                            pos += end + 1;
                            self.state = UnstuffState::LineStart;
                        }
                        None => {
                            out.extend_from_slice(rest);
                            pos = input.len();
                        }
                    }
                    continue;
                }
                UnstuffState::LineStart => {
                    if b == b'.' {
                        self.state = UnstuffState::Dot;
                    } else {
                        out.push(b);
                        if b != b'\n' {
                            self.state = UnstuffState::InLine;
                        }
                    }
                }
                UnstuffState::Dot => match b {
                    b'\r' => self.state = UnstuffState::DotCr,
                    b'\n' => self.state = UnstuffState::Done,
                    _ => {
                        // `..` is a stuffed dot; any other byte after a lone dot is a
                        // server error we tolerate by keeping the byte.
                        out.push(b);
                        self.state = UnstuffState::InLine;
                    }
                },
                UnstuffState::DotCr => {
                    if b == b'\n' {
                        self.state = UnstuffState::Done;
                    } else {
                        out.push(b'\r');
                        out.push(b);
                        self.state = UnstuffState::InLine;
                    }
                }
            }
            pos += 1;
        }
        pos
    }
}

#[cfg(test)]
#[path = "dotstuff_tests.rs"]
mod tests;
