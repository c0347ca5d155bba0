//! The accept loop for `muster serve`, plain HTTP or HTTPS alike: each connection is HTTP/1.1 with
//! a deadline on its request headers, so a client that opens connections and trickles bytes holds
//! nothing for long; on shutdown idle connections close at once and a request in flight gets 30 s.

use crate::tls::Tls;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long requests in flight get to finish once shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` (over TLS when `tls` is given) until `shutdown` completes.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Tls>,
    client_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A client that gave up before it was accepted: nothing wrong here.
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors, say: wait a little instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let stop = stop.clone();
        match &tls {
            None => {
                connections.spawn(connection(stream, peer, router, client_timeout, stop));
            }
            Some(tls) => {
                let acceptor = tls.acceptor();
                connections.spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, peer, router, client_timeout, stop).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    // New connections are refused at once rather than left waiting in the backlog.
    drop(listener);
    let _ = stopping.send(true);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} }).await;
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset)
}

/// One client connection, until it closes or the server stops.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    client_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |req: hyper::Request<hyper::body::Incoming>| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        req
    });
    let service = TowerToHyperService::new(service);
    let mut http = http1::Builder::new();
    // A client that sends its headers too slowly is dropped (the body has its own deadline). The
    // same deadline closes a kept-alive connection that sends no next request.
    http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(client_timeout);
    let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(connection);
    let stopped = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let result = tokio::select! {
        r = connection.as_mut() => r,
        () = stopped => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
