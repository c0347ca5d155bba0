//! TLS for `muster serve`: a certificate chain and a private key (PEM files), taken again from
//! the same files on SIGHUP so a renewed certificate needs no restart. rustls with the ring
//! provider, the one the HTTP client already uses.

use anyhow::Context;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The certificate files and the configuration made from them.
#[derive(Clone)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    config: Arc<RwLock<Arc<rustls::ServerConfig>>>,
}

fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading the certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", cert.display());
    }
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the key do not go together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Tls {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let config = server_config(cert, key)?;
        Ok(Self { cert: cert.to_path_buf(), key: key.to_path_buf(), config: Arc::new(RwLock::new(Arc::new(config))) })
    }

    /// Reads the files again; on an error the running configuration stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.cert, &self.key)?;
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.read().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Reloads the certificate whenever the process gets SIGHUP.
    pub fn reload_on_hangup(&self) {
        #[cfg(unix)]
        {
            let tls = self.clone();
            tokio::spawn(async move {
                let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
                    return;
                };
                while hup.recv().await.is_some() {
                    match tls.reload() {
                        Ok(()) => tracing::info!(cert = %tls.cert.display(), "reloaded the TLS certificate"),
                        Err(e) => tracing::error!(error = %format!("{e:#}"), "the TLS certificate was not reloaded"),
                    }
                }
            });
        }
    }

    /// Serves HTTPS (HTTP/1.1) until `shutdown` completes, then lets the requests in flight finish
    /// (idle connections close at once; a request is given 30 s).
    pub async fn serve(
        &self,
        listener: TcpListener,
        router: Router,
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
                    Err(e) => {
                        // Out of file descriptors, say: wait a little instead of spinning.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        continue;
                    }
                },
            };
            while connections.try_join_next().is_some() {}
            let acceptor = self.acceptor();
            let router = router.clone();
            let mut stop = stop.clone();
            connections.spawn(async move {
                let stream =
                    match tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                let service = router.map_request(move |req: hyper::Request<hyper::body::Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    req
                });
                let service = TowerToHyperService::new(service);
                let mut http = http1::Builder::new();
                // A client that sends its headers too slowly is dropped.
                http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(std::time::Duration::from_secs(30));
                let connection = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
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
            });
        }
        let _ = stopping.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        Ok(())
    }
}
