//! Runbook executions: each step is a job. A step's result, the next step's job and the timeline
//! are written together, so a restart resumes where the execution was.

use crate::{Engine, EngineError};
use jiff::{SignedDuration, Timestamp};
use muster_core::engage::{Job, NewJob, Task};
use muster_core::incident::{
    IncidentPatch, IncidentStatus, NewEvent, RelatedItemKind, prepare_related_item, prepare_user_event,
};
use muster_core::runbook::{
    Execution, ExecutionStatus, OnFailure, SCRIPT_ACTIONS, Step, StepRun, StepStatus, Variables, branch, iso_duration,
    select,
};
use muster_store::{Effects, ExecutionChange};
use serde_json::{Map, Value, json};
use std::time::Duration;

/// What a step printed is kept up to this many bytes.
const LOG_CAP: usize = 64 * 1024;
const DEFAULT_TIMEOUT_SECS: u64 = 300;
const MAX_TIMEOUT_SECS: u64 = 3600;

/// How an action ended (or paused).
enum Outcome {
    Done {
        result: Value,
        log: String,
    },
    Failed {
        message: String,
        log: String,
    },
    /// Come back at this instant to finish the step.
    Sleep(Timestamp),
    /// Wait for a person (an approval, a resume).
    Wait,
    /// A branch chose the next step (`None`: the execution ends).
    Branch(Option<String>),
}

fn truncate(mut s: String) -> String {
    if s.len() > LOG_CAP {
        let mut cut = LOG_CAP;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("\n[truncated]");
    }
    s
}

fn text(inputs: &Value, key: &str) -> Option<String> {
    match inputs.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// The Python interpreter scripts run with: `python3` found once, by absolute path, so scripts can
/// run with a cleared environment.
pub fn find_python() -> Option<String> {
    let out = std::process::Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !path.is_empty()).then_some(path)
}

const PY_WRAPPER: &str = r#"import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("script", "script.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
events = json.load(sys.stdin)
result = getattr(module, sys.argv[1])(events, {"executionId": sys.argv[2]})
sys.stdout.flush()
print("\n__MUSTER_RESULT__" + json.dumps(result, default=str))
"#;

