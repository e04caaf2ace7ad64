//! `kim-vzd-sim [CONFIG.toml]`: runs the VZD simulator until Ctrl-C (defaults without a file).

use std::process::ExitCode;

use kim_vzd_sim::{VzdSim, VzdSimConfig};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match std::env::args().nth(1) {
        None => VzdSimConfig::default(),
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => match VzdSimConfig::from_toml(&text) {
                Ok(c) => c,
                Err(e) => return fail(&format!("{path}: {e}")),
            },
            Err(e) => return fail(&format!("{path}: {e}")),
        },
    };
    let running = match VzdSim::start(config).await {
        Ok(r) => r,
        Err(e) => return fail(&e.to_string()),
    };
    let show = |name: &str, a: Option<std::net::SocketAddr>| {
        if let Some(a) = a {
            println!("{name} {a}");
        }
    };
    show("ldap", running.ldap_addr);
    show("ldaps", running.ldaps_addr);
    show("rest", running.rest_addr);
    if let Err(e) = tokio::signal::ctrl_c().await {
        return fail(&format!("waiting for Ctrl-C: {e}"));
    }
    running.shutdown().await;
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("kim-vzd-sim: {message}");
    ExitCode::FAILURE
}
