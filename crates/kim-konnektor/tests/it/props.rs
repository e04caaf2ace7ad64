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

fn goldens() -> &'static [Vec<u8>] {
    static GOLDENS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    GOLDENS.get_or_init(|| all_cases().into_iter().map(|c| c.bytes).collect())
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

fn xml_text() -> impl Strategy<Value = String> {
    // Any characters XML 1.0 can carry, including markup characters, CR and edge whitespace.
    proptest::collection::vec(
        prop_oneof![
            Just('<'),
            Just('&'),
            Just('>'),
            Just('"'),
            Just('\''),
            Just('\r'),
            Just('\n'),
            Just('\t'),
            Just(' '),
            Just('ü'),
            Just('€'),
            Just('\u{10348}'),
            proptest::char::range('!', '~'),
        ],
        0..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn context_id() -> impl Strategy<Value = String> {
    xml_text().prop_filter("1..=64 characters", |s| {
        (1..=64).contains(&s.chars().count())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn text_and_bytes_round_trip(
        m in context_id(), c in context_id(), w in context_id(),
        holder in xml_text(), data in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        use kim_konnektor::model::{Context, Document, Status};
        let mut req = crate::samples::decrypt_document();
        req.context = Context::new(&m, &c, &w).unwrap();
        req.document = Document::new(data.clone());
        let env = req.to_envelope(&kim_konnektor::ServiceVersion::new(6, 1, 1)).unwrap();
        prop_assert_eq!(Request::parse_envelope("text/xml", &env).unwrap(), Request::DecryptDocument(req));

        let mut cards = crate::samples::get_cards_response();
        cards.cards[0].holder_name = Some(holder);
        cards.status = Status::ok();
        let env = kim_konnektor::Response::GetCards(cards.clone()).to_envelope().unwrap();
        prop_assert_eq!(GetCards::parse_response(&env).unwrap(), cards);
    }
}
