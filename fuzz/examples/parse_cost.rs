//! Times the CMS entry points on given files (an uninstrumented build, unlike the fuzz
//! targets): `cargo run --release --example parse_cost -- FILE...`.
//!
//! Used to measure how parse time grows with nesting depth (docs/fuzzing.md).

use kim_message::cms::ber;
use kim_message::cms::{AuthEnvelopedData, SignedData};
use std::time::Instant;

fn main() -> std::io::Result<()> {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path)?;
        let mb = data.len() as f64 / 1_048_576.0;
        let t = Instant::now();
        let parsed = ber::parse(&data).and_then(|t| t.to_der());
        let ber_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let signed = SignedData::parse(&data);
        let signed_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let enveloped = AuthEnvelopedData::parse(&data);
        let enveloped_s = t.elapsed().as_secs_f64();
        println!(
            "{path}: {mb:.2} MiB | ber::parse+to_der {ber_s:.3} s ({}) | SignedData::parse \
             {signed_s:.3} s ({}) | AuthEnvelopedData::parse {enveloped_s:.3} s ({})",
            if parsed.is_ok() { "ok" } else { "err" },
            if signed.is_ok() { "ok" } else { "err" },
            if enveloped.is_ok() { "ok" } else { "err" },
        );
    }
    Ok(())
}
