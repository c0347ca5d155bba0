//! Paging for real: a running server emails the first stage over SMTP, texts the second through
//! the SMS API a stage later, stops when the email's link is followed, and loses nothing to kill -9.

use muster_notify::testing::{HttpSink, SmtpSink};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ADMIN: &str = "paging-test-admin-token-0001";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn serve(db: &str, port: u16, smtp: &SmtpSink, sms: &HttpSink) -> Server {
    // Generous provider rates: these tests are about what is sent, not how fast.
    let config = std::env::temp_dir().join(format!("muster-paging-config-{}-{port}.yaml", std::process::id()));
    std::fs::write(&config, "providerRates: {sms: 100, voice: 100, slack: 100}\n").expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            db,
            "--config",
            config.to_str().expect("utf-8"),
        ])
        .env("MUSTER_ADMIN_TOKEN", ADMIN)
        .env("MUSTER_LOG", "warn")
        .env("MUSTER_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("MUSTER_SMTP_URL", smtp.url())
        .env("MUSTER_SMTP_FROM", "Muster <muster@example.com>")
        .env("MUSTER_TWILIO_API_URL", &sms.base)
        .env("MUSTER_TWILIO_ACCOUNT_SID", "AC0001")
        .env("MUSTER_TWILIO_AUTH_TOKEN", "twilio-secret")
        .env("MUSTER_TWILIO_FROM", "+15550001111")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("serve printed its address").expect("utf-8");
        if line.contains("listening on http://") {
            return server;
        }
    }
}

