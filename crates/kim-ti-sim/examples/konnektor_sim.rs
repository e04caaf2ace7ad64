//! Runs the simulator in its own process (used by the `bench` example to measure its memory).
//!
//! `konnektor_sim [CONFIG.toml]`: without a file, the default configuration of the
//! deterministic test PKI on 127.0.0.1:0. Prints `LISTENING <port>` once bound and serves
//! until stdin is closed.
#![allow(clippy::print_stdout, reason = "example binary")]

use std::io::Read as _;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = match std::env::args().nth(1) {
        Some(path) => kim_ti_sim::SimConfig::load(std::path::Path::new(&path))?,
        None => {
            let pki = kim_testkit::pki::TestPki::shared_default().map_err(|e| e.to_string())?;
            kim_ti_sim::SimConfig::from_test_pki(pki)?
        }
    };
    let sim = kim_ti_sim::KonnektorSim::start(config).await?;
    println!("LISTENING {}", sim.addr().port());
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    sim.shutdown().await;
    Ok(())
}
