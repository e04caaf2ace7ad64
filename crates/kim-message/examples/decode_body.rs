//! How fast the base64 body of a received KOM-LE message can be decoded: today's way against
//! a line-wise decode and a block-wise decode (lines gathered into a 64 KiB scratch buffer),
//! both into one pre-sized buffer (the first suggestion of docs/performance.md). All
//! must give the same bytes.
//!
//! ```text
//! cargo run --release -p kim-message --example decode_body -- [SIZE_MIB=15] [RUNS=10]
//! ```

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

mod support;

use support::BoxError;

/// Today's approach (`base64_decode_tolerant`): drop whitespace into a new `Vec`, then decode.
fn filter_then_decode(body: &[u8]) -> Result<Vec<u8>, BoxError> {
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    Ok(STANDARD.decode(&compact)?)
}

/// Decodes line by line straight into one buffer reserved for the whole result.
/// Only for lines whose length is a multiple of 4 except the last (what every mail
/// writer produces); returns `None` otherwise so a caller can fall back.
fn line_wise(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; body.len() / 4 * 3 + 3];
    let mut written = 0;
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.len() % 4 != 0 && lines.peek().is_some_and(|next| !next.is_empty()) {
            return None;
        }
        written += STANDARD.decode_slice(line, out.get_mut(written..)?).ok()?;
    }
    out.truncate(written);
    Some(out)
}

/// Copies whole lines (without CRLF) into a small scratch buffer that stays in the L1/L2
/// cache and decodes it in blocks of whole quanta into one pre-sized output: no
/// message-sized intermediate, few decoder calls.
fn blockwise(body: &[u8]) -> Option<Vec<u8>> {
    const BLOCK: usize = 64 * 1024;
    let mut out = vec![0u8; body.len() / 4 * 3 + 3];
    let mut written = 0;
    let mut scratch: Vec<u8> = Vec::with_capacity(BLOCK + 128);
    let mut flush = |scratch: &mut Vec<u8>, all: bool| -> Option<()> {
        let take = if all {
            scratch.len()
        } else {
            scratch.len() / 4 * 4
        };
        written += STANDARD
            .decode_slice(scratch.get(..take)?, out.get_mut(written..)?)
            .ok()?;
        scratch.drain(..take);
        Some(())
    };
    for line in body.split(|&b| b == b'\n') {
        scratch.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        if scratch.len() >= BLOCK {
            flush(&mut scratch, false)?;
        }
    }
    flush(&mut scratch, true)?;
    out.truncate(written);
    Some(out)
}

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let value = f();
        best = best.min(t.elapsed());
        last = Some(value);
    }
    (best, last.unwrap_or_else(f))
}

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let mib: f64 = args.next().map_or(Ok(15.0), |a| a.parse())?;
    let runs: usize = args.next().map_or(Ok(10), |a| a.parse())?;
    let parties = support::parties(kim_testkit::pki::KeyAlgorithm::Rsa2048)?;
    let message = support::seal(
        &parties,
        &support::client_mail((mib * 1_048_576.0) as usize),
    )?;
    let start = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?
        + 4;
    let body = message.get(start..).ok_or("no body")?;
    let mbs = |d: Duration| body.len() as f64 / d.as_secs_f64() / 1e6;

    let (t_filter, a) = best(runs.max(1), || filter_then_decode(body));
    let a = a?;
    let (t_lines, b) = best(runs.max(1), || line_wise(body));
    let b = b.ok_or("line-wise decode refused the body")?;
    let (t_block, c) = best(runs.max(1), || blockwise(body));
    let c = c.ok_or("block-wise decode refused the body")?;
    if a != b || a != c {
        return Err("the decoders disagree".into());
    }
    println!("base64 body {} bytes -> {} bytes", body.len(), a.len());
    println!(
        "filter + decode (today)  {:7.2} ms  {:6.0} MB/s",
        t_filter.as_secs_f64() * 1e3,
        mbs(t_filter)
    );
    println!(
        "line-wise decode_slice   {:7.2} ms  {:6.0} MB/s",
        t_lines.as_secs_f64() * 1e3,
        mbs(t_lines)
    );
    println!(
        "block-wise (64 KiB)      {:7.2} ms  {:6.0} MB/s",
        t_block.as_secs_f64() * 1e3,
        mbs(t_block)
    );
    // The floor: the decoder alone on whitespace-free input into a buffer that is already
    // mapped (no allocation, no page faults).
    let compact: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let mut reused = vec![0u8; compact.len() / 4 * 3 + 3];
    let (t_floor, n) = best(runs.max(1), || STANDARD.decode_slice(&compact, &mut reused));
    if n? != a.len() {
        return Err("decoded length differs".into());
    }
    println!(
        "decoder only (floor)     {:7.2} ms  {:6.0} MB/s",
        t_floor.as_secs_f64() * 1e3,
        mbs(t_floor)
    );
    Ok(())
}
