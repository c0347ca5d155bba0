//! The web UI in a real browser: the real binary serves an incident to work on, and the Playwright
//! tests in `ui-tests/` drive the system's Chromium through it (log in, open the incident, add a
//! note, acknowledge a page, approve a runbook step, resolve, write the analysis, cover a shift),
//! saving screenshots of the main pages to `docs/screenshots/`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const ADMIN: &str = "browser-admin-token-0123456789";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> Option<PathBuf> {
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// What the browser tests need, or why they cannot run here.
fn prerequisites() -> Result<PathBuf, String> {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node {
        return Err("node is not installed".into());
    }
    if !repo().join("ui-tests/node_modules/.bin/playwright").exists() {
        return Err("ui-tests has no node_modules (npm ci --prefix ui-tests)".into());
    }
    chromium().ok_or_else(|| "Chromium is not installed (apt-get install chromium)".into())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_works_an_incident_in_the_browser() {
    let chromium = match prerequisites() {
        Ok(c) => c,
        Err(why) => {
            assert!(std::env::var("CI").is_err(), "CI installs what the browser tests need: {why}");
            eprintln!("skipping the browser tests: {why}");
            return;
        }
    };
    let sink = muster_notify::testing::HttpSink::start().await;
    let db = muster_store::testing::sqlite_url();
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .env("MUSTER_ADMIN_TOKEN", ADMIN)
        .env("MUSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = loop {
        let line = lines.next().expect("serve printed its address").expect("utf-8");
        if let Some(i) = line.find("listening on http://") {
            break line[i + "listening on ".len()..].trim().to_string();
        }
    };
    let _server = Server(child);
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        let req = http.request(method, format!("{url}/api/v1{path}")).bearer_auth(ADMIN).json(&body);
        let path = path.to_string();
        async move {
            let res = req.send().await.expect("request");
            let status = res.status();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        }
    };
    use reqwest::Method;
    for alias in ["ann", "bob"] {
        call(
            Method::POST,
            "/contacts",
            json!({"alias": alias, "displayName": alias.to_uppercase(), "timeZone": "Europe/Rome"}),
        )
        .await;
    }
    call(
        Method::POST,
        "/contacts/ann/channels",
        json!({"name": "hook", "type": "WEBHOOK", "address": format!("{}/ann", sink.base)}),
    )
    .await;
    call(
        Method::POST,
        "/rotations",
        json!({"name": "primary", "members": ["ann", "bob"], "start": "2026-11-02T08:00:00Z", "timeZone": "Europe/Rome",
            "recurrence": {"daily": ["09:00"]}}),
    )
    .await;
    call(
        Method::POST,
        "/response-plans",
        json!({"name": "checkout", "incidentTemplate": {"title": "Checkout is failing", "impact": 2,
            "summary": "Card payments fail at the last step."}, "engagements": ["ann"]}),
    )
    .await;
    let doc = "schemaVersion: '0.3'\nmainSteps:\n  - name: confirm\n    action: aws:approve\n    inputs: {Approvers: [ann]}\n  - name: rollback\n    action: aws:sleep\n    inputs: {Duration: PT1S}\n";
    call(Method::POST, "/runbooks", json!({"name": "rollback", "document": doc})).await;
    call(Method::POST, "/incidents", json!({"responsePlan": "checkout"})).await;
    call(Method::POST, "/runbook-executions", json!({"runbook": "rollback", "incident": "1"})).await;
    call(
        Method::POST,
        "/alarms",
        json!({"name": "web-errors", "namespace": "Web", "metricName": "Errors", "statistic": "Sum", "period": 60,
            "evaluationPeriods": 1, "threshold": 10, "comparisonOperator": "GreaterThanOrEqualToThreshold"}),
    )
    .await;
    let now = jiff::Timestamp::now();
    let data: Vec<Value> = (0..6)
        .map(|i| json!({"metricName": "Errors", "value": 2 + i * 3, "timestamp": now - jiff::SignedDuration::from_mins(5 - i)}))
        .collect();
    call(Method::POST, "/metrics", json!({"namespace": "Web", "metricData": data})).await;
    call(Method::POST, "/rules", json!({"name": "deploys", "eventPattern": {"source": ["deployer"]}})).await;
    // Ann is paged (through a real webhook) before the browser looks.
    for _ in 0..100 {
        if sink.count().await > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(sink.count().await > 0, "ann was paged");

    let shots = repo().join("docs/screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let out = Command::new(repo().join("ui-tests/node_modules/.bin/playwright"))
        .arg("test")
        .current_dir(repo().join("ui-tests"))
        .env("MUSTER_URL", &url)
        .env("MUSTER_TOKEN", ADMIN)
        .env("MUSTER_SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("playwright runs");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the browser tests failed:\n{report}");
    assert!(report.contains("5 passed"), "{report}");
}
