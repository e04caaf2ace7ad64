//! The connection to the Fachdienst MTA: implicit TLS right after TCP connect, mutual TLS
//! with C.CM.TLS-CS (KOM-LE-A_2074, KOM-LE-A_2182-01), EHLO, AUTH with the bare KIM
//! address (A_2012/A_2013), results per Tab_SMTP_Verbindung (KOM-LE-A_2015-01). The
//! server certificate is checked at the Konnektor before anything is sent
//! (KOM-LE-A_2075-01, [`crate::fd_cert`]).

use std::sync::Arc;
use std::time::Duration;

use kim_konnektor::client::Konnektor;
use kim_smtp::Reply;
use kim_smtp::client::{ClientError, SmtpClient};
use kim_tls::rustls;
use kim_tls::tokio_rustls::client::TlsStream;
use tokio::net::TcpStream;

use crate::fd_cert::{CertGate, ConnectFailure, connect_checked};

/// An authenticated SMTP session with the MTA.
pub type MtaClient = SmtpClient<TlsStream<TcpStream>>;

/// Where and how to reach the MTA.
#[derive(Debug, Clone)]
pub struct MtaTarget {
    /// Host name (checked against the server certificate) or IP address.
    pub host: String,
    /// Port (465 by default).
    pub port: u16,
}

/// Opens, greets and authenticates; the error is the reply for the practice software.
pub async fn connect<K: Konnektor>(
    target: &MtaTarget,
    gate: CertGate<'_, K>,
    tls: &Arc<rustls::ClientConfig>,
    ehlo_name: &str,
    timeout: Duration,
    address: &str,
    password: &str,
) -> Result<MtaClient, Reply> {
    let unreachable = |what: &str| {
        tracing::warn!(host = %target.host, port = target.port, problem = what, "MTA not reachable");
        Reply::new(454, (4, 7, 0), "Cannot connect to the KIM mail server")
    };
    let stream = connect_checked(&target.host, target.port, tls, &gate, timeout)
        .await
        .map_err(|failure| match failure {
            ConnectFailure::Unreachable(what) => unreachable(what),
            ConnectFailure::Refused(e) => {
                tracing::warn!(host = %target.host, port = target.port, problem = %e, "MTA not used");
                e.smtp_reply()
            }
        })?;
    let (mut client, _greeting) = SmtpClient::connect(stream, timeout)
        .await
        .map_err(|_| unreachable("greeting"))?;
    let caps = client
        .ehlo(ehlo_name)
        .await
        .map_err(|_| unreachable("EHLO"))?;
    let result = if caps.auth_plain || !caps.auth_login {
        client.auth_plain(address, password).await
    } else {
        client.auth_login(address, password).await
    };
    match result {
        Ok(()) => Ok(client),
        Err(ClientError::Rejected { reply, .. }) => {
            tracing::info!(code = reply.code, "MTA refused the login");
            Err(Reply::new(
                535,
                (5, 7, 8),
                "Authentication credentials invalid",
            ))
        }
        Err(_) => Err(unreachable("AUTH")),
    }
}
