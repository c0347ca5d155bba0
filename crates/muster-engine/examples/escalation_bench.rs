//! Escalation lateness under load: `cargo run --release -p muster-engine --example escalation_bench [N] [SPREAD_SECS]`.
//!
//! Starts N engagements whose first stage falls due spread evenly over SPREAD_SECS, runs one node's
//! workers on the real clock, and measures for every page how long after its due time it reached a
//! local webhook receiver, and the pages per second delivered. SQLite by default; set
//! `MUSTER_BENCH_DATABASE_URL` to a PostgreSQL database to measure that. Prints a table; asserts nothing.

use jiff::{SignedDuration, Timestamp};
use muster_core::SystemClock;
use muster_core::contact::{ChannelSpec, ChannelType, ContactSpec, ContactType};
use muster_core::engage::{Engagement, EngagementStatus, NewJob, Task};
use muster_engine::{Engine, EngineConfig, ProviderConfig};
use muster_store::{SqlStore, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let spread: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(60);
    let url = std::env::var("MUSTER_BENCH_DATABASE_URL").unwrap_or_else(|_| muster_store::testing::sqlite_url());
    let store = Arc::new(SqlStore::connect(&url).await.expect("database"));

    // A receiver that notes when each page arrives.
    let arrivals: Arc<Mutex<HashMap<String, Timestamp>>> = Arc::new(Mutex::new(HashMap::new()));
    let sink = arrivals.clone();
    let app = axum::Router::new().route(
        "/page",
        axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                let id = body["id"].as_str().unwrap_or_default().to_string();
                sink.lock().await.insert(id, Timestamp::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook = format!("http://{}/page", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let now = Timestamp::now();
    let person = ContactSpec {
        alias: "oncall".into(),
        display_name: None,
        kind: ContactType::Personal,
        time_zone: None,
        rotations: vec![],
        plan: None,
    };
    let c = store.create_contact(&person, now).await.expect("contact");
    let ch = ChannelSpec { name: "hook".into(), kind: ChannelType::Webhook, address: hook, defer_activation: false };
    store.add_channel(&c.id, &ch, true, now).await.expect("channel");

    // Due times start after the setup, whatever it takes.
    let setup_started = std::time::Instant::now();
    let mut engagements = Vec::with_capacity(n);
    for i in 0..n {
        let e = Engagement {
            id: muster_core::new_id(),
            incident_id: None,
            contact: "oncall".into(),
            subject: format!("bench {i}"),
            content: String::new(),
            status: EngagementStatus::Active,
            created_at: now,
            created_by: "bench".into(),
            stopped_at: None,
            acknowledged_by: None,
            acknowledged_via: None,
        };
        engagements.push(e);
    }
    let t0 = Timestamp::now() + SignedDuration::from_secs(5 + (n as i64) / 500);
    let mut due: HashMap<String, Timestamp> = HashMap::with_capacity(n);
    for (i, e) in engagements.iter().enumerate() {
        let at = t0 + SignedDuration::from_micros(i as i64 * spread * 1_000_000 / n.max(1) as i64);
        store
            .create_engagement(e, &NewJob::at(Task::StartEngagement { engagement_id: e.id.clone() }, at))
            .await
            .expect("engagement");
        due.insert(e.id.clone(), at);
    }
    let setup = setup_started.elapsed();
    if Timestamp::now() > t0 {
        eprintln!("note: setup ran past the first due time; early stages are counted late");
    }

    let config = EngineConfig {
        public_url: None,
        handoff_notice_minutes: 0,
        message_templates: Default::default(),
        secrets: Default::default(),
        http_policy: Default::default(),
        ..Default::default()
    };
    let engine = Arc::new(
        Engine::new(store.clone(), Arc::new(SystemClock), &ProviderConfig::default(), config).await.expect("engine"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(engine.clone().run(Some(url.clone()), async move {
        let _ = stopped.await;
    }));

    let deadline = std::time::Instant::now() + Duration::from_secs(spread as u64 + 600);
    while arrivals.lock().await.len() < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    let _ = worker.await;

    let arrived = arrivals.lock().await.clone();
    let mut lateness: Vec<f64> = Vec::with_capacity(arrived.len());
    let mut last = t0;
    for (page_id, at) in &arrived {
        let Some(page) = store.get_page(page_id).await.expect("page") else { continue };
        if let Some(d) = due.get(&page.engagement_id) {
            lateness.push(at.duration_since(*d).as_secs_f64());
            last = last.max(*at);
        }
    }
    lateness.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let pct = |p: f64| lateness.get(((lateness.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    let window = last.duration_since(t0).as_secs_f64().max(0.001);
    let backend = if url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };
    println!("| measure ({backend}, {n} escalations over {spread} s, setup {:.1} s) | value |", setup.as_secs_f64());
    println!("|---|---|");
    println!("| pages delivered | {} of {n} |", lateness.len());
    println!("| lateness p50 (due → at the receiver) | {:.3} s |", pct(0.50));
    println!("| lateness p99 | {:.3} s |", pct(0.99));
    println!("| lateness max | {:.3} s |", pct(1.0));
    println!("| pages per second over the run | {:.0} |", lateness.len() as f64 / window);
}
