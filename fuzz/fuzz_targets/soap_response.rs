//! The Konnektor client's response parsers on arbitrary bytes: every operation's response,
//! SOAP faults with TelematikError, and connector.sds (konnektor.md §3, §5, §6).
//!
//! Invariants: never a panic; a parsed fault's code is the last trace's (A_14159); a parsed
//! connector.sds writes out and parses back to the same services.

#![no_main]

use kim_konnektor::sds::ConnectorServices;
use kim_konnektor::{Operation, ResponseError, Service, ops};
use libfuzzer_sys::fuzz_target;

fn check<O: Operation>(data: &[u8]) {
    match O::parse_response(data) {
        Err(ResponseError::Fault(fault)) => {
            let last = fault
                .error
                .as_ref()
                .and_then(|e| e.traces.last())
                .map(|t| t.code);
            assert_eq!(fault.code(), last);
        }
        Ok(_) | Err(_) => {}
    }
    let _ = O::parse_http_response("multipart/related; boundary=b", data);
}

fuzz_target!(|data: &[u8]| {
    check::<ops::GetCards>(data);
    check::<ops::GetPinStatus>(data);
    check::<ops::VerifyPin>(data);
    check::<ops::ReadCardCertificate>(data);
    check::<ops::VerifyCertificate>(data);
    check::<ops::GetJobNumber>(data);
    check::<ops::SignDocument>(data);
    check::<ops::VerifyDocument>(data);
    check::<ops::EncryptDocument>(data);
    check::<ops::DecryptDocument>(data);
    check::<ops::ExternalAuthenticate>(data);
    if let Ok(sds) = ConnectorServices::parse(data) {
        let _ = sds.ecc_capable();
        for service in Service::ALL {
            let _ = sds.select(*service);
        }
        let written = sds.to_xml();
        if let Ok(again) = ConnectorServices::parse(&written) {
            assert_eq!(again.services.len(), sds.services.len());
        }
    }
});
