//! `CertInfo::parse` and the accessors that print or interpret certificate fields.
//!
//! Beyond "no panic": a parsed certificate's self-signature check and public-key decoding
//! run on attacker-chosen algorithm parameters (RSASSA-PSS parameters, EC points).

#![no_main]

use kim_message::cms::CertInfo;
use kim_message::cms::keys::{self, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = CertInfo::parse(data) else {
        return;
    };
    let _ = cert.telematik_id();
    let _ = cert.key_description();
    let _ = cert.subject_text();
    let _ = cert.issuer_serial.to_string();
    let _ = cert.signature_algorithm.to_string();
    let _ = PublicKey::from_cert(&cert);
    let _ = keys::verify_certificate_signature(&cert, &cert);
});
