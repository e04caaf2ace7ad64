//! Sans-IO message content encoder for DATA: CRLF line ends and dot-stuffing
//! (RFC 5321 §4.5.2), fed in chunks of any size.

/// Turns message bytes into DATA content: bare LF becomes CRLF, a `.` at the start of a
/// line is doubled; [`DotStuffer::finish`] adds the final CRLF if missing and the `.`
/// line.
#[derive(Debug, Clone)]
pub struct DotStuffer {
    at_line_start: bool,
    last_cr: bool,
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer::new()
    }
}

impl DotStuffer {
    /// An encoder at the start of the content.
    pub fn new() -> DotStuffer {
        DotStuffer {
            at_line_start: true,
            last_cr: false,
        }
    }

    /// Encodes `input`, appending to `out`. Works line by line (memchr), so long runs
    /// are copied as slices.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 32 + 2);
        while let Some(&first) = input.first() {
            if self.at_line_start && first == b'.' {
                out.push(b'.');
            }
            let Some(pos) = memchr::memchr(b'\n', input) else {
                out.extend_from_slice(input);
                self.last_cr = input.last() == Some(&b'\r');
                self.at_line_start = false;
                return;
            };
            let (line, rest) = input.split_at(pos);
            out.extend_from_slice(line);
            let cr_before = line.last().map_or(self.last_cr, |&b| b == b'\r');
            if !cr_before {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.at_line_start = true;
            self.last_cr = false;
            input = rest.get(1..).unwrap_or_default();
        }
    }

    /// Ends the content: CRLF if the last line was unterminated, then `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            if self.last_cr {
                out.push(b'\n');
            } else {
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b".\r\n");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn encode_in_chunks(input: &[u8], size: usize) -> Vec<u8> {
        let mut stuffer = DotStuffer::new();
        let mut out = Vec::new();
        for chunk in input.chunks(size) {
            stuffer.push(chunk, &mut out);
        }
        stuffer.finish(&mut out);
        out
    }

    #[test]
    fn dots_are_doubled_and_lf_normalised() {
        let input = b".first\n..second\r\nthird.\n.\nlast";
        let expected = b"..first\r\n...second\r\nthird.\r\n..\r\nlast\r\n.\r\n";
        for size in 1..=input.len() {
            assert_eq!(encode_in_chunks(input, size), expected, "chunk size {size}");
        }
    }

    #[test]
    fn terminated_content_gets_only_the_dot_line() {
        assert_eq!(encode_in_chunks(b"a\r\n", 2), b"a\r\n.\r\n");
        assert_eq!(encode_in_chunks(b"", 1), b".\r\n");
        assert_eq!(encode_in_chunks(b"a\r", 1), b"a\r\n.\r\n");
    }

    #[test]
    fn round_trip_through_the_server_decoder() {
        use crate::server::decoder::{Decoder, Event};
        let input = b".x\n..y\r\n.\r\nz";
        let mut wire = b"DATA\r\n".to_vec();
        wire.extend(encode_in_chunks(input, 3));
        let mut decoder = Decoder::new();
        decoder.push(&wire);
        assert!(matches!(decoder.next_event(), Some(Event::Command(Ok(_)))));
        decoder.start_data();
        let mut content = Vec::new();
        loop {
            match decoder.next_event() {
                Some(Event::Data(bytes)) => content.extend(bytes),
                Some(Event::DataEnd) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(content, b".x\r\n..y\r\n.\r\nz\r\n");
    }
}
