//! Measures writing and parsing of a SignDocument request and a DecryptDocument response
//! carrying a 25 MB document (the Konnektor's limit).
//!
//! `cargo run --release -p kim-konnektor --example throughput`

use std::time::Instant;

use kim_konnektor::model::{CardHandle, Context, Document, JobNumber, Status, TvMode};
use kim_konnektor::ops::{DecryptDocument, DecryptDocumentResponse, SignDocument, SignRequest};
use kim_konnektor::{Operation, Request, Response, ServiceVersion};

const SIZE: usize = 26_214_400;

fn mb_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / 1_000_000.0 / secs
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let request = SignDocument {
        card_handle: CardHandle::new("SMC-B-1")?,
        crypt: None,
        context: Context::new("M", "C", "W")?,
        tv_mode: TvMode::None,
        job_number: Some(JobNumber::new("ABC-123")?),
        requests: vec![SignRequest {
            request_id: "r".into(),
            signature_type: None,
            signed_properties: vec![],
            include_econtent: Some(true),
            document: Document::new(data.clone()),
            include_revocation_info: false,
        }],
    };
    let version = ServiceVersion::new(7, 5, 6);
    let runs = 5;
    let t = Instant::now();
    let mut env = Vec::new();
    for _ in 0..runs {
        env = request.to_envelope(&version)?;
    }
    let write = t.elapsed().as_secs_f64() / f64::from(runs);
    let t = Instant::now();
    for _ in 0..runs {
        let Request::SignDocument(parsed, _) = Request::parse_envelope("text/xml", &env)? else {
            unreachable!()
        };
        assert_eq!(
            parsed.requests.first().map(|r| r.document.data.len()),
            Some(SIZE)
        );
    }
    let parse = t.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "SignDocument request, {SIZE} byte document, envelope {} bytes",
        env.len()
    );
    println!(
        "  write: {:.1} ms ({:.0} MB/s of document)",
        write * 1e3,
        mb_s(SIZE, write)
    );
    println!(
        "  parse: {:.1} ms ({:.0} MB/s of document)",
        parse * 1e3,
        mb_s(SIZE, parse)
    );

    let response = Response::DecryptDocument(DecryptDocumentResponse {
        status: Status::ok(),
        document: Some(Document::new(data)),
    });
    let env = response.to_envelope()?;
    let t = Instant::now();
    for _ in 0..runs {
        let r = DecryptDocument::parse_response(&env)?;
        assert_eq!(r.document.map(|d| d.data.len()), Some(SIZE));
    }
    let parse = t.elapsed().as_secs_f64() / f64::from(runs);
    println!(
        "DecryptDocumentResponse parse: {:.1} ms ({:.0} MB/s of document)",
        parse * 1e3,
        mb_s(SIZE, parse)
    );
    Ok(())
}
