//! Fuzzes `kim_pkcs12::parse`: PKCS#12 files reach us over the network (the Account Manager's
//! `createCert` response) and from users. Any input must give `Ok` or `Err`, never a panic,
//! and finish quickly (iteration counts are capped).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run parse -- -max_len=8192` in `crates/kim-pkcs12`,
//! seeding the corpus with `tests/data/*.p12` (each prefixed with one `\0` byte, which selects
//! the password `00`).
//!
//! Without cargo-fuzz, the same binary builds with plain cargo:
//! `RUSTC_BOOTSTRAP=1 RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module
//! -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
//! -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares
//! -Cdebug-assertions -Coverflow-checks" cargo build --release --target x86_64-unknown-linux-gnu`
//! and runs as `target/x86_64-unknown-linux-gnu/release/parse CORPUS -max_total_time=180`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the password so that both the empty-password path and a real
    // password (the gematik samples use "00") are explored.
    let (password, file) = match data.split_first() {
        Some((selector, rest)) if selector & 1 == 0 => ("00", rest),
        Some((_, rest)) => ("", rest),
        None => ("", data),
    };
    let _ = kim_pkcs12::parse(file, password);
});
