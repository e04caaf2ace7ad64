//! Fuzzes the command parser: bytes from the network, fed in chunks whose size the first
//! input byte picks. Every call must consume within the buffer, keep the buffer bounded by
//! the line limit, and never panic.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run command` in `crates/kim-pop3`.
#![no_main]

use kim_pop3::{CommandParser, Parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(selector) + 1;
    let max_line = 64;
    let mut parser = CommandParser::new(max_line);
    let mut buffer = Vec::new();
    for part in input.chunks(chunk) {
        buffer.extend_from_slice(part);
        loop {
            let (consumed, parsed) = parser.parse(&buffer);
            assert!(consumed <= buffer.len());
            buffer.drain(..consumed);
            if parsed == Parsed::NeedMore {
                break;
            }
            if let Parsed::Command(command) = parsed {
                // Keywords are fixed strings; Debug never panics.
                let _ = (command.keyword(), format!("{command:?}"));
            }
        }
        assert!(buffer.len() < max_line, "buffer grew to {}", buffer.len());
    }
});
