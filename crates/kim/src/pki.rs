//! `kim pki create`: writes the deterministic test PKI for the sandbox and tests.

use crate::Outcome;
use anyhow::Context;
use clap::Subcommand;
use kim_testkit::pki::{PkiSpec, TestPki};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Creates the test PKI (root and sub-CAs, two SMC-B practices, one HBA doctor and the
    /// Konnektor, Fachdienst and Clientmodul TLS certificates) as PEM, DER and PKCS#12.
    Create {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Seed (default: the built-in one): the same seed gives byte-identical keys and
        /// certificates.
        #[arg(long)]
        seed: Option<u64>,
        /// Password of the PKCS#12 files (TEST-ONLY material).
        #[arg(long, default_value = "00")]
        p12_password: String,
    },
}

pub fn run(cmd: PkiCommand) -> anyhow::Result<Outcome> {
    match cmd {
        PkiCommand::Create {
            out,
            seed,
            p12_password,
        } => {
            let mut spec = PkiSpec::small_default();
            if let Some(seed) = seed {
                spec.seed = PkiSpec::from_u64_seed(seed).seed;
            }
            let pki = TestPki::generate(&spec).context("generating the test PKI")?;
            let manifest = pki
                .write_dir(&out, &p12_password)
                .with_context(|| format!("writing the test PKI to {}", out.display()))?;
            println!(
                "wrote {} files to {} (TEST-ONLY keys; see manifest.txt)",
                manifest.entries.len(),
                out.display()
            );
            Ok(Outcome::Success)
        }
    }
}
