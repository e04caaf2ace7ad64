//! `kim_message::cms::ber`: parse, walk every element recursively, re-encode as DER.
//!
//! Invariants checked (a panic here is a finding):
//! - `parse_prefix` returns an element that is a prefix of the input, and the rest;
//! - every element's content lies inside its raw encoding;
//! - when `to_der` succeeds, its output re-parses, contains no indefinite length, and is a
//!   fixed point: `to_der(parse(to_der(x))) == to_der(x)`.

#![no_main]

use kim_message::cms::ber::{self, Tlv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tlv, rest)) = ber::parse_prefix(data) {
        assert_eq!(tlv.raw.len() + rest.len(), data.len(), "prefix split");
        assert!(data.starts_with(tlv.raw), "raw is not the input prefix");
    }
    let Ok(tlv) = ber::parse(data) else {
        return;
    };
    assert_eq!(tlv.raw, data, "a complete parse spans the input");
    walk(&tlv);
    if let Ok(der) = tlv.to_der() {
        check_der(&der);
    }
});

/// Visits every element reachable through `children`, calling each accessor.
fn walk(t: &Tlv<'_>) {
    let content_start = t.content.as_ptr() as usize;
    let raw_start = t.raw.as_ptr() as usize;
    assert!(
        content_start >= raw_start && content_start + t.content.len() <= raw_start + t.raw.len(),
        "content outside raw for {t:?}"
    );
    let _ = t.octets();
    let _ = t.oid();
    let _ = t.small_uint();
    let _ = t.tag.to_string();
    for child in t.children() {
        match child {
            Ok(c) => walk(&c),
            Err(e) => {
                let _ = e.to_string();
                break;
            }
        }
    }
}

/// The DER form must re-parse completely, without indefinite lengths, and re-encode to
/// itself.
fn check_der(der: &[u8]) {
    let again = match ber::parse(der) {
        Ok(t) => t,
        Err(e) => panic!("to_der output does not re-parse: {e}"),
    };
    assert_no_indefinite(&again);
    match again.to_der() {
        Ok(der2) => assert_eq!(der2, der, "to_der is not a fixed point"),
        Err(e) => panic!("to_der of DER output fails: {e}"),
    }
}

fn assert_no_indefinite(t: &Tlv<'_>) {
    assert!(!t.indefinite, "indefinite length in to_der output: {t:?}");
    for child in t.children() {
        match child {
            Ok(c) => assert_no_indefinite(&c),
            Err(e) => panic!("child of to_der output does not parse: {e}"),
        }
    }
}
