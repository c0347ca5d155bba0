//! TLS for `muster serve`: a certificate chain and a private key (PEM files), taken again from
//! the same files on SIGHUP so a renewed certificate needs no restart. rustls with the ring
//! provider, the one the HTTP client already uses.

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio_rustls::TlsAcceptor;

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

    pub(crate) fn acceptor(&self) -> TlsAcceptor {
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
}
