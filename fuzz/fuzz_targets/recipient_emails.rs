//! `Attribute::from_der` and `RecipientEmails::from_attribute` (KOM-LE-A_2114-01 …).
//!
//! Invariants: a decoded attribute re-encodes (DER, values sorted) to an attribute with the
//! same values; decoded recipient-emails survive `to_attribute_der` and decoding again as
//! the same set of entries.

#![no_main]

use kim_message::cms::{Attribute, RecipientEmails};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(attr) = Attribute::from_der(data) else {
        return;
    };
    let _ = attr.single_value();
    let again = match Attribute::from_der(&attr.to_der()) {
        Ok(a) => a,
        Err(e) => panic!("re-encoded attribute does not parse: {e}"),
    };
    assert_eq!(again.oid, attr.oid);
    let mut expected = attr.values.clone();
    expected.sort();
    assert_eq!(
        again.values, expected,
        "attribute values changed in DER round trip"
    );

    let Ok(emails) = RecipientEmails::from_attribute(&attr) else {
        return;
    };
    assert!(emails.same_entries(&emails));
    for entry in &emails.0 {
        let _ = entry.rid.to_string();
        assert!(emails.for_address(&entry.email).next().is_some());
    }
    let round = match Attribute::from_der(&emails.to_attribute_der())
        .and_then(|a| RecipientEmails::from_attribute(&a))
    {
        Ok(r) => r,
        Err(e) => panic!("re-encoded recipient-emails do not parse: {e}"),
    };
    assert!(
        round.same_entries(&emails),
        "recipient-emails changed in a round trip"
    );
});
