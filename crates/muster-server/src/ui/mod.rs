//! The web UI: server-rendered pages (minijinja templates compiled into the binary), forms that
//! work without JavaScript, and live regions refreshed through server-sent events. Pages read the
//! store; forms act through the same handlers as the JSON API, so the rules are the API's rules.

pub(crate) mod session;

use crate::AppState;
use crate::error::ApiError;
use crate::json::Body;
use axum::Json;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use minijinja::{Environment, Value as Jv, context};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use session::{Session, Signed};
use std::collections::HashMap;
use std::convert::Infallible;

/// The compiled templates.
pub struct Views {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("incidents.html", include_str!("templates/incidents.html")),
    ("incident.html", include_str!("templates/incident.html")),
    ("oncall.html", include_str!("templates/oncall.html")),
    ("analysis.html", include_str!("templates/analysis.html")),
    ("table.html", include_str!("templates/table.html")),
    ("alarm.html", include_str!("templates/alarm.html")),
    ("rules.html", include_str!("templates/rules.html")),
    ("integrations.html", include_str!("templates/integrations.html")),
    ("reports.html", include_str!("templates/reports.html")),
];

fn short_time(v: String) -> String {
    match v.parse::<Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => v,
    }
}

fn duration(v: Jv) -> String {
    match v.as_i64().or_else(|| f64::try_from(v.clone()).ok().map(|f| f as i64)) {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        Some(s) => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

impl Views {
    pub fn new() -> Result<Self, String> {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text).map_err(|e| format!("template {name}: {e}"))?;
        }
        env.add_filter("short", short_time);
        env.add_filter("duration", duration);
        env.add_filter("truncate", |s: String, n: usize| -> String {
            if s.chars().count() > n { format!("{}…", s.chars().take(n).collect::<String>()) } else { s }
        });
        Ok(Self { env })
    }

    fn render(&self, name: &str, ctx: Jv) -> Response {
        match self.env.get_template(name).and_then(|t| t.render(ctx)) {
            Ok(html) => {
                let mut res = Html(html).into_response();
                res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                res.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                    ),
                );
                res
            }
            Err(e) => ApiError::Internal(format!("rendering {name}: {e:#}")).into_response(),
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/incidents", get(incidents))
        .route("/incidents/{key}", get(incident))
        .route("/incidents/{key}/notes", post(add_note))
        .route("/incidents/{key}/impact", post(change_impact))
        .route("/incidents/{key}/resolve", post(resolve))
        .route("/incidents/{key}/reopen", post(reopen))
        .route("/incidents/{key}/ack", post(ack_incident))
        .route("/incidents/{key}/analysis", post(start_analysis))
        .route("/incidents/{key}/pages/{page}/ack", post(ack_page))
        .route("/incidents/{key}/runbooks/{execution}/decide", post(decide))
        .route("/oncall", get(oncall))
        .route("/oncall/overrides", post(create_override))
        .route("/alarms", get(alarms))
        .route("/alarms/{name}", get(alarm))
        .route("/rules", get(rules))
        .route("/rules/test", post(test_rule))
        .route("/integrations", get(integrations).post(create_integration))
        .route("/plans", get(plans))
        .route("/contacts", get(contacts))
        .route("/analyses", get(analyses))
        .route("/analyses/{id}", get(analysis).post(save_analysis))
        .route("/analyses/{id}/items", post(add_item))
        .route("/analyses/{id}/export.md", get(export_analysis))
        .route("/reports", get(reports))
        .route("/ui/style.css", get(|| async { asset("text/css", include_str!("assets/style.css")) }))
        .route("/ui/app.js", get(|| async { asset("text/javascript", include_str!("assets/app.js")) }))
        .route("/ui/events", get(events))
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
}

/// The context every page has.
fn page(s: &Session, title: &str, section: &str, q: &HashMap<String, String>, extra: Jv) -> Jv {
    context! {
        title => title,
        section => section,
        user => s.token.name.clone(),
        csrf => s.csrf.clone(),
        flash => q.get("flash").cloned(),
        flash_error => q.contains_key("error"),
        impact_labels => ["critical", "high", "medium", "low", "no impact"],
        ..extra
    }
}

fn to_jv<T: serde::Serialize>(v: &T) -> Jv {
    Jv::from_serialize(v)
}

