//! The outer KOM-LE message parser and the MIME layer on arbitrary mail: everything a
//! received message meets before and after decryption (gemSMIME_KOMLE 2.1, 2.2).
//!
//! Invariants: a parsed header block writes back to exactly the bytes it was read from; an
//! outer message compared with itself shows no ID 08 difference; the delivered form of any
//! parseable mail is again a parseable mail carrying the result headers.

#![no_main]

use kim_message::mime::{self, DeliveryResult, HeaderBlock, OuterMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = kim_message::inspect::inspect(data);
    if let Ok((header, body_offset)) = HeaderBlock::parse(data) {
        let written = header.to_bytes();
        assert!(data.starts_with(&written), "header block must write back byte-exact");
        assert!(body_offset <= data.len());
        assert!(mime::compare_outer_inner(&header, &header).is_ok());
        let result = DeliveryResult::decrypted(&["01"]);
        if let Ok(delivered) = mime::build_delivered(data, &header, &result) {
            let (h, _) = HeaderBlock::parse(&delivered).expect("the delivered message parses");
            assert_eq!(h.value("X-KIM-DecryptionResult").as_deref(), Some("00"));
        }
    }
    if let Ok(outer) = OuterMessage::parse(data) {
        let _ = mime::version_supported(outer.kom_le_version());
        if let Ok(entity) = mime::parse_signed_data_entity(&outer.cms) {
            let _ = kim_message::cms::SignedData::parse(&entity);
        }
        let _ = mime::unwrap_rfc822(&outer.cms);
    }
});
