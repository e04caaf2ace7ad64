//! The software Konnektor's request parser on arbitrary HTTP bodies: SOAP 1.1 envelopes,
//! inline or MTOM (`multipart/related`), every operation's strict schema-order reader
//! (konnektor.md §2, §6). The first byte chooses the Content-Type.
//!
//! Invariants: never a panic; a rejected request always maps to a gematik code the
//! simulator can put into a fault (4000, 4021 or 4280); an accepted request names its
//! operation and service.

#![no_main]

use kim_konnektor::Request;
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    "text/xml; charset=UTF-8",
    "text/xml",
    "application/soap+xml",
    "multipart/related; type=\"application/xop+xml\"; boundary=\"MIMEBoundary\"; start=\"<root>\"",
    "multipart/related; boundary=b",
];

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(*selector) % CONTENT_TYPES.len()];
    match Request::parse_envelope(content_type, body) {
        Ok(request) => {
            assert!(!request.name().is_empty());
            let _ = request.service();
            let _ = request.context();
            let _ = request.card_handle();
        }
        Err(e) => assert!(matches!(e.code(), 4000 | 4021 | 4280), "{e}"),
    }
});
