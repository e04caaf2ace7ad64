//! `SignedData::parse`, `profile_findings` and `verify` with no extra certificates: the
//! path every incoming signed KIM message takes (gemSMIME_KOMLE 2.3).
//!
//! Beyond "no panic": the signer certificate lookup, signed-attribute checks, RSASSA-PSS
//! parameter parsing and ECDSA signature decoding all run on the fuzzed input; a certificate
//! path check runs against the certificates the message itself carries.

#![no_main]

use kim_message::cms::oid;
use kim_message::cms::signed::{self, SignedData};
use kim_message::cms::{CertInfo, RecipientEmails};
use libfuzzer_sys::fuzz_target;

/// 2020-12-14T07:17:05Z, the signingTime of the gematik sample.
const CHECK_TIME: i64 = 1_607_930_225;

fuzz_target!(|data: &[u8]| {
    let Ok(sd) = SignedData::parse(data) else {
        return;
    };
    for finding in sd.profile_findings() {
        assert!(!finding.is_empty());
    }
    for si in &sd.signer_infos {
        if let Some(attr) = si.signed_attr(&oid::RECIPIENT_EMAILS) {
            let _ = RecipientEmails::from_attribute(attr);
        }
    }
    match sd.verify(&[]) {
        Ok(signer) => {
            let pool: Vec<CertInfo> = sd
                .certificates
                .iter()
                .filter_map(|c| CertInfo::parse(c).ok())
                .collect();
            let _ = signed::check_path(&signer, &pool, CHECK_TIME);
        }
        Err(failure) => {
            let _ = failure.integrity_id();
            let _ = failure.to_string();
        }
    }
});
