//! Property tests: random bytes and mutated golden files never make a parser panic.

use kim_konnektor::ops::*;
use kim_konnektor::sds::ConnectorServices;
use kim_konnektor::{Operation, Request};
use proptest::prelude::*;

use crate::golden::all_cases;

fn all_parsers(bytes: &[u8]) {
    let _ = Request::parse_envelope("text/xml", bytes);
    let _ = Request::parse_envelope(
        "multipart/related; type=\"application/xop+xml\"; boundary=b",
        bytes,
    );
    let _ = GetCards::parse_response(bytes);
    let _ = GetPinStatus::parse_response(bytes);
    let _ = VerifyPin::parse_response(bytes);
    let _ = ReadCardCertificate::parse_response(bytes);
    let _ = VerifyCertificate::parse_response(bytes);
    let _ = GetJobNumber::parse_response(bytes);
    let _ = SignDocument::parse_response(bytes);
    let _ = VerifyDocument::parse_response(bytes);
    let _ = EncryptDocument::parse_response(bytes);
    let _ = DecryptDocument::parse_response(bytes);
    let _ = ExternalAuthenticate::parse_response(bytes);
    let _ = ConnectorServices::parse(bytes);
}

fn goldens() -> Vec<Vec<u8>> {
    all_cases().into_iter().map(|c| c.bytes).collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let fragment = prop_oneof![
        Just(b"<".to_vec()),
        Just(b"</x>".to_vec()),
        Just(b"&amp;".to_vec()),
        Just(b"<a:b xmlns:a='urn:x'/>".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(
            b"<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:x\"/>"
                .to_vec()
        ),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), fragment).prop_map(|(i, f)| Mutation::Insert(i, f)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0usize..200).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let len = b.len().max(1);
    match m {
        Mutation::Flip(i, v) => {
            if let Some(x) = b.get_mut(i % len) {
                *x = *v;
            }
        }
        Mutation::Delete(i, n) => {
            let s = i % len;
            let e = (s + n).min(b.len());
            if s < e {
                b.drain(s..e);
            }
        }
        Mutation::Insert(i, f) => {
            let at = i % (b.len() + 1);
            b.splice(at..at, f.iter().copied());
        }
        Mutation::Truncate(i) => b.truncate(i % len),
        Mutation::Duplicate(i, n) => {
            let s = i % len;
            let e = (s + n).min(b.len());
            let piece: Vec<u8> = b.get(s..e).unwrap_or_default().to_vec();
            b.splice(e..e, piece);
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&bytes);
    }

    #[test]
    fn mutated_golden_files_never_panic(index in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..4)) {
        let all = goldens();
        let mut b = all[index % all.len()].clone();
        for m in &mutations {
            b = apply(b, m);
        }
        all_parsers(&b);
    }
}