/// Back to a page with a message.
fn back(to: &str, result: Result<String, String>) -> Response {
    let (msg, error) = match result {
        Ok(m) => (m, ""),
        Err(m) => (m, "&error=1"),
    };
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}flash={}{error}", session::percent_encode(&msg))).into_response()
}

/// An API error as a person reads it: the message, and the field it names.
async fn explain(e: ApiError) -> String {
    let res = e.into_response();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024).await.unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match (v["error"]["message"].as_str(), v["error"]["field"].as_str()) {
        (Some(m), Some(f)) => format!("{m} ({f})"),
        (Some(m), None) => m.to_string(),
        _ => format!("refused ({})", status.as_u16()),
    }
}

/// What an API handler's answer says to the person: `done`, or why it was refused.
async fn said<T>(answer: crate::error::ApiResult<T>, done: &str) -> Result<String, String> {
    match answer {
        Ok(_) => Ok(done.to_string()),
        Err(e) => Err(explain(e).await),
    }
}

fn typed<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "The form was stale or forged (CSRF check failed). Go back and reload the page.")
        .into_response()
}

/// The refusal of a form whose CSRF field is not the session's.
fn refused(s: &Session, form: &HashMap<String, String>) -> Option<Response> {
    if s.csrf_ok(form.get("csrf").map(String::as_str)) { None } else { Some(forbidden()) }
}

// ---- Login ----

async fn login_page(State(st): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = q.get("next").cloned().unwrap_or_else(|| "/incidents".into());
    st.ui.render(
        "login.html",
        context! { title => "Sign in", next => next, flash => q.get("flash").cloned(), flash_error => q.contains_key("error") },
    )
}

/// A place in this site to go after signing in: a path, never another site (`//host`, `/\\host`).
fn local_path(next: Option<&str>) -> &str {
    next.filter(|n| {
        let lower = n.to_ascii_lowercase();
        n.starts_with('/')
            && !n[1..].starts_with(['/', '\\'])
            && !n.chars().any(|c| c == '\\' || c.is_control())
            && !lower.contains("%5c")
            && !lower.contains("%2f")
            && !lower.contains("%09")
    })
    .unwrap_or("/incidents")
}

/// Whether a form post comes from this site's own pages (a login form another site posts would
/// sign the person into someone else's session).
fn same_origin(headers: &HeaderMap) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => origin.split("://").nth(1).is_some_and(|o| o == host),
        _ => true,
    }
}

