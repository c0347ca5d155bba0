//! `muster load`: drives running Muster nodes with alerts, metrics and acknowledgements at a given
//! rate for a given time, then prints throughput, latency percentiles and errors per kind.

use anyhow::Context;
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Args)]
pub struct LoadArgs {
    /// Requests per second, all kinds together.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds to run.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Shares of each kind, in percent: alerts, metrics, acknowledgements.
    #[arg(long, default_value = "70,25,5")]
    mix: String,
    /// Further nodes to spread the load over (besides --server).
    #[arg(long = "also")]
    also: Vec<String>,
    /// Distinct alerts (label sets) to draw from; repeats join their incident.
    #[arg(long, default_value_t = 500)]
    alerts: u32,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

pub async fn run(server: &str, token: Option<&str>, args: LoadArgs) -> anyhow::Result<()> {
    let token = token.context("muster load needs an admin token (--token or MUSTER_TOKEN) to make its integration")?;
    let shares: Vec<u32> = args
        .mix
        .split(',')
        .map(|p| p.trim().parse())
        .collect::<Result<_, _>>()
        .context("--mix takes three percentages")?;
    let [alerts, metrics, acks] = shares[..] else {
        anyhow::bail!("--mix takes three percentages: alerts,metrics,acks")
    };
    if alerts + metrics + acks != 100 {
        anyhow::bail!("--mix must add up to 100");
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(30)).build()?;
    let mut nodes = vec![server.trim_end_matches('/').to_string()];
    nodes.extend(args.also.iter().map(|n| n.trim_end_matches('/').to_string()));
    let name = format!("load-{}", &muster_core::new_id()[24..]);
    let created: Value = http
        .post(format!("{}/api/v1/integrations", nodes[0]))
        .bearer_auth(token)
        .json(&json!({"name": name, "type": "alertmanager", "ratePerMinute": 100_000_000}))
        .send()
        .await?
        .error_for_status()
        .context("making the load integration")?
        .json()
        .await?;
    let key = created["key"].as_str().context("no key")?.to_string();
    println!(
        "driving {} node(s) at {} requests/s for {} s (alerts {alerts}%, metrics {metrics}%, acknowledgements {acks}%)",
        nodes.len(),
        args.rate,
        args.duration
    );
    let tallies: Arc<Mutex<BTreeMap<&'static str, Tally>>> = Arc::default();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.duration);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n: u64 = 0;
    let mut inflight = Vec::new();
    while Instant::now() < deadline {
        tick.tick().await;
        n += 1;
        let node = nodes[(n as usize) % nodes.len()].clone();
        let roll = (n * 37 % 100) as u32;
        let (kind, req) = if roll < alerts {
            let body = json!([{"labels": {"alertname": "LoadTest", "instance": format!("host-{}", n % u64::from(args.alerts.max(1)))},
                "annotations": {"summary": "load test"}}]);
            ("alert", http.request(Method::POST, format!("{node}/api/v2/alerts")).bearer_auth(&key).json(&body))
        } else if roll < alerts + metrics {
            let body = json!({"namespace": "Load", "metricData": [{"metricName": "Requests", "value": n % 100,
                "dimensions": [{"name": "Host", "value": format!("host-{}", n % 50)}]}]});
            ("metric", http.request(Method::POST, format!("{node}/api/v1/metrics")).bearer_auth(token).json(&body))
        } else {
            let number = 1 + n % 20;
            ("ack", http.request(Method::POST, format!("{node}/api/v1/incidents/{number}/ack")).bearer_auth(token))
        };
        let tallies = tallies.clone();
        inflight.push(tokio::spawn(async move {
            let t = Instant::now();
            let result = req.send().await;
            let us = t.elapsed().as_micros() as u64;
            let mut all = tallies.lock().await;
            let tally = all.entry(kind).or_default();
            match result {
                // An acknowledgement of an incident that does not exist yet is the test's, not the server's.
                Ok(r) if r.status().is_success() || (kind == "ack" && r.status() == 404) => {
                    tally.ok += 1;
                    tally.latencies_us.push(us);
                }
                Ok(r) => *tally.errors.entry(r.status().to_string()).or_default() += 1,
                Err(e) => {
                    *tally
                        .errors
                        .entry(if e.is_timeout() { "timeout".into() } else { "connection".into() })
                        .or_default() += 1
                }
            }
        }));
        if inflight.len() > 10_000 {
            inflight.retain(|h| !h.is_finished());
        }
    }
    for h in inflight {
        let _ = h.await;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut all = tallies.lock().await;
    println!("\n| kind | ok | per s | p50 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let mut total = 0;
    for (kind, t) in all.iter_mut() {
        t.latencies_us.sort_unstable();
        let pct = |p: f64| {
            t.latencies_us
                .get(((t.latencies_us.len() as f64 * p) as usize).min(t.latencies_us.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        let errors = if t.errors.is_empty() {
            "none".to_string()
        } else {
            t.errors.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
        };
        total += t.ok;
        println!(
            "| {kind} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {errors} |",
            t.ok,
            t.ok as f64 / secs,
            pct(0.5),
            pct(0.99),
            t.latencies_us.last().copied().unwrap_or(0) as f64 / 1000.0
        );
    }
    println!("\n{total} requests answered in {secs:.1} s ({:.0} per second)", total as f64 / secs);
    Ok(())
}
