//! Writes the default test PKI to a directory and reports how long generation took.
//!
//! `cargo run -p kim-testkit --example pki_create -- OUT_DIR [P12_PASSWORD]`
//! (password default `00`, as in the gematik samples).

use std::path::PathBuf;
use std::time::Instant;

use kim_testkit::pki::{PkiSpec, TestPki};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: pki_create OUT_DIR [P12_PASSWORD]")?,
    );
    let password = args.next().unwrap_or_else(|| "00".to_string());
    let started = Instant::now();
    let pki = TestPki::generate(&PkiSpec::small_default())?;
    let generated = started.elapsed();
    let manifest = pki.write_dir(&out, &password)?;
    println!(
        "generated in {:.2?}, wrote {} files to {} in {:.2?} more",
        generated,
        manifest.entries.len(),
        out.display(),
        started.elapsed() - generated
    );
    Ok(())
}
