//! Fuzzes the server input decoder (`kim_smtp::server::decoder::Decoder`), which sees
//! every byte an SMTP client sends. It is driven like a session: DATA switches to content
//! mode, AUTH without initial response expects a SASL line. Any input must produce
//! events without panicking, in bounded memory, and the result must not depend on how
//! the input was split.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run decoder -- -max_len=4096` in `crates/kim-smtp`,
//! seeded with the client lines of `tests/data/dialogs/*.trace`.
#![no_main]

use kim_smtp::server::decoder::{Decoder, Event, MAX_AUTH_LINE};
use libfuzzer_sys::fuzz_target;
use smtp_proto::Request;

/// Feeds `input` in chunks of `chunk` bytes; returns the events, Data merged.
fn drive(input: &[u8], chunk: usize) -> Vec<Event> {
    let mut decoder = Decoder::new();
    let mut events: Vec<Event> = Vec::new();
    for piece in input.chunks(chunk) {
        decoder.push(piece);
        while let Some(event) = decoder.next_event() {
            match &event {
                Event::Command(Ok(Request::Data)) => decoder.start_data(),
                Event::Command(Ok(Request::Auth {
                    initial_response, ..
                })) if initial_response.is_empty() => decoder.expect_line(),
                _ => {}
            }
            match (events.last_mut(), event) {
                (Some(Event::Data(previous)), Event::Data(more)) => previous.extend(more),
                (_, event) => events.push(event),
            }
        }
        assert!(decoder.buffered() <= MAX_AUTH_LINE + chunk);
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(*selector % 64) + 1;
    let whole = drive(input, input.len().max(1));
    let pieces = drive(input, chunk);
    assert!(whole == pieces, "events depend on the split (chunk {chunk})");
});
