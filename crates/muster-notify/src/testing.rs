//! Local receivers for tests: a real SMTP server and an HTTP sink, both on 127.0.0.1 and a free port.

use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// A received email.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
    pub auth: Option<String>,
}

/// An SMTP server that speaks enough of RFC 5321 for a client: EHLO, AUTH PLAIN, MAIL, RCPT, DATA,
/// RSET, NOOP, QUIT. A recipient containing `reject` is refused for good (550), one containing
/// `later` for now (451).
pub struct SmtpSink {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = mails.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sink = sink.clone();
                tokio::spawn(async move {
                    let _ = session(stream, sink).await;
                });
            }
        });
        SmtpSink { port, mails }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }
}

async fn session(stream: tokio::net::TcpStream, sink: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 localhost ESMTP test\r\n").await?;
    let mut mail = Mail { from: String::new(), to: vec![], data: String::new(), auth: None };
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            mail.auth = line.split_whitespace().nth(2).map(str::to_string);
            b"235 2.7.0 accepted\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].trim().to_string();
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            let to = line[8..].trim().to_string();
            if to.contains("reject") {
                b"550 5.1.1 no such user\r\n"
            } else if to.contains("later") {
                b"451 4.3.0 try again later\r\n"
            } else {
                mail.to.push(to);
                b"250 2.1.5 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
                data.push('\n');
            }
            mail.data = data;
            sink.lock().await.push(mail.clone());
            b"250 2.0.0 queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 ok\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// A received HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    /// When it arrived (for latency benchmarks).
    pub received: std::time::Instant,
}

/// An HTTP server that records every POST and answers with the status it is told to.
pub struct HttpSink {
    pub base: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    status: Arc<AtomicU16>,
}

impl HttpSink {
    pub async fn start() -> HttpSink {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let (sink, answer) = (requests.clone(), status.clone());
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
            let (sink, answer) = (sink.clone(), answer.clone());
            async move {
                let received = std::time::Instant::now();
                sink.lock().await.push(Request { path: uri.path().to_string(), headers, body, received });
                let code = StatusCode::from_u16(answer.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
                (
                    code,
                    axum::Json(serde_json::json!({"ok": code.is_success(), "sid": "SM123", "ts": "1700000000.000100"})),
                )
            }
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let base = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}")));
        tokio::spawn(async move { axum::serve(listener, app).await });
        HttpSink { base, requests, status }
    }

    /// Answer every later request with this status.
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub async fn count(&self) -> usize {
        self.requests.lock().await.len()
    }
}
