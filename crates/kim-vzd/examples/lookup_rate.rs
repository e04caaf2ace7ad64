//! Measures lookups per second against a local VZD simulator: uncached sequential, uncached
//! with 8 concurrent callers over a pool of 4, and cached.
//!
//! `cargo run -p kim-vzd --example lookup_rate [N]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use kim_types::KimAddress;
use kim_vzd::{VzdClient, VzdClientConfig};
use kim_vzd_sim::{VzdSim, VzdSimConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(2000), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let config = VzdSimConfig {
        data_dir: dir.path().to_path_buf(),
        rest_listen: None,
        ..VzdSimConfig::default()
    };
    let vzd = VzdSim::start(config).await?;
    let url = format!("ldap://{}", vzd.ldap_addr.ok_or("no LDAP listener")?);
    let address = KimAddress::parse("praxis.schmidt@test.kim.telematik")?;

    let mut uncached = VzdClientConfig::new(&url);
    uncached.cache.max_entries = 0;
    let client = Arc::new(VzdClient::new(uncached)?);
    let rate = |count: usize, d: Duration| count as f64 / d.as_secs_f64();

    let t = Instant::now();
    for _ in 0..n {
        client.lookup(&address).await?;
    }
    println!("uncached sequential: {:.0} lookups/s", rate(n, t.elapsed()));

    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, address) = (Arc::clone(&client), address.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..n / 8 {
                client.lookup(&address).await?;
            }
            Ok::<_, kim_vzd::VzdError>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    println!(
        "uncached 8 callers, pool 4: {:.0} lookups/s",
        rate(n / 8 * 8, t.elapsed())
    );

    let cached = VzdClient::new(VzdClientConfig::new(&url))?;
    cached.lookup(&address).await?;
    let t = Instant::now();
    for _ in 0..n {
        cached.lookup(&address).await?;
    }
    println!("cached: {:.0} lookups/s", rate(n, t.elapsed()));
    vzd.shutdown().await;
    Ok(())
}