async fn login(State(st): State<AppState>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    if !same_origin(&headers) {
        return forbidden();
    }
    let secret = form.get("token").map(|t| t.trim()).unwrap_or("");
    let next = local_path(form.get("next").map(String::as_str));
    let token = match st.store.token_by_hash(&crate::auth::hash_secret(secret)).await {
        Ok(Some(t)) => t,
        _ => {
            return back(
                &format!("/login?next={}", session::percent_encode(next)),
                Err("That token is not valid.".into()),
            );
        }
    };
    tracing::info!(token = %token.name, "signed in to the web UI");
    let mut res = Redirect::to(next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session::cookie_for(&st, &token, st.clock.now())) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn logout(State(st): State<AppState>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Some(s) = session::session_of(&st, &headers).await
        && let Some(r) = refused(&s, &form)
    {
        return r;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

// ---- Incidents ----

async fn incidents(
    State(st): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let status = q.get("status").cloned().unwrap_or_default();
    let needle = q.get("q").map(|x| x.trim().to_lowercase()).unwrap_or_default();
    let impact = q.get("impact").cloned().unwrap_or_default();
    let query = muster_store::IncidentQuery {
        status: status.parse::<muster_core::incident::IncidentStatus>().ok(),
        before: None,
        limit: 500,
    };
    let mut list = match st.store.list_incidents(&query).await {
        Ok(p) => p.items,
        Err(e) => return ApiError::from(e).into_response(),
    };
    list.retain(|i| {
        (needle.is_empty()
            || i.title.to_lowercase().contains(&needle)
            || i.summary.as_deref().unwrap_or("").to_lowercase().contains(&needle)
            || i.number.to_string() == needle)
            && (impact.is_empty() || i.impact.to_string() == impact)
    });
    // Open first, then by number, newest first.
    list.sort_by_key(|i| (i.status != muster_core::incident::IncidentStatus::Open, -i.number));
    let extra = context! { incidents => to_jv(&list), q => needle, status => status, impact => impact };
    st.ui.render("incidents.html", page(&s, "Incidents", "/incidents", &q, extra))
}

async fn incident(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(Some(i)) = st.store.get_incident(&key).await else {
        return (StatusCode::NOT_FOUND, Html("<p>No such incident. <a href=\"/incidents\">Back</a></p>"))
            .into_response();
    };
    let (timeline, pages, executions, related, analyses) = (
        st.store.list_timeline(&i.id).await.unwrap_or_default(),
        st.store.list_pages(Some(&i.id), None).await.unwrap_or_default(),
        st.store.list_executions(Some(&i.id)).await.unwrap_or_default(),
        st.store.list_related_items(&i.id).await.unwrap_or_default(),
        st.store.list_analyses(Some(&i.id)).await.unwrap_or_default(),
    );
    let mut timeline = timeline;
    timeline.reverse();
    let title = format!("#{} {}", i.number, i.title);
    let extra = context! {
        incident => to_jv(&i), timeline => to_jv(&timeline), pages => to_jv(&pages),
        executions => to_jv(&executions), related => to_jv(&related), analyses => to_jv(&analyses),
    };
    st.ui.render("incident.html", page(&s, &title, "/incidents", &q, extra))
}

fn room(key: &str) -> String {
    format!("/incidents/{key}")
}

async fn add_note(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let mut body = json!({"message": form.get("message").cloned().unwrap_or_default()});
    if form.contains_key("mitigated") {
        body["eventType"] = json!(muster_core::analysis::MITIGATED);
    }
    let result = match typed(body) {
        Ok(b) => {
            said(
                crate::api::incidents::add_event(State(st.clone()), s.caller(), Path(key.clone()), Body(b)).await,
                "Note added.",
            )
            .await
        }
        Err(e) => Err(e),
    };
    back(&room(&key), result)
}

async fn patch_incident(st: &AppState, s: &Session, key: &str, body: Value, done: &str) -> Response {
    let result = match typed(body) {
        Ok(b) => {
            said(
                crate::api::incidents::update(State(st.clone()), s.caller(), Path(key.to_string()), Body(b)).await,
                done,
            )
            .await
        }
        Err(e) => Err(e),
    };
    back(&room(key), result)
}

async fn change_impact(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let impact: i64 = form.get("impact").and_then(|i| i.parse().ok()).unwrap_or(0);
    patch_incident(&st, &s, &key, json!({"impact": impact}), "Impact changed.").await
}

async fn resolve(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    // The note and the resolution are one change.
    let note = form.get("note").map(|n| n.trim()).filter(|n| !n.is_empty());
    patch_incident(&st, &s, &key, strip_nulls(json!({"status": "RESOLVED", "note": note})), "Resolved.").await
}

async fn reopen(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    patch_incident(&st, &s, &key, json!({"status": "OPEN"}), "Reopened.").await
}

async fn ack_incident(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let result =
        said(crate::api::incidents::ack(State(st.clone()), s.caller(), Path(key.clone())).await, "Acknowledged.").await;
    back(&room(&key), result)
}

async fn ack_page(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path((key, page)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let result =
        said(crate::api::paging::ack_page(State(st.clone()), s.caller(), Path(page)).await, "Page acknowledged.").await;
    back(&room(&key), result)
}

async fn decide(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path((key, execution)): Path<(String, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let decision = form.get("decision").cloned().unwrap_or_default();
    let approver = form.get("approver").map(|a| a.trim()).filter(|a| !a.is_empty());
    let body = axum::body::Bytes::from(json!({"approver": approver}).to_string());
    let outcome = match decision.as_str() {
        "approve" => crate::api::runbooks::approve(State(st.clone()), s.caller(), Path(execution), body).await,
        "reject" => crate::api::runbooks::reject(State(st.clone()), s.caller(), Path(execution), body).await,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let result = said(outcome, if decision == "approve" { "Approved." } else { "Rejected." }).await;
    back(&room(&key), result)
}

async fn start_analysis(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let body = match typed(json!({"incident": key})) {
        Ok(b) => b,
        Err(e) => return back(&room(&key), Err(e)),
    };
    match crate::api::analyses::create(State(st.clone()), s.caller(), Body(body)).await {
        Ok((_, Json(v))) => {
            let id =
                serde_json::to_value(&v).ok().and_then(|v| v["id"].as_str().map(str::to_string)).unwrap_or_default();
            back(&format!("/analyses/{id}"), Ok("Analysis started.".into()))
        }
        Err(e) => back(&room(&key), Err(explain(e).await)),
    }
}

// ---- On call ----

async fn oncall(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let now = st.clock.now();
    let week_end = now + SignedDuration::from_hours(24 * 7);
    let mut rotations = Vec::new();
    for r in st.store.list_rotations().await.unwrap_or_default() {
        let Ok(schedule) = r.spec.schedule() else { continue };
        let overrides: Vec<_> = st
            .store
            .list_overrides(Some(&r.id), now, week_end)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        let tz = schedule.time_zone().clone();
        let now_people = schedule.on_call(now, &overrides);
        let overridden = overrides.iter().any(|o| o.start <= now && now < o.end);
        let shifts = schedule.shifts(now, week_end, &overrides).unwrap_or_default();
        let next = shifts.iter().find(|sh| sh.start > now && sh.contacts != now_people);
        let today = now.to_zoned(tz.clone()).date();
        let week: Vec<Value> = (0..7)
            .map(|d| {
                let day = today.checked_add(jiff::Span::new().days(d)).unwrap_or(today);
                let start = day.to_zoned(tz.clone()).map(|z| z.timestamp()).unwrap_or(now);
                let end = day
                    .checked_add(jiff::Span::new().days(1))
                    .ok()
                    .and_then(|d| d.to_zoned(tz.clone()).ok())
                    .map(|z| z.timestamp())
                    .unwrap_or(now);
                let within: Vec<Value> = shifts
                    .iter()
                    .filter(|sh| sh.start < end && sh.end > start)
                    .map(|sh| {
                        let from = sh.start.max(start).to_zoned(tz.clone()).strftime("%H:%M").to_string();
                        let to = sh.end.min(end).to_zoned(tz.clone()).strftime("%H:%M").to_string();
                        json!({"from": from, "to": if to == "00:00" { "24:00".to_string() } else { to },
                            "contacts": sh.contacts, "overridden": sh.overridden})
                    })
                    .collect();
                json!({"label": day.strftime("%a %d %b").to_string(), "shifts": within})
            })
            .collect();
        rotations.push(json!({
            "name": r.spec.name, "timeZone": tz.iana_name().unwrap_or("UTC"), "now": now_people, "overridden": overridden,
            "next": next.map(|sh| json!({"contacts": sh.contacts, "start": sh.start})), "week": week,
        }));
    }
    st.ui.render("oncall.html", page(&s, "On call", "/oncall", &q, context! { rotations => to_jv(&rotations) }))
}

/// A `datetime-local` value (read as UTC) or an RFC 3339 instant.
fn instant(v: &str) -> Option<String> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Some(t.to_string());
    }
    let dt = v.parse::<jiff::civil::DateTime>().ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().to_string())
}

async fn create_override(
    State(st): State<AppState>,
    Signed(s): Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let contacts: Vec<String> = form
        .get("contacts")
        .map(|c| c.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    let (Some(start), Some(end)) =
        (form.get("start").and_then(|v| instant(v)), form.get("end").and_then(|v| instant(v)))
    else {
        return back("/oncall", Err("Give a start and an end.".into()));
    };
    let rotation = form.get("rotation").cloned().unwrap_or_default();
    let result = match typed(json!({"contacts": contacts, "start": start, "end": end})) {
        Ok(b) => {
            said(
                crate::api::oncall::create_override(State(st.clone()), s.caller(), Path(rotation), Body(b)).await,
                "Override created.",
            )
            .await
        }
        Err(e) => Err(e),
    };
    back("/oncall", result)
}

// ---- Lists ----

fn cell(text: impl Into<String>) -> Value {
    json!({"text": text.into()})
}

fn link(text: impl Into<String>, href: String) -> Value {
    json!({"text": text.into(), "href": href})
}

fn badge(text: &str) -> Value {
    json!({"badge": text})
}

fn table(
    st: &AppState,
    s: &Session,
    q: &HashMap<String, String>,
    view: (&str, &str, &str),
    headers: &[&str],
    rows: Vec<Vec<Value>>,
    extra: Jv,
) -> Response {
    let (template, title, section) = view;
    let base = context! { headers => headers, rows => to_jv(&rows), ..extra };
    st.ui.render(template, page(s, title, section, q, base))
}

async fn alarms(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let rows = st
        .store
        .list_alarms(None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            vec![
                link(a.spec.name.clone(), format!("/alarms/{}", path_segment(&a.spec.name))),
                badge(a.state_value.as_str()),
                cell(format!("{} {}", a.spec.namespace, a.spec.metric_name)),
                cell(a.state_reason.clone()),
            ]
        })
        .collect();
    table(&st, &s, &q, ("table.html", "Alarms", "/alarms"), &["Alarm", "State", "Metric", "Reason"], rows, context! {})
}

/// A line chart as inline SVG: a series of (time, value) and an optional threshold line.
fn chart(points: &[(Timestamp, f64)], threshold: Option<f64>, label: &str) -> String {
    let (w, h, pad) = (640.0_f64, 220.0_f64, 36.0_f64);
    let label = &html_escape(label);
    if points.is_empty() {
        return format!("<p class=\"muted\">No {label} data in this span.</p>");
    }
    let t0 = points[0].0.as_second() as f64;
    let t1 = (points[points.len() - 1].0.as_second() as f64).max(t0 + 1.0);
    let mut lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if let Some(t) = threshold {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let x = |t: Timestamp| pad + (t.as_second() as f64 - t0) / (t1 - t0) * (w - 2.0 * pad);
    let y = |v: f64| h - pad - (v - lo) / (hi - lo) * (h - 2.0 * pad);
    let path: Vec<String> = points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\"><title>{label}</title>\
         <polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"2\" points=\"{}\"/>",
        path.join(" ")
    );
    for (t, v) in points {
        svg.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1f5fbf\"/>", x(*t), y(*v)));
    }
    if let Some(t) = threshold {
        svg.push_str(&format!(
            "<line x1=\"{pad}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#b3261e\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#b3261e\" text-anchor=\"end\">threshold {t}</text>",
            w - pad,
            y(t),
            y(t),
            w - pad,
            y(t) - 4.0
        ));
    }
    let num = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    svg.push_str(&format!(
        "<text x=\"{pad}\" y=\"{:.1}\" font-size=\"12\" fill=\"#5b6570\">{}</text>\
         <text x=\"{pad}\" y=\"14\" font-size=\"12\" fill=\"#5b6570\">{}</text>\
         <text x=\"{:.1}\" y=\"14\" font-size=\"12\" fill=\"#17202a\" text-anchor=\"end\">{}</text></svg>",
        h - 8.0,
        num(lo),
        num(hi),
        w - pad,
        label
    ));
    svg
}

async fn alarm(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(Some(a)) = st.store.get_alarm(&name).await else {
        return (StatusCode::NOT_FOUND, Html("<p>No such alarm. <a href=\"/alarms\">Back</a></p>")).into_response();
    };
    let now = st.clock.now();
    let data = st
        .store
        .metric_data(
            &a.spec.namespace,
            &a.spec.metric_name,
            &a.spec.dimension_map(),
            now - SignedDuration::from_hours(1),
            now,
        )
        .await
        .unwrap_or_default();
    let points = muster_core::metric::per_period(&data, i64::from(a.spec.period), a.spec.statistic());
    let svg = chart(
        &points,
        Some(a.spec.threshold),
        &format!("{} of {} and its threshold", a.spec.statistic, a.spec.metric_name),
    );
    let history = st.store.alarm_history(&a.id).await.unwrap_or_default();
    let extra = context! { alarm => to_jv(&a), chart => svg, history => to_jv(&history) };
    st.ui.render("alarm.html", page(&s, &a.spec.name, "/alarms", &q, extra))
}

async fn rules_page(st: &AppState, s: &Session, q: &HashMap<String, String>, tester: Jv) -> Response {
    let rows = st
        .store
        .list_rules()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            vec![
                cell(r.spec.name.clone()),
                badge(if r.spec.state == muster_core::rule::RuleState::Enabled { "ENABLED" } else { "DISABLED" }),
                cell(r.spec.event_pattern.to_string()),
                cell(r.spec.targets.join(", ")),
            ]
        })
        .collect();
    table(st, s, q, ("rules.html", "Event rules", "/rules"), &["Rule", "State", "Pattern", "Targets"], rows, tester)
}

