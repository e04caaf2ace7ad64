//! Listeners: LDAP, LDAPS and the REST API (HTTP or HTTPS), each an accept loop that stops
//! with the simulator's cancellation token; connection tasks stop with it too.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::rest::PeerCert;
use crate::{Shared, VzdSimError, ldap, rest};

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Ldap,
    Rest,
}

/// Binds `addr` and spawns its accept loop; returns the bound address.
pub(crate) async fn listen(
    addr: SocketAddr,
    protocol: Protocol,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), VzdSimError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| VzdSimError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| VzdSimError::Bind { addr, source })?;
    let task = tokio::spawn(accept_loop(listener, protocol, tls, shared, cancel));
    Ok((local, task))
}

async fn accept_loop(
    listener: TcpListener,
    protocol: Protocol,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let conn = connection(stream, protocol, tls.clone(), Arc::clone(&shared));
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = conn => {}
            }
            tracing::trace!(%peer, "connection closed");
        });
    }
}

async fn connection(
    stream: TcpStream,
    protocol: Protocol,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
) {
    match tls {
        None => serve(stream, protocol, shared, PeerCert(None)).await,
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls_stream) => {
                let peer = PeerCert(kim_tls::peer_leaf(&tls_stream));
                serve(tls_stream, protocol, shared, peer).await;
            }
            Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
        },
    }
}

async fn serve<S>(stream: S, protocol: Protocol, shared: Arc<Shared>, peer: PeerCert)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match protocol {
        Protocol::Ldap => ldap::serve_connection(stream, shared).await,
        Protocol::Rest => {
            let service = TowerToHyperService::new(rest::router(shared, peer));
            let builder = hyper::server::conn::http1::Builder::new();
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        }
    }
}