fn muster(port: u16, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(args)
        .args(["--output", "json"])
        .env("MUSTER_SERVER", format!("http://127.0.0.1:{port}"))
        .env("MUSTER_TOKEN", ADMIN)
        .output()
        .expect("runs");
    assert!(out.status.success(), "muster {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Decodes a quoted-printable body (RFC 2045 6.7), as a mail client would.
fn quoted_printable(data: &str) -> String {
    let joined = data.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits (up to 15 s) for a condition; the test asserts what happened, not how fast.
async fn until(mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..300 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting");
}

const TEAM: &str = r#"
contacts:
  ann:
    displayName: Ann
    channels: [{name: mail, type: EMAIL, address: ann@example.com}]
  bob:
    displayName: Bob
    channels: [{name: phone, type: SMS, address: "+15550002222"}]
  db-escalation:
    type: ESCALATION
    plan:
      stages:
        - durationSeconds: 3
          targets: [{contact: ann}]
        - targets: [{contact: bob}]
responsePlans:
  db-down:
    incidentTemplate: {title: Database down, impact: 1}
    engagements: [db-escalation]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_first_then_sms_and_the_link_stops_it_across_kill_9() {
    let smtp = SmtpSink::start().await;
    let sms = HttpSink::start().await;
    let db = muster_store::testing::sqlite_url();
    let port = free_port();
    let server = serve(&db, port, &smtp, &sms);
    let dir = std::env::temp_dir().join(format!("muster-paging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("team.yaml");
    std::fs::write(&file, TEAM).expect("write");
    muster(port, &["apply", "-f", file.to_str().expect("utf-8")]);

    // Incident 1: the email arrives with a link; following it stops the escalation.
    muster(port, &["incident", "start", "--plan", "db-down", "--dedupe", "one"]);
    until(async || !smtp.mails.lock().await.is_empty()).await;
    let mail = smtp.mails.lock().await[0].clone();
    assert!(mail.data.contains("Subject: Incident #1: Database down (impact 1)"), "{}", mail.data);
    let body = quoted_printable(&mail.data);
    let link = body
        .lines()
        .find_map(|l| l.strip_prefix("Acknowledge: "))
        .map(|l| l.trim().to_string())
        .expect("the email carries an acknowledgement link");
    let http = reqwest::Client::new();
    assert_eq!(http.get(&link).send().await.expect("get").status(), 200);
    let res = http.post(&link).send().await.expect("post");
    assert_eq!(res.status(), 200);
    let pages = muster(port, &["page", "list", "--incident", "1"]);
    assert_eq!(pages["items"][0]["status"], "READ");
    assert_eq!(pages["items"][0]["readVia"], "link");

    // Incident 2: nobody acknowledges; the server is killed right after the email goes out.
    muster(port, &["incident", "start", "--plan", "db-down", "--dedupe", "two"]);
    until(async || smtp.mails.lock().await.len() >= 2).await;
    let mut server = server;
    server.0.kill().expect("kill -9");
    server.0.wait().expect("reaped");
    drop(server);
    let server = serve(&db, port, &smtp, &sms);
    until(async || sms.count().await >= 1).await;
    // Stage 3 does not exist and incident 1 was acknowledged: one text message, to bob, in all.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let texts = sms.requests.lock().await.clone();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].path, "/2010-04-01/Accounts/AC0001/Messages.json");
    assert!(texts[0].body.contains("To=%2B15550002222"));
    assert!(texts[0].body.contains("Incident+%232"), "{}", texts[0].body);
    let pages = muster(port, &["page", "list", "--incident", "2"]);
    let receipts: Vec<(String, String)> = pages["items"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| (p["contact"].as_str().unwrap_or("").to_string(), p["status"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(receipts.contains(&("bob".into(), "SENT".into())), "{receipts:?}");

    // Incidents 3 and 4, acknowledged from the CLI: one page by its id, the other by the incident.
    muster(port, &["incident", "start", "--plan", "db-down", "--dedupe", "three"]);
    muster(port, &["incident", "start", "--plan", "db-down", "--dedupe", "four"]);
    until(async || smtp.mails.lock().await.len() >= 4).await;
    let page = muster(port, &["page", "list", "--incident", "3"])["items"][0]["id"].as_str().expect("id").to_string();
    let acked = muster(port, &["page", "ack", &page]);
    assert_eq!(acked["stopped"], true, "{acked}");
    let acked = muster(port, &["incident", "ack", "4"]);
    assert_eq!(acked["pagesAcknowledged"], 1, "{acked}");
    assert_eq!(acked["engagementsStopped"], 1, "{acked}");
    for incident in ["3", "4"] {
        let pages = muster(port, &["page", "list", "--incident", incident]);
        assert_eq!(pages["items"][0]["status"], "READ", "incident {incident}: {pages}");
    }
    // Past stage 1's three seconds: bob is texted about neither.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(sms.count().await, 1, "{:?}", sms.requests.lock().await);
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

const TWO_NODE_TEAM: &str = r#"
contacts:
  ann:
    channels: [{name: mail, type: EMAIL, address: ann@example.com}]
  bob:
    channels: [{name: phone, type: SMS, address: "+15550002222"}]
  cy:
    channels: [{name: pager, type: SMS, address: "+15550003333"}]
  esc:
    type: ESCALATION
    plan:
      stages:
        - {durationSeconds: 2, targets: [{contact: ann}]}
        - {durationSeconds: 2, targets: [{contact: bob}]}
        - {targets: [{contact: cy}]}
responsePlans:
  outage:
    incidentTemplate: {title: Outage, impact: 2}
    engagements: [esc]
"#;

/// Two nodes on one PostgreSQL database; the one that opened the incidents is killed after the
/// first stage; the other fires every later stage exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_one_killed_mid_escalation() {
    let Some(db) = muster_store::testing::postgres_url().await else { return };
    let smtp = SmtpSink::start().await;
    let sms = HttpSink::start().await;
    let (pa, pb) = (free_port(), free_port());
    let a = serve(&db, pa, &smtp, &sms);
    let b = serve(&db, pb, &smtp, &sms);
    let dir = std::env::temp_dir().join(format!("muster-two-nodes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("team.yaml");
    std::fs::write(&file, TWO_NODE_TEAM).expect("write");
    muster(pa, &["apply", "-f", file.to_str().expect("utf-8")]);
    for i in 0..5 {
        muster(pa, &["incident", "start", "--plan", "outage", "--dedupe", &format!("outage-{i}")]);
    }
    until(async || smtp.mails.lock().await.len() >= 5).await;
    let mut a = a;
    a.0.kill().expect("kill -9 node a");
    a.0.wait().expect("reaped");
    drop(a);
    // Node b carries on: stage 2 (bob) and stage 3 (cy) for each of the five incidents.
    until(async || sms.count().await >= 10).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let texts = sms.requests.lock().await.clone();
    let to = |n: &str| texts.iter().filter(|r| r.body.contains(&format!("To=%2B{n}"))).count();
    assert_eq!((to("15550002222"), to("15550003333")), (5, 5), "every later stage fired exactly once");
    for i in 1..=5 {
        let pages = muster(pb, &["page", "list", "--incident", &i.to_string()]);
        let contacts: Vec<&str> =
            pages["items"].as_array().expect("pages").iter().map(|p| p["contact"].as_str().unwrap_or("")).collect();
        assert_eq!(contacts.iter().filter(|c| **c == "bob").count(), 1, "incident {i}: {contacts:?}");
        assert_eq!(contacts.iter().filter(|c| **c == "cy").count(), 1, "incident {i}: {contacts:?}");
    }
    drop(b);
    let _ = std::fs::remove_dir_all(dir);
}

/// PostgreSQL restarted under load: while it is down `/readyz` says so and no alert is answered
/// 2xx; once it is back the node reconnects; every alert answered 2xx is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    // A port free right now; another try on another one if something takes it before the cluster
    // binds it (outgoing connections use the same range).
    let mut cluster = None;
    for _ in 0..3 {
        cluster = muster_store::testing::PrivateCluster::start_new("restart", free_port()).await;
        if cluster.is_some() {
            break;
        }
    }
    let Some(cluster) = cluster else {
        assert!(std::env::var("CI").is_err(), "CI has initdb and pg_ctl, and a cluster starts");
        eprintln!("initdb/pg_ctl are not installed: skipping");
        return;
    };
    let smtp = SmtpSink::start().await;
    let sms = HttpSink::start().await;
    let http_port = free_port();
    let server = serve(&cluster.url, http_port, &smtp, &sms);
    let base = format!("http://127.0.0.1:{http_port}");
    let created = muster(http_port, &["integration", "create", "prometheus", "--type", "alertmanager"]);
    let key = created["key"].as_str().expect("key").to_string();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("client");
    let post = |n: u32| {
        let body = serde_json::json!([{"labels": {"alertname": "Restart", "n": n.to_string()}}]);
        http.post(format!("{base}/api/v2/alerts")).bearer_auth(&key).json(&body).send()
    };
    let mut accepted = 0;
    let mut n = 0;
    for _ in 0..20 {
        n += 1;
        if post(n).await.is_ok_and(|r| r.status().is_success()) {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 20);

    assert!(cluster.stop(), "the cluster stops");
    let mut unready = false;
    for _ in 0..50 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 503) {
            unready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(unready, "/readyz tells the truth while the database is down");
    let mut refused = 0;
    for _ in 0..2 {
        n += 1;
        match post(n).await {
            Ok(r) if r.status().is_success() => accepted += 1,
            Ok(r) => {
                assert!(r.status().is_server_error(), "{}", r.status());
                refused += 1;
            }
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 2, "nothing is answered 2xx while nothing can be committed");

    assert!(cluster.start().await, "the cluster starts again");
    let mut ready = false;
    for _ in 0..100 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the node reconnects");
    for _ in 0..20 {
        n += 1;
        if post(n).await.is_ok_and(|r| r.status().is_success()) {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 40);
    let mut kept = 0;
    for _ in 0..100 {
        let received = muster(http_port, &["integration", "received", "--integration", "prometheus"]);
        let items = received["items"].as_array().cloned().unwrap_or_default();
        kept = items.len();
        if kept == 40 && items.iter().all(|i| i["status"] == "routed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kept, 40, "every alert answered 2xx is kept, and routed");
    drop(server);
}
