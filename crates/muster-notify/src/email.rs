//! Email over SMTP.
//!
//! `MUSTER_SMTP_URL` is `smtp://[user:password@]host[:port][?tls=starttls|required|none]`
//! (STARTTLS when the server offers it, by default) or `smtps://...` for TLS from the first byte;
//! `MUSTER_SMTP_FROM` is the sender.

use crate::{ConfigError, Message, Notifier, SendError, Sent};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    /// STARTTLS when offered.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// TLS from the first byte (smtps).
    Wrapper,
    None,
}

#[derive(Debug, Clone)]
struct Parsed {
    host: String,
    port: u16,
    user: Option<(String, String)>,
    tls: TlsMode,
    from: Mailbox,
}

fn parse(c: &Config) -> Result<Parsed, ConfigError> {
    let bad = |m: &str| ConfigError::new("MUSTER_SMTP_URL", m);
    let (scheme, rest) =
        c.url.trim().split_once("://").ok_or_else(|| bad("must be smtp://host:port or smtps://host:port"))?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => {
            let (name, pass) = u.split_once(':').ok_or_else(|| bad("credentials are user:password"))?;
            (Some((percent_decode(name), percent_decode(pass))), h)
        }
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| bad("the port is not a number"))?),
        None => (hostport.to_string(), if scheme == "smtps" { 465 } else { 587 }),
    };
    if host.is_empty() {
        return Err(bad("names no host"));
    }
    let mut tls = match scheme {
        "smtp" => TlsMode::Opportunistic,
        "smtps" => TlsMode::Wrapper,
        _ => return Err(bad("the scheme must be smtp or smtps")),
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("tls", "starttls" | "opportunistic")) if scheme == "smtp" => tls = TlsMode::Opportunistic,
            Some(("tls", "required")) if scheme == "smtp" => tls = TlsMode::Required,
            Some(("tls", "none")) if scheme == "smtp" => tls = TlsMode::None,
            _ => return Err(bad("options are tls=starttls, tls=required or tls=none (smtp only)")),
        }
    }
    let from: Mailbox = c.from.parse().map_err(|_| ConfigError::new("MUSTER_SMTP_FROM", "must be an email address"))?;
    Ok(Parsed { host, port, user, tls, from })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

impl Config {
    pub fn validate(self) -> Result<Self, ConfigError> {
        parse(&self)?;
        Ok(self)
    }
}

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Email {
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let p = parse(&config)?;
        let tls_params =
            || TlsParameters::new(p.host.clone()).map_err(|e| ConfigError::new("MUSTER_SMTP_URL", format!("TLS: {e}")));
        let tls = match p.tls {
            TlsMode::Opportunistic => Tls::Opportunistic(tls_params()?),
            TlsMode::Required => Tls::Required(tls_params()?),
            TlsMode::Wrapper => Tls::Wrapper(tls_params()?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&p.host)
            .port(p.port)
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let Some((user, pass)) = p.user {
            builder = builder.credentials(Credentials::new(user, pass));
        }
        Ok(Self { transport: builder.build(), from: p.from })
    }
}

#[async_trait]
impl Notifier for Email {
    async fn send(&self, address: &str, message: &Message) -> Result<Sent, SendError> {
        let to: Mailbox =
            address.parse().map_err(|_| SendError::Permanent(format!("{address:?} is not an email address")))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .message_id(Some(format!("<{}@muster>", message.id)))
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body())
            .map_err(|e| SendError::Permanent(format!("the email could not be built: {e}")))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(Sent::Accepted),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("the SMTP server refused it: {e}"))),
            Err(e) => Err(SendError::Retryable(format!("SMTP: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> Config {
        Config { url: url.into(), from: "Muster <muster@example.com>".into() }
    }

    #[test]
    fn smtp_urls_parse_with_their_options() {
        let p = parse(&cfg("smtp://u%40x:p%3Ass@mail.example:2525?tls=required")).expect("valid");
        assert_eq!((p.host.as_str(), p.port, p.tls), ("mail.example", 2525, TlsMode::Required));
        assert_eq!(p.user, Some(("u@x".into(), "p:ss".into())));
        assert_eq!(parse(&cfg("smtps://mail.example")).expect("valid").port, 465);
        assert_eq!(parse(&cfg("smtp://mail.example")).expect("valid").tls, TlsMode::Opportunistic);
        assert_eq!(parse(&cfg("http://mail.example")).expect_err("scheme").setting, "MUSTER_SMTP_URL");
        assert!(parse(&cfg("smtp://h:x")).is_err());
        assert!(parse(&cfg("smtps://h?tls=none")).is_err());
        let mut bad_from = cfg("smtp://h");
        bad_from.from = "nobody".into();
        assert_eq!(parse(&bad_from).expect_err("from").setting, "MUSTER_SMTP_FROM");
    }
}
