//! Browser sessions: a signed cookie that names an API token (never its secret), an expiry and a
//! CSRF secret. The token is checked on every request, so revoking it ends its sessions.

use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use muster_core::auth::ApiToken;
use sha2::Sha256;

pub const COOKIE: &str = "muster_session";
/// Sessions last a working day and a half.
const LIFETIME_SECS: i64 = 36 * 3600;

/// The signed-in person: their token, and the CSRF secret every form must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: ApiToken,
    pub csrf: String,
}

fn sign(key: &str, payload: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("session:{payload}").as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The cookie for a new session of this token.
pub fn cookie_for(s: &AppState, token: &ApiToken, now: Timestamp) -> String {
    let csrf = crate::auth::generate_secret();
    let expires = now.as_second() + LIFETIME_SECS;
    let payload = format!("{}.{expires}.{}", token.id, &csrf[4..]);
    let value = format!("{payload}.{}", sign(s.engine.link_key(), &payload));
    let secure = if s.public_url.as_deref().is_some_and(|u| u.starts_with("https://")) { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LIFETIME_SECS}{secure}")
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

/// The session a request carries, if its cookie is genuine, current, and its token still live.
pub async fn session_of(s: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = cookie_value(headers)?;
    let (payload, sig) = value.rsplit_once('.')?;
    if !crate::auth::constant_time_eq(&sign(s.engine.link_key(), payload), sig) {
        return None;
    }
    let mut parts = payload.splitn(3, '.');
    let (token_id, expires, csrf) = (parts.next()?, parts.next()?.parse::<i64>().ok()?, parts.next()?);
    if expires <= s.clock.now().as_second() {
        return None;
    }
    let token = s.store.list_tokens().await.ok()?.into_iter().find(|t| t.id == token_id && t.revoked_at.is_none())?;
    Some(Session { token, csrf: csrf.to_string() })
}

/// What a page handler gets: the session, or a redirect to the login page.
pub struct Signed(pub Session);

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session_of(state, &parts.headers).await {
            Some(session) => Ok(Signed(session)),
            None => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let to = format!("/login?next={}", percent_encode(next));
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

pub fn percent_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Session {
    /// The caller the API handlers expect.
    pub fn caller(&self) -> crate::auth::Caller {
        crate::auth::Caller { token: self.token.clone() }
    }

    /// Whether a form's CSRF field is this session's.
    pub fn csrf_ok(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| crate::auth::constant_time_eq(g, &self.csrf))
    }
}
