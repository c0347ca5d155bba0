//! The `muster` binary as a user runs it: `serve`, client commands against it, and `kill -9`.

use muster_store::Backend;
use muster_store::testing::fresh_url;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const ADMIN: &str = "binary-test-admin-token-0001";

struct Server {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

/// Starts `muster serve` on a free port and waits for its `listening on` line.
fn serve(database: &str, admin_token: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_muster"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .env_remove("MUSTER_ADMIN_TOKEN")
        .env("MUSTER_LOG", "warn")
        // One server per database at a time here: a restart on the same database is the same node.
        .env(
            "MUSTER_NODE_ID",
            format!("test-{:x}", database.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(t) = admin_token {
        cmd.env("MUSTER_ADMIN_TOKEN", t);
    }
    started(&mut cmd)
}

/// Spawns a prepared `muster serve` and waits for its `listening on` line.
fn started(cmd: &mut Command) -> Server {
    let mut server =
        Server { child: cmd.spawn().expect("muster serve starts"), url: String::new(), stdout: Vec::new() };
    let mut lines = BufReader::new(server.child.stdout.take().expect("stdout")).lines();
    while server.url.is_empty() {
        let line = lines.next().expect("serve printed its address before exiting").expect("utf-8");
        if let Some(i) = line.find("listening on http://") {
            server.url = line[i + "listening on ".len()..].trim().to_string();
        }
        server.stdout.push(line);
    }
    server
}

impl Server {
    fn muster(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(args)
            .env("MUSTER_SERVER", &self.url)
            .env("MUSTER_TOKEN", ADMIN)
            .output()
            .expect("muster runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let (ok, out, err) = self.muster(&all);
        assert!(ok, "muster {args:?} failed: {err}");
        serde_json::from_str(&out).expect("JSON output")
    }

    /// SIGKILL: no shutdown, no flush, nothing but what was committed.
    fn kill_9(mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn survives_kill_9(backend: Backend) {
    let Some(db) = fresh_url(backend).await else { return };
    let server = serve(&db, Some(ADMIN));
    let mut ids = Vec::new();
    for i in 0..20 {
        let v = server.json(&[
            "incident",
            "start",
            "--title",
            &format!("crash {i}"),
            "--impact",
            "2",
            "--dedupe",
            &format!("k{}", i % 5),
        ]);
        ids.push(v["id"].as_str().expect("id").to_string());
    }
    server.json(&["incident", "note", &ids[0], "before the crash"]);
    server.kill_9();

    let server = serve(&db, Some(ADMIN));
    let list = server.json(&["incident", "list", "--limit", "100"]);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 5, "20 starts on 5 dedupe strings");
    for item in items {
        assert_eq!(item["triggerCount"], 4);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
    for id in &ids {
        let shown = server.json(&["incident", "show", id]);
        assert_eq!(shown["incident"]["id"], id.as_str());
    }
    let shown = server.json(&["incident", "show", &ids[0]]);
    let notes: Vec<&Value> =
        shown["timeline"].as_array().expect("timeline").iter().filter(|e| e["eventType"] == "note").collect();
    assert_eq!(notes.len(), 1, "the acknowledged note survived");
}

#[tokio::test]
async fn sqlite_survives_kill_9() {
    survives_kill_9(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_survives_kill_9() {
    survives_kill_9(Backend::Postgres).await;
}

#[test]
fn a_newcomer_starts_an_incident_and_sees_it_listed() {
    let db = muster_store::testing::sqlite_url();
    let server = serve(&db, None);
    let printed = server.stdout.join("\n");
    let token = printed
        .split("MUSTER_TOKEN=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("a generated token is printed");
    assert!(token.starts_with("mst_"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(args)
            .env("MUSTER_SERVER", &server.url)
            .env("MUSTER_TOKEN", token)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let started = run(&["incident", "start", "--title", "Checkout is failing", "--impact", "1"]);
    assert!(started.contains("started incident #1"), "{started}");
    let listed = run(&["incident", "list"]);
    assert!(listed.lines().next().expect("header").starts_with("#"));
    assert!(listed.contains("Checkout is failing") && listed.contains("OPEN"), "{listed}");
    drop(server);
    // The token was made once: a restart on the same database prints none.
    let again = serve(&db, None);
    assert!(!again.stdout.join("\n").contains("MUSTER_TOKEN="));
}

#[test]
fn client_errors_name_the_field_and_fail() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let (ok, _, err) = server.muster(&["incident", "start", "--title", "x", "--impact", "9"]);
    assert!(!ok);
    assert!(err.contains("field: impact"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["incident", "list"])
        .env("MUSTER_SERVER", &server.url)
        .env_remove("MUSTER_TOKEN")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[test]
fn apply_the_reference_template_from_the_cli() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../muster-template/tests/fixtures/vpn-tunnel-down.cfn.yaml");
    let param = "VpnConnectionId=vpn-0123456789abcdef0";
    let (ok, out, err) = server.muster(&["apply", "-f", template, "--stack", "vpn", "--param", param, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("would create") && out.contains("dry run") && out.contains("VpnAlarm"), "{out}");
    // This server has no Slack token: the dry run says so about the template's Slack channel.
    assert!(
        out.contains(
            "Resources.SlackChannelConfiguration (AWS::Chatbot::SlackChannelConfiguration): no Slack provider"
        ),
        "{out}"
    );
    assert_eq!(server.json(&["plan", "list"])["items"], serde_json::json!([]), "a dry run writes nothing");
    // The template exactly as given.
    let (ok, out, err) = server.muster(&["apply", "-f", template, "--stack", "vpn", "--param", param]);
    assert!(ok, "{err}");
    assert!(out.contains("create") && out.contains("IncidentResponsePlan") && !out.contains("skipped"), "{out}");
    let (ok, out, _) = server.muster(&["apply", "-f", template, "--stack", "vpn", "--param", param]);
    assert!(ok && out.contains("no changes"), "{out}");
    // The tunnel reports down; the alarm opens the incident.
    let (ok, out, err) = server.muster(&[
        "metric",
        "put",
        "--namespace",
        "AWS/VPN",
        "--name",
        "TunnelState",
        "--dimension",
        "VpnId=vpn-0123456789abcdef0",
        "--value",
        "0",
    ]);
    assert!(ok && out.contains("1 alarm evaluation"), "{out}{err}");
    let mut open = serde_json::Value::Null;
    for _ in 0..100 {
        open = server.json(&["incident", "list"]);
        if open["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(open["items"][0]["title"], "VPN connection vpn-0123456789abcdef0 is DOWN", "{open}");
    assert_eq!(open["items"][0]["impact"], 3);
    let alarm = server.json(&["alarm", "show", "VPN connection vpn-0123456789abcdef0 status alarm"]);
    assert_eq!(alarm["stateValue"], "ALARM");
    let (ok, out, _) = server.muster(&["alarm", "list"]);
    assert!(ok && out.contains("ALARM"), "{out}");
    let stats = server.json(&[
        "metric",
        "get",
        "--namespace",
        "AWS/VPN",
        "--name",
        "TunnelState",
        "--dimension",
        "VpnId=vpn-0123456789abcdef0",
        "--statistic",
        "Minimum",
    ]);
    assert_eq!(stats["datapoints"][0]["value"], 0.0, "{stats}");
    let plan = "VPN connection vpn-0123456789abcdef0 incident response plan";
    let v = server.json(&["incident", "start", "--plan", plan]);
    assert_eq!(v["outcome"], "deduplicated");
    let (ok, out, _) = server.muster(&["stack", "delete", "vpn"]);
    assert!(ok && out.contains("deleted"), "{out}");
    assert_eq!(server.json(&["plan", "list"])["items"], serde_json::json!([]));
}

/// A folder of native YAML files is one stack: files may name each other's objects, the stack is
/// named after the folder, a bad file refuses the whole folder, and a file taken out of the folder
/// takes its objects with it on the next apply.
#[test]
fn apply_a_folder_from_the_cli() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let dir = std::env::temp_dir().join(format!("muster-folder-{}", std::process::id())).join("payments");
    std::fs::create_dir_all(&dir).expect("dir");
    let people =
        "contacts:\n  ann:\n    channels: [{name: hook, type: WEBHOOK, address: \"https://hooks.example/ann\"}]\n";
    let plans = "responsePlans:\n  card-failures:\n    incidentTemplate: {title: Card payments failing, impact: 2}\n    engagements: [ann]\n";
    std::fs::write(dir.join("10-people.yaml"), people).expect("write");
    std::fs::write(dir.join("20-plans.yml"), plans).expect("write");
    std::fs::write(dir.join("README.txt"), "not a template").expect("write");
    let folder = dir.to_str().expect("utf-8");

    let (ok, out, err) = server.muster(&["apply", "-f", folder, "--dry-run"]);
    assert!(ok, "{err}");
    assert!(out.contains("card-failures") && out.contains("ann"), "{out}");
    assert_eq!(server.json(&["plan", "list"])["items"], serde_json::json!([]), "a dry run writes nothing");

    // A broken file refuses the folder, naming the file; nothing is applied.
    std::fs::write(dir.join("30-broken.yaml"), "responsePlans:\n  x: {incidentTemplate: {impact: 9}}\n")
        .expect("write");
    let (ok, _, err) = server.muster(&["apply", "-f", folder]);
    assert!(!ok && err.contains("30-broken.yaml"), "{err}");
    assert_eq!(server.json(&["plan", "list"])["items"], serde_json::json!([]));
    std::fs::remove_file(dir.join("30-broken.yaml")).expect("remove");

    let (ok, _, err) = server.muster(&["apply", "-f", folder]);
    assert!(ok, "{err}");
    let stack = server.json(&["stack", "show", "payments"]);
    assert_eq!(stack["resources"].as_array().map(Vec::len), Some(3), "contact, channel, plan: {stack}");
    assert_eq!(server.json(&["plan", "list"])["items"][0]["name"], "card-failures");

    // The plans file leaves the folder: its plan leaves the server.
    std::fs::remove_file(dir.join("20-plans.yml")).expect("remove");
    let (ok, out, err) = server.muster(&["apply", "-f", folder]);
    assert!(ok && out.contains("delete"), "{out}{err}");
    assert_eq!(server.json(&["plan", "list"])["items"], serde_json::json!([]));
    let _ = std::fs::remove_dir_all(dir.parent().expect("parent"));
}

/// Where `muster serve` takes its settings from: a flag beats the environment, the environment
/// beats the config file (named by `MUSTER_CONFIG`), and the file beats the defaults.
#[test]
fn flags_beat_the_environment_which_beats_the_config_file() {
    let dir = std::env::temp_dir().join(format!("muster-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (from_file, from_env) = (dir.join("file.db"), dir.join("env.db"));
    let file_port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let config = dir.join("muster.yaml");
    std::fs::write(
        &config,
        format!("listen: 127.0.0.1:{file_port}\ndatabase: sqlite://{}\nbodyLimitBytes: 2048\n", from_file.display()),
    )
    .expect("config");
    let server = started(
        Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("MUSTER_CONFIG", &config)
            .env("MUSTER_LISTEN", "127.0.0.1:1")
            .env("MUSTER_DATABASE_URL", format!("sqlite://{}", from_env.display()))
            .env("MUSTER_ADMIN_TOKEN", ADMIN)
            .env("MUSTER_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    // The flag's port 0 (a free port), not the environment's port 1 nor the file's.
    let port: u16 = server.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
    assert!(port != 1 && port != file_port, "{}", server.url);
    // The environment's database, not the file's; the file's body limit, over the default.
    server.json(&["incident", "start", "--title", "Where am I", "--impact", "4"]);
    assert!(from_env.exists() && !from_file.exists());
    let (ok, _, err) = server.muster(&["incident", "start", "--title", &"x".repeat(4000), "--impact", "4"]);
    assert!(!ok && err.contains("2048"), "the file's body limit holds: {err}");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let mut server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    server.json(&["incident", "start", "--title", "before shutdown", "--impact", "3"]);
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
    assert!(sent.success());
    let status = server.child.wait().expect("exits");
    assert!(status.success(), "a graceful stop exits 0, got {status:?}");
}

/// A web UI page left open holds a live stream that never ends on its own; SIGTERM ends it cleanly
/// (the stream finishes, not cut off) and the server exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_live_streams_of_open_pages() {
    let mut server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("client");
    let login = http
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={ADMIN}&next=/incidents"))
        .send()
        .await
        .expect("sign in");
    let cookie = login.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie");
    let cookie = cookie.split(';').next().expect("name=value").to_string();
    let mut live = http
        .get(format!("{}/ui/events?watch=incidents", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .expect("the live stream opens");
    assert_eq!(live.status(), 200);
    let first = live.chunk().await.expect("a first event").expect("not ended yet");
    assert!(String::from_utf8_lossy(&first).contains("watching"));

    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    loop {
        match live.chunk().await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => panic!("the stream was cut off instead of ending: {e}"),
        }
    }
    let status = tokio::task::spawn_blocking(move || server.child.wait().expect("exits")).await.expect("joined");
    assert!(status.success(), "a graceful stop exits 0, got {status:?}");
}

#[test]
fn completions_are_generated() {
    let out = Command::new(env!("CARGO_BIN_EXE_muster")).args(["completions", "bash"]).output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("incident"));
}

#[test]
fn on_call_from_the_cli() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let dir = std::env::temp_dir().join(format!("muster-cli-oncall-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("team.yaml");
    std::fs::write(
        &file,
        r#"
contacts:
  ann: {displayName: Ann, timeZone: America/New_York}
  bob: {displayName: Bob, timeZone: America/New_York}
  cy: {displayName: Cy}
rotations:
  nyc:
    members: [ann, bob]
    start: 2026-03-01T12:00:00Z
    timeZone: America/New_York
    recurrence: {daily: ["02:30"]}
"#,
    )
    .expect("write");
    let (ok, out, err) = server.muster(&["apply", "-f", file.to_str().expect("utf-8")]);
    assert!(ok, "{err}");
    assert!(out.contains("Muster::Rotation"), "{out}");
    // 8 March 2026: 02:30 does not exist in New York; the handoff happens when the gap ends, 03:00 EDT.
    let v = server.json(&["oncall", "nyc", "--at", "2026-03-08T06:59:00Z"]);
    let before = v["contacts"][0]["alias"].as_str().expect("someone").to_string();
    let v = server.json(&["oncall", "nyc", "--at", "2026-03-08T07:00:00Z"]);
    let after = v["contacts"][0]["alias"].as_str().expect("someone").to_string();
    assert_ne!(before, after);
    let shifts =
        server.json(&["rotation", "shifts", "nyc", "--from", "2026-03-07T00:00:00Z", "--to", "2026-03-10T00:00:00Z"]);
    let starts: Vec<&str> =
        shifts.as_array().expect("list").iter().skip(1).map(|x| x["start"].as_str().unwrap_or("")).collect();
    assert_eq!(starts, ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"]);
    let o = server.json(&[
        "override",
        "create",
        "nyc",
        "--contact",
        "cy",
        "--start",
        "2026-03-08T10:00:00Z",
        "--end",
        "2026-03-08T11:00:00Z",
    ]);
    assert!(o["id"].is_string());
    let v = server.json(&["oncall", "--at", "2026-03-08T10:30:00Z"]);
    assert_eq!(v["items"][0]["contacts"], serde_json::json!([{"alias": "cy"}]));
    let (ok, out, _) = server.muster(&[
        "rotation",
        "shifts",
        "nyc",
        "--from",
        "2026-03-08T00:00:00Z",
        "--to",
        "2026-03-09T00:00:00Z",
        "--tz",
        "America/New_York",
    ]);
    assert!(ok);
    assert!(out.contains("override") && out.contains("EDT") && out.contains("EST"), "{out}");
    let mine =
        server.json(&["contact", "shifts", "cy", "--from", "2026-03-08T00:00:00Z", "--to", "2026-03-09T00:00:00Z"]);
    assert_eq!(mine.as_array().expect("list").len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_runbook_sleeping_through_kill_9_finishes_after_restart() {
    let db = muster_store::testing::sqlite_url();
    let server = serve(&db, Some(ADMIN));
    let dir = std::env::temp_dir().join(format!("muster-cli-runbook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("nap.yaml");
    std::fs::write(
        &file,
        "schemaVersion: '0.3'\nmainSteps:\n  - name: nap\n    action: aws:sleep\n    inputs: {Duration: PT2S}\n  - name: after\n    action: muster:script\n    inputs: {Interpreter: sh, Script: 'echo awake'}\n",
    )
    .expect("write");
    let (ok, out, err) = server.muster(&["runbook", "validate", file.to_str().expect("utf-8")]);
    assert!(ok && out.contains("nap (aws:sleep)"), "{out}{err}");
    server.json(&["runbook", "put", "nap", "-f", file.to_str().expect("utf-8")]);
    let started = server.json(&["runbook", "run", "nap"]);
    let id = started["id"].as_str().expect("id").to_string();
    // Killed while the first step sleeps.
    std::thread::sleep(std::time::Duration::from_millis(500));
    server.kill_9();
    let server = serve(&db, Some(ADMIN));
    let mut status = String::new();
    for _ in 0..100 {
        let e = server.json(&["runbook", "execution", &id]);
        status = e["status"].as_str().unwrap_or("").to_string();
        if status == "Success" || status == "Failed" {
            assert_eq!(e["steps"][1]["outputs"]["Output"], "awake");
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "Success", "the execution finished after the restart");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn detection_from_the_cli() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let pattern = r#"{"source": ["deployer"], "detail": {"state": [{"prefix": "fail"}]}}"#;
    let (ok, out, _) = server.muster(&[
        "rule",
        "test",
        "--pattern",
        pattern,
        "--event",
        r#"{"source": "deployer", "detail": {"state": "failed"}}"#,
    ]);
    assert!(ok && out.trim() == "match", "{out}");
    let (ok, out, _) = server.muster(&[
        "rule",
        "test",
        "--pattern",
        pattern,
        "--event",
        r#"{"source": "deployer", "detail": {"state": "ok"}}"#,
    ]);
    assert!(!ok && out.trim() == "no match", "a miss exits 1: {out}");
    let (ok, _, err) = server.muster(&["rule", "test", "--pattern", r#"{"source": "deployer"}"#, "--event", "{}"]);
    assert!(!ok && err.contains("field: eventPattern.source"), "{err}");

    let created = server.json(&["integration", "create", "prometheus", "--type", "alertmanager"]);
    assert_eq!(created["key"].as_str().map(str::len), Some(32));
    let (ok, out, _) = server.muster(&["integration", "list"]);
    assert!(ok && out.contains("prometheus") && out.contains("alertmanager"), "{out}");

    let silence =
        server.json(&["silence", "add", "instance=~web-.*", "severity!=info", "--for", "2h", "--comment", "deploy"]);
    assert_eq!(silence["status"]["state"], "active");
    assert_eq!(silence["matchers"][0]["isRegex"], true);
    assert_eq!(silence["matchers"][1]["isEqual"], false);
    let id = silence["id"].as_str().expect("id").to_string();
    let (ok, out, _) = server.muster(&["silence", "list"]);
    assert!(ok && out.contains("instance=~\"web-.*\"") && out.contains("active"), "{out}");
    let (ok, _, _) = server.muster(&["silence", "expire", &id]);
    assert!(ok);
    assert_eq!(server.json(&["silence", "list"])["items"][0]["status"]["state"], "expired");

    let (ok, out, err) = server.muster(&[
        "event",
        "put",
        "--source",
        "deployer",
        "--detail-type",
        "Deploy",
        "--detail",
        r#"{"state": "ok"}"#,
    ]);
    assert!(ok && out.contains("event recorded"), "{out}{err}");
    let mut received = Value::Null;
    for _ in 0..100 {
        received = server.json(&["integration", "received"]);
        if received["items"][0]["status"] == "unmatched" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(received["items"][0]["kind"], "event");
    assert_eq!(received["items"][0]["status"], "unmatched", "no rule matches it: {received}");
}

#[test]
fn the_demo_opens_an_incident_from_the_reference_scenario() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["demo", "--listen", "127.0.0.1:0", "--interval-seconds", "1"])
        .env("MUSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("muster demo starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut url, mut token) = (String::new(), String::new());
    while url.is_empty() || token.is_empty() {
        let line = lines.next().expect("the demo printed its address").expect("utf-8");
        if let Some(i) = line.find("listening on http://") {
            url = line[i + "listening on ".len()..].trim().to_string();
        }
        if let Some(i) = line.find("MUSTER_TOKEN=") {
            token = line[i + "MUSTER_TOKEN=".len()..].split_whitespace().next().unwrap_or("").to_string();
        }
    }
    let list = || {
        let out = Command::new(env!("CARGO_BIN_EXE_muster"))
            .args(["incident", "list", "--output", "json"])
            .env("MUSTER_SERVER", &url)
            .env("MUSTER_TOKEN", &token)
            .output()
            .expect("muster runs");
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    let mut incidents = Value::Null;
    for _ in 0..150 {
        incidents = list();
        if incidents["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(incidents["items"][0]["title"], "VPN connection vpn-0123456789abcdef0 is DOWN", "{incidents}");
    assert_eq!(incidents["items"][0]["trigger"]["source"], "alarm");
}

/// Alerts answered 2xx survive a kill -9 that follows at once, and are routed after the restart.
async fn acknowledged_alerts_survive_kill_9(backend: Backend) {
    let Some(db) = fresh_url(backend).await else { return };
    let server = serve(&db, Some(ADMIN));
    let created = server.json(&["integration", "create", "prometheus", "--type", "alertmanager"]);
    let key = created["key"].as_str().expect("key").to_string();
    let http = reqwest::Client::new();
    let posts = (0..40).map(|i| {
        let body = serde_json::json!([{"labels": {"alertname": "Crash", "n": i.to_string()}}]);
        http.post(format!("{}/api/v2/alerts", server.url)).bearer_auth(&key).json(&body).send()
    });
    let answers = futures_util::future::join_all(posts).await;
    let accepted = answers.into_iter().filter(|r| r.as_ref().is_ok_and(|r| r.status().is_success())).count();
    assert_eq!(accepted, 40);
    server.kill_9();

    let server = serve(&db, Some(ADMIN));
    let mut received = Value::Null;
    for _ in 0..100 {
        received = server.json(&["integration", "received", "--integration", "prometheus"]);
        let items = received["items"].as_array().map(Vec::as_slice).unwrap_or_default();
        if items.len() == 40 && items.iter().all(|i| i["status"] == "routed") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let items = received["items"].as_array().expect("items");
    assert_eq!(items.len(), 40, "every answered alert was kept");
    assert!(items.iter().all(|i| i["status"] == "routed"), "and routed after the restart: {received}");
    assert_eq!(server.json(&["incident", "list", "--limit", "100"])["items"].as_array().map(Vec::len), Some(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_acknowledged_alerts_survive_kill_9() {
    acknowledged_alerts_survive_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_acknowledged_alerts_survive_kill_9() {
    acknowledged_alerts_survive_kill_9(Backend::Postgres).await;
}

/// The real `amtool` (Prometheus Alertmanager's CLI) against Muster: silences and alerts.
#[test]
fn amtool_talks_to_muster_as_to_an_alertmanager() {
    let found = Command::new("amtool").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var("CI").is_err(), "CI installs prometheus-alertmanager for amtool");
        eprintln!("amtool is not installed: skipping (apt-get install prometheus-alertmanager)");
        return;
    }
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    let key = server.json(&["integration", "create", "prometheus", "--type", "alertmanager"])["key"]
        .as_str()
        .expect("key")
        .to_string();
    let dir = std::env::temp_dir().join(format!("muster-amtool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let auth = dir.join("http.yml");
    std::fs::write(&auth, format!("authorization:\n  credentials: {key}\n")).expect("write");
    let amtool = |args: &[&str]| {
        let out = Command::new("amtool")
            .arg(format!("--alertmanager.url={}", server.url))
            .arg(format!("--http.config.file={}", auth.display()))
            .args(args)
            .output()
            .expect("amtool runs");
        assert!(out.status.success(), "amtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let silence =
        amtool(&["silence", "add", "instance=web-2", "--comment=maintenance", "--duration=1h", "--author=ann"]);
    assert!(!silence.is_empty() && !silence.contains(' '), "amtool prints the silence id: {silence}");
    amtool(&["alert", "add", "alertname=Down", "instance=web-1", "--annotation=summary=web-1 is down"]);
    amtool(&["alert", "add", "alertname=Down", "instance=web-2", "--annotation=summary=web-2 is down"]);
    let mut alerts = Value::Null;
    for _ in 0..100 {
        alerts = serde_json::from_str(&amtool(&["alert", "query", "-o", "json"])).expect("json");
        let states: Vec<&str> =
            alerts.as_array().into_iter().flatten().filter_map(|a| a["status"]["state"].as_str()).collect();
        if states.len() == 2 && states.contains(&"active") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let list = alerts.as_array().expect("alerts");
    let of = |instance: &str| list.iter().find(|a| a["labels"]["instance"] == instance).expect("listed").clone();
    assert_eq!(of("web-1")["status"]["state"], "active", "{alerts}");
    assert_eq!(of("web-2")["status"]["state"], "suppressed");
    assert_eq!(of("web-2")["status"]["silencedBy"][0], silence.as_str());
    let incidents = server.json(&["incident", "list"]);
    assert_eq!(incidents["items"].as_array().map(Vec::len), Some(1), "the silenced alert opened nothing");
    assert_eq!(incidents["items"][0]["title"], "web-1 is down");
    let active = amtool(&["silence", "query", "-o", "json"]);
    assert!(active.contains(&silence), "{active}");
    amtool(&["silence", "expire", &silence]);
    let active: Value = serde_json::from_str(&amtool(&["silence", "query", "-o", "json"])).expect("json");
    assert_eq!(active, serde_json::json!([]), "expired silences are not active");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn closure_from_the_cli() {
    let server = serve(&muster_store::testing::sqlite_url(), Some(ADMIN));
    server.json(&["incident", "start", "--title", "Checkout failing", "--impact", "2"]);
    let (ok, _, err) = server.muster(&["incident", "note", "1", "rolled back", "--type", "mitigated"]);
    assert!(ok, "{err}");
    server.json(&["incident", "resolve", "1", "-m", "error rate back to normal"]);
    let timeline = server.json(&["incident", "show", "1"]).to_string();
    assert!(timeline.contains("error rate back to normal"), "the resolve note is on the timeline: {timeline}");
    let created = server.json(&["analysis", "create", "1"]);
    let id = created["id"].as_str().expect("id").to_string();
    assert!(created["metrics"]["timeToMitigate"].is_number(), "{created}");
    assert!(created["metrics"]["timeToResolve"].is_number());
    let (ok, _, err) = server.muster(&["analysis", "answer", &id, "summary", "A bad deploy."]);
    assert!(ok, "{err}");
    let (ok, _, err) = server.muster(&["analysis", "answer", &id, "nonsense", "x"]);
    assert!(!ok && err.contains("field: answers.nonsense"), "{err}");
    let (ok, _, err) = server.muster(&["analysis", "add-item", &id, "Add a canary", "--due", "2026-12-15"]);
    assert!(ok, "{err}");
    let (ok, md, _) = server.muster(&["analysis", "export", &id]);
    assert!(ok && md.starts_with("# Incident #1: Checkout failing"), "{md}");
    assert!(md.contains("A bad deploy.") && md.contains("- [ ] Add a canary, due 2026-12-15"), "{md}");
    let (ok, out, _) = server.muster(&["action-items"]);
    assert!(ok && out.contains("Add a canary"), "{out}");
    let report = server.json(&["report"]);
    assert_eq!(report["overall"]["incidents"], 1);
    assert_eq!(report["overall"]["resolved"], 1);
    let (ok, csv, _) = server.muster(&["report", "--csv"]);
    assert!(ok && csv.starts_with("group,key,incidents"), "{csv}");
}

#[test]
fn backup_while_running_and_restore() {
    let dir = std::env::temp_dir().join(format!("muster-backup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let db = format!("sqlite://{}", dir.join("live.db").display());
    let server = serve(&db, Some(ADMIN));
    for i in 0..3 {
        server.json(&["incident", "start", "--title", &format!("kept {i}"), "--impact", "3"]);
    }
    let copy = dir.join("copy.db");
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_muster")).args(args).output().expect("runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = cli(&["backup", "--database", &db, "--to", copy.to_str().expect("utf-8")]);
    assert!(ok && out.contains("3 incident(s)"), "{out}{err}");
    let (ok, _, err) = cli(&["backup", "--database", &db, "--to", copy.to_str().expect("utf-8")]);
    assert!(!ok && err.contains("exists"), "never overwrites: {err}");
    let typo = format!("sqlite://{}", dir.join("typo.db").display());
    let (ok, _, err) = cli(&["backup", "--database", &typo, "--to", dir.join("t.db").to_str().expect("utf-8")]);
    assert!(!ok && err.contains("no database"), "{err}");
    assert!(!dir.join("typo.db").exists(), "a mistyped path makes no database");
    server.json(&["incident", "start", "--title", "after the backup", "--impact", "3"]);
    drop(server);

    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, "not a database").expect("write");
    let restored = format!("sqlite://{}", dir.join("restored.db").display());
    let (ok, _, err) = cli(&["restore", "--from", garbage.to_str().expect("utf-8"), "--database", &restored]);
    assert!(!ok && err.contains("garbage.db"), "a bad file is refused: {err}");
    let (ok, out, err) = cli(&["restore", "--from", copy.to_str().expect("utf-8"), "--database", &restored]);
    assert!(ok && out.contains("3 incident(s)"), "{out}{err}");
    let (ok, _, err) = cli(&["restore", "--from", copy.to_str().expect("utf-8"), "--database", &restored]);
    assert!(!ok && err.contains("--force"), "{err}");
    let server = serve(&restored, Some(ADMIN));
    let titles: Vec<String> = server.json(&["incident", "list"])["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(titles, ["kept 2", "kept 1", "kept 0"], "the copy as it was when taken");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A self-signed certificate for localhost: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    (cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_certificate_that_reloads_on_sighup() {
    let dir = std::env::temp_dir().join(format!("muster-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert_a, key_a) = certificate();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, &cert_a).expect("write");
    std::fs::write(&key_path, &key_a).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &muster_store::testing::sqlite_url()])
        .arg("--tls-cert")
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .env("MUSTER_ADMIN_TOKEN", ADMIN)
        .env("MUSTER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = loop {
        let line = lines.next().expect("printed its address").expect("utf-8");
        if let Some(i) = line.find("listening on https://") {
            break line[i + "listening on https://".len()..].trim().rsplit(':').next().expect("port").to_string();
        }
    };
    let url = format!("https://localhost:{port}/api/v1/whoami");
    let trusting = |pem: &str| {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem"))
            .build()
            .expect("client")
    };
    let res = trusting(&cert_a).get(&url).bearer_auth(ADMIN).send().await.expect("https works");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["strict-transport-security"], "max-age=31536000");
    assert!(reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.is_err(), "no plain HTTP on the TLS port");

    // A renewed certificate: written over the files, taken on SIGHUP, without a restart.
    let (cert_b, key_b) = certificate();
    std::fs::write(&cert_path, &cert_b).expect("write");
    std::fs::write(&key_path, &key_b).expect("write");
    let hup = Command::new("kill").args(["-HUP", &child.id().to_string()]).status().expect("kill");
    assert!(hup.success());
    let mut renewed = false;
    for _ in 0..50 {
        if trusting(&cert_b).get(&url).bearer_auth(ADMIN).send().await.is_ok_and(|r| r.status() == 200) {
            renewed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(renewed, "the new certificate is served after SIGHUP");
    assert!(trusting(&cert_a).get(&url).send().await.is_err(), "the old one no longer is");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// kill -9 in the middle of a stream of alerts: every alert answered 2xx (its id kept by this test)
/// is there after the restart.
async fn kill_9_during_ingest(backend: Backend) {
    let Some(db) = fresh_url(backend).await else { return };
    let server = serve(&db, Some(ADMIN));
    let created = server.json(&["integration", "create", "stream", "--type", "grafana"]);
    let key = created["key"].as_str().expect("key").to_string();
    let url = format!("{}/integrations/grafana", server.url);
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build().expect("client");
    let accepted = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for w in 0..8 {
        let (http, url, key, accepted) = (http.clone(), url.clone(), key.clone(), accepted.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let body = serde_json::json!({"status": "firing", "alerts": [{"status": "firing",
                    "labels": {"alertname": "Stream", "worker": w.to_string(), "n": i.to_string()}}]});
                match http.post(&url).bearer_auth(&key).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        let ids = v["ids"].as_array().cloned().unwrap_or_default();
                        accepted.lock().await.extend(ids.iter().filter_map(|i| i.as_str().map(str::to_string)));
                    }
                    // The server is gone: stop sending.
                    _ => break,
                }
            }
        }));
    }
    // Events through the API, alongside: each answered id must be kept as well.
    let events = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
    for w in 0..2 {
        let (http, url, events) = (http.clone(), format!("{}/api/v1/events", server.url), events.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let body = serde_json::json!({"entries": [{"source": "stream.test", "detail-type": "Tick",
                    "detail": {"worker": w, "n": i}}]});
                match http.post(&url).bearer_auth(ADMIN).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        let ids = v["entries"].as_array().cloned().unwrap_or_default();
                        events
                            .lock()
                            .await
                            .extend(ids.iter().filter_map(|e| e["eventId"].as_str().map(str::to_string)));
                    }
                    _ => break,
                }
            }
        }));
    }
    // Metrics: one series per sender; every datum answered 2xx must be counted after the crash.
    let datapoints = std::sync::Arc::new(tokio::sync::Mutex::new([0u64; 2]));
    for w in 0..2 {
        let (http, url, datapoints) = (http.clone(), format!("{}/api/v1/metrics", server.url), datapoints.clone());
        senders.push(tokio::spawn(async move {
            for _ in 0..10_000 {
                let body = serde_json::json!({"namespace": "Stream", "metricData": [{"metricName": "Ticks",
                    "dimensions": [{"name": "Worker", "value": w.to_string()}], "value": 1.0}]});
                match http.post(&url).bearer_auth(ADMIN).json(&body).send().await {
                    Ok(r) if r.status().is_success() => datapoints.lock().await[w] += 1,
                    _ => break,
                }
            }
        }));
    }
    // Let the streams run, then kill the node in the middle of them.
    while accepted.lock().await.len() < 200 || events.lock().await.len() < 50 || datapoints.lock().await.contains(&0) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.kill_9();
    for s in senders {
        let _ = s.await;
    }
    let accepted = accepted.lock().await.clone();
    assert!(accepted.len() >= 200);
    let events = events.lock().await.clone();
    let datapoints = *datapoints.lock().await;

    let server = serve(&db, Some(ADMIN));
    // Each accepted alert and event id, looked up directly.
    let http_check = reqwest::Client::new();
    let mut lost = Vec::new();
    for id in accepted.iter().chain(&events) {
        let res = http_check
            .get(format!("{}/api/v1/inbound/{id}", server.url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .expect("request");
        if res.status() != 200 {
            lost.push(id.clone());
        }
    }
    let total = accepted.len() + events.len();
    assert!(lost.is_empty(), "{} of {total} accepted alerts and events were lost: {lost:?}", lost.len());
    let series: Value = http_check
        .get(format!("{}/api/v1/metrics?namespace=Stream", server.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    for (w, answered) in datapoints.iter().enumerate() {
        let kept = series["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["dimensions"].to_string().contains(&format!("\"{w}\"")))
            .and_then(|x| x["datapoints"].as_u64())
            .unwrap_or(0);
        // More may be kept than were answered (committed, then killed before the answer); never fewer.
        assert!(kept >= *answered, "series {w}: {answered} datapoints answered 2xx, {kept} kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_during_ingest_loses_nothing_accepted() {
    kill_9_during_ingest(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_during_ingest_loses_nothing_accepted() {
    kill_9_during_ingest(Backend::Postgres).await;
}

/// Runs a system command; true when it ran and succeeded.
fn run_ok(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
}

/// A test filesystem's mount point: unmounted (lazily if it is still busy) and removed when the
/// test ends, however it ends, and then the image behind it, if any, is deleted.
struct Mounted {
    dir: String,
    image: Option<String>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if !run_ok("umount", &[&self.dir]) {
            let _ = run_ok("umount", &["-l", &self.dir]);
        }
        let _ = std::fs::remove_dir(&self.dir);
        if let Some(image) = &self.image {
            let _ = std::fs::remove_file(image);
        }
    }
}

/// The SQLite disk fills up: writes are refused with 503 (never a 2xx for what was not kept, never
/// a 500), reads go on, nothing is corrupted, and writes work again once space returns. Needs a
/// small filesystem of its own (tmpfs, as root); skipped where none can be made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_full() {
    let dir = std::env::temp_dir().join(format!("muster-small-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.to_str().expect("utf-8").to_string();
    if !run_ok("mount", &["-t", "tmpfs", "-o", "size=3m", "tmpfs", &d]) {
        eprintln!("cannot mount a small filesystem here (needs root): skipping");
        return;
    }
    let _mounted = Mounted { dir: d.clone(), image: None };
    let db = format!("sqlite://{d}/muster.db");
    let server = serve(&db, Some(ADMIN));
    let created = server.json(&["integration", "create", "big", "--type", "grafana"]);
    let key = created["key"].as_str().expect("key").to_string();
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("client");
    let url = format!("{}/integrations/grafana", server.url);
    let filler = "x".repeat(20_000);
    let post = |n: usize| {
        let body = serde_json::json!({"status": "firing", "alerts": [{"status": "firing",
            "labels": {"alertname": "Big", "n": n.to_string()}, "annotations": {"description": filler}}]});
        http.post(&url).bearer_auth(&key).json(&body).send()
    };
    let mut accepted: Vec<String> = Vec::new();
    let mut full = None;
    for n in 0..2000 {
        let res = post(n).await.expect("the server answers");
        let status = res.status();
        if status.is_success() {
            let v: Value = res.json().await.expect("json");
            accepted.extend(v["ids"].as_array().into_iter().flatten().filter_map(|i| i.as_str().map(str::to_string)));
            // Acknowledged means committed: readable at once from another connection. (A connection
            // left inside a failed transaction once turned later acks into savepoints nobody committed.)
            let id = accepted.last().expect("an id");
            let r =
                http.get(format!("{}/api/v1/inbound/{id}", server.url)).bearer_auth(ADMIN).send().await.expect("get");
            assert_eq!(r.status(), 200, "alert {n} is readable right after it was acknowledged");
        } else {
            full = Some(status);
            break;
        }
    }
    assert_eq!(full, Some(reqwest::StatusCode::SERVICE_UNAVAILABLE), "a full disk is a 503");
    assert!(!accepted.is_empty());
    let (status, _) = {
        let r = http.get(format!("{}/api/v1/incidents", server.url)).bearer_auth(ADMIN).send().await.expect("read");
        (r.status(), ())
    };
    assert_eq!(status, 200, "reads go on while the disk is full");

    // Space returns: writes work again.
    assert!(run_ok("mount", &["-o", "remount,size=64m", &d]));
    let mut recovered = false;
    for n in 5000..5100 {
        if post(n).await.is_ok_and(|r| r.status().is_success()) {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "writes work again once there is space");

    for id in &accepted {
        let r = http.get(format!("{}/api/v1/inbound/{id}", server.url)).bearer_auth(ADMIN).send().await.expect("get");
        assert_eq!(r.status(), 200, "accepted alert {id} was kept");
    }
    drop(server);
    let incidents = muster_store::check_backup(&std::path::PathBuf::from(format!("{d}/muster.db")))
        .await
        .expect("the database is sound");
    assert!(incidents > 0);
}

/// The filesystem under the SQLite database turns read-only (ext4 does this itself after an I/O error,
/// with `errors=remount-ro`): writes are refused with 503, reads go on, and once an operator has
/// checked the disk and started Muster again every alert it acknowledged is there and the database
/// is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_disk_turns_read_only() {
    let dir = std::env::temp_dir().join(format!("muster-ro-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.to_str().expect("utf-8").to_string();
    let image = format!("{d}.img");
    let made = run_ok("e2fsck", &["-V"])
        && std::fs::File::create(&image).and_then(|f| f.set_len(64 << 20)).is_ok()
        && run_ok("mkfs.ext4", &["-q", "-F", &image])
        && run_ok("mount", &["-o", "loop,errors=remount-ro", &image, &d]);
    if !made {
        let _ = std::fs::remove_file(&image);
        eprintln!("cannot mount a loop filesystem here (needs root, loop devices and e2fsprogs): skipping");
        return;
    }
    let _mounted = Mounted { dir: d.clone(), image: Some(image.clone()) };
    let device = Command::new("findmnt")
        .args(["-n", "-o", "SOURCE", &d])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let trigger = format!("/sys/fs/ext4/{}/trigger_fs_error", device.rsplit('/').next().unwrap_or_default());
    // Opening the switch raises nothing; only writing to it does.
    if device.is_empty() || std::fs::OpenOptions::new().write(true).open(&trigger).is_err() {
        eprintln!("this kernel cannot raise an ext4 error on demand here: skipping");
        return;
    }
    let db = format!("sqlite://{d}/muster.db");
    let server = serve(&db, Some(ADMIN));
    let created = server.json(&["integration", "create", "ro", "--type", "grafana"]);
    let key = created["key"].as_str().expect("key").to_string();
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(20)).build().expect("client");
    let post = |url: &str, n: usize| {
        let body = serde_json::json!({"status": "firing", "alerts": [{"status": "firing",
            "labels": {"alertname": "Tunnel", "n": n.to_string()}}]});
        http.post(format!("{url}/integrations/grafana")).bearer_auth(&key).json(&body).send()
    };
    let mut accepted: Vec<String> = Vec::new();
    for n in 0..20 {
        let res = post(&server.url, n).await.expect("the server answers");
        assert!(res.status().is_success(), "alert {n} accepted before the fault");
        let v: Value = res.json().await.expect("json");
        accepted.extend(v["ids"].as_array().into_iter().flatten().filter_map(|i| i.as_str().map(str::to_string)));
    }
    assert_eq!(accepted.len(), 20);

    std::fs::write(&trigger, "1").expect("raise an ext4 error");
    let opts = Command::new("findmnt").args(["-n", "-o", "OPTIONS", &d]).output().expect("findmnt");
    let opts = String::from_utf8_lossy(&opts.stdout).trim().to_string();
    assert!(opts.split(',').any(|o| o == "ro" || o == "emergency_ro"), "the filesystem turned read-only: {opts}");

    // Writes are refused plainly; the alert that was refused is not acknowledged.
    let res = post(&server.url, 100).await.expect("the server answers");
    assert_eq!(res.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE, "a read-only disk is a 503");
    let text = res.text().await.expect("body");
    assert!(text.contains("unavailable"), "the error says what is wrong: {text}");
    let r = http.get(format!("{}/api/v1/incidents", server.url)).bearer_auth(ADMIN).send().await.expect("read");
    assert_eq!(r.status(), 200, "reads go on while the disk is read-only");
    let r = http.get(format!("{}/api/v1/inbound/{}", server.url, accepted[0])).bearer_auth(ADMIN).send().await;
    assert_eq!(r.expect("read").status(), 200, "acknowledged alerts stay readable");

    // The operator stops Muster, checks the disk and mounts it again.
    drop(server);
    assert!(run_ok("umount", &[&d]), "the filesystem is let go once Muster stops");
    let fsck = Command::new("e2fsck").args(["-f", "-y", &image]).output().expect("e2fsck runs");
    assert!(fsck.status.code().is_some_and(|c| c <= 1), "the filesystem checks clean: {fsck:?}");
    assert!(run_ok("mount", &["-o", "loop,errors=remount-ro", &image, &d]), "mounted again");

    let server = serve(&db, Some(ADMIN));
    for id in &accepted {
        let r = http.get(format!("{}/api/v1/inbound/{id}", server.url)).bearer_auth(ADMIN).send().await.expect("get");
        assert_eq!(r.status(), 200, "accepted alert {id} was kept");
    }
    let res = post(&server.url, 200).await.expect("the server answers");
    assert!(res.status().is_success(), "writes work again on a writable disk");
    drop(server);
    let incidents = muster_store::check_backup(&std::path::PathBuf::from(format!("{d}/muster.db")))
        .await
        .expect("the database is sound");
    assert!(incidents > 0);
}