async fn rules(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let tester =
        context! { pattern => "{\"source\": [\"deployer\"]}", event => "{\"source\": \"deployer\", \"detail\": {}}" };
    rules_page(&st, &s, &q, tester).await
}

async fn test_rule(
    State(st): State<AppState>,
    Signed(s): Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let pattern = form.get("pattern").cloned().unwrap_or_default();
    let event = form.get("event").cloned().unwrap_or_default();
    let result = match (serde_json::from_str::<Value>(&pattern), serde_json::from_str::<Value>(&event)) {
        (Ok(p), Ok(e)) => match muster_core::pattern::test_pattern(&p, &e) {
            Ok(true) => "match".to_string(),
            Ok(false) => "no match".to_string(),
            Err(err) => format!("invalid pattern: {} ({})", err.message, err.field),
        },
        (Err(e), _) => format!("the pattern is not JSON: {e}"),
        (_, Err(e)) => format!("the event is not JSON: {e}"),
    };
    rules_page(&st, &s, &HashMap::new(), context! { pattern => pattern, event => event, result => result }).await
}

async fn integrations_page(
    st: &AppState,
    s: &Session,
    q: &HashMap<String, String>,
    created: Option<Value>,
) -> Response {
    let rows = st
        .store
        .list_integrations()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|i| {
            vec![
                cell(i.spec.name.clone()),
                cell(i.spec.kind.as_str()),
                cell(i.spec.response_plan.clone().unwrap_or_default()),
                cell(format!("{}…", i.key_prefix)),
                cell(
                    i.last_received_at
                        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "never".into()),
                ),
            ]
        })
        .collect();
    let extra = context! { created => created.map(|c| to_jv(&c)), intro => "Keys are shown once, when an integration is made." };
    table(
        st,
        s,
        q,
        ("integrations.html", "Integrations", "/integrations"),
        &["Integration", "Type", "Plan", "Key", "Last received"],
        rows,
        extra,
    )
}

