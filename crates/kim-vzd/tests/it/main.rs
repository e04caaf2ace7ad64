//! `VzdClient` against the VZD simulator over real sockets.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod lookup;
mod pool;
mod tls;

use std::path::Path;
use std::time::Duration;

use kim_types::KimAddress;
use kim_vzd::{CacheConfig, VzdClient, VzdClientConfig};
use kim_vzd_sim::{RunningVzd, SeedEntry, StartOptions, VzdSim, VzdSimConfig};

pub const PRAXIS_TID: &str = "1-2.58.00000040";
pub const PRAXIS_MAIL: &str = "praxis.schmidt@test.kim.telematik";
pub const HBA_MAIL: &str = "alice.schmidt@test.kim.telematik";

pub fn addr(s: &str) -> KimAddress {
    KimAddress::parse(s).unwrap()
}

/// A simulator seeded from the test PKI plus `seeds`, on `dir`.
pub async fn start(dir: &Path, seeds: Vec<SeedEntry>) -> RunningVzd {
    start_on(dir, seeds, None).await
}

/// As [`start`], on a fixed LDAP address.
pub async fn start_on(
    dir: &Path,
    seeds: Vec<SeedEntry>,
    ldap: Option<std::net::SocketAddr>,
) -> RunningVzd {
    let mut config = VzdSimConfig {
        data_dir: dir.to_path_buf(),
        rest_listen: None,
        ..VzdSimConfig::default()
    };
    if ldap.is_some() {
        config.ldap_listen = ldap;
    }
    let options = StartOptions {
        seeds,
        ..StartOptions::default()
    };
    VzdSim::start_with(config, options).await.unwrap()
}

/// Client configuration for `vzd` with the given cache TTLs.
pub fn config(vzd: &RunningVzd, positive: Duration, negative: Duration) -> VzdClientConfig {
    let mut c = VzdClientConfig::new(&format!("ldap://{}", vzd.ldap_addr.unwrap()));
    c.cache = CacheConfig {
        positive_ttl: positive,
        negative_ttl: negative,
        max_entries: 100,
    };
    c.request_timeout = Duration::from_secs(5);
    c
}

/// A client without cache.
pub fn uncached(vzd: &RunningVzd) -> VzdClient {
    let mut c = config(vzd, Duration::ZERO, Duration::ZERO);
    c.cache.max_entries = 0;
    VzdClient::new(c).unwrap()
}
