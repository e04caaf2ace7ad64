#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use proptest::prelude::*;

use super::*;

fn stuff(input: &[u8], chunk: usize, mut stuffer: DotStuffer) -> Vec<u8> {
    let mut out = Vec::new();
    for part in input.chunks(chunk.max(1)) {
        stuffer.encode(part, &mut out);
    }
    stuffer.finish(&mut out);
    out
}

fn unstuff(input: &[u8], chunk: usize) -> (Vec<u8>, usize) {
    let mut decoder = DotUnstuffer::new();
    let mut out = Vec::new();
    let mut used = 0;
    for part in input.chunks(chunk.max(1)) {
        used += decoder.decode(part, &mut out);
        if decoder.is_done() {
            break;
        }
    }
    assert!(decoder.is_done());
    (out, used)
}

#[test]
fn stuffing_and_terminator() {
    let cases: [(&[u8], &[u8]); 7] = [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b".\r\n..x\r\n", b"..\r\n...x\r\n.\r\n"),
        (b"bare\nlf\n.dot", b"bare\r\nlf\r\n..dot\r\n.\r\n"),
        (b"x.\r\n y.", b"x.\r\n y.\r\n.\r\n"),
        (b"cr at end\r", b"cr at end\r\n.\r\n"),
    ];
    for (input, expected) in cases {
        for chunk in 1..=input.len().max(1) {
            assert_eq!(
                stuff(input, chunk, DotStuffer::new()),
                expected,
                "{input:?}/{chunk}"
            );
        }
    }
}

#[test]
fn top_sends_headers_blank_line_and_n_body_lines() {
    let msg = b"Subject: x\r\nFrom: a\r\n\r\nline1\r\n.line2\r\nline3\r\n";
    let top = |n| stuff(msg, 3, DotStuffer::top(n));
    assert_eq!(top(0), b"Subject: x\r\nFrom: a\r\n\r\n.\r\n");
    assert_eq!(
        top(2),
        b"Subject: x\r\nFrom: a\r\n\r\nline1\r\n..line2\r\n.\r\n"
    );
    assert_eq!(top(3), stuff(msg, 3, DotStuffer::new()));
    assert_eq!(top(u64::MAX), stuff(msg, 3, DotStuffer::new()));
    // No body at all: everything, terminated.
    assert_eq!(
        stuff(b"Subject: x", 1, DotStuffer::top(0)),
        b"Subject: x\r\n.\r\n"
    );
    // Bare-LF separator counts as well.
    assert_eq!(
        stuff(b"A: b\n\nbody\n", 2, DotStuffer::top(0)),
        b"A: b\r\n\r\n.\r\n"
    );
    let mut done = DotStuffer::top(0);
    done.encode(b"A: b\r\n\r\n", &mut Vec::new());
    assert!(done.is_done());
}

#[test]
fn unstuffer_stops_at_the_terminator() {
    let wire = b"..a\r\nb\r\n.\r\n+OK next";
    let (body, used) = unstuff(wire, 1);
    assert_eq!(body, b".a\r\nb\r\n");
    assert_eq!(&wire[used..], b"+OK next");
    let (body, used) = unstuff(wire, wire.len());
    assert_eq!(
        (body.as_slice(), used),
        (&b".a\r\nb\r\n"[..], wire.len() - 8)
    );
    // An immediate terminator is an empty body; bare LF is tolerated.
    assert_eq!(unstuff(b".\r\n", 1).0, b"");
    assert_eq!(unstuff(b"x\n.\n", 2).0, b"x\n");
}

proptest! {
    #[test]
    fn round_trip_of_crlf_messages(
        lines in proptest::collection::vec("[.a-z \\t]{0,20}", 0..20),
        chunk in 1usize..64,
    ) {
        let mut message = Vec::new();
        for line in &lines {
            message.extend_from_slice(line.as_bytes());
            message.extend_from_slice(b"\r\n");
        }
        let wire = stuff(&message, chunk, DotStuffer::new());
        prop_assert!(wire.ends_with(b"\r\n.\r\n") || wire == b".\r\n");
        let (back, used) = unstuff(&wire, chunk);
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(back, message);
    }
}