async fn integrations(
    State(st): State<AppState>,
    Signed(s): Signed,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    integrations_page(&st, &s, &q, None).await
}

async fn create_integration(
    State(st): State<AppState>,
    Signed(s): Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let nonempty = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let body = json!({
        "name": nonempty("name"), "type": nonempty("type"), "responsePlan": nonempty("plan"),
        "intervalSeconds": nonempty("interval").and_then(|v| v.parse::<u32>().ok()),
    });
    let body = match typed(strip_nulls(body)) {
        Ok(b) => b,
        Err(e) => return back("/integrations", Err(e)),
    };
    match crate::api::rules::create_integration(State(st.clone()), s.caller(), Body(body)).await {
        Ok((_, Json(created))) => {
            let v = serde_json::to_value(&created).unwrap_or(Value::Null);
            integrations_page(&st, &s, &HashMap::new(), Some(v)).await
        }
        Err(e) => back("/integrations", Err(explain(e).await)),
    }
}

async fn plans(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let rows = st
        .store
        .list_plans()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            vec![
                cell(p.name.clone()),
                cell(p.incident_template.title.clone()),
                cell(p.incident_template.impact.to_string()),
                cell(p.engagements.join(", ")),
                cell(p.chat_channels.join(", ")),
                cell(p.stack.clone().unwrap_or_default()),
            ]
        })
        .collect();
    table(
        &st,
        &s,
        &q,
        ("table.html", "Response plans", "/plans"),
        &["Plan", "Title", "Impact", "Engages", "Tells", "Stack"],
        rows,
        context! {},
    )
}

