//! The connection to the Fachdienst's POP3 server: implicit TLS right after TCP connect,
//! mutual TLS with C.CM.TLS-CS (KOM-LE-A_2074, KOM-LE-A_2182-01), login with the bare KIM
//! address by USER/PASS (A_2034/2035). Every failure is one `-ERR` line for the client
//! (Tab_POP3_Verbindung, KOM-LE-A_2037-01). The server certificate is checked at the
//! Konnektor before anything is sent (KOM-LE-A_2075-01, [`crate::fd_cert`]).

use std::sync::Arc;
use std::time::Duration;

use kim_konnektor::client::Konnektor;
use kim_pop3::{ClientError, Pop3Client};
use kim_tls::rustls;
use kim_tls::tokio_rustls::client::TlsStream;
use tokio::net::TcpStream;

use crate::fd_cert::{CertGate, ConnectFailure, connect_checked};

/// An authenticated POP3 session with the Fachdienst.
pub(crate) type Upstream = Pop3Client<TlsStream<TcpStream>>;

/// Where the Fachdienst's POP3 server is.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
}

/// Opens and logs in; the error is the text of the `-ERR` for the client.
pub(crate) async fn connect<K: Konnektor>(
    target: &Target,
    gate: CertGate<'_, K>,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
    address: &str,
    password: &str,
) -> Result<Upstream, String> {
    let unreachable = |what: &str| {
        tracing::warn!(host = %target.host, port = target.port, problem = what, "POP3 server not reachable");
        "[SYS/TEMP] cannot connect to the KIM mail server".to_string()
    };
    let stream = connect_checked(&target.host, target.port, tls, &gate, timeout)
        .await
        .map_err(|failure| match failure {
            ConnectFailure::Unreachable(what) => unreachable(what),
            ConnectFailure::Refused(e) => {
                tracing::warn!(host = %target.host, port = target.port, problem = %e, "POP3 server not used");
                e.pop3_text()
            }
        })?;
    let mut client = Pop3Client::connect(stream, timeout)
        .await
        .map_err(|_| unreachable("greeting"))?;
    let login = match client.user(address).await {
        Ok(_) => client.pass(password).await,
        Err(e) => Err(e),
    };
    match login {
        Ok(_) => Ok(client),
        Err(e @ ClientError::Negative { .. }) => {
            tracing::info!(code = ?e.code(), "POP3 server refused the login");
            Err(negative_text(&e))
        }
        Err(_) => Err(unreachable("login")),
    }
}

/// The `-ERR` text of a refusal, with its RFC 2449 response code.
pub(crate) fn negative_text(e: &ClientError) -> String {
    match e {
        ClientError::Negative { code, text } => match code {
            Some(code) => format!("[{}] {text}", code.as_str()),
            None => text.clone(),
        },
        other => format!("[SYS/TEMP] {other}"),
    }
}
