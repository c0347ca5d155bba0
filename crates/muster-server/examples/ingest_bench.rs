//! Ingest throughput and latency: `cargo run --release -p muster-server --example ingest_bench [CONCURRENCY] [SECONDS]`.
//!
//! Starts a server on a fresh database (SQLite; `MUSTER_BENCH_DATABASE_URL` for PostgreSQL), makes
//! an Alertmanager integration, and has CONCURRENCY clients post single alerts (distinct label sets)
//! to `/api/v2/alerts` for SECONDS, first with many requests to a commit, then with one commit per
//! request. Every answered alert was committed. Prints a table; asserts nothing.

use muster_server::{Application, Config};
use serde_json::json;
use std::time::{Duration, Instant};

async fn run(concurrency: usize, seconds: u64, batching: bool, url: &str) -> (f64, u128, u128, u128) {
    let admin = "bench-admin-token-0123456789";
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url.to_string(),
        admin_token: Some(admin.into()),
        ingest_batching: batching,
        ..Config::default()
    };
    let app = Application::build(config).await.expect("server");
    let base = format!("http://{}", app.address().expect("bound"));
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
    let name = format!("bench-{}", if batching { "batched" } else { "single" });
    let created: serde_json::Value = http
        .post(format!("{base}/api/v1/integrations"))
        .bearer_auth(admin)
        .json(&json!({"name": name, "type": "alertmanager", "ratePerMinute": 100_000_000}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let key = created["key"].as_str().expect("key").to_string();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (http, base, key) = (http.clone(), base.clone(), key.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let body = json!([{"labels": {"alertname": "Bench", "worker": w.to_string(), "n": i.to_string()}}]);
                let started = Instant::now();
                let res = http.post(format!("{base}/api/v2/alerts")).bearer_auth(&key).json(&body).send().await;
                if res.is_ok_and(|r| r.status().is_success()) {
                    latencies.push(started.elapsed().as_micros());
                }
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    all.sort_unstable();
    let pct =
        |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0);
    (all.len() as f64 / seconds as f64, pct(0.5), pct(0.99), all.last().copied().unwrap_or(0))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let pg = std::env::var("MUSTER_BENCH_DATABASE_URL").ok();
    println!("| commits | backend | alerts/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for batching in [true, false] {
        let url = pg.clone().unwrap_or_else(muster_store::testing::sqlite_url);
        let (rate, p50, p99, max) = run(concurrency, seconds, batching, &url).await;
        println!(
            "| {} | {} | {rate:.0} | {:.1} | {:.1} | {:.1} |",
            if batching { "many requests per commit" } else { "one per request" },
            if pg.is_some() { "PostgreSQL" } else { "SQLite" },
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            max as f64 / 1000.0
        );
    }
}