async fn contacts(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let rows = st
        .store
        .list_contacts()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let kind =
                serde_json::to_value(c.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            vec![
                cell(c.alias.clone()),
                cell(c.display_name.clone().unwrap_or_default()),
                cell(kind),
                cell(c.time_zone.clone().unwrap_or_default()),
            ]
        })
        .collect();
    table(
        &st,
        &s,
        &q,
        ("table.html", "Contacts", "/contacts"),
        &["Alias", "Name", "Type", "Time zone"],
        rows,
        context! {},
    )
}

async fn analyses(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let rows = st
        .store
        .list_analyses(None)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            vec![
                link(a.title.clone(), format!("/analyses/{}", a.id)),
                badge(a.status.as_str()),
                cell(a.updated_at.strftime("%Y-%m-%d %H:%M UTC").to_string()),
            ]
        })
        .collect();
    table(&st, &s, &q, ("table.html", "Analyses", "/analyses"), &["Analysis", "Status", "Updated"], rows, context! {})
}

async fn analysis(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match crate::api::analyses::show(State(st.clone()), s.caller(), Path(id)).await {
        Ok(Json(v)) => {
            let v = serde_json::to_value(&v).unwrap_or(Value::Null);
            let title = v["title"].as_str().unwrap_or("Analysis").to_string();
            st.ui.render("analysis.html", page(&s, &title, "/analyses", &q, context! { a => to_jv(&v) }))
        }
        Err(e) => e.into_response(),
    }
}

