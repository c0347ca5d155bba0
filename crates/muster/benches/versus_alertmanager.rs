//! Muster beside Prometheus Alertmanager on the same machine and the same load, as DESIGN's
//! performance targets ask: start to ready and idle memory; alerts in per second (each one
//! committed durably by Muster) with peak memory; alert in → first notification out at a steady
//! rate; and an alert storm on a few dedupe keys (Muster only: exactly one incident per key, memory
//! sampled as it goes). Both receive the same Alertmanager API v2 posts; both notify the same local
//! webhook receiver.
//!
//!     cargo bench -p muster --bench versus_alertmanager -- [--seconds 10] [--rate 1000] [--storm 1000000]
//!
//! Needs `prometheus-alertmanager` on the PATH (Debian's package); prints a table.

use muster_notify::testing::HttpSink;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ADMIN: &str = "bench-admin-token-0123456789";

struct Options {
    seconds: u64,
    rate: u64,
    storm: u64,
    clients: usize,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    Options {
        seconds: value("--seconds", 10),
        rate: value("--rate", 1000),
        storm: value("--storm", 1_000_000),
        clients: value("--clients", 32) as usize,
    }
}

/// A server under test: its process and where it answers.
struct Server {
    child: Child,
    base: String,
    /// Where alerts are posted and the header that authorises them.
    alerts_url: String,
    key: Option<String>,
    ready_after: Duration,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Resident and peak resident memory, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    fn post(&self, http: &reqwest::Client, alerts: &Value) -> reqwest::RequestBuilder {
        let req = http.post(&self.alerts_url).json(alerts);
        match &self.key {
            Some(k) => req.bearer_auth(k),
            None => req,
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

async fn wait_ready(url: &str, started: Instant) -> Duration {
    let http = reqwest::Client::new();
    loop {
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{url} never became ready");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn start_alertmanager(dir: &std::path::Path, sink: &str) -> Server {
    let port = free_port();
    let config = dir.join("alertmanager.yml");
    // Every alert its own group, sent at once: the fairest match for Muster's one incident per alert.
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: sink\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 24h\n\
             receivers:\n  - name: sink\n    webhook_configs:\n      - url: {sink}/alertmanager\n        send_resolved: false\n"
        ),
    )
    .expect("config");
    let started = Instant::now();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--log.level=error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-alertmanager runs (install Debian's prometheus-alertmanager)");
    let base = format!("http://127.0.0.1:{port}");
    let ready_after = wait_ready(&format!("{base}/-/ready"), started).await;
    Server { child, alerts_url: format!("{base}/api/v2/alerts"), base, key: None, ready_after }
}

async fn start_muster(dir: &std::path::Path) -> Server {
    let port = free_port();
    let config = dir.join("muster.yaml");
    std::fs::write(&config, "tokenRatePerMinute: 0\n").expect("config");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--database")
        .arg(format!("sqlite://{}/muster.db", dir.display()))
        .arg("--config")
        .arg(&config)
        .env("MUSTER_ADMIN_TOKEN", ADMIN)
        .env("MUSTER_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve runs");
    let base = format!("http://127.0.0.1:{port}");
    let ready_after = wait_ready(&format!("{base}/readyz"), started).await;
    Server { child, alerts_url: format!("{base}/api/v2/alerts"), base, key: None, ready_after }
}

/// A chat channel to the receiver, a response plan that tells it, and an Alertmanager integration
/// whose alerts open incidents from that plan.
async fn set_up_muster(m: &mut Server, sink: &str) {
    let http = reqwest::Client::new();
    let call = |path: &'static str, body: Value| {
        let http = http.clone();
        let url = format!("{}/api/v1/{path}", m.base);
        async move {
            let r = http.post(url).bearer_auth(ADMIN).json(&body).send().await.expect("muster answers");
            assert!(r.status().is_success(), "{path}: {}", r.text().await.unwrap_or_default());
            r.json::<Value>().await.expect("json")
        }
    };
    call("chat-channels", json!({"name": "sink", "type": "webhook", "target": format!("{sink}/muster")})).await;
    call(
        "response-plans",
        json!({"name": "bench", "incidentTemplate": {"title": "Bench", "impact": 3}, "chatChannels": ["sink"]}),
    )
    .await;
    let created = call(
        "integrations",
        json!({"name": "prometheus", "type": "alertmanager", "responsePlan": "bench", "ratePerMinute": 1_000_000_000u64}),
    )
    .await;
    m.key = Some(created["key"].as_str().expect("key").to_string());
}

/// One firing alert, marked so its notification can be found: `zq{n}qz`.
fn alert(n: u64, extra: &str) -> Value {
    let marker = format!("zq{n}qz");
    json!([{"labels": {"alertname": marker, "bench": extra}, "annotations": {"summary": marker}}])
}

/// The markers a notification carries.
fn markers(body: &str) -> Vec<u64> {
    body.split("zq").skip(1).filter_map(|rest| rest.split_once("qz").and_then(|(n, _)| n.parse().ok())).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// As many single-alert posts as `clients` workers can make in `seconds`: (answered 2xx per second,
/// errors, peak memory in MiB).
async fn ingest(server: &Server, o: &Options, first: u64) -> (f64, u64, f64) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let (ok, errors, next) =
        (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(first)));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let mut workers = Vec::new();
    for _ in 0..o.clients {
        let (http, ok, errors, next) = (http.clone(), ok.clone(), errors.clone(), next.clone());
        let (url, key) = (server.alerts_url.clone(), server.key.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let mut req = http.post(&url).json(&alert(n, "ingest"));
                if let Some(k) = &key {
                    req = req.bearer_auth(k);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let per_second = ok.load(Ordering::Relaxed) as f64 / o.seconds as f64;
    (per_second, errors.load(Ordering::Relaxed), server.memory().1)
}

/// Alerts at a steady rate; the time from each post to its first notification at the receiver:
/// (p50, p99, max, notifications missing after a grace period).
async fn latency(
    server: &Server,
    sink: &HttpSink,
    path: &str,
    o: &Options,
    first: u64,
) -> (Duration, Duration, Duration, u64) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("client");
    let total = o.rate * o.seconds;
    let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(total as usize);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / o.rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut posts = Vec::with_capacity(total as usize);
    for n in first..first + total {
        tick.tick().await;
        sent.insert(n, Instant::now());
        posts.push(tokio::spawn(server.post(&http, &alert(n, "latency")).send()));
    }
    for p in posts {
        let _ = p.await;
    }
    // Wait for the notifications to arrive (or stop coming).
    let mut seen: HashMap<u64, Instant> = HashMap::new();
    let grace = Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while seen.len() < sent.len() && Instant::now() < grace {
        let requests = sink.requests.lock().await;
        for r in requests[read..].iter().filter(|r| r.path == path) {
            for n in markers(&r.body) {
                if sent.contains_key(&n) {
                    seen.entry(n).or_insert(r.received);
                }
            }
        }
        read = requests.len();
        drop(requests);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut lat: Vec<Duration> = seen.iter().map(|(n, at)| at.saturating_duration_since(sent[n])).collect();
    lat.sort();
    (percentile(&lat, 0.5), percentile(&lat, 0.99), lat.last().copied().unwrap_or_default(), total - seen.len() as u64)
}

/// `storm` alerts in batches of 1,000 on 100 dedupe keys: the seconds it took until every alert
/// was routed, the incidents it made, and the least and most memory seen meanwhile (MiB).
async fn storm(m: &Server, storm: u64) -> (f64, u64, f64, f64) {
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let started = Instant::now();
    let (mut low, mut high) = (f64::MAX, 0.0f64);
    let batch = 1000;
    let mut sent = 0;
    let mut inflight = Vec::new();
    while sent < storm {
        let alerts: Vec<Value> = (sent..(sent + batch).min(storm))
            .map(|i| json!({"labels": {"alertname": "Storm", "key": format!("k{}", i % 100)}}))
            .collect();
        sent += alerts.len() as u64;
        inflight.push(tokio::spawn(m.post(&http, &Value::Array(alerts)).send()));
        if inflight.len() >= 8 {
            for p in inflight.drain(..) {
                let r = p.await.expect("joined").expect("muster answers");
                assert!(r.status().is_success(), "storm batch refused: {}", r.status());
            }
            let (rss, _) = m.memory();
            (low, high) = (low.min(rss), high.max(rss));
        }
    }
    for p in inflight {
        let _ = p.await;
    }
    // Routed: nothing pending.
    loop {
        let v: Value = http
            .get(format!("{}/api/v1/inbound?status=pending&limit=1", m.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("inbound")
            .json()
            .await
            .expect("json");
        let (rss, _) = m.memory();
        (low, high) = (low.min(rss), high.max(rss));
        if v["items"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut incidents = 0;
    let mut next: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/incidents?limit=100", m.base);
        if let Some(t) = &next {
            url.push_str(&format!("&nextToken={t}"));
        }
        let v: Value = http.get(url).bearer_auth(ADMIN).send().await.expect("list").json().await.expect("json");
        incidents += v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| i["title"].as_str().is_some_and(|t| t.contains("Storm")))
            .count() as u64;
        match v["nextToken"].as_str() {
            Some(t) => next = Some(t.to_string()),
            None => break,
        }
    }
    (seconds, incidents, low, high)
}

#[tokio::main]
async fn main() {
    let o = options();
    let dir = std::env::temp_dir().join(format!("muster-versus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sink = HttpSink::start().await;

    let am = start_alertmanager(&dir, &sink.base).await;
    let mut mu = start_muster(&dir).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (am_idle, mu_idle) = (am.memory().0, mu.memory().0);
    set_up_muster(&mut mu, &sink.base).await;

    println!("| measure | Muster | Alertmanager |");
    println!("|---|---|---|");
    println!("| start to ready | {} ms | {} ms |", ms(mu.ready_after), ms(am.ready_after));
    println!("| idle memory (RSS) | {mu_idle:.1} MiB | {am_idle:.1} MiB |");

    let (mu_lat, am_lat) = (
        latency(&mu, &sink, "/muster", &o, 1_000_000_000).await,
        latency(&am, &sink, "/alertmanager", &o, 2_000_000_000).await,
    );
    for (what, f) in [("p50", 0usize), ("p99", 1), ("max", 2)] {
        let pick = |l: &(Duration, Duration, Duration, u64)| [l.0, l.1, l.2][f];
        println!(
            "| alert in → first notification out at {}/s for {} s, {what} | {} ms | {} ms |",
            o.rate,
            o.seconds,
            ms(pick(&mu_lat)),
            ms(pick(&am_lat))
        );
    }
    println!("| notifications missing after 60 s | {} | {} |", mu_lat.3, am_lat.3);

    let (mu_rate, mu_err, mu_peak) = ingest(&mu, &o, 3_000_000_000).await;
    let (am_rate, am_err, am_peak) = ingest(&am, &o, 4_000_000_000).await;
    println!(
        "| alerts in per second, {} clients, one alert a post (Muster commits each before answering) | {mu_rate:.0} | {am_rate:.0} |",
        o.clients
    );
    println!("| errors | {mu_err} | {am_err} |");
    println!("| peak memory so far (RSS high-water mark) | {mu_peak:.1} MiB | {am_peak:.1} MiB |");
    drop(am);

    if o.storm > 0 {
        let (seconds, incidents, low, high) = storm(&mu, o.storm).await;
        println!(
            "| storm: {} alerts on 100 dedupe keys, until all routed | {seconds:.0} s ({:.0} alerts/s), {incidents} incidents, RSS {low:.1}–{high:.1} MiB | |",
            o.storm,
            o.storm as f64 / seconds
        );
    }
    drop(mu);
    let _ = std::fs::remove_dir_all(&dir);
}
