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

    /// Encodes `input`, appending to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 16 + 2);
        for &b in input {
            if self.done {
                return;
            }
            if b == b'\n' {
                if !self.prev_cr {
                    out.push(b'\r');
                }
                out.push(b'\n');
                self.end_line();
            } else {
                if self.at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                self.at_line_start = false;
                self.prev_cr = b == b'\r';
                if b != b'\r' {
                    self.line_empty = false;
                }
            }
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
        for (i, &b) in input.iter().enumerate() {
            match self.state {
                UnstuffState::Done => return i,
                UnstuffState::LineStart | UnstuffState::InLine => {
                    if self.state == UnstuffState::LineStart && b == b'.' {
                        self.state = UnstuffState::Dot;
                    } else {
                        out.push(b);
                        self.state = if b == b'\n' {
                            UnstuffState::LineStart
                        } else {
                            UnstuffState::InLine
                        };
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
        }
        input.len()
    }
}

#[cfg(test)]
#[path = "dotstuff_tests.rs"]
mod tests;