async fn save_analysis(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let answers: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("answer.").map(|q| (q.to_string(), Value::String(v.clone()))))
        .collect();
    let mut body = json!({"answers": answers});
    if let Some(status) = form.get("status") {
        body["status"] = json!(status);
    }
    let to = format!("/analyses/{id}");
    let result = match typed(body) {
        Ok(b) => {
            said(crate::api::analyses::update(State(st.clone()), s.caller(), Path(id), Body(b)).await, "Saved.").await
        }
        Err(e) => Err(e),
    };
    back(&to, result)
}

async fn add_item(
    State(st): State<AppState>,
    Signed(s): Signed,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Some(r) = refused(&s, &form) {
        return r;
    }
    let nonempty = |k: &str| form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let body = strip_nulls(json!({"title": nonempty("title"), "owner": nonempty("owner"), "due": nonempty("due")}));
    let to = format!("/analyses/{id}");
    let result = match typed(body) {
        Ok(b) => {
            said(
                crate::api::analyses::add_item(State(st.clone()), s.caller(), Path(id), Body(b)).await,
                "Action item added.",
            )
            .await
        }
        Err(e) => Err(e),
    };
    back(&to, result)
}

async fn export_analysis(State(st): State<AppState>, Signed(s): Signed, Path(id): Path<String>) -> Response {
    let params: crate::api::Params<crate::api::analyses::ExportParams> = match typed(json!({"format": "markdown"})) {
        Ok(p) => crate::api::Params(p),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    match crate::api::analyses::export(State(st.clone()), s.caller(), Path(id), params).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn reports(State(st): State<AppState>, Signed(s): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let days: i64 = q.get("days").and_then(|d| d.parse().ok()).filter(|d| [7, 30, 90, 365].contains(d)).unwrap_or(30);
    let period = match q.get("period").map(String::as_str) {
        Some("day") => muster_core::analysis::Period::Day,
        Some("month") => muster_core::analysis::Period::Month,
        _ => muster_core::analysis::Period::Week,
    };
    let to = st.clock.now();
    let from = to - SignedDuration::from_hours(24 * days);
    let (incidents, pages) = st.store.report_data(from, to).await.unwrap_or_default();
    let r = muster_core::analysis::report(&incidents, &pages, period, Some(from), Some(to));
    let series = |pick: fn(&muster_core::analysis::Mean) -> Option<f64>| -> Vec<(Timestamp, f64)> {
        r.by_period
            .iter()
            .filter_map(|(k, m)| {
                let d: jiff::civil::Date = k.parse().ok()?;
                Some((d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp(), pick(m)? / 60.0))
            })
            .collect()
    };
    let mut svg = chart(&series(|m| m.mttr), None, "MTTR in minutes by period");
    svg.push_str(&chart(&series(|m| m.mtta), None, "MTTA in minutes by period"));
    let bars: String = {
        let max = r.pages_per_person.iter().map(|p| p.pages).max().unwrap_or(1).max(1) as f64;
        let mut out = format!(
            "<svg class=\"chart\" viewBox=\"0 0 640 {}\" role=\"img\" aria-label=\"Pages per person\"><title>Pages per person</title>",
            24 * r.pages_per_person.len().max(1) + 8
        );
        for (i, p) in r.pages_per_person.iter().enumerate() {
            let y = 8 + 24 * i;
            let wid = 330.0 * p.pages as f64 / max;
            out.push_str(&format!(
                "<text x=\"4\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"150\" y=\"{y}\" width=\"{wid:.1}\" height=\"16\" fill=\"#1f5fbf\"/>\
                 <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{} ({} after hours)</text>",
                y + 13,
                html_escape(&p.contact),
                155.0 + wid,
                y + 13,
                p.pages,
                p.after_hours
            ));
        }
        out.push_str("</svg>");
        out
    };
    let period_name = match period {
        muster_core::analysis::Period::Day => "day",
        muster_core::analysis::Period::Week => "week",
        muster_core::analysis::Period::Month => "month",
    };
    let extra = context! { r => to_jv(&r), days => days, period => period_name, chart => svg, pages_chart => bars };
    st.ui.render("reports.html", page(&s, "Reports", "/reports", &q, extra))
}

/// A name as one path segment (a space as `%20`, never `+`).
fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

// ---- Live updates ----

/// What a live region shows, summed up: when it changes, the page refreshes the region.
async fn fingerprint(st: &AppState, watch: &str) -> String {
    if let Some(id) = watch.strip_prefix("incident:") {
        let i = st.store.get_incident(id).await.ok().flatten();
        let t = st.store.list_timeline(id).await.map(|t| t.len()).unwrap_or(0);
        let pages: Vec<String> = st
            .store
            .list_pages(Some(id), None)
            .await
            .unwrap_or_default()
            .iter()
            .map(|p| format!("{}{}", p.id, p.status.as_str()))
            .collect();
        let runs: Vec<String> = st
            .store
            .list_executions(Some(id))
            .await
            .unwrap_or_default()
            .iter()
            .map(|x| format!("{}{:?}{}", x.id, x.status, x.steps.len()))
            .collect();
        return format!("{:?}|{t}|{}|{}", i.map(|i| i.updated_at), pages.join(","), runs.join(","));
    }
    let page = st
        .store
        .list_incidents(&muster_store::IncidentQuery { status: None, before: None, limit: 1 })
        .await
        .map(|p| p.items.first().map(|i| (i.number, i.updated_at, i.trigger_count)))
        .ok()
        .flatten();
    let open = st
        .store
        .list_incidents(&muster_store::IncidentQuery {
            status: Some(muster_core::incident::IncidentStatus::Open),
            before: None,
            limit: 500,
        })
        .await
        .map(|p| p.items.iter().map(|i| format!("{}:{}", i.number, i.updated_at)).collect::<Vec<_>>().join(","))
        .unwrap_or_default();
    format!("{page:?}|{open}")
}

/// `GET /ui/events?watch=incidents|incident:ID`: a `changed` event whenever what the region shows
/// changes (checked each second; one stream per open page).
async fn events(State(st): State<AppState>, Signed(_): Signed, Query(q): Query<HashMap<String, String>>) -> Response {
    let watch = q.get("watch").cloned().unwrap_or_else(|| "incidents".into());
    let mut stopping = st.stopping.clone();
    // The stream ends when the node stops, so a page left open does not hold up the shutdown.
    let stream = futures_util::StreamExt::take_until(async_stream(st, watch), async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

fn async_stream(st: AppState, watch: String) -> impl futures_util::Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((st, watch, None::<String>), |(st, watch, last)| async move {
        loop {
            let now = fingerprint(&st, &watch).await;
            match &last {
                Some(prev) if *prev != now => {
                    return Some((Ok(Event::default().event("changed").data("1")), (st, watch, Some(now))));
                }
                None => {
                    // The first look only records where things stand.
                    return Some((Ok(Event::default().comment("watching")), (st, watch, Some(now))));
                }
                _ => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            }
        }
    })
}

/// A JSON object without its null fields (absent form fields).
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_login_only_local_paths() {
        assert_eq!(local_path(Some("/incidents/3")), "/incidents/3");
        for bad in
            ["//evil.example", "/\\evil.example", "/%5cevil.example", "https://evil.example", "/\tevil", "/%09/evil"]
        {
            assert_eq!(local_path(Some(bad)), "/incidents", "{bad}");
        }
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("muster.example:8080"));
        h.insert("origin", HeaderValue::from_static("https://muster.example:8080"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
        let svg = chart(&[], None, "<b>x</b>");
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;"), "{svg}");
    }

    #[test]
    fn every_template_compiles_and_charts_scale() {
        let v = Views::new().expect("templates compile");
        assert!(v.env.get_template("incident.html").is_ok());
        let t: Timestamp = "2026-11-30T10:00:00Z".parse().expect("valid");
        let svg = chart(&[(t, 0.0), (t + SignedDuration::from_mins(1), 2.0)], Some(1.0), "x");
        assert!(svg.contains("<polyline") && svg.contains("threshold 1"), "{svg}");
        assert!(chart(&[], None, "latency").contains("No latency data"));
        assert_eq!(duration(Jv::from(125)), "2 min 5 s");
        assert_eq!(duration(Jv::from(())), "—");
    }
}