/// Kills what is left of a script's process group (the processes it started and left running).
async fn kill_group(pgid: u32) {
    #[cfg(unix)]
    {
        let _ = tokio::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .await;
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

impl Engine {
    /// Runs a child process the way every script runs: its own folder, a cleared environment plus
    /// `env`, `stdin` as input, a timeout, and output capped. Arguments are passed as arguments.
    async fn child(
        &self,
        program: &str,
        args: &[&str],
        files: &[(&str, &str)],
        env: &[(String, String)],
        stdin: &str,
        timeout: u64,
    ) -> Result<(i32, String, String), String> {
        use tokio::io::AsyncWriteExt;
        let dir = std::env::temp_dir().join(format!("muster-run-{}", muster_core::new_id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make the working folder: {e}"))?;
        for (name, content) in files {
            std::fs::write(dir.join(name), content).map_err(|e| format!("cannot write {name}: {e}"))?;
        }
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &dir)
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        // Its own process group, so whatever it starts ends with it.
        #[cfg(unix)]
        cmd.process_group(0);
        let mut group = None;
        let result = async {
            let mut child = cmd.spawn().map_err(|e| format!("cannot start {program}: {e}"))?;
            group = child.id();
            if let Some(mut input) = child.stdin.take() {
                let _ = input.write_all(stdin.as_bytes()).await;
            }
            match tokio::time::timeout(Duration::from_secs(timeout), child.wait_with_output()).await {
                Ok(Ok(out)) => Ok((
                    out.status.code().unwrap_or(-1),
                    truncate(String::from_utf8_lossy(&out.stdout).into_owned()),
                    truncate(String::from_utf8_lossy(&out.stderr).into_owned()),
                )),
                Ok(Err(e)) => Err(format!("the script failed to run: {e}")),
                Err(_) => Err(format!("the script ran past its timeout of {timeout} s and was stopped")),
            }
        }
        .await;
        if let Some(pgid) = group {
            kill_group(pgid).await;
        }
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    async fn execute_script(&self, exec: &Execution, inputs: &Value, timeout: u64) -> Outcome {
        let Some(python) = self.python.as_deref() else {
            return Outcome::Failed {
                message: "no Python runtime is installed on this server".into(),
                log: String::new(),
            };
        };
        let runtime = text(inputs, "Runtime").unwrap_or_else(|| "python3.11".into());
        if !runtime.starts_with("python") {
            return Outcome::Failed {
                message: format!("runtime {runtime} is not supported; use a python3 runtime"),
                log: String::new(),
            };
        }
        let (Some(handler), Some(script)) = (text(inputs, "Handler"), text(inputs, "Script")) else {
            return Outcome::Failed {
                message: "aws:executeScript needs Handler and Script".into(),
                log: String::new(),
            };
        };
        let handler = handler.rsplit('.').next().unwrap_or(&handler).to_string();
        if !handler.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Outcome::Failed { message: format!("{handler:?} is not a function name"), log: String::new() };
        }
        let payload = inputs.get("InputPayload").cloned().unwrap_or(json!({}));
        let stdin = payload.to_string();
        match self
            .child(
                python,
                &["-I", "wrapper.py", &handler, &exec.id],
                &[("wrapper.py", PY_WRAPPER), ("script.py", &script)],
                &[],
                &stdin,
                timeout,
            )
            .await
        {
            Err(message) => Outcome::Failed { message, log: String::new() },
            Ok((code, stdout, stderr)) => {
                let (log, result) = match stdout.rsplit_once("\n__MUSTER_RESULT__") {
                    Some((log, r)) => (log.to_string(), serde_json::from_str::<Value>(r.trim()).ok()),
                    None => (stdout.clone(), None),
                };
                let log = if stderr.is_empty() { log } else { format!("{log}{stderr}") };
                match (code, result) {
                    (0, Some(payload)) => Outcome::Done { result: json!({"Payload": payload}), log },
                    _ => Outcome::Failed { message: format!("the script failed (exit {code})"), log },
                }
            }
        }
    }

    async fn muster_script(&self, inputs: &Value, timeout: u64) -> Outcome {
        let Some(script) = text(inputs, "Script") else {
            return Outcome::Failed { message: "muster:script needs Script".into(), log: String::new() };
        };
        let interpreter = text(inputs, "Interpreter").unwrap_or_else(|| "sh".into());
        let mut env: Vec<(String, String)> = Vec::new();
        if let Some(m) = inputs.get("Environment").and_then(Value::as_object) {
            for (k, v) in m {
                if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Outcome::Failed {
                        message: format!("{k:?} is not an environment variable name"),
                        log: String::new(),
                    };
                }
                env.push((k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())));
            }
        }
        let payload = inputs.get("InputPayload").cloned().unwrap_or(json!({}));
        env.push(("MUSTER_INPUT".into(), payload.to_string()));
        let result = match interpreter.as_str() {
            "sh" | "bash" => {
                self.child(
                    &format!("/bin/{interpreter}"),
                    &["script.sh"],
                    &[("script.sh", &script)],
                    &env,
                    &payload.to_string(),
                    timeout,
                )
                .await
            }
            "python" | "python3" => match self.python.as_deref() {
                Some(py) => {
                    self.child(py, &["-I", "script.py"], &[("script.py", &script)], &env, &payload.to_string(), timeout)
                        .await
                }
                None => Err("no Python runtime is installed on this server".into()),
            },
            other => Err(format!("interpreter {other:?} is not supported; use sh, bash or python3")),
        };
        match result {
            Err(message) => Outcome::Failed { message, log: String::new() },
            Ok((code, stdout, stderr)) => {
                let log = format!("{stdout}{stderr}");
                let result = json!({"ExitCode": code, "Output": stdout.trim_end(), "Json": serde_json::from_str::<Value>(stdout.trim()).unwrap_or(Value::Null)});
                if code == 0 {
                    Outcome::Done { result, log }
                } else {
                    Outcome::Failed { message: format!("the script exited with {code}"), log }
                }
            }
        }
    }

    /// Refuses addresses a runbook must not reach: cloud metadata services and other link-local
    /// addresses.
    async fn allowed_url(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("only http and https are allowed".into());
        }
        let host = parsed.host_str().ok_or("the URL has no host")?.trim_matches(['[', ']']).to_string();
        if host == "metadata.google.internal" || host == "metadata" {
            return Err(format!("{host} is a cloud metadata address, which runbooks may not reach"));
        }
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addrs =
            tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?;
        for a in addrs {
            let blocked = match a.ip() {
                std::net::IpAddr::V4(v4) => v4.is_link_local() || v4.is_unspecified(),
                std::net::IpAddr::V6(v6) => {
                    (v6.segments()[0] & 0xffc0) == 0xfe80 || v6.is_unspecified() || v6.segments()[0] == 0xfd00
                }
            };
            if blocked {
                return Err(format!(
                    "{host} resolves to {}, a link-local or metadata address runbooks may not reach",
                    a.ip()
                ));
            }
        }
        Ok(())
    }

    async fn http(&self, inputs: &Value, timeout: u64) -> Result<Value, String> {
        let url = text(inputs, "Url").ok_or("Url is required")?;
        self.allowed_url(&url).await?;
        let method = text(inputs, "Method").unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("{method} is not an HTTP method"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(timeout.min(120)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        let mut req = client.request(method, &url);
        if let Some(h) = inputs.get("Headers").and_then(Value::as_object) {
            for (k, v) in h {
                req = req.header(k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            }
        }
        match inputs.get("Body") {
            Some(Value::String(b)) => req = req.body(b.clone()),
            Some(v) if !v.is_null() => req = req.json(v),
            _ => {}
        }
        let started = std::time::Instant::now();
        let res = req.send().await.map_err(|e| format!("the request failed: {}", e.without_url()))?;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        let latency = started.elapsed().as_millis() as u64;
        let parsed = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
        Ok(json!({"StatusCode": status, "Body": truncate(body), "Json": parsed, "LatencyMs": latency}))
    }

    fn http_check(result: &Value, inputs: &Value) -> Result<(), String> {
        let want = inputs.get("ExpectedStatus").and_then(Value::as_u64).unwrap_or(200);
        let got = result["StatusCode"].as_u64().unwrap_or(0);
        if got != want {
            return Err(format!("expected status {want}, got {got}"));
        }
        if let Some(needle) = text(inputs, "BodyContains")
            && !result["Body"].as_str().unwrap_or("").contains(&needle)
        {
            return Err(format!("the body does not contain {needle:?}"));
        }
        Ok(())
    }

    async fn act(&self, exec: &Execution, step: &Step, inputs: &Value, resume: bool, approvals: &[Value]) -> Outcome {
        let timeout = step.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECS).clamp(1, MAX_TIMEOUT_SECS);
        let fail = |message: String| Outcome::Failed { message, log: String::new() };
        match step.action.as_str() {
            "aws:executeScript" => self.execute_script(exec, inputs, timeout).await,
            "muster:script" => self.muster_script(inputs, timeout).await,
            "aws:sleep" if resume => Outcome::Done { result: json!({}), log: String::new() },
            "aws:sleep" => {
                let until = match (text(inputs, "Duration"), text(inputs, "Timestamp")) {
                    (Some(d), _) => iso_duration(&d).map(|s| self.now() + SignedDuration::from_secs(s as i64)),
                    (None, Some(t)) => t.parse::<Timestamp>().ok(),
                    _ => None,
                };
                match until {
                    Some(t) => Outcome::Sleep(t),
                    None => fail("aws:sleep needs Duration (ISO 8601, such as PT30S) or Timestamp".into()),
                }
            }
            "aws:pause" | "aws:approve" if !resume => Outcome::Wait,
            "aws:pause" => Outcome::Done { result: json!({}), log: String::new() },
            "aws:approve" => {
                let rejected: Vec<&Value> = approvals.iter().filter(|a| a["decision"] == "Rejected").collect();
                let approvers: Vec<Value> =
                    approvals.iter().filter(|a| a["decision"] == "Approved").map(|a| a["approver"].clone()).collect();
                match rejected.first() {
                    Some(r) => fail(format!("rejected by {}", r["approver"].as_str().unwrap_or("someone"))),
                    None => Outcome::Done {
                        result: json!({"ApprovalStatus": "Approved", "ApprovedBy": approvers}),
                        log: String::new(),
                    },
                }
            }
            "aws:loop" => Box::pin(self.run_loop(exec, step, inputs)).await,
            "aws:branch" => match branch(inputs) {
                Ok(next) => Outcome::Branch(next),
                Err(e) => fail(e),
            },
            "muster:http" => match self.http(inputs, timeout).await {
                Ok(r) => Outcome::Done { result: r, log: String::new() },
                Err(e) => fail(e),
            },
            "muster:assertHttp" => match self.http(inputs, timeout).await {
                Ok(r) => match Self::http_check(&r, inputs) {
                    Ok(()) => Outcome::Done { result: r, log: String::new() },
                    Err(e) => fail(e),
                },
                Err(e) => fail(e),
            },
            "muster:waitForHttp" => {
                let deadline = std::time::Instant::now() + Duration::from_secs(timeout);
                let mut last = String::new();
                loop {
                    match self.http(inputs, 10).await {
                        Ok(r) if Self::http_check(&r, inputs).is_ok() => break Outcome::Done { result: r, log: last },
                        Ok(r) => last = format!("status {}\n", r["StatusCode"]),
                        Err(e) => last = format!("{e}\n"),
                    }
                    if std::time::Instant::now() >= deadline {
                        break fail(format!(
                            "the endpoint did not answer as expected within {timeout} s: {}",
                            last.trim()
                        ));
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
            "muster:tcpCheck" => {
                let (Some(host), Some(port)) = (
                    text(inputs, "Host"),
                    inputs.get("Port").and_then(|p| p.as_u64().or_else(|| p.as_str()?.parse().ok())),
                ) else {
                    return fail("muster:tcpCheck needs Host and Port".into());
                };
                let started = std::time::Instant::now();
                let reachable = matches!(
                    tokio::time::timeout(
                        Duration::from_secs(timeout.min(30)),
                        tokio::net::TcpStream::connect((host.as_str(), port as u16))
                    )
                    .await,
                    Ok(Ok(_))
                );
                let result = json!({"Reachable": reachable, "LatencyMs": started.elapsed().as_millis() as u64});
                if !reachable && inputs.get("Required") == Some(&Value::Bool(true)) {
                    return Outcome::Failed { message: format!("{host}:{port} is not reachable"), log: String::new() };
                }
                Outcome::Done { result, log: String::new() }
            }
            "muster:queryMetric" => match self.query_metric(inputs).await {
                Ok(r) => Outcome::Done { result: r, log: String::new() },
                Err(e) => fail(e),
            },
            "muster:fail" => fail(text(inputs, "Message").unwrap_or_else(|| "the runbook says so".into())),
            "muster:timelineEvent" | "muster:relatedItem" | "muster:updateIncident" => {
                let Some(incident) = exec.incident_id.clone() else {
                    return fail(format!("{} needs an incident; this execution has none", step.action));
                };
                self.incident_action(&step.action, &incident, inputs).await
            }
            "muster:publish" => {
                let (Some(topic), Some(message)) = (text(inputs, "Topic"), text(inputs, "Message")) else {
                    return fail("muster:publish needs Topic and Message".into());
                };
                let task = Task::Publish {
                    approval: None,
                    incident_id: exec.incident_id.clone(),
                    target: topic,
                    subject: text(inputs, "Subject").unwrap_or_else(|| format!("Runbook {}", exec.runbook)),
                    text: message,
                };
                match self.store.enqueue(&[NewJob::at(task, self.now())], self.now()).await {
                    Ok(()) => Outcome::Done { result: json!({"Published": true}), log: String::new() },
                    Err(e) => fail(e.to_string()),
                }
            }
            other => {
                fail(format!("Muster cannot run {other}: it acts on AWS, which a self-hosted server has no access to"))
            }
        }
    }

    /// `aws:loop`: runs its steps once per `Iterators` value (or while `LoopCondition` holds, up to
    /// `MaxIterations`), with `{{ loop.CurrentIteratorValue }}` and `{{ loop.CurrentIteration }}`.
    async fn run_loop(&self, exec: &Execution, step: &Step, inputs: &Value) -> Outcome {
        let raw = step.inputs.get("Steps").and_then(Value::as_array).cloned().unwrap_or_default();
        let nested = match muster_core::runbook::parse_steps(&raw, "Steps") {
            Ok(n) => n,
            Err(e) => return Outcome::Failed { message: e.to_string(), log: String::new() },
        };
        let max = inputs.get("MaxIterations").and_then(Value::as_u64).unwrap_or(100).min(100);
        let iterators: Option<Vec<Value>> = inputs.get("Iterators").and_then(Value::as_array).cloned();
        let rounds = iterators.as_ref().map_or(max, |it| (it.len() as u64).min(max));
        let base = self.variables(exec);
        let mut log = String::new();
        let mut results = Vec::new();
        let mut iterations = 0u64;
        for i in 0..rounds {
            let mut vars = base.clone();
            let current = iterators.as_ref().and_then(|it| it.get(i as usize).cloned()).unwrap_or(json!(i));
            vars.values.insert(format!("{}.CurrentIteration", step.name), json!(i + 1));
            vars.values.insert(format!("{}.CurrentIteratorValue", step.name), current.clone());
            if iterators.is_none()
                && let Some(cond) = step.inputs.get("LoopCondition")
            {
                let mut choice = vars.resolve(cond);
                if let Some(obj) = choice.as_object_mut() {
                    obj.insert("NextStep".into(), json!("go"));
                }
                if !matches!(branch(&json!({"Choices": [choice]})), Ok(Some(_))) {
                    break;
                }
            }
            iterations += 1;
            for n in &nested {
                let mut resolved = vars.resolve(&n.inputs);
                if SCRIPT_ACTIONS.contains(&n.action.as_str())
                    && let (Some(obj), Some(raw)) = (resolved.as_object_mut(), n.inputs.get("Script"))
                {
                    obj.insert("Script".into(), raw.clone());
                }
                match Box::pin(self.act(exec, n, &resolved, false, &[])).await {
                    Outcome::Done { result, log: l } => {
                        log.push_str(&l);
                        for (k, v) in outputs_of(n, &result).as_object().cloned().unwrap_or_default() {
                            vars.values.insert(format!("{}.{k}", n.name), v);
                        }
                        results.push(json!({"iteration": i + 1, "step": n.name, "result": result}));
                    }
                    Outcome::Failed { message, log: l } => {
                        log.push_str(&l);
                        if n.on_failure != OnFailure::Continue {
                            return Outcome::Failed {
                                message: format!("iteration {} step {}: {message}", i + 1, n.name),
                                log: truncate(log),
                            };
                        }
                    }
                    _ => return Outcome::Failed { message: format!("step {} cannot run inside a loop", n.name), log },
                }
            }
        }
        Outcome::Done { result: json!({"CurrentIteration": iterations, "Results": results}), log: truncate(log) }
    }

    /// `muster:queryMetric`: a metric's statistic per period over the last `Minutes`, with a
    /// summary a person can read (and, given `Threshold` and `ComparisonOperator`, how many periods
    /// cross it).
    async fn query_metric(&self, inputs: &Value) -> Result<Value, String> {
        use muster_core::metric::{Dimensions, Statistic};
        let number = |k: &str, default: u64| -> Result<u64, String> {
            match inputs.get(k) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_u64()
                    .or_else(|| v.as_str()?.trim().parse().ok())
                    .ok_or_else(|| format!("{k} must be a whole number")),
            }
        };
        let namespace = text(inputs, "Namespace").ok_or("Namespace is required")?;
        let metric = text(inputs, "MetricName").ok_or("MetricName is required")?;
        let mut dims = Dimensions::new();
        match inputs.get("Dimensions") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    dims.insert(k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                }
            }
            Some(Value::Array(list)) => {
                for d in list {
                    let (Some(k), Some(v)) = (
                        d.get("Name").or(d.get("name")).and_then(Value::as_str),
                        d.get("Value").or(d.get("value")).and_then(Value::as_str),
                    ) else {
                        return Err("Dimensions entries need Name and Value".into());
                    };
                    dims.insert(k.to_string(), v.to_string());
                }
            }
            Some(Value::String(s)) => {
                for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (k, v) = part.split_once('=').ok_or_else(|| format!("dimension {part:?} is not Name=Value"))?;
                    dims.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            Some(_) => return Err("Dimensions must be a map, a list of {Name, Value} or Name=Value,...".into()),
        }
        let statistic_name = text(inputs, "Statistic").unwrap_or_else(|| "Average".into());
        let statistic = Statistic::parse("Statistic", &statistic_name).map_err(|e| e.message)?;
        let period = number("PeriodSeconds", 60)?.clamp(1, 86_400) as i64;
        let minutes = number("Minutes", 60)?.clamp(1, 60 * 24 * 14) as i64;
        let now = self.now();
        let from = now - SignedDuration::from_mins(minutes);
        let data = self
            .store
            .metric_data(&namespace, &metric, &dims, from, now + SignedDuration::from_secs(1))
            .await
            .map_err(|e| e.to_string())?;
        let points = muster_core::metric::per_period(&data, period, statistic);
        let dims_text = dims.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        let scope = format!("{statistic_name} per {period} s over the last {minutes} min");
        let threshold = inputs.get("Threshold").and_then(|v| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok()));
        let operator: Option<muster_core::alarm::ComparisonOperator> =
            inputs.get("ComparisonOperator").and_then(|v| serde_json::from_value(v.clone()).ok());
        let breaching = match (threshold, operator) {
            (Some(t), Some(op)) => Some(points.iter().filter(|(_, v)| op.breaches(*v, t)).count()),
            _ => None,
        };
        let summary = if points.is_empty() {
            format!("no data ({scope}{})", if dims_text.is_empty() { String::new() } else { format!(", {dims_text}") })
        } else {
            let values: Vec<f64> = points.iter().map(|p| p.1).collect();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let avg = values.iter().sum::<f64>() / values.len() as f64;
            let (last_at, last) = points[points.len() - 1];
            let mut s = format!(
                "{} period(s) with data ({scope}): lowest {min}, highest {max}, average {avg:.3}, latest {last} at {}",
                points.len(),
                last_at.strftime("%H:%M UTC")
            );
            if let (Some(n), Some(t), Some(op)) = (breaching, threshold, operator) {
                s.push_str(&format!("; {n} of {} period(s) breach {op:?} {t}", points.len()));
            }
            s
        };
        Ok(json!({
            "Datapoints": points.iter().map(|(t, v)| json!({"Timestamp": t, "Value": v})).collect::<Vec<_>>(),
            "Count": points.len(),
            "Latest": points.last().map(|p| p.1),
            "Breaching": breaching,
            "Summary": summary,
        }))
    }

    async fn incident_action(&self, action: &str, incident: &str, inputs: &Value) -> Outcome {
        let now = self.now();
        let actor = "runbook";
        let done = |result: Value| Outcome::Done { result, log: String::new() };
        let fail = |message: String| Outcome::Failed { message, log: String::new() };
        match action {
            "muster:timelineEvent" => {
                let message = text(inputs, "Message").unwrap_or_default();
                match prepare_user_event(
                    text(inputs, "EventType").as_deref(),
                    &message,
                    None,
                    inputs.get("Data").cloned().unwrap_or(Value::Null),
                    actor,
                    now,
                ) {
                    Ok(e) => match self.store.add_timeline_event(incident, e).await {
                        Ok(_) => done(json!({"Added": true})),
                        Err(e) => fail(e.to_string()),
                    },
                    Err(e) => fail(e.to_string()),
                }
            }
            "muster:relatedItem" => {
                let kind = text(inputs, "Type").unwrap_or_else(|| "other".into()).parse::<RelatedItemKind>();
                let item = kind.and_then(|k| {
                    prepare_related_item(
                        incident,
                        k,
                        text(inputs, "Title").as_deref(),
                        &text(inputs, "Value").unwrap_or_default(),
                        actor,
                        now,
                    )
                });
                match item {
                    Ok(i) => match self.store.add_related_item(&i).await {
                        Ok(()) | Err(muster_store::StoreError::Conflict(_)) => done(json!({"Added": true})),
                        Err(e) => fail(e.to_string()),
                    },
                    Err(e) => fail(e.to_string()),
                }
            }
            _ => {
                let impact = inputs
                    .get("Impact")
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
                    .map(muster_core::incident::Impact::try_from);
                let impact = match impact.transpose() {
                    Ok(i) => i,
                    Err(e) => return fail(e.to_string()),
                };
                let status = match text(inputs, "Status").map(|s| s.parse::<IncidentStatus>()).transpose() {
                    Ok(s) => s,
                    Err(e) => return fail(e.to_string()),
                };
                let patch = IncidentPatch { impact, status, ..Default::default() };
                match self.store.update_incident(incident, &patch, actor, now).await {
                    Ok(Some((i, _))) => done(json!({"Impact": i.impact, "Status": i.status})),
                    Ok(None) => fail("the incident is gone".into()),
                    Err(e) => fail(e.to_string()),
                }
            }
        }
    }

    fn variables(&self, exec: &Execution) -> Variables {
        let mut values = std::collections::BTreeMap::new();
        if let Some(params) = exec.parameters.as_object() {
            for (k, v) in params {
                values.insert(k.clone(), v.clone());
            }
        }
        for run in &exec.steps {
            if let Some(outs) = run.outputs.as_object() {
                for (k, v) in outs {
                    values.insert(format!("{}.{k}", run.name), v.clone());
                }
            }
        }
        let now = self.now();
        values.insert("global:DATE_TIME".into(), json!(now.strftime("%Y-%m-%d_%H.%M.%S").to_string()));
        values.insert("global:DATE".into(), json!(now.strftime("%Y-%m-%d").to_string()));
        values.insert("global:ACCOUNT_ID".into(), json!("000000000000"));
        values.insert("global:REGION".into(), json!("local"));
        values.insert("automation:EXECUTION_ID".into(), json!(exec.id));
        values.insert("automation:DOCUMENT_NAME".into(), json!(exec.runbook));
        if let Some(i) = &exec.incident_id {
            values.insert("automation:INCIDENT_ID".into(), json!(i));
        }
        for (k, v) in &self.config.secrets {
            values.insert(format!("secret:{k}"), json!(v));
        }
        Variables { values }
    }

    pub(crate) async fn run_step(
        &self,
        job: &Job,
        execution_id: &str,
        step_name: &str,
        resume: bool,
    ) -> Result<(), EngineError> {
        let Some(exec) = self.store.get_execution(execution_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let Some(doc) = exec.document.clone() else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        if exec.status != ExecutionStatus::InProgress {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        }
        let now = self.now();
        let Some(idx) = doc.step_index(step_name) else {
            let change = ExecutionChange {
                id: exec.id.clone(),
                step: None,
                status: Some(ExecutionStatus::Failed),
                outputs: None,
                failure: Some(format!("there is no step {step_name}")),
                ended_at: Some(now),
            };
            self.finish(job, Effects { execution: Some(change), ..Effects::default() }).await?;
            return Ok(());
        };
        let step = &doc.main_steps[idx];
        // A resumed step finishes its own run; a new run gets the next number.
        let previous = exec
            .steps
            .iter()
            .rev()
            .find(|r| r.name == step.name && matches!(r.status, StepStatus::InProgress | StepStatus::Waiting))
            .cloned();
        let (seq, started, approvals, prior_inputs) = match (&previous, resume) {
            (Some(p), true) => (p.seq, p.started_at, p.approvals.clone(), Some(p.inputs.clone())),
            _ => (exec.steps.len() as u32, now, vec![], None),
        };
        let attempts =
            1 + exec.steps.iter().rev().take_while(|r| r.name == step.name && r.status == StepStatus::Failed).count()
                as u32;
        let vars = self.variables(&exec);
        let inputs = prior_inputs.unwrap_or_else(|| {
            let mut resolved = vars.resolve(&step.inputs);
            // Script text is code: it is never resolved, so no parameter is spliced into it.
            if SCRIPT_ACTIONS.contains(&step.action.as_str())
                && let (Some(obj), Some(raw)) = (resolved.as_object_mut(), step.inputs.get("Script"))
            {
                obj.insert("Script".into(), raw.clone());
            }
            resolved
        });
        let outcome = self.act(&exec, step, &inputs, resume, &approvals).await;
        let now = self.now();
        let mut run = StepRun {
            seq,
            name: step.name.clone(),
            action: step.action.clone(),
            status: StepStatus::InProgress,
            inputs: inputs.clone(),
            outputs: json!({}),
            log: String::new(),
            failure: None,
            attempts,
            approvals,
            started_at: started,
            ended_at: None,
        };
        let mut change = ExecutionChange {
            id: exec.id.clone(),
            step: None,
            status: None,
            outputs: None,
            failure: None,
            ended_at: None,
        };
        let mut fx = Effects::default();
        let next_in_order = |i: usize| doc.main_steps.get(i + 1).map(|s| s.name.clone());
        let next: Option<Option<String>>; // Some(next step or None = end); None = not moving on
        match outcome {
            Outcome::Sleep(until) => {
                fx.jobs.push(NewJob::at(
                    Task::RunStep { execution_id: exec.id.clone(), step: step.name.clone(), resume: true },
                    until,
                ));
                run.outputs = json!({"Until": until});
                next = None;
            }
            Outcome::Wait => {
                run.status = StepStatus::Waiting;
                change.status = Some(ExecutionStatus::Waiting);
                // Tell whoever must answer, through the topic the step names (as SNS notifications do).
                if let Some(topic) = text(&inputs, "NotificationArn") {
                    let message = text(&inputs, "Message").unwrap_or_default();
                    fx.jobs.push(NewJob::at(
                        Task::Publish {
                            approval: (step.action == "aws:approve").then(|| exec.id.clone()),
                            incident_id: exec.incident_id.clone(),
                            target: topic,
                            subject: format!("Approval needed: runbook {} step {}", exec.runbook, step.name),
                            text: format!("{message}\nAnswer with: muster runbook approve {} (or reject)", exec.id)
                                .trim()
                                .to_string(),
                        },
                        now,
                    ));
                }
                next = None;
            }
            Outcome::Done { result, log } => {
                run.status = StepStatus::Success;
                run.log = log;
                run.outputs = outputs_of(step, &result);
                run.ended_at = Some(now);
                next = Some(if step.is_end { None } else { step.next_step.clone().or_else(|| next_in_order(idx)) });
            }
            Outcome::Branch(target) => {
                run.status = StepStatus::Success;
                run.outputs = json!({"NextStep": target});
                run.ended_at = Some(now);
                next = Some(target);
            }
            Outcome::Failed { message, log } => {
                run.status = StepStatus::Failed;
                run.log = log;
                run.failure = Some(message.clone());
                run.ended_at = Some(now);
                if attempts < step.max_attempts {
                    fx.jobs.push(NewJob::at(
                        Task::RunStep { execution_id: exec.id.clone(), step: step.name.clone(), resume: false },
                        now,
                    ));
                    next = None;
                } else {
                    let policy = if step.is_critical { step.on_failure.clone() } else { OnFailure::Continue };
                    match policy {
                        OnFailure::Abort => {
                            change.status = Some(ExecutionStatus::Failed);
                            change.failure = Some(format!("step {} failed: {message}", step.name));
                            change.ended_at = Some(now);
                            next = None;
                        }
                        OnFailure::Continue => {
                            next = Some(if step.is_end {
                                None
                            } else {
                                step.next_step.clone().or_else(|| next_in_order(idx))
                            })
                        }
                        OnFailure::Step(target) => next = Some(Some(target)),
                    }
                }
            }
        }
        if let Some(next) = next {
            match next {
                Some(target) => fx.jobs.push(NewJob::at(
                    Task::RunStep { execution_id: exec.id.clone(), step: target, resume: false },
                    now,
                )),
                None => {
                    change.status = Some(ExecutionStatus::Success);
                    change.ended_at = Some(now);
                    let mut outs = Map::new();
                    let mut known: Vec<&StepRun> = exec.steps.iter().collect();
                    known.push(&run);
                    for name in &doc.outputs {
                        if let Some((s, o)) = name.split_once('.')
                            && let Some(v) = known.iter().rev().find(|r| r.name == s).and_then(|r| r.outputs.get(o))
                        {
                            outs.insert(name.clone(), v.clone());
                        }
                    }
                    change.outputs = Some(Value::Object(outs));
                }
            }
        }
        self.redact(&mut run);
        if let Some(incident) = &exec.incident_id {
            let described = match run.status {
                StepStatus::Success => Some(format!("Runbook {} step {} succeeded", exec.runbook, step.name)),
                StepStatus::Failed => Some(format!(
                    "Runbook {} step {} failed: {}",
                    exec.runbook,
                    step.name,
                    run.failure.clone().unwrap_or_default()
                )),
                StepStatus::Waiting => Some(format!("Runbook {} step {} waits for approval", exec.runbook, step.name)),
                _ => None,
            };
            if let Some(message) = described {
                let data = json!({"executionId": exec.id, "step": step.name, "status": run.status});
                fx.events.push((incident.clone(), NewEvent::new("runbook.step", "muster", message, data, now)));
            }
            if let Some(end) = change.status.filter(|s| matches!(s, ExecutionStatus::Success | ExecutionStatus::Failed))
            {
                let message = format!(
                    "Runbook {} {}",
                    exec.runbook,
                    if end == ExecutionStatus::Success { "succeeded" } else { "failed" }
                );
                fx.events.push((
                    incident.clone(),
                    NewEvent::new("runbook.finished", "muster", message, json!({"executionId": exec.id}), now),
                ));
            }
        }
        change.step = Some(run);
        fx.execution = Some(change);
        self.finish(job, fx).await?;
        Ok(())
    }
}

impl Engine {
    /// Replaces every configured secret's value in what a step run shows.
    fn redact(&self, run: &mut StepRun) {
        let secrets: Vec<&String> = self.config.secrets.values().filter(|v| v.len() >= 4).collect();
        if secrets.is_empty() {
            return;
        }
        let scrub =
            |text: &str| secrets.iter().fold(text.to_string(), |acc, secret| acc.replace(secret.as_str(), "****"));
        fn walk(v: &mut Value, scrub: &dyn Fn(&str) -> String) {
            match v {
                Value::String(s) => *s = scrub(s),
                Value::Array(a) => a.iter_mut().for_each(|x| walk(x, scrub)),
                Value::Object(m) => m.values_mut().for_each(|x| walk(x, scrub)),
                _ => {}
            }
        }
        walk(&mut run.inputs, &scrub);
        walk(&mut run.outputs, &scrub);
        run.log = scrub(&run.log);
        run.failure = run.failure.as_deref().map(scrub);
    }
}

/// A step's outputs: its action's own (the result's top-level fields, as `ApprovalStatus` or
/// `Payload`), then the document's named outputs by selector; a missing one is left out.
fn outputs_of(step: &Step, result: &Value) -> Value {
    let mut out = match result {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for o in &step.outputs {
        if let Some(v) = select(result, &o.selector) {
            out.insert(o.name.clone(), v);
        }
    }
    Value::Object(out)
}
