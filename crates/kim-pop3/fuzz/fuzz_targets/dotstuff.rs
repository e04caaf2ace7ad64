//! Fuzzes the multi-line codec: whatever a message contains, the stuffed form must end
//! exactly at its terminator (no early `.` line), and for messages without CR the decoded
//! body must equal the message with LF turned into CRLF and the last line closed.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run dotstuff` in `crates/kim-pop3`.
#![no_main]

use kim_pop3::{DotStuffer, DotUnstuffer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(selector % 64) + 1;
    let mut stuffer = if selector >= 128 {
        DotStuffer::top(u64::from(selector % 8))
    } else {
        DotStuffer::new()
    };
    let mut wire = Vec::new();
    for part in message.chunks(chunk) {
        stuffer.encode(part, &mut wire);
    }
    stuffer.finish(&mut wire);

    let mut decoder = DotUnstuffer::new();
    let mut body = Vec::new();
    let mut used = 0;
    for part in wire.chunks(chunk) {
        used += decoder.decode(part, &mut body);
        if decoder.is_done() {
            break;
        }
    }
    assert!(decoder.is_done(), "no terminator");
    assert_eq!(used, wire.len(), "terminator before the end");

    if selector < 128 && !message.contains(&b'\r') {
        let mut expected = Vec::new();
        for &b in message {
            if b == b'\n' {
                expected.push(b'\r');
            }
            expected.push(b);
        }
        if !expected.is_empty() && !expected.ends_with(b"\n") {
            expected.extend_from_slice(b"\r\n");
        }
        assert_eq!(body, expected);
    }
});
