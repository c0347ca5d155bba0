//! Black-box tests: a real server on a random port and a fresh database, over real HTTP, on both
//! backends.

use muster_server::{Application, Config};
use muster_store::Backend;
use muster_store::testing::fresh_url;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ADMIN: &str = "test-admin-token-0123456789";
/// Links in messages start here; tests swap in the server's real address.
const PUBLIC: &str = "http://muster.test";

struct TestApp {
    base: String,
    http: reqwest::Client,
}

impl TestApp {
    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request reaches the server");
        let status = res.status();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call(method, path, Some(ADMIN), body).await
    }

    async fn token(&self, role: &str) -> String {
        let (status, v) = self.admin(Method::POST, "/api/v1/tokens", Some(json!({"name": role, "role": role}))).await;
        assert_eq!(status, StatusCode::CREATED);
        v["secret"].as_str().expect("secret").to_string()
    }
}

async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    // Quiet unless asked: MUSTER_TEST_LOG=debug (a tracing filter) shows the server's logs.
    if let Ok(filter) = std::env::var("MUSTER_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
    let url = fresh_url(backend).await?;
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_token: Some(ADMIN.into()),
        body_limit: 64 * 1024,
        public_url: Some(PUBLIC.into()),
        ..Config::default()
    };
    adjust(&mut config);
    let app = Application::build(config).await.expect("server builds");
    let base = format!("http://{}", app.address().expect("bound"));
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Some(TestApp { base, http: reqwest::Client::new() })
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = super::spawn_app(muster_store::Backend::Sqlite).await {
                    super::$name(app).await;
                }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = super::spawn_app(muster_store::Backend::Postgres).await {
                    super::$name(app).await;
                }
            })*
        }
    };
}

both_backends!(
    health_ready_metrics_and_openapi,
    tokens_and_roles_are_enforced,
    incident_lifecycle_over_http,
    bad_input_names_the_field,
    oversized_bodies_get_413,
    fifty_concurrent_http_starts_make_one_incident,
    stacks_from_cloudformation,
    response_plans_crud,
    contacts_rotations_and_who_is_on_call,
    channel_activation_through_a_real_webhook,
    calendars_parse_and_need_their_secret,
    on_call_objects_from_a_template,
    paging_and_acknowledgements,
    separate_plans_from_a_template,
    runbooks_script_branch_approval_sleep,
    runbook_parameters_are_only_data,
    response_plans_start_their_runbooks,
    the_built_in_runbooks_do_real_work,
    a_scripts_children_end_with_it,
    changes_are_audited,
    rules_and_events_open_incidents,
    alertmanager_alerts_and_silences,
    pagerduty_events_v2,
    sns_grafana_and_generic,
    heartbeats_over_http,
    escalation_plans_are_a_collection,
);

async fn health_ready_metrics_and_openapi(app: TestApp) {
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.0, StatusCode::OK);
    assert_eq!(app.call(Method::GET, "/readyz", None, None).await.0, StatusCode::OK);
    app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "m", "impact": 4}))).await;
    let (status, metrics) = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let metrics = metrics.as_str().expect("text");
    assert!(metrics.contains("muster_incident_starts_total{outcome=\"created\"} 1"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/incidents\""));
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/incidents"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/stacks/{name}"]["put"].is_object());
    assert!(doc["components"]["schemas"]["Incident"].is_object());
    let (status, body) = app.call(Method::GET, "/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = app.admin(Method::DELETE, "/api/v1/incidents", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

async fn tokens_and_roles_are_enforced(app: TestApp) {
    let (status, body) = app.call(Method::GET, "/api/v1/incidents", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(app.call(Method::GET, "/api/v1/incidents", Some("mst_wrong"), None).await.0, StatusCode::UNAUTHORIZED);

    let viewer = app.token("viewer").await;
    let responder = app.token("responder").await;
    assert_eq!(app.call(Method::GET, "/api/v1/incidents", Some(&viewer), None).await.0, StatusCode::OK);
    let start = json!({"title": "x", "impact": 3});
    assert_eq!(
        app.call(Method::POST, "/api/v1/incidents", Some(&viewer), Some(start.clone())).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, inc) = app.call(Method::POST, "/api/v1/incidents", Some(&responder), Some(start)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(inc["roles"]["reporter"], "responder", "the reporter is whoever started it");
    assert_eq!(app.call(Method::GET, "/api/v1/tokens", Some(&responder), None).await.0, StatusCode::FORBIDDEN);

    let (_, list) = app.admin(Method::GET, "/api/v1/tokens", None).await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(
        items.iter().all(|t| t.get("tokenHash").is_none() && t.get("secret").is_none()),
        "hashes and secrets never leave"
    );
    let viewer_id =
        items.iter().find(|t| t["name"] == "viewer").expect("viewer")["id"].as_str().expect("id").to_string();
    assert_eq!(app.admin(Method::DELETE, &format!("/api/v1/tokens/{viewer_id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, "/api/v1/incidents", Some(&viewer), None).await.0, StatusCode::UNAUTHORIZED);
}

async fn incident_lifecycle_over_http(app: TestApp) {
    let start = json!({"title": "API errors", "impact": 2, "dedupeString": "api-5xx", "tags": {"service": "api"},
                       "trigger": {"source": "test", "details": {"rate": 0.2}}});
    let (status, first) = app.admin(Method::POST, "/api/v1/incidents", Some(start.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["outcome"], "created");
    for field in [
        "id",
        "number",
        "title",
        "impact",
        "status",
        "summary",
        "dedupeString",
        "responsePlan",
        "createdAt",
        "resolvedAt",
        "triggerCount",
    ] {
        assert!(first.get(field).is_some(), "incident JSON has {field}");
    }
    let (status, second) = app.admin(Method::POST, "/api/v1/incidents", Some(start.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second["outcome"], "deduplicated");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["triggerCount"], 2);

    let id = first["id"].as_str().expect("id");
    let (status, note) = app
        .admin(Method::POST, &format!("/api/v1/incidents/{id}/timeline"), Some(json!({"message": "restarting pods"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(note["eventType"], "note");
    assert_eq!(note["actor"], "admin");
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/incidents/{id}/related-items"),
            Some(json!({"type": "link", "title": "dash", "value": "https://grafana/d/1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // A resolution whose note is refused resolves nothing.
    let (status, err) =
        app.admin(Method::PATCH, "/api/v1/incidents/1", Some(json!({"status": "RESOLVED", "note": "  "}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "note");
    assert_eq!(app.admin(Method::GET, "/api/v1/incidents/1", None).await.1["status"], "OPEN");
    let (status, resolved) = app
        .admin(
            Method::PATCH,
            "/api/v1/incidents/1",
            Some(json!({"status": "RESOLVED", "impact": 3, "note": "rolled back deploy 4812"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resolved["status"], "RESOLVED");
    assert!(resolved["resolvedAt"].is_string());
    let (_, timeline) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}/timeline"), None).await;
    let types: Vec<&str> =
        timeline["items"].as_array().expect("items").iter().map(|e| e["eventType"].as_str().unwrap_or("")).collect();
    assert_eq!(
        types,
        [
            "incident.started",
            "incident.triggered",
            "note",
            "related-item.added",
            "note",
            "incident.impact-changed",
            "incident.resolved"
        ]
    );
    assert!(timeline.to_string().contains("rolled back deploy 4812"));

    let (status, third) = app.admin(Method::POST, "/api/v1/incidents", Some(start)).await;
    assert_eq!(status, StatusCode::CREATED, "a resolved incident is not reopened by dedupe");
    assert_eq!(third["number"], 2);

    let (_, open) = app.admin(Method::GET, "/api/v1/incidents?status=OPEN", None).await;
    assert_eq!(open["items"].as_array().expect("items").len(), 1);
    let (_, resolved_list) = app.admin(Method::GET, "/api/v1/incidents?status=RESOLVED", None).await;
    assert_eq!(resolved_list["items"][0]["number"], 1);
    let (_, page) = app.admin(Method::GET, "/api/v1/incidents?limit=1", None).await;
    assert_eq!(page["items"][0]["number"], 2);
    let next = page["nextToken"].as_str().expect("more");
    let (_, page2) = app.admin(Method::GET, &format!("/api/v1/incidents?limit=1&nextToken={next}"), None).await;
    assert_eq!(page2["items"][0]["number"], 1);
    assert!(page2["nextToken"].is_null());

    let (status, reopened) =
        app.admin(Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"status": "OPEN"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "reopening beside an open twin: {reopened}");
    assert_eq!(reopened["error"]["field"], "status");

    let (status, replay1) = app
        .admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "t", "impact": 5, "clientToken": "abc"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, replay2) = app
        .admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "t", "impact": 5, "clientToken": "abc"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay2["outcome"], "replayed");
    assert_eq!(replay1["id"], replay2["id"]);
    assert_eq!(app.admin(Method::GET, "/api/v1/incidents/999", None).await.0, StatusCode::NOT_FOUND);
}

async fn bad_input_names_the_field(app: TestApp) {
    let cases = [
        (json!({"title": "x", "impact": 9}), "impact"),
        (json!({"title": "x", "impact": "high"}), "impact"),
        (json!({"impact": 2}), "title"),
        (json!({"title": "x"}), "impact"),
        (json!({"title": "x", "impact": 2, "colour": "red"}), "colour"),
        (json!({"title": "x", "impact": 2, "responsePlan": "missing"}), "responsePlan"),
        (json!({"title": "   ", "impact": 2}), "title"),
        (json!({"title": "x", "impact": 2, "tags": {"k": 5}}), "tags.k"),
    ];
    for (body, field) in cases {
        let (status, err) = app.admin(Method::POST, "/api/v1/incidents", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(err["error"]["field"], field, "{body} → {err}");
        assert_eq!(err["error"]["code"], "invalid");
    }
    let (status, err) = app
        .http
        .post(format!("{}/api/v1/incidents", app.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .map(|r| (r.status(), r))
        .expect("sent");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let err: Value = err.json().await.expect("json error");
    assert!(err["error"]["message"].as_str().expect("message").contains("not valid JSON"));
    let (_, list) = app.admin(Method::GET, "/api/v1/incidents", None).await;
    assert!(list["items"].as_array().expect("items").is_empty(), "nothing half-written");
    let (status, err) = app.admin(Method::GET, "/api/v1/incidents?status=CLOSED", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "status");
}

async fn oversized_bodies_get_413(app: TestApp) {
    let big = "x".repeat(100 * 1024);
    let (status, err) =
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "x", "impact": 2, "summary": big}))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err["error"]["code"], "payload_too_large");
}

async fn fifty_concurrent_http_starts_make_one_incident(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.admin(
                Method::POST,
                "/api/v1/incidents",
                Some(json!({"title": format!("storm {i}"), "impact": 1, "dedupeString": "storm"})),
            )
            .await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert!(status.is_success(), "{body}");
        if body["outcome"] == "created" {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let (_, list) = app.admin(Method::GET, "/api/v1/incidents", None).await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["triggerCount"], 50);
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Service:
    Type: String
    AllowedPattern: "[a-z-]+"
  Env:
    Type: String
    Default: staging
    AllowedValues: [staging, prod]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Plan:
    Type: AWS::SSMIncidents::ResponsePlan
    Properties:
      Name: !Sub "${Service}-outage"
      DisplayName: !Join [" ", [!Ref Service, outage]]
      IncidentTemplate:
        Title: !Sub "${Service} is down"
        Impact: !If [IsProd, 1, 3]
        Summary: !If [IsProd, "Customers affected", !Ref AWS::NoValue]
        DedupeString: !Sub "${Service}-down"
        IncidentTags:
          - Key: service
            Value: !Ref Service
  Replication:
    Type: AWS::SSMIncidents::ReplicationSet
    Properties:
      Regions: []
Outputs:
  PlanArn:
    Value: !Ref Plan
"#;

async fn stacks_from_cloudformation(app: TestApp) {
    let put =
        |params: Value, dry: bool, template: &str| json!({"template": template, "parameters": params, "dryRun": dry});
    // A dry run reports and writes nothing.
    let (status, dry) =
        app.admin(Method::PUT, "/api/v1/stacks/web", Some(put(json!({"Service": "web"}), true, TEMPLATE))).await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["changes"][0]["action"], "create");
    assert_eq!(app.admin(Method::GET, "/api/v1/stacks/web", None).await.0, StatusCode::NOT_FOUND);

    let (status, applied) =
        app.admin(Method::PUT, "/api/v1/stacks/web", Some(put(json!({"Service": "web"}), false, TEMPLATE))).await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["changed"], true);
    assert_eq!(applied["outputs"]["PlanArn"], "arn:aws:ssm-incidents::000000000000:response-plan/web-outage");
    assert!(
        applied["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains("ReplicationSet"))
    );

    let (_, again) =
        app.admin(Method::PUT, "/api/v1/stacks/web", Some(put(json!({"Service": "web"}), false, TEMPLATE))).await;
    assert_eq!(again["changed"], false, "re-applying the same template changes nothing: {again}");

    // The plan drives incident starts.
    let (status, inc) = app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "web-outage"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{inc}");
    assert_eq!(inc["title"], "web is down");
    assert_eq!(inc["impact"], 3);
    assert_eq!(inc["dedupeString"], "web-down");
    assert_eq!(inc["tags"]["service"], "web");
    assert_eq!(inc["responsePlan"]["name"], "web-outage");

    // A changed parameter updates the plan in place.
    let (_, prod) = app
        .admin(Method::PUT, "/api/v1/stacks/web", Some(put(json!({"Service": "web", "Env": "prod"}), false, TEMPLATE)))
        .await;
    let actions: Vec<&str> =
        prod["changes"].as_array().expect("changes").iter().map(|c| c["action"].as_str().unwrap_or("")).collect();
    assert_eq!(actions, ["update", "unchanged"]);
    let (_, plan) = app.admin(Method::GET, "/api/v1/response-plans/web-outage", None).await;
    assert_eq!(plan["incidentTemplate"]["impact"], 1);
    assert_eq!(plan["stack"], "web");
    assert_eq!(app.admin(Method::DELETE, "/api/v1/response-plans/web-outage", None).await.0, StatusCode::CONFLICT);

    // Refusals name what is wrong and write nothing.
    let (status, err) =
        app.admin(Method::PUT, "/api/v1/stacks/other", Some(put(json!({"Service": "Web!"}), false, TEMPLATE))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "Parameters.Service");
    let unknown = TEMPLATE.replace("Outputs:", "  Queue:\n    Type: AWS::SQS::Queue\nOutputs:");
    let (status, err) =
        app.admin(Method::PUT, "/api/v1/stacks/other", Some(put(json!({"Service": "api"}), false, &unknown))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "Resources.Queue.Type");
    assert!(err["error"]["message"].as_str().expect("message").contains("AWS::SQS::Queue"));
    assert_eq!(app.admin(Method::GET, "/api/v1/stacks/other", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.admin(Method::GET, "/api/v1/response-plans/api-outage", None).await.0, StatusCode::NOT_FOUND);
    let mut skip = put(json!({"Service": "api"}), false, &unknown);
    skip["skipUnsupported"] = json!(true);
    let (status, skipped) = app.admin(Method::PUT, "/api/v1/stacks/other", Some(skip)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(skipped["skipped"][0]["logicalId"], "Queue");
    // The same plan name from another stack is a conflict, and nothing of that stack is written.
    let (status, err) =
        app.admin(Method::PUT, "/api/v1/stacks/third", Some(put(json!({"Service": "web"}), false, TEMPLATE))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "Resources.Plan.Properties.Name");
    assert_eq!(app.admin(Method::GET, "/api/v1/stacks/third", None).await.0, StatusCode::NOT_FOUND);

    // Deleting the stack removes what it made; incidents keep their record.
    let (status, deleted) = app.admin(Method::DELETE, "/api/v1/stacks/web", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["deleted"].as_array().expect("deleted").len(), 2);
    assert_eq!(app.admin(Method::GET, "/api/v1/response-plans/web-outage", None).await.0, StatusCode::NOT_FOUND);
    let (_, kept) = app.admin(Method::GET, "/api/v1/incidents/1", None).await;
    assert_eq!(kept["responsePlan"]["name"], "web-outage");
}

async fn response_plans_crud(app: TestApp) {
    let spec = json!({"name": "db", "incidentTemplate": {"title": "DB down", "impact": 2, "dedupeString": "db"}});
    let (status, created) = app.admin(Method::POST, "/api/v1/response-plans", Some(spec.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(app.admin(Method::POST, "/api/v1/response-plans", Some(spec)).await.0, StatusCode::CONFLICT);
    let (status, err) = app
        .admin(
            Method::POST,
            "/api/v1/response-plans",
            Some(json!({"name": "x", "incidentTemplate": {"title": "t", "impact": 0}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "incidentTemplate.impact");
    let responder = app.token("responder").await;
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/response-plans/db",
            Some(&responder),
            Some(json!({"name": "db", "incidentTemplate": {"title": "t", "impact": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, replaced) = app
        .admin(
            Method::PUT,
            "/api/v1/response-plans/db",
            Some(json!({"name": "db", "incidentTemplate": {"title": "DB is down", "impact": 1}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replaced["id"], created["id"]);
    let (_, inc) = app
        .call(Method::POST, "/api/v1/incidents", Some(&responder), Some(json!({"responsePlan": "db", "impact": 4})))
        .await;
    assert_eq!(inc["title"], "DB is down");
    assert_eq!(inc["impact"], 4, "the request wins over the template");
    assert_eq!(app.admin(Method::DELETE, "/api/v1/response-plans/db", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.admin(Method::GET, "/api/v1/response-plans", None).await.1["items"], json!([]));
}

async fn escalation_plans_are_a_collection(app: TestApp) {
    people(&app, &["ann", "bob"]).await;
    let plan = json!({"alias": "db-escalation", "displayName": "Database escalation", "plan": {"stages": [
        {"durationSeconds": 300, "targets": [{"contact": "ann"}]}, {"targets": [{"contact": "bob"}]}]}});
    let (status, created) = app.admin(Method::POST, "/api/v1/escalation-plans", Some(plan.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["type"], "ESCALATION");
    // The same object as a contact, and the only one of the three in this collection.
    let (_, list) = app.admin(Method::GET, "/api/v1/escalation-plans", None).await;
    let aliases: Vec<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|c| c["alias"].as_str()).collect();
    assert_eq!(aliases, ["db-escalation"]);
    assert_eq!(app.admin(Method::GET, "/api/v1/contacts/db-escalation", None).await.1["type"], "ESCALATION");
    assert_eq!(app.admin(Method::GET, "/api/v1/escalation-plans/ann", None).await.0, StatusCode::NOT_FOUND);
    // Bad stages name the field; a person cannot be replaced through this collection.
    let bad = json!({"alias": "db-escalation", "plan": {"stages": []}});
    let (status, err) = app.admin(Method::PUT, "/api/v1/escalation-plans/db-escalation", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "plan.stages");
    let (status, err) = app.admin(Method::PUT, "/api/v1/escalation-plans/ann", Some(plan.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["field"], "alias");
    // A PUT that would create under another name than its path's is refused.
    let elsewhere = json!({"alias": "other-escalation", "plan": {"stages": [{"targets": [{"contact": "bob"}]}]}});
    let (status, err) = app.admin(Method::PUT, "/api/v1/escalation-plans/new-escalation", Some(elsewhere)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "alias");
    assert_eq!(app.admin(Method::GET, "/api/v1/contacts/other-escalation", None).await.0, StatusCode::NOT_FOUND);
    // Replaced: one stage now.
    let one = json!({"alias": "db-escalation", "plan": {"stages": [{"targets": [{"contact": "bob"}]}]}});
    let (status, replaced) = app.admin(Method::PUT, "/api/v1/escalation-plans/db-escalation", Some(one)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["plan"]["stages"].as_array().map(Vec::len), Some(1));
    // Engaged like any contact: the plan pages its first stage.
    let (status, engaged) = app
        .admin(Method::POST, "/api/v1/engagements", Some(json!({"contact": "db-escalation", "subject": "Replica lag"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{engaged}");
    assert_eq!(app.admin(Method::DELETE, "/api/v1/escalation-plans/ann", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.admin(Method::DELETE, "/api/v1/escalation-plans/db-escalation", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.admin(Method::GET, "/api/v1/contacts/ann", None).await.0, StatusCode::OK, "people stay");
}

async fn people(app: &TestApp, aliases: &[&str]) {
    for a in aliases {
        let (status, body) = app
            .admin(
                Method::POST,
                "/api/v1/contacts",
                Some(json!({"alias": a, "displayName": a.to_uppercase(), "timeZone": "Europe/Rome"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

fn weekly_rotation(name: &str, members: &[&str]) -> Value {
    json!({
        "name": name,
        "members": members,
        "start": "2026-11-02T08:00:00Z",
        "timeZone": "Europe/Rome",
        "recurrence": {"weekly": [{"day": "MON", "at": "09:00"}]},
        "coverage": {
            "MON": [{"start": "09:00", "end": "17:00"}], "TUE": [{"start": "09:00", "end": "17:00"}],
            "WED": [{"start": "09:00", "end": "17:00"}], "THU": [{"start": "09:00", "end": "17:00"}],
            "FRI": [{"start": "09:00", "end": "17:00"}]
        }
    })
}

async fn contacts_rotations_and_who_is_on_call(app: TestApp) {
    people(&app, &["ann", "bob", "cy"]).await;
    let (status, err) =
        app.admin(Method::POST, "/api/v1/rotations", Some(weekly_rotation("biz", &["ann", "zed"]))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "members[1]");
    let mut bad = weekly_rotation("biz", &["ann"]);
    bad["timeZone"] = json!("Mars/Base");
    let (status, err) = app.admin(Method::POST, "/api/v1/rotations", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "timeZone");
    let (status, created) =
        app.admin(Method::POST, "/api/v1/rotations", Some(weekly_rotation("biz", &["ann", "bob"]))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(
        created["calendarUrl"]
            .as_str()
            .expect("url")
            .starts_with("http://muster.test/api/v1/rotations/biz/calendar.ics?token=")
    );

    let on_call = |at: &'static str| {
        let app = &app;
        async move { app.admin(Method::GET, &format!("/api/v1/rotations/biz/on-call?at={at}"), None).await.1 }
    };
    assert_eq!(on_call("2026-11-02T10:00:00Z").await["contacts"], json!([{"alias": "ann"}]));
    assert_eq!(on_call("2026-11-09T10:00:00Z").await["contacts"], json!([{"alias": "bob"}]));
    assert_eq!(on_call("2026-11-07T10:00:00Z").await["contacts"], json!([]), "nobody on Saturday");
    assert_eq!(on_call("2026-11-03T18:00:00Z").await["contacts"], json!([]), "nobody after hours");
    let (status, err) = app.admin(Method::GET, "/api/v1/rotations/biz/on-call?at=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "at");

    let (status, shifts) = app
        .admin(Method::GET, "/api/v1/rotations/biz/shifts?from=2026-11-02T00:00:00Z&to=2026-11-09T00:00:00Z", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let shifts = shifts.as_array().expect("a list of shifts");
    assert_eq!(shifts.len(), 5, "Monday to Friday");
    assert_eq!(shifts[0]["start"], "2026-11-02T08:00:00Z");
    assert_eq!(shifts[0]["end"], "2026-11-02T16:00:00Z");
    assert_eq!(shifts[0]["contacts"], json!(["ann"]));

    // Cy covers Ann's Tuesday afternoon.
    let (status, o) = app
        .admin(
            Method::POST,
            "/api/v1/rotations/biz/overrides",
            Some(json!({"contacts": ["cy"], "start": "2026-11-03T12:00:00Z", "end": "2026-11-03T14:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let oc = on_call("2026-11-03T13:00:00Z").await;
    assert_eq!(oc["contacts"], json!([{"alias": "cy"}]));
    assert_eq!(oc["overridden"], true);
    let (_, tuesday) = app
        .admin(Method::GET, "/api/v1/rotations/biz/shifts?from=2026-11-03T00:00:00Z&to=2026-11-04T00:00:00Z", None)
        .await;
    let flags: Vec<(bool, Value)> =
        tuesday.as_array().expect("list").iter().map(|x| (x["overridden"] == true, x["contacts"].clone())).collect();
    assert_eq!(flags, [(false, json!(["ann"])), (true, json!(["cy"])), (false, json!(["ann"]))]);
    let (status, err) = app
        .admin(
            Method::POST,
            "/api/v1/rotations/biz/overrides",
            Some(json!({"contacts": ["cy"], "start": "2026-11-03T14:00:00Z", "end": "2026-11-03T12:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "end");

    // A contact's own shifts, and an on-call-schedule contact.
    let (_, mine) = app
        .admin(Method::GET, "/api/v1/contacts/cy/shifts?from=2026-11-01T00:00:00Z&to=2026-11-30T00:00:00Z", None)
        .await;
    let mine = mine.as_array().expect("list");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["rotation"], "biz");
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/v1/contacts",
            Some(json!({"alias": "biz-oncall", "type": "ONCALL_SCHEDULE", "rotations": ["biz"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, sched) = app.admin(Method::GET, "/api/v1/contacts/biz-oncall/on-call?at=2026-11-09T10:00:00Z", None).await;
    assert_eq!(sched["contacts"], json!([{"alias": "bob"}]));
    let (_, everyone) = app.admin(Method::GET, "/api/v1/on-call?at=2026-11-09T10:00:00Z", None).await;
    assert_eq!(everyone["items"][0]["rotation"], "biz");

    // A preview needs no saved rotation and no saved members.
    let mut preview = weekly_rotation("draft", &["x", "y"]);
    preview["coverage"] = json!({});
    let (status, shifts) = app
        .admin(
            Method::POST,
            "/api/v1/rotations/preview",
            Some(json!({"rotation": preview, "from": "2026-11-02T08:00:00Z", "to": "2026-11-23T08:00:00Z"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shifts}");
    let who: Vec<Value> = shifts.as_array().expect("list").iter().map(|x| x["contacts"][0].clone()).collect();
    assert_eq!(who, [json!("x"), json!("y"), json!("x")]);

    assert_eq!(
        app.admin(Method::DELETE, "/api/v1/contacts/ann", None).await.0,
        StatusCode::CONFLICT,
        "ann is in a rotation"
    );
    let viewer = app.token("viewer").await;
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/rotations/biz/overrides",
            Some(&viewer),
            Some(json!({"contacts": ["cy"], "start": "2026-11-03T14:00:00Z", "end": "2026-11-03T15:00:00Z"}))
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

/// A local HTTP receiver that records what it is sent.
async fn receiver() -> (String, std::sync::Arc<tokio::sync::Mutex<Vec<(axum::http::HeaderMap, Value)>>>) {
    let got = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().await.push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

async fn channel_activation_through_a_real_webhook(app: TestApp) {
    people(&app, &["ann"]).await;
    let (url, got) = receiver().await;
    let responder = app.token("responder").await;
    // Added by the person themself: it waits for a code.
    let (status, ch) = app
        .call(
            Method::POST,
            "/api/v1/contacts/ann/channels",
            Some(&responder),
            Some(json!({"name": "hook", "type": "WEBHOOK", "address": url})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ch}");
    assert_eq!(ch["activationStatus"], "NOT_ACTIVATED");
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/contacts/ann/channels/hook/activate",
            Some(&responder),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no code was sent yet");
    let (status, sent) =
        app.call(Method::POST, "/api/v1/contacts/ann/channels/hook/send-activation-code", Some(&responder), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{sent}");
    let received = got.lock().await.clone();
    assert_eq!(received.len(), 1);
    let subject = received[0].1["subject"].as_str().expect("the code went through the channel").to_string();
    let code = subject.rsplit(' ').next().expect("a code").to_string();
    assert_eq!(code.len(), 6);
    assert!(received[0].0.contains_key("idempotency-key"));
    let wrong = if code == "123456" { "654321" } else { "123456" };
    let (status, err) = app
        .call(
            Method::POST,
            "/api/v1/contacts/ann/channels/hook/activate",
            Some(&responder),
            Some(json!({"code": wrong})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "code");
    assert!(err["error"]["message"].as_str().expect("message").contains("4 attempt"));
    let (status, ch) = app
        .call(
            Method::POST,
            "/api/v1/contacts/ann/channels/hook/activate",
            Some(&responder),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ch}");
    assert_eq!(ch["activationStatus"], "ACTIVATED");
    // An admin's channel is active at once unless deferred.
    let (_, mail) = app
        .admin(
            Method::POST,
            "/api/v1/contacts/ann/channels",
            Some(json!({"name": "mail", "type": "EMAIL", "address": "ann@example.com"})),
        )
        .await;
    assert_eq!(mail["activationStatus"], "ACTIVATED");
    let (_, later) = app
        .admin(
            Method::POST,
            "/api/v1/contacts/ann/channels",
            Some(json!({"name": "sms", "type": "SMS", "address": "+393331234567", "deferActivation": true})),
        )
        .await;
    assert_eq!(later["activationStatus"], "NOT_ACTIVATED");
    let (status, err) = app.admin(Method::POST, "/api/v1/contacts/ann/channels/sms/send-activation-code", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "no SMS provider here: {err}");
    let (status, err) = app
        .admin(
            Method::POST,
            "/api/v1/contacts/ann/channels",
            Some(json!({"name": "bad", "type": "SMS", "address": "call me"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "address");
    let (_, view) = app.admin(Method::GET, "/api/v1/contacts/ann", None).await;
    assert_eq!(view["channels"].as_array().expect("channels").len(), 3);
}

async fn calendars_parse_and_need_their_secret(app: TestApp) {
    people(&app, &["ann", "bob"]).await;
    let mut spec = weekly_rotation("cal", &["ann", "bob"]);
    spec["start"] = json!("2026-01-05T08:00:00Z");
    let (_, created) = app.admin(Method::POST, "/api/v1/rotations", Some(spec)).await;
    let url = created["calendarUrl"].as_str().expect("url").replace(PUBLIC, "");
    assert!(url.starts_with("/api/v1/rotations/cal/calendar.ics?token="));
    // No API token: the URL's secret is the key.
    let res = app.http.get(format!("{}{url}", app.base)).send().await.expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().expect("ascii").starts_with("text/calendar"));
    let body = res.text().await.expect("body");
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes()));
    let cal = parser.next().expect("one calendar").expect("it parses");
    assert!(!cal.events.is_empty());
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
    };
    for e in &cal.events {
        assert!(prop(e, "SUMMARY").starts_with("On call: "));
        assert!(prop(e, "DTSTART").ends_with('Z') && prop(e, "DTEND") > prop(e, "DTSTART"));
        assert!(!prop(e, "UID").is_empty());
    }
    let wrong = url.replace("token=", "token=x");
    assert_eq!(
        app.http.get(format!("{}{wrong}", app.base)).send().await.expect("sent").status(),
        StatusCode::NOT_FOUND
    );
    let bare = url.split('?').next().expect("path").to_string();
    assert_eq!(
        app.http.get(format!("{}{bare}", app.base)).send().await.expect("sent").status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = app.admin(Method::GET, &bare, None).await;
    assert_eq!(status, StatusCode::OK, "an API token reads it too");
    let (_, ann) = app.admin(Method::GET, "/api/v1/contacts/ann", None).await;
    let contact_url = ann["calendarUrl"].as_str().expect("url").replace(PUBLIC, "");
    let body =
        app.http.get(format!("{}{contact_url}", app.base)).send().await.expect("sent").text().await.expect("body");
    let cal = ical::IcalParser::new(std::io::BufReader::new(body.as_bytes())).next().expect("one").expect("parses");
    assert!(cal.events.iter().all(|e| prop(e, "SUMMARY") == "On call: cal"));
}

const ONCALL_TEMPLATE: &str = r#"
Parameters:
  Zone: {Type: String, Default: Europe/Rome}
Resources:
  Ann:
    Type: AWS::SSMContacts::Contact
    Properties: {Alias: ann, DisplayName: Ann, Type: PERSONAL}
  AnnMail:
    Type: AWS::SSMContacts::ContactChannel
    Properties: {ContactId: !Ref Ann, ChannelName: mail, ChannelType: EMAIL, ChannelAddress: ann@example.com}
  Bob:
    Type: AWS::SSMContacts::Contact
    Properties: {Alias: bob, DisplayName: Bob, Type: PERSONAL}
  Daily:
    Type: AWS::SSMContacts::Rotation
    Properties:
      Name: daily
      ContactIds: [!GetAtt Ann.Arn, !GetAtt Bob.Arn]
      StartTime: "2026-03-20T09:00:00"
      TimeZoneId: !Ref Zone
      Recurrence:
        NumberOfOnCalls: 1
        RecurrenceMultiplier: 1
        DailySettings: ["09:00"]
  OnCall:
    Type: AWS::SSMContacts::Contact
    Properties:
      Alias: oncall
      DisplayName: On call
      Type: ONCALL_SCHEDULE
      Plan: [{RotationIds: [!Ref Daily]}]
"#;

async fn on_call_objects_from_a_template(app: TestApp) {
    let (status, report) =
        app.admin(Method::PUT, "/api/v1/stacks/team", Some(json!({"template": ONCALL_TEMPLATE}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // Spring forward in Rome on 29 March: the handoff stays at 09:00 local.
    let (_, shifts) = app
        .admin(Method::GET, "/api/v1/rotations/daily/shifts?from=2026-03-28T00:00:00Z&to=2026-03-31T00:00:00Z", None)
        .await;
    let starts: Vec<&str> =
        shifts.as_array().expect("list").iter().skip(1).map(|x| x["start"].as_str().unwrap_or("")).collect();
    assert_eq!(starts, ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z"]);
    let (_, ann) = app.admin(Method::GET, "/api/v1/contacts/ann", None).await;
    assert_eq!(ann["channels"][0]["activationStatus"], "ACTIVATED");
    assert_eq!(ann["stack"], "team");
    let (_, again) = app.admin(Method::PUT, "/api/v1/stacks/team", Some(json!({"template": ONCALL_TEMPLATE}))).await;
    assert_eq!(again["changed"], false);
    let (status, _) = app.admin(Method::DELETE, "/api/v1/stacks/team", None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, contacts) = app.admin(Method::GET, "/api/v1/contacts", None).await;
    assert_eq!(contacts["items"], json!([]));
}

/// Waits (up to ten seconds) until the sink has seen `n` requests; not a timing assertion.
async fn wait_for(sink: &muster_notify::testing::HttpSink, n: usize) {
    for _ in 0..200 {
        if sink.count().await >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the receiver saw {} requests, expected {n}", sink.count().await);
}

async fn paging_and_acknowledgements(app: TestApp) {
    let sink = muster_notify::testing::HttpSink::start().await;
    people(&app, &["ann"]).await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/v1/contacts/ann/channels",
            Some(json!({"name": "hook", "type": "WEBHOOK", "address": format!("{}/ann", sink.base)})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let plan = json!({"name": "db", "incidentTemplate": {"title": "DB down", "impact": 1}, "engagements": ["ann"]});
    assert_eq!(app.admin(Method::POST, "/api/v1/response-plans", Some(plan)).await.0, StatusCode::CREATED);
    let (_, incident) =
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "db", "dedupeString": "one"}))).await;
    wait_for(&sink, 1).await;
    let (_, pages) = app.admin(Method::GET, &format!("/api/v1/pages?incident={}", incident["number"]), None).await;
    let page = pages["items"][0].clone();
    assert_eq!(page["contact"], "ann");
    assert_eq!(page["status"], "DELIVERED");
    assert!(page.get("address").is_none() && page.get("ackCode").is_none(), "addresses and codes stay inside");

    // The signed link in the page: GET confirms, POST acknowledges.
    let body: Value = serde_json::from_str(&sink.requests.lock().await[0].body).expect("json");
    let link = body["ackUrl"].as_str().expect("a link").replace(PUBLIC, &app.base);
    let res = app.http.get(&link).send().await.expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    assert!(html.contains("Acknowledge this page?") && html.contains("<form method=\"post\""), "{html}");
    let (_, still) = app.admin(Method::GET, &format!("/api/v1/pages/{}", page["id"].as_str().expect("id")), None).await;
    assert_eq!(still["status"], "DELIVERED", "following the link acknowledges nothing");
    let forged = link.replace("sig=", "sig=0");
    assert_eq!(app.http.post(&forged).send().await.expect("sent").status(), StatusCode::NOT_FOUND);
    let res = app.http.post(&link).send().await.expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("html").contains("Acknowledged"));
    let (_, acked) = app.admin(Method::GET, &format!("/api/v1/pages/{}", page["id"].as_str().expect("id")), None).await;
    assert_eq!(acked["status"], "READ");
    assert_eq!(acked["readVia"], "link");
    let (_, engagements) = app
        .admin(Method::GET, &format!("/api/v1/engagements?incident={}", incident["id"].as_str().expect("id")), None)
        .await;
    assert_eq!(engagements["items"][0]["status"], "ACKNOWLEDGED");
    let (_, timeline) = app
        .admin(Method::GET, &format!("/api/v1/incidents/{}/timeline", incident["id"].as_str().expect("id")), None)
        .await;
    let types: Vec<&str> =
        timeline["items"].as_array().expect("items").iter().map(|e| e["eventType"].as_str().unwrap_or("")).collect();
    for t in ["incident.started", "engagement.started", "page.decided", "page.sent", "page.acknowledged"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }

    // Acknowledging by API, by incident, and resolving all stop what escalates.
    let (_, second) =
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "db", "dedupeString": "two"}))).await;
    wait_for(&sink, 2).await;
    let (status, ack) = app.admin(Method::POST, &format!("/api/v1/incidents/{}/ack", second["number"]), None).await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["pagesAcknowledged"], 1);
    let (_, third) = app
        .admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "db", "dedupeString": "three"})))
        .await;
    app.admin(
        Method::PATCH,
        &format!("/api/v1/incidents/{}", third["id"].as_str().expect("id")),
        Some(json!({"status": "RESOLVED"})),
    )
    .await;
    let (_, e3) = app
        .admin(Method::GET, &format!("/api/v1/engagements?incident={}", third["id"].as_str().expect("id")), None)
        .await;
    assert_eq!(e3["items"][0]["status"], "STOPPED");

    // By hand.
    let before = sink.count().await;
    let (status, manual) = app
        .admin(
            Method::POST,
            "/api/v1/engagements",
            Some(json!({"contact": "ann", "subject": "Can you look at the disk?"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{manual}");
    let (status, err) =
        app.admin(Method::POST, "/api/v1/engagements", Some(json!({"contact": "zed", "subject": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "contact");
    wait_for(&sink, before + 1).await;
    let last: Value = serde_json::from_str(&sink.requests.lock().await[before].body).expect("json");
    assert_eq!(last["subject"], "Can you look at the disk?", "the hand-made engagement paged ann");
    let (_, ack) =
        app.admin(Method::POST, &format!("/api/v1/pages/{}/ack", page["id"].as_str().expect("id")), None).await;
    assert_eq!(ack["newly"], false, "acknowledging twice changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_reference_scenario_tells_its_slack_channel() {
    the_reference_scenario_tells_its_slack_channel(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_reference_scenario_tells_its_slack_channel() {
    the_reference_scenario_tells_its_slack_channel(Backend::Postgres).await;
}

async fn the_reference_scenario_tells_its_slack_channel(backend: Backend) {
    let slack = muster_notify::testing::HttpSink::start().await;
    let base = slack.base.clone();
    let Some(app) = spawn_app_with(backend, move |c| {
        c.providers.slack_api_url = Some(base);
        c.providers.slack_bot_token = Some("xoxb-test-token".into());
    })
    .await
    else {
        return;
    };
    // The template exactly as given: every resource is supported.
    let template = include_str!("../../muster-template/tests/fixtures/vpn-tunnel-down.cfn.yaml");
    let body = json!({"template": template, "parameters": {"VpnConnectionId": "vpn-0123456789abcdef0"}});
    let (status, report) = app.admin(Method::PUT, "/api/v1/stacks/vpn", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("SlackWorkspace") && !warnings.contains("provider"), "Slack is configured: {warnings}");
    let (_, topics) = app.admin(Method::GET, "/api/v1/topics", None).await;
    assert_eq!(topics["items"][0]["name"], "vpn-connection-status-notification");
    let (_, chats) = app.admin(Method::GET, "/api/v1/chat-channels", None).await;
    assert_eq!(chats["items"][0]["target"], "YourChannelID");
    let alarm = "VPN connection vpn-0123456789abcdef0 status alarm";
    let (status, a) = app.admin(Method::GET, &format!("/api/v1/alarms/{alarm}"), None).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["statistic"], "Minimum");
    assert_eq!(a["comparisonOperator"], "LessThanThreshold");

    // The tunnel goes down: a datapoint of 0 breaches `< 1`, and the alarm opens the plan's incident.
    let down = json!({"namespace": "AWS/VPN", "metricData": [{"metricName": "TunnelState",
        "dimensions": [{"name": "VpnId", "value": "vpn-0123456789abcdef0"}], "value": 0}]});
    let (status, put) = app.admin(Method::POST, "/api/v1/metrics", Some(down.clone())).await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["evaluations"], 1);
    wait_for(&slack, 1).await;
    let (_, a) = app.admin(Method::GET, &format!("/api/v1/alarms/{alarm}"), None).await;
    assert_eq!(a["stateValue"], "ALARM", "{a}");
    assert!(a["stateReason"].as_str().expect("reason").contains("was less than the threshold (1.0)"), "{a}");
    let (_, list) = app.admin(Method::GET, "/api/v1/incidents?status=OPEN", None).await;
    let incident = list["items"][0].clone();
    assert_eq!(incident["title"], "VPN connection vpn-0123456789abcdef0 is DOWN");
    assert_eq!(incident["impact"], 3);
    assert_eq!(incident["dedupeString"], "VPN connection vpn-0123456789abcdef0 is DOWN");
    assert_eq!(incident["trigger"]["source"], "alarm");
    assert_eq!(incident["trigger"]["details"]["alarmName"], alarm);
    let sent = slack.requests.lock().await[0].clone();
    assert_eq!(sent.path, "/chat.postMessage");
    assert_eq!(sent.headers["authorization"], "Bearer xoxb-test-token");
    let msg: Value = serde_json::from_str(&sent.body).expect("json");
    assert_eq!(msg["channel"], "YourChannelID");
    let text = msg["text"].as_str().expect("text");
    assert!(text.contains("VPN connection vpn-0123456789abcdef0 is DOWN") && text.contains("impact 3"), "{text}");
    let blocks = msg["blocks"].to_string();
    let id = incident["id"].as_str().expect("id");
    // The link is the incident's page for a person, which asks them to sign in first and then shows it.
    let link = format!("{PUBLIC}/incidents/{id}");
    assert!(blocks.contains(&link), "a link to the incident's page: {blocks}");
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(link.replace(PUBLIC, &app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "a person not signed in is sent to sign in");
    let to = page.headers()["location"].to_str().expect("location");
    assert!(to.starts_with("/login?next=") && to.contains(id), "and comes back to the incident: {to}");
    let (_, notes) = app.admin(Method::GET, &format!("/api/v1/notifications?incident={id}"), None).await;
    assert_eq!(notes["items"][0]["status"], "DELIVERED");
    assert_eq!(notes["items"][0]["destination"], "slack");
    // The responder's context: the alarm, its metric with the datapoint, the VPN it names.
    let (_, related) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}/related-items"), None).await;
    let items = related["items"].as_array().expect("items");
    let of = |kind: &str| items.iter().filter(|i| i["type"] == kind).cloned().collect::<Vec<_>>();
    assert!(of("other").iter().any(|i| i["title"] == format!("Alarm {alarm}")), "{related}");
    let metric = &of("metric")[0];
    assert_eq!(metric["title"], "AWS/VPN TunnelState (VpnId=vpn-0123456789abcdef0)");
    let points: Value = serde_json::from_str(metric["value"].as_str().expect("value")).expect("json");
    assert_eq!(points["datapoints"][0]["value"], 0.0, "{points}");
    assert_eq!(of("resource")[0]["value"], "vpn-0123456789abcdef0");
    // The plan names AWSSupport-TroubleshootVPN: Muster says so, runs its built-in stand-in, and the
    // stand-in writes what the tunnel's history shows to the timeline.
    let (_, executions) = app.admin(Method::GET, &format!("/api/v1/runbook-executions?incident={id}"), None).await;
    let execution = executions["items"][0].clone();
    assert_eq!(execution["runbook"], "muster-troubleshoot-vpn", "{executions}");
    let done = until_status(&app, execution["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    let (_, timeline) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}/timeline"), None).await;
    let events = timeline["items"].as_array().expect("items");
    let substituted = events.iter().find(|e| e["eventType"] == "runbook.substituted").expect("said at run time");
    assert!(substituted["message"].as_str().expect("message").contains("AWSSupport-TroubleshootVPN"));
    let finding = events.iter().find(|e| e["eventType"] == "finding").expect("a finding").clone();
    let finding = finding["message"].as_str().expect("message");
    assert!(finding.starts_with("VPN vpn-0123456789abcdef0: 1 period(s) with data"), "{finding}");
    assert!(
        finding.contains("lowest 0") && finding.contains("1 of 1 period(s) breach LessThanThreshold 1"),
        "{finding}"
    );

    // Back up, by hand, then down again while the incident is open: the breach adds to it.
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/alarms/{alarm}/state"),
            Some(json!({"stateValue": "OK", "stateReason": "tunnel restored for the test"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.admin(Method::POST, "/api/v1/metrics", Some(down)).await;
    let mut count = 0;
    for _ in 0..200 {
        let (_, i) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}"), None).await;
        count = i["triggerCount"].as_i64().unwrap_or(0);
        if count == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(count, 2, "the second breach deduplicated into the open incident");
    let (_, list) = app.admin(Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (_, history) = app.admin(Method::GET, &format!("/api/v1/alarms/{alarm}/history"), None).await;
    let summaries: Vec<&str> =
        history["items"].as_array().expect("items").iter().filter_map(|h| h["summary"].as_str()).collect();
    assert!(summaries.contains(&"Alarm updated from INSUFFICIENT_DATA to ALARM"), "{summaries:?}");
    assert!(summaries.contains(&"Alarm updated from OK to ALARM"), "{summaries:?}");
    app.admin(Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"status": "RESOLVED"}))).await;
    wait_for(&slack, 2).await;
    let resolved: Value = serde_json::from_str(&slack.requests.lock().await[1].body).expect("json");
    assert!(resolved["text"].as_str().expect("text").contains("resolved"), "{resolved}");
    assert_eq!(resolved["thread_ts"], "1700000000.000100", "the update replies in the incident's thread");
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/v1/topics/vpn-connection-status-notification/publish",
            Some(json!({"subject": "Maintenance", "message": "Tunnel rekey at 22:00"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    wait_for(&slack, 3).await;
    assert_eq!(slack.count().await, 3);
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sms_replies_and_slack_buttons_acknowledge() {
    sms_replies_and_slack_buttons_acknowledge(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sms_replies_and_slack_buttons_acknowledge() {
    sms_replies_and_slack_buttons_acknowledge(Backend::Postgres).await;
}

async fn sms_replies_and_slack_buttons_acknowledge(backend: Backend) {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let provider = muster_notify::testing::HttpSink::start().await;
    let base = provider.base.clone();
    let Some(app) = spawn_app_with(backend, move |c| {
        c.providers.twilio_api_url = Some(base.clone());
        c.providers.twilio_account_sid = Some("AC1".into());
        c.providers.twilio_auth_token = Some("twilio-token".into());
        c.providers.twilio_from = Some("+15550001111".into());
        c.providers.slack_api_url = Some(base);
        c.providers.slack_bot_token = Some("xoxb-1".into());
        c.providers.slack_signing_secret = Some("slack-signing-secret".into());
    })
    .await
    else {
        return;
    };
    people(&app, &["ann", "bob"]).await;
    app.admin(
        Method::POST,
        "/api/v1/contacts/ann/channels",
        Some(json!({"name": "phone", "type": "SMS", "address": "+15550002222"})),
    )
    .await;
    app.admin(
        Method::POST,
        "/api/v1/contacts/bob/channels",
        Some(json!({"name": "slack", "type": "CHAT", "address": "U0BOB"})),
    )
    .await;
    for who in ["ann", "bob"] {
        let plan = json!({"name": format!("p-{who}"), "incidentTemplate": {"title": format!("{who} down"), "impact": 2}, "engagements": [who]});
        app.admin(Method::POST, "/api/v1/response-plans", Some(plan)).await;
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": format!("p-{who}")}))).await;
    }
    wait_for(&provider, 2).await;
    let requests = provider.requests.lock().await.clone();
    let sms = requests.iter().find(|r| r.path.ends_with("/Messages.json")).expect("a text message");
    let body = sms.body.replace('+', " ");
    let code: String =
        body.split("Reply").nth(1).expect("a reply code").chars().filter(char::is_ascii_digit).take(6).collect();
    assert_eq!(code.len(), 6);

    // The SMS reply, signed as Twilio signs it (computed here independently).
    let params =
        [("Body", format!("ack {code}")), ("From", "+15550002222".to_string()), ("To", "+15550001111".to_string())];
    let mut data = "http://muster.test/integrations/twilio/sms".to_string();
    for (k, v) in &params {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"twilio-token").expect("key");
    mac.update(data.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let form: String = params.iter().map(|(k, v)| format!("{k}={}", form_encode(v))).collect::<Vec<_>>().join("&");
    let post = |sig: String, form: String| {
        app.http
            .post(format!("{}/integrations/twilio/sms", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(form)
            .send()
    };
    assert_eq!(post("forged".into(), form.clone()).await.expect("sent").status(), StatusCode::FORBIDDEN);
    let res = post(signature, form).await.expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.expect("twiml").contains("Acknowledged"));
    let (_, pages) = app.admin(Method::GET, "/api/v1/pages?incident=1", None).await;
    assert_eq!(pages["items"][0]["status"], "READ");
    assert_eq!(pages["items"][0]["readVia"], "sms");

    // The Slack button, signed as Slack signs it.
    let slack = requests.iter().find(|r| r.path == "/chat.postMessage").expect("a Slack message");
    let msg: Value = serde_json::from_str(&slack.body).expect("json");
    let page_id = msg["blocks"][1]["elements"][0]["value"].as_str().expect("the page id").to_string();
    let payload = json!({"type": "block_actions", "user": {"id": "U0BOB", "username": "bob"}, "actions": [{"action_id": "muster_ack", "value": page_id}]});
    let body = format!("payload={}", form_encode(&payload.to_string()));
    let sign = |ts: i64| {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"slack-signing-secret").expect("key");
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        format!("v0={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>())
    };
    let now = jiff::Timestamp::now().as_second();
    let press = |ts: i64, sig: String| {
        app.http
            .post(format!("{}/integrations/slack/interactions", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sig)
            .body(body.clone())
            .send()
    };
    assert_eq!(press(now - 3600, sign(now - 3600)).await.expect("sent").status(), StatusCode::UNAUTHORIZED, "stale");
    assert_eq!(press(now, "v0=00".into()).await.expect("sent").status(), StatusCode::UNAUTHORIZED, "forged");
    let res = press(now, sign(now)).await.expect("sent");
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.expect("json");
    assert!(answer["text"].as_str().expect("text").starts_with("Acknowledged"));
    let (_, page) = app.admin(Method::GET, &format!("/api/v1/pages/{page_id}"), None).await;
    assert_eq!(page["status"], "READ");
    assert_eq!(page["readVia"], "slack");
    assert_eq!(page["readBy"], "bob (Slack)");
}

async fn separate_plans_from_a_template(app: TestApp) {
    let template = r#"
Resources:
  Ann:
    Type: AWS::SSMContacts::Contact
    Properties: {Alias: ann, DisplayName: Ann, Type: PERSONAL}
  Mail:
    Type: AWS::SSMContacts::ContactChannel
    Properties: {ContactId: !Ref Ann, ChannelName: mail, ChannelType: EMAIL, ChannelAddress: ann@example.com}
  Esc:
    Type: AWS::SSMContacts::Contact
    Properties: {Alias: esc, DisplayName: Escalation, Type: ESCALATION}
  EscPlan:
    Type: AWS::SSMContacts::Plan
    Properties:
      ContactId: !GetAtt Esc.Arn
      Stages:
        - DurationInMinutes: 5
          Targets:
            - ContactTargetInfo: {ContactId: !Ref Ann, IsEssential: true}
"#;
    let (status, report) = app.admin(Method::PUT, "/api/v1/stacks/esc", Some(json!({"template": template}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, esc) = app.admin(Method::GET, "/api/v1/contacts/esc", None).await;
    assert_eq!(esc["plan"]["stages"][0]["durationMinutes"], 5);
    assert_eq!(esc["plan"]["stages"][0]["targets"][0], json!({"contact": "ann", "essential": true}));
    let without = template.split("  EscPlan:").next().expect("head").to_string();
    let (status, report) = app.admin(Method::PUT, "/api/v1/stacks/esc", Some(json!({"template": without}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (_, esc) = app.admin(Method::GET, "/api/v1/contacts/esc", None).await;
    assert!(esc.get("plan").is_none() || esc["plan"].is_null(), "removing the Plan resource removes the plan: {esc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_channel_from_aws_chatbot_gets_an_adaptive_card() {
    let teams = muster_notify::testing::HttpSink::start().await;
    let hook = format!("{}/teams-hook", teams.base);
    let Some(app) = spawn_app_with(Backend::Sqlite, move |c| {
        c.providers.teams_webhooks.insert("19:abc@thread.tacv2".into(), hook);
    })
    .await
    else {
        return;
    };
    let template = r#"
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties: {TopicName: ops}
  Teams:
    Type: AWS::Chatbot::MicrosoftTeamsChannelConfiguration
    Properties:
      ConfigurationName: ops-teams
      TeamId: team-1
      TeamsChannelId: "19:abc@thread.tacv2"
      TeamsTenantId: tenant-1
      IamRoleArn: arn:aws:iam::000000000000:role/chatbot
      SnsTopicArns: [!Ref Topic]
  Plan:
    Type: AWS::SSMIncidents::ResponsePlan
    Properties:
      Name: ops
      IncidentTemplate: {Title: Ops down, Impact: 2}
      ChatChannel: {ChatbotSns: [!Ref Topic]}
"#;
    let (status, report) = app.admin(Method::PUT, "/api/v1/stacks/ops", Some(json!({"template": template}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "ops"}))).await;
    wait_for(&teams, 1).await;
    let card: Value = serde_json::from_str(&teams.requests.lock().await[0].body).expect("json");
    assert_eq!(card["attachments"][0]["contentType"], "application/vnd.microsoft.card.adaptive");
    assert!(card["attachments"][0]["content"]["body"][0]["text"].as_str().expect("title").contains("Ops down"));
}

const RUNBOOK: &str = r#"
schemaVersion: "0.3"
description: Inspect, then (carefully) wait.
parameters:
  Mode: {type: String, allowedValues: [careful, fast], default: fast}
  Target: {type: String, default: "db-1"}
outputs: [inspect.length]
mainSteps:
  - name: inspect
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      InputPayload: {target: "{{ Target }}"}
      Script: |
        def handler(events, context):
            print("looking at", events["target"])
            return {"target": events["target"], "length": len(events["target"])}
    outputs:
      - {Name: length, Selector: $.Payload.length, Type: Integer}
  - name: choose
    action: aws:branch
    inputs:
      Choices:
        - {NextStep: approval, Variable: "{{ Mode }}", StringEquals: careful}
      Default: pause
  - name: approval
    action: aws:approve
    inputs: {Approvers: [ann], MinRequiredApprovals: 1}
  - name: pause
    action: aws:sleep
    inputs: {Duration: PT1S}
    isEnd: true
"#;

async fn until_status(app: &TestApp, id: &str, want: &[&str]) -> Value {
    for _ in 0..300 {
        let (_, e) = app.admin(Method::GET, &format!("/api/v1/runbook-executions/{id}"), None).await;
        if want.contains(&e["status"].as_str().unwrap_or("")) {
            return e;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("execution {id} never reached {want:?}");
}

async fn runbooks_script_branch_approval_sleep(app: TestApp) {
    let (status, rb) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "inspect", "document": RUNBOOK}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rb}");
    assert_eq!(rb["unsupportedSteps"], json!([]));
    let (status, err) = app
        .admin(
            Method::POST,
            "/api/v1/runbook-executions",
            Some(json!({"runbook": "inspect", "parameters": {"Mode": "reckless"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "parameters.Mode");

    // Fast: the branch skips the approval.
    let (status, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(json!({"runbook": "inspect"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let done = until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    let names: Vec<&str> =
        done["steps"].as_array().expect("steps").iter().map(|s| s["name"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["inspect", "choose", "pause"]);
    assert_eq!(done["steps"][0]["outputs"]["length"], 4);
    assert!(
        done["steps"][0]["log"].as_str().expect("log").contains("looking at db-1"),
        "the script's output is visible"
    );
    assert_eq!(done["outputs"]["inspect.length"], 4);

    // Careful: it waits for ann.
    let incident = app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "db slow", "impact": 3}))).await.1;
    let (_, e) = app
        .admin(Method::POST, "/api/v1/runbook-executions", Some(json!({"runbook": "inspect", "parameters": {"Mode": "careful"}, "incident": incident["number"].to_string()})))
        .await;
    let id = e["id"].as_str().expect("id").to_string();
    let waiting = until_status(&app, &id, &["Waiting", "Failed"]).await;
    assert_eq!(waiting["status"], "Waiting", "{waiting}");
    let (status, _) = app
        .admin(Method::POST, &format!("/api/v1/runbook-executions/{id}/approve"), Some(json!({"approver": "zed"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "zed is no approver");
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/api/v1/runbook-executions/{id}/approve"),
            Some(json!({"approver": "ann", "comment": "go"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let done = until_status(&app, &id, &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(done["steps"][2]["outputs"]["ApprovalStatus"], "Approved");
    let (_, related) = app
        .admin(Method::GET, &format!("/api/v1/incidents/{}/related-items", incident["id"].as_str().expect("id")), None)
        .await;
    assert_eq!(related["items"][0]["value"], format!("runbook-execution:{id}"));
    let (_, timeline) = app
        .admin(Method::GET, &format!("/api/v1/incidents/{}/timeline", incident["id"].as_str().expect("id")), None)
        .await;
    let types: Vec<&str> =
        timeline["items"].as_array().expect("items").iter().map(|e| e["eventType"].as_str().unwrap_or("")).collect();
    assert!(
        types.contains(&"runbook.step") && types.contains(&"runbook.decision") && types.contains(&"runbook.finished"),
        "{types:?}"
    );

    // Rejected: the approval step fails and so does the execution.
    let (_, e) = app
        .admin(
            Method::POST,
            "/api/v1/runbook-executions",
            Some(json!({"runbook": "inspect", "parameters": {"Mode": "careful"}})),
        )
        .await;
    let id = e["id"].as_str().expect("id").to_string();
    until_status(&app, &id, &["Waiting"]).await;
    app.admin(Method::POST, &format!("/api/v1/runbook-executions/{id}/reject"), Some(json!({"approver": "ann"}))).await;
    let done = until_status(&app, &id, &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Failed");
    assert!(done["failure"].as_str().expect("why").contains("rejected by ann"));

    // AWS-only steps load, are reported, and fail clearly when reached.
    let aws = "schemaVersion: '0.3'\nmainSteps:\n  - name: describe\n    action: aws:executeAwsApi\n    inputs: {Service: ec2, Api: DescribeVpnConnections}\n";
    let (status, rb) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "aws-only", "document": aws}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(rb["unsupportedSteps"], json!(["describe (aws:executeAwsApi)"]));
    let (_, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(json!({"runbook": "aws-only"}))).await;
    let done = until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert!(done["steps"][0]["failure"].as_str().expect("why").contains("cannot run aws:executeAwsApi"));
}

async fn runbook_parameters_are_only_data(app: TestApp) {
    let marker = std::env::temp_dir().join(format!("muster-pwned-{}", uuid_like()));
    let m = marker.display().to_string();
    let hostile =
        format!("\"; touch {m} #' $(touch {m}) `touch {m}` __import__('os').system('touch {m}') {{{{ Target }}}}");
    let doc = r#"
schemaVersion: "0.3"
parameters:
  Target: {type: String}
mainSteps:
  - name: py
    action: aws:executeScript
    inputs:
      Runtime: python3.11
      Handler: handler
      InputPayload: {value: "{{ Target }}"}
      Script: |
        def handler(events, context):
            return {"echo": events["value"]}
    outputs:
      - {Name: echo, Selector: $.Payload.echo}
  - name: sh
    action: muster:script
    inputs:
      Interpreter: sh
      Environment: {T: "{{ Target }}"}
      Script: |
        printf '%s' "$T"
"#;
    let (status, rb) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "echo", "document": doc}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rb}");
    let (_, e) = app
        .admin(
            Method::POST,
            "/api/v1/runbook-executions",
            Some(json!({"runbook": "echo", "parameters": {"Target": hostile}})),
        )
        .await;
    let done = until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(done["steps"][0]["outputs"]["echo"], hostile, "Python got the value as data");
    assert_eq!(done["steps"][1]["outputs"]["Output"], hostile);
    assert!(done["steps"][1]["log"].as_str().expect("log").contains(&hostile), "the shell printed it as text");
    assert!(!marker.exists(), "nothing in the parameter ran");

    // A document that splices a parameter into script text is refused.
    let spliced = "schemaVersion: '0.3'\nparameters: {T: {type: String}}\nmainSteps:\n  - name: bad\n    action: muster:script\n    inputs: {Script: 'echo {{ T }}'}\n";
    let (status, err) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "bad", "document": spliced}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "document.mainSteps[0].inputs.Script");
}

fn uuid_like() -> String {
    format!("{}-{}", std::process::id(), jiff::Timestamp::now().as_nanosecond())
}

async fn response_plans_start_their_runbooks(app: TestApp) {
    let template = r#"
Resources:
  Triage:
    Type: AWS::SSM::Document
    Properties:
      Name: triage
      DocumentType: Automation
      Content:
        schemaVersion: "0.3"
        parameters:
          Target: {type: String}
          IncidentArn: {type: String, default: ""}
        mainSteps:
          - name: note
            action: muster:timelineEvent
            inputs: {Message: "Triage looked at {{ Target }}"}
          - name: describe
            action: aws:executeAwsApi
            inputs: {Service: ec2, Api: DescribeInstances}
            onFailure: Continue
            isEnd: true
  Plan:
    Type: AWS::SSMIncidents::ResponsePlan
    Properties:
      Name: web
      IncidentTemplate: {Title: Web down, Impact: 2}
      Actions:
        - SsmAutomation:
            RoleArn: arn:aws:iam::000000000000:role/x
            DocumentName: !Ref Triage
            Parameters:
              - {Key: Target, Values: [web-1]}
            DynamicParameters:
              - {Key: IncidentArn, Value: {Variable: INCIDENT_RECORD_ARN}}
"#;
    let (status, report) = app.admin(Method::PUT, "/api/v1/stacks/web", Some(json!({"template": template}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("describe (aws:executeAwsApi)"), "unsupported steps are reported at apply: {warnings}");
    let (_, incident) = app.admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "web"}))).await;
    let id = incident["id"].as_str().expect("id").to_string();
    let (_, list) = app.admin(Method::GET, &format!("/api/v1/runbook-executions?incident={id}"), None).await;
    let exec = list["items"][0]["id"].as_str().expect("an execution started with the incident").to_string();
    let done = until_status(&app, &exec, &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    assert_eq!(done["parameters"]["Target"], "web-1");
    assert!(done["parameters"]["IncidentArn"].as_str().expect("arn").ends_with(&id));
    assert!(done["steps"][1]["failure"].as_str().expect("why").contains("cannot run aws:executeAwsApi"));
    let (_, timeline) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}/timeline"), None).await;
    let messages: Vec<&str> =
        timeline["items"].as_array().expect("items").iter().map(|e| e["message"].as_str().unwrap_or("")).collect();
    assert!(messages.contains(&"Triage looked at web-1"), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("Runbook triage started by response plan web")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbook_loops_secrets_notifications_and_retries() {
    let sink = muster_notify::testing::HttpSink::start().await;
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| {
        c.secrets.insert("API_KEY".into(), "s3cr3t-value".into());
    })
    .await
    else {
        return;
    };
    let topic = json!({"name": "approvals", "subscriptions": [{"protocol": "https", "endpoint": format!("{}/approvals", sink.base)}]});
    let (status, created) = app.admin(Method::POST, "/api/v1/topics", Some(topic)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let doc = r#"
schemaVersion: '0.3'
parameters:
  Hosts: {type: StringList, default: [a, bb, ccc]}
mainSteps:
  - name: each
    action: aws:loop
    inputs:
      Iterators: "{{ Hosts }}"
      Steps:
        - name: measure
          action: aws:executeScript
          inputs:
            Runtime: python3.11
            Handler: h
            InputPayload: {host: "{{ each.CurrentIteratorValue }}", key: "{{ secret:API_KEY }}"}
            Script: |
              def h(e, c):
                  print("key is", e["key"])
                  return len(e["host"])
  - name: ask
    action: aws:approve
    inputs: {NotificationArn: "arn:aws:sns:local:000000000000:approvals", Message: "Restart the hosts?"}
"#;
    let (status, rb) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "loop", "document": doc}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rb}");
    let (_, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(json!({"runbook": "loop"}))).await;
    let id = e["id"].as_str().expect("id").to_string();
    let waiting = until_status(&app, &id, &["Waiting", "Failed"]).await;
    assert_eq!(waiting["status"], "Waiting", "{waiting}");
    let each = &waiting["steps"][0];
    assert_eq!(each["outputs"]["CurrentIteration"], 3);
    let lengths: Vec<Value> = each["outputs"]["Results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["result"]["Payload"].clone())
        .collect();
    assert_eq!(lengths, [json!(1), json!(2), json!(3)]);
    let shown = waiting.to_string();
    assert!(!shown.contains("s3cr3t-value"), "the secret never shows: {shown}");
    assert!(each["log"].as_str().expect("log").contains("key is ****"));
    wait_for(&sink, 1).await;
    let note: Value = serde_json::from_str(&sink.requests.lock().await[0].body).expect("json");
    assert!(note["subject"].as_str().expect("subject").contains("Approval needed"));
    assert!(note["text"].as_str().expect("text").contains(&format!("muster runbook approve {id}")));

    let (_, cancelled) = app.admin(Method::POST, &format!("/api/v1/runbook-executions/{id}/cancel"), None).await;
    assert_eq!(cancelled["status"], "Cancelled");
    let (status, again) = app.admin(Method::POST, &format!("/api/v1/runbook-executions/{id}/retry"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(again["id"], json!(id));
    assert_eq!(again["parameters"], cancelled["parameters"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_buttons_approve_a_runbook() {
    use hmac::{Hmac, Mac};
    let slack = muster_notify::testing::HttpSink::start().await;
    let base = slack.base.clone();
    let Some(app) = spawn_app_with(Backend::Sqlite, move |c| {
        c.providers.slack_api_url = Some(base);
        c.providers.slack_bot_token = Some("xoxb-1".into());
        c.providers.slack_signing_secret = Some("slack-signing-secret".into());
    })
    .await
    else {
        return;
    };
    people(&app, &["ann"]).await;
    app.admin(
        Method::POST,
        "/api/v1/contacts/ann/channels",
        Some(json!({"name": "slack", "type": "CHAT", "address": "U0ANN"})),
    )
    .await;
    app.admin(Method::POST, "/api/v1/topics", Some(json!({"name": "approvals"}))).await;
    app.admin(
        Method::POST,
        "/api/v1/chat-channels",
        Some(json!({"name": "ops", "type": "slack", "target": "C0OPS", "topics": ["approvals"]})),
    )
    .await;
    let doc = "schemaVersion: '0.3'\nmainSteps:\n  - name: ask\n    action: aws:approve\n    inputs: {Approvers: [ann], NotificationArn: approvals, Message: Restart?}\n";
    app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "ask", "document": doc}))).await;
    let (_, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(json!({"runbook": "ask"}))).await;
    let id = e["id"].as_str().expect("id").to_string();
    until_status(&app, &id, &["Waiting"]).await;
    wait_for(&slack, 1).await;
    let msg: Value = serde_json::from_str(&slack.requests.lock().await[0].body).expect("json");
    assert_eq!(msg["channel"], "C0OPS");
    let elements = msg["blocks"][1]["elements"].as_array().expect("buttons").clone();
    let ids: Vec<&str> = elements.iter().map(|b| b["action_id"].as_str().unwrap_or("")).collect();
    assert_eq!(ids, ["muster_approve", "muster_reject"], "approval buttons, and no Acknowledge on a notification");
    assert_eq!(elements[0]["value"], json!(id));
    let payload = json!({"type": "block_actions", "user": {"id": "U0ANN", "username": "ann"}, "actions": [{"action_id": "muster_approve", "value": id}]});
    let body = format!("payload={}", form_encode(&payload.to_string()));
    let ts = jiff::Timestamp::now().as_second();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"slack-signing-secret").expect("key");
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    let sig = format!("v0={}", mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>());
    let res = app
        .http
        .post(format!("{}/integrations/slack/interactions", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sig)
        .body(body)
        .send()
        .await
        .expect("sent");
    let answer: Value = res.json().await.expect("json");
    assert_eq!(answer["text"], "Approved.");
    let done = until_status(&app, &id, &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success");
    assert_eq!(done["steps"][0]["approvals"][0]["by"], "ann (Slack)");
}

// ---- Detection: event rules, integrations, silences ----

/// Polls (up to ten seconds) until `done` holds for what `get` answers; returns the last answer.
async fn until(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = app.admin(Method::GET, path, None).await.1;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never reached the expected state: {last}");
}

fn count(v: &Value) -> usize {
    v["items"].as_array().map_or(0, Vec::len)
}

async fn integration(app: &TestApp, body: Value) -> String {
    let (status, created) = app.admin(Method::POST, "/api/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    assert_eq!(key.len(), 32);
    key
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req =
        app.http.post(format!("{}{path}", app.base)).header("content-type", "text/plain").body(body.to_string());
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.expect("reaches the server");
    let (status, headers) = (res.status(), res.headers().clone());
    let text = res.text().await.expect("body");
    (status, headers, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn rules_and_events_open_incidents(app: TestApp) {
    let test = |pattern: Value, event: Value| json!({"eventPattern": pattern, "event": event});
    let event = json!({"source": "deployer", "detail-type": "Deploy", "detail": {"state": "failed", "ms": 300}});
    let (status, r) = app
        .admin(
            Method::POST,
            "/api/v1/rules/test",
            Some(test(json!({"detail": {"state": [{"prefix": "fail"}]}}), event.clone())),
        )
        .await;
    assert_eq!((status, r["result"].as_bool()), (StatusCode::OK, Some(true)));
    let (_, r) = app
        .admin(
            Method::POST,
            "/api/v1/rules/test",
            Some(test(json!({"detail": {"ms": [{"numeric": ["<", 100]}]}}), event.clone())),
        )
        .await;
    assert_eq!(r["result"], false);
    let (status, r) = app
        .admin(
            Method::POST,
            "/api/v1/rules/test",
            Some(test(json!({"detail": {"ms": [{"numeric": [">", "a"]}]}}), event)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{r}");
    assert!(r["error"]["field"].as_str().expect("field").starts_with("eventPattern.detail.ms"), "{r}");

    let plan = json!({"name": "deploys", "incidentTemplate": {"title": "A deploy failed", "impact": 2, "dedupeString": "deploy-failed"}});
    assert_eq!(app.admin(Method::POST, "/api/v1/response-plans", Some(plan)).await.0, StatusCode::CREATED);
    let rule = json!({"name": "failed-deploys", "eventPattern": {"source": ["deployer"], "detail": {"state": ["failed"]}},
        "targets": ["deploys"]});
    let (status, created) = app.admin(Method::POST, "/api/v1/rules", Some(rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let bad = json!({"name": "bad", "eventPattern": {"source": "deployer"}});
    let (status, err) = app.admin(Method::POST, "/api/v1/rules", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "eventPattern.source", "{err}");

    let entries = json!({"entries": [
        {"source": "deployer", "detail-type": "Deploy", "detail": {"state": "failed"}, "resources": ["arn:aws:ec2:local:000000000000:instance/i-1"]},
        {"Source": "deployer", "DetailType": "Deploy", "Detail": "{\"state\": \"ok\"}"}
    ]});
    let (status, accepted) = app.admin(Method::POST, "/api/v1/events", Some(entries)).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["entries"].as_array().map(Vec::len), Some(2));
    let list = until(&app, "/api/v1/incidents", |v| count(v) == 1).await;
    let incident = &list["items"][0];
    assert_eq!(incident["title"], "A deploy failed");
    assert_eq!(incident["trigger"]["source"], "rule");
    let (_, related) = app
        .admin(Method::GET, &format!("/api/v1/incidents/{}/related-items", incident["id"].as_str().expect("id")), None)
        .await;
    assert!(related.to_string().contains("arn:aws:ec2:local:000000000000:instance/i-1"), "{related}");
    let inbound = until(&app, "/api/v1/inbound", |v| {
        v["items"].as_array().is_some_and(|i| i.iter().all(|x| x["status"] != "pending"))
    })
    .await;
    let statuses: Vec<&str> =
        inbound["items"].as_array().expect("items").iter().filter_map(|i| i["status"].as_str()).collect();
    assert!(statuses.contains(&"routed") && statuses.contains(&"unmatched"), "{statuses:?}");
    let (status, err) = app.admin(Method::POST, "/api/v1/events", Some(json!({"entries": [{"detail": {}}]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "entries[0].source");
}

async fn alertmanager_alerts_and_silences(app: TestApp) {
    let key = integration(&app, json!({"name": "prometheus", "type": "alertmanager"})).await;
    let alert = |instance: &str, ends: Option<&str>| {
        let mut a = json!({"labels": {"alertname": "HighLatency", "instance": instance, "severity": "critical"},
            "annotations": {"summary": format!("Latency high on {instance}")}, "generatorURL": "http://prometheus.example/graph"});
        if let Some(e) = ends {
            a["endsAt"] = json!(e);
        }
        a
    };
    let body = |alerts: Vec<Value>| Value::Array(alerts).to_string();
    let (status, _, err) = post_raw(&app, "/api/v2/alerts", None, &body(vec![alert("a", None)])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    let (status, _, _) =
        post_raw(&app, "/api/v2/alerts", Some(&key), &body(vec![alert("a", None), alert("b", None)])).await;
    assert_eq!(status, StatusCode::OK);
    let list = until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 2).await;
    let a = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["title"] == "Latency high on a")
        .expect("a's incident")
        .clone();
    assert_eq!(a["impact"], 1, "severity critical is impact 1");
    // The same alert again joins its incident; distinct label sets never merge.
    post_raw(&app, "/api/v2/alerts", Some(&key), &body(vec![alert("a", None)])).await;
    let a_path = format!("/api/v1/incidents/{}", a["id"].as_str().expect("id"));
    until(&app, &a_path, |v| v["triggerCount"] == 2).await;
    // Resolved (endsAt in the past) resolves it.
    post_raw(&app, "/api/v2/alerts", Some(&key), &body(vec![alert("a", Some("2020-01-01T00:00:00Z"))])).await;
    until(&app, &a_path, |v| v["status"] == "RESOLVED").await;

    // A silence through Alertmanager's own API catches instance c.
    let silence = json!({"matchers": [{"name": "instance", "value": "c", "isRegex": false, "isEqual": true}],
        "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "amtool", "comment": "maintenance"});
    let (status, _, created) = post_raw(&app, "/api/v2/silences", Some(&key), &silence.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let silence_id = created["silenceID"].as_str().expect("id").to_string();
    post_raw(&app, "/api/v2/alerts", Some(&key), &body(vec![alert("c", None)])).await;
    let inbound = until(&app, "/api/v1/inbound?status=suppressed", |v| count(v) == 1).await;
    assert_eq!(inbound["items"][0]["outcome"]["silence"], silence_id.as_str());
    assert_eq!(count(&app.admin(Method::GET, "/api/v1/incidents?status=OPEN", None).await.1), 1, "c opened nothing");
    let listed = app
        .http
        .get(format!("{}/api/v2/silences?filter=instance%3D%22c%22", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("list");
    let listed: Value = listed.json().await.expect("json");
    assert_eq!(listed[0]["status"]["state"], "active", "{listed}");
    let expired = app
        .http
        .delete(format!("{}/api/v2/silence/{silence_id}", app.base))
        .bearer_auth(&key)
        .send()
        .await
        .expect("delete");
    assert_eq!(expired.status(), StatusCode::OK);
    let (_, shown) = app.admin(Method::GET, &format!("/api/v1/silences/{silence_id}"), None).await;
    assert_eq!(shown["status"]["state"], "expired");

    // The webhook format (version 4), with the key as ?key=.
    let webhook = include_str!(
        "../../muster-core/tests/fixtures/payloads/alertmanager/docsrs_alertmanager-webhook-types-0.1.0__sample-v4-payload.json"
    );
    let (status, _, accepted) = post_raw(&app, &format!("/integrations/alertmanager?key={key}"), None, webhook).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 2).await;
    let (status, _, err) = post_raw(&app, "/api/v2/alerts", Some(&key), "[{\"labels\": {}}]").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "[0].labels", "{err}");

    // Maintenance windows, on an integration and on a response plan, record alerts as suppressed.
    let window = json!([{"name": "upgrade", "timeZone": "Europe/Berlin", "start": "2020-01-01T00:00", "end": "2099-01-01T00:00"}]);
    let quiet = integration(&app, json!({"name": "quiet", "type": "alertmanager", "maintenance": window})).await;
    post_raw(&app, "/api/v2/alerts", Some(&quiet), &body(vec![alert("d", None)])).await;
    let caught = until(&app, "/api/v1/inbound?integration=quiet", |v| v["items"][0]["status"] == "suppressed").await;
    assert_eq!(caught["items"][0]["outcome"]["maintenanceWindow"], "upgrade");
    let plan = json!({"name": "db", "incidentTemplate": {"title": "DB", "impact": 2}, "maintenance": window});
    assert_eq!(app.admin(Method::POST, "/api/v1/response-plans", Some(plan)).await.0, StatusCode::CREATED);
    let db = integration(&app, json!({"name": "db-alerts", "type": "alertmanager", "responsePlan": "db"})).await;
    post_raw(&app, "/api/v2/alerts", Some(&db), &body(vec![alert("e", None)])).await;
    let caught =
        until(&app, "/api/v1/inbound?integration=db-alerts", |v| v["items"][0]["status"] == "suppressed").await;
    assert_eq!(caught["items"][0]["outcome"]["responsePlan"], "db");
    let bad = json!({"name": "bad-window", "type": "alertmanager", "maintenance": [{"name": "x", "timeZone": "Mars/Olympus", "start": "2020-01-01T00:00", "end": "2099-01-01T00:00"}]});
    let (status, err) = app.admin(Method::POST, "/api/v1/integrations", Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "maintenance[0].timeZone", "{err}");
    assert_eq!(count(&app.admin(Method::GET, "/api/v1/incidents?status=OPEN", None).await.1), 2, "nothing opened");
}

async fn pagerduty_events_v2(app: TestApp) {
    let key = integration(&app, json!({"name": "pd-senders", "type": "pagerduty"})).await;
    let fixture =
        include_str!("../../muster-core/tests/fixtures/payloads/pagerduty/pagerduty_developer-docs__trigger.jsonc");
    let json_part = &fixture[fixture.find("*/").expect("comment") + 2..];
    let mut trigger: Value = serde_json::from_str(json_part).expect("json");
    trigger["routing_key"] = json!(key);
    trigger.as_object_mut().expect("object").remove("dedup_key");
    let (status, _, answer) = post_raw(&app, "/v2/enqueue", None, &trigger.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!((answer["status"].as_str(), answer["message"].as_str()), (Some("success"), Some("Event processed")));
    let dedup = answer["dedup_key"].as_str().expect("a generated dedup key").to_string();
    let list = until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 1).await;
    assert_eq!(list["items"][0]["title"], "Example alert on host1.example.com");
    assert_eq!(list["items"][0]["impact"], 4, "severity info");
    let id = list["items"][0]["id"].as_str().expect("id").to_string();

    let mut bad = trigger.clone();
    bad["payload"].as_object_mut().expect("payload").remove("summary");
    let (status, _, answer) = post_raw(&app, "/v2/enqueue", None, &bad.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["status"], "invalid event");
    assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()), "{answer}");
    let mut stranger = trigger.clone();
    stranger["routing_key"] = json!("0123456789abcdef0123456789abcdef");
    assert_eq!(post_raw(&app, "/v2/enqueue", None, &stranger.to_string()).await.0, StatusCode::BAD_REQUEST);

    let ack = json!({"routing_key": key, "dedup_key": dedup, "event_action": "acknowledge"});
    assert_eq!(post_raw(&app, "/v2/enqueue", None, &ack.to_string()).await.0, StatusCode::ACCEPTED);
    until(&app, &format!("/api/v1/incidents/{id}/timeline"), |v| v.to_string().contains("incident.acknowledged")).await;
    let resolve = json!({"routing_key": key, "dedup_key": dedup, "event_action": "resolve"});
    assert_eq!(post_raw(&app, "/v2/enqueue", None, &resolve.to_string()).await.0, StatusCode::ACCEPTED);
    until(&app, &format!("/api/v1/incidents/{id}"), |v| v["status"] == "RESOLVED").await;

    // Past its rate a key is told to wait, as PagerDuty does.
    let slow = integration(&app, json!({"name": "slow", "type": "pagerduty", "ratePerMinute": 1})).await;
    trigger["routing_key"] = json!(slow);
    let mut throttled = None;
    for _ in 0..3 {
        let (status, headers, _) = post_raw(&app, "/v2/enqueue", None, &trigger.to_string()).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        }
    }
    assert!(throttled.is_some_and(|s| (1..=60).contains(&s)), "a 429 with Retry-After: {throttled:?}");
}

async fn sns_grafana_and_generic(app: TestApp) {
    let key = integration(&app, json!({"name": "cloudwatch", "type": "sns"})).await;
    let confirm = json!({"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "t",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms", "Message": "You have chosen to subscribe",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t", "Timestamp": "2026-11-30T08:00:00Z"});
    let (status, _, _) = post_raw(&app, &format!("/integrations/sns?key={key}"), None, &confirm.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let shown = until(&app, "/api/v1/inbound?status=recorded", |v| count(v) == 1).await;
    assert_eq!(shown["items"][0]["kind"], "subscription");
    assert!(shown["items"][0]["payload"]["subscribeUrl"].as_str().expect("url").contains("ConfirmSubscription"));
    let alarm = include_str!(
        "../../muster-core/tests/fixtures/payloads/cloudwatch/aws-lambda-go__cloudwatch-alarm-sns-payload-single-metric.json"
    );
    let (status, _, accepted) = post_raw(&app, &format!("/integrations/sns?key={key}"), None, alarm).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let list = until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 1).await;
    let id = list["items"][0]["id"].as_str().expect("id").to_string();
    assert!(
        list["items"][0]["dedupeString"]
            .as_str()
            .expect("dedupe")
            .contains("arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE")
    );
    // The OK arrives as SNS really posts to an HTTP endpoint: the message itself, not a Lambda record.
    let record: Value = serde_json::from_str(alarm).expect("fixture");
    let sns = &record["Records"][0]["Sns"];
    let message = sns["Message"].as_str().expect("message");
    let ok_message = message.replace(r#""NewStateValue": "ALARM""#, r#""NewStateValue": "OK""#);
    assert_ne!(ok_message, message);
    let ok = json!({"Type": "Notification", "MessageId": "m-2", "TopicArn": sns["TopicArn"], "Subject": sns["Subject"],
        "Message": ok_message, "Timestamp": sns["Timestamp"], "SignatureVersion": "1", "Signature": sns["Signature"],
        "SigningCertURL": sns["SigningCertUrl"], "UnsubscribeURL": sns["UnsubscribeUrl"]});
    let (status, _, answer) = post_raw(&app, &format!("/integrations/sns?key={key}"), None, &ok.to_string()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    until(&app, &format!("/api/v1/incidents/{id}"), |v| v["status"] == "RESOLVED").await;

    let gkey = integration(&app, json!({"name": "grafana", "type": "grafana"})).await;
    let grafana =
        include_str!("../../muster-core/tests/fixtures/payloads/grafana/grafana_webhook-notifier_example.json");
    assert_eq!(post_raw(&app, "/integrations/grafana", Some(&gkey), grafana).await.0, StatusCode::ACCEPTED);
    until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 2).await;
    // A Grafana key does not open the SNS door.
    assert_eq!(post_raw(&app, &format!("/integrations/sns?key={gkey}"), None, alarm).await.0, StatusCode::BAD_REQUEST);

    let mapping = json!({"title": "/check", "impact": "/level", "dedupe": "/id", "action": "/state"});
    let key = integration(&app, json!({"name": "uptime", "type": "generic", "mapping": mapping})).await;
    let down = json!({"check": "Homepage down", "level": "critical", "id": "home", "state": "down"});
    assert_eq!(post_raw(&app, "/integrations/generic", Some(&key), &down.to_string()).await.0, StatusCode::ACCEPTED);
    let list = until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 3).await;
    let home = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["title"] == "Homepage down")
        .expect("generic incident")
        .clone();
    assert_eq!(home["impact"], 1);
    let up = json!({"check": "Homepage down", "level": "critical", "id": "home", "state": "resolved"});
    post_raw(&app, "/integrations/generic", Some(&key), &up.to_string()).await;
    until(&app, &format!("/api/v1/incidents/{}", home["id"].as_str().expect("id")), |v| v["status"] == "RESOLVED")
        .await;
    let (status, _, err) = post_raw(&app, "/integrations/generic", Some(&key), "{\"level\": 1}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    // With no identity in the mapping, each alert is an incident of its own: nothing merges.
    let bare = integration(&app, json!({"name": "bare", "type": "generic", "mapping": {"title": "/check"}})).await;
    for check in ["Disk full on db-1", "Disk full on db-2"] {
        post_raw(&app, "/integrations/generic", Some(&bare), &json!({"check": check}).to_string()).await;
    }
    let list = until(&app, "/api/v1/incidents?status=OPEN", |v| count(v) == 4).await;
    assert!(list.to_string().contains("db-1") && list.to_string().contains("db-2"), "{list}");
}

async fn heartbeats_over_http(app: TestApp) {
    let key = integration(&app, json!({"name": "nightly-backup", "type": "heartbeat", "intervalSeconds": 600})).await;
    // A cron job's `curl URL?key=...`: a GET with the key in the query.
    let before = jiff::Timestamp::now();
    let res = app.http.get(format!("{}/integrations/heartbeat?key={key}", app.base)).send().await.expect("ping");
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.expect("json");
    assert_eq!(v["ok"], true);
    let next: jiff::Timestamp = v["nextBefore"].as_str().expect("nextBefore").parse().expect("a time");
    let due = next.duration_since(before).as_secs();
    assert!((599..=610).contains(&due), "the next ping is due in the interval: {due} s");
    // A POST with the key as a bearer token works the same; the ping is on record.
    assert_eq!(post_raw(&app, "/integrations/heartbeat", Some(&key), "").await.0, StatusCode::OK);
    let (_, shown) = app.admin(Method::GET, "/api/v1/integrations/nightly-backup", None).await;
    assert!(shown["lastReceivedAt"].is_string(), "{shown}");
    // No key, another kind's key: refused, and said why.
    let (status, _, err) = post_raw(&app, "/integrations/heartbeat", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    let other = integration(&app, json!({"name": "graf", "type": "grafana"})).await;
    let (status, _, err) = post_raw(&app, "/integrations/heartbeat", Some(&other), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["field"], "key");
}

async fn the_built_in_runbooks_do_real_work(app: TestApp) {
    let (_, list) = app.admin(Method::GET, "/api/v1/runbooks", None).await;
    let names: Vec<&str> = list["items"].as_array().expect("items").iter().filter_map(|r| r["name"].as_str()).collect();
    for name in ["muster-troubleshoot-vpn", "muster-http-check", "muster-tcp-check", "muster-metric-summary"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let (status, _) = app
        .admin(
            Method::PUT,
            "/api/v1/runbooks/muster-tcp-check",
            Some(json!({"name": "muster-tcp-check", "document": RUNBOOK})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "built-ins are read-only");
    let (_, incident) =
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "checks", "impact": 4}))).await;
    let id = incident["id"].as_str().expect("id").to_string();
    let run = |runbook: &str, parameters: Value| json!({"runbook": runbook, "parameters": parameters, "incident": id});
    let port = app.base.rsplit(':').next().expect("port").to_string();
    let mut finals = Vec::new();
    for (runbook, parameters) in [
        ("muster-http-check", json!({"Url": format!("{}/healthz", app.base)})),
        ("muster-http-check", json!({"Url": format!("{}/healthz", app.base), "ExpectedStatus": 204})),
        ("muster-tcp-check", json!({"Host": "127.0.0.1", "Port": port.parse::<u16>().expect("port")})),
        ("muster-tcp-check", json!({"Host": "127.0.0.1", "Port": 9})),
    ] {
        let (status, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(run(runbook, parameters))).await;
        assert_eq!(status, StatusCode::CREATED, "{e}");
        finals.push(until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await["status"].clone());
    }
    assert_eq!(finals, [json!("Success"), json!("Failed"), json!("Success"), json!("Failed")]);
    let metrics = json!({"namespace": "Web", "metricData": [
        {"metricName": "Latency", "dimensions": [{"name": "Host", "value": "web-1"}], "value": 120},
        {"metricName": "Latency", "dimensions": [{"name": "Host", "value": "web-1"}], "value": 80}]});
    app.admin(Method::POST, "/api/v1/metrics", Some(metrics)).await;
    let params =
        json!({"Namespace": "Web", "MetricName": "Latency", "Dimensions": {"Host": "web-1"}, "Statistic": "Maximum"});
    let (_, e) =
        app.admin(Method::POST, "/api/v1/runbook-executions", Some(run("muster-metric-summary", params))).await;
    let done = until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Success", "{done}");
    let (_, timeline) = app.admin(Method::GET, &format!("/api/v1/incidents/{id}/timeline"), None).await;
    let findings: Vec<String> = timeline["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["eventType"] == "finding")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect();
    assert!(findings.iter().any(|f| f.contains("/healthz answered 200")), "{findings:?}");
    assert!(findings.iter().any(|f| f.contains(&format!("127.0.0.1:{port} reachable over TCP: true"))), "{findings:?}");
    assert!(findings.iter().any(|f| f.contains("127.0.0.1:9 reachable over TCP: false")), "{findings:?}");
    assert!(
        findings.iter().any(|f| f.starts_with("Web Latency: 1 period(s) with data") && f.contains("highest 120")),
        "{findings:?}"
    );
}

async fn a_scripts_children_end_with_it(app: TestApp) {
    let doc = r#"
schemaVersion: "0.3"
parameters:
  PidFile: {type: String}
mainSteps:
  - name: spawn
    action: muster:script
    timeoutSeconds: 1
    inputs:
      Interpreter: sh
      Environment: {PIDFILE: "{{ PidFile }}"}
      Script: |
        sleep 60 &
        echo $! > "$PIDFILE"
        wait
"#;
    let (status, rb) =
        app.admin(Method::POST, "/api/v1/runbooks", Some(json!({"name": "spawner", "document": doc}))).await;
    assert_eq!(status, StatusCode::CREATED, "{rb}");
    let pid_file = std::env::temp_dir().join(format!("muster-spawn-{}.pid", uuid_like()));
    let body = json!({"runbook": "spawner", "parameters": {"PidFile": pid_file.to_string_lossy()}});
    let (_, e) = app.admin(Method::POST, "/api/v1/runbook-executions", Some(body)).await;
    let done = until_status(&app, e["id"].as_str().expect("id"), &["Success", "Failed"]).await;
    assert_eq!(done["status"], "Failed");
    assert!(done["steps"][0]["failure"].as_str().expect("failure").contains("timeout"), "{done}");
    let pid = std::fs::read_to_string(&pid_file).expect("the script wrote its child's pid");
    let _ = std::fs::remove_file(&pid_file);
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    let mut gone = false;
    for _ in 0..100 {
        // Gone, or a zombie waiting to be reaped: either way it no longer runs.
        let state = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        if state.is_empty() || state.split(' ').nth(2) == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "the script's child {} still runs", pid.trim());
}

// ---- Closure: analyses, action items, reports, over a simulated clock ----

async fn spawn_on_clock(backend: Backend, clock: std::sync::Arc<muster_core::ManualClock>) -> Option<TestApp> {
    let url = fresh_url(backend).await?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_token: Some(ADMIN.into()),
        public_url: Some(PUBLIC.into()),
        handoff_notice_minutes: 0,
        ..Config::default()
    };
    let app = Application::build_with_clock(config, clock).await.expect("server builds");
    let base = format!("http://{}", app.address().expect("bound"));
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    Some(TestApp { base, http: reqwest::Client::new() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_analysis_measures_the_incident_it_came_from() {
    an_analysis_measures_the_incident_it_came_from(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_analysis_measures_the_incident_it_came_from() {
    an_analysis_measures_the_incident_it_came_from(Backend::Postgres).await;
}

async fn an_analysis_measures_the_incident_it_came_from(backend: Backend) {
    use jiff::{SignedDuration, Timestamp};
    let t0: Timestamp = "2026-11-30T10:00:00Z".parse().expect("valid");
    let clock = std::sync::Arc::new(muster_core::ManualClock::new(t0));
    let Some(app) = spawn_on_clock(backend, clock.clone()).await else { return };
    let at = |secs: i64| clock.set(t0 + SignedDuration::from_secs(secs));
    let sink = muster_notify::testing::HttpSink::start().await;
    people(&app, &["ann"]).await;
    let channel = json!({"name": "hook", "type": "WEBHOOK", "address": format!("{}/ann", sink.base)});
    assert_eq!(app.admin(Method::POST, "/api/v1/contacts/ann/channels", Some(channel)).await.0, StatusCode::CREATED);
    let plan = json!({"name": "checkout", "incidentTemplate": {"title": "Checkout failing", "impact": 2}, "engagements": ["ann"]});
    assert_eq!(app.admin(Method::POST, "/api/v1/response-plans", Some(plan)).await.0, StatusCode::CREATED);

    // An alarm changed state at 09:58:30; the incident opened at 10:00.
    let trigger =
        json!({"source": "alarm", "details": {"alarmName": "checkout-errors", "changedAt": "2026-11-30T09:58:30Z"}});
    let (_, incident) = app
        .admin(Method::POST, "/api/v1/incidents", Some(json!({"responsePlan": "checkout", "trigger": trigger})))
        .await;
    let id = incident["id"].as_str().expect("id").to_string();
    let pages = until(&app, &format!("/api/v1/pages?incident={id}"), |v| count(v) == 1).await;
    let page = pages["items"][0].clone();
    let paged_at: Timestamp = page["createdAt"].as_str().expect("createdAt").parse().expect("time");
    at(300);
    let (status, _) =
        app.admin(Method::POST, &format!("/api/v1/pages/{}/ack", page["id"].as_str().expect("id")), None).await;
    assert_eq!(status, StatusCode::OK);
    at(1200);
    let mitigated = json!({"eventType": "mitigated", "message": "rolled back deploy 4812"});
    assert_eq!(
        app.admin(Method::POST, &format!("/api/v1/incidents/{id}/timeline"), Some(mitigated)).await.0,
        StatusCode::CREATED
    );
    at(2700);
    app.admin(Method::PATCH, &format!("/api/v1/incidents/{id}"), Some(json!({"status": "RESOLVED"}))).await;

    at(3000);
    let (status, analysis) =
        app.admin(Method::POST, "/api/v1/post-incident-analyses", Some(json!({"incident": id}))).await;
    assert_eq!(status, StatusCode::CREATED, "{analysis}");
    let m = &analysis["metrics"];
    assert_eq!(m["timeToDetect"], 90);
    assert_eq!(m["timeToEngage"], paged_at.duration_since(t0).as_secs(), "from the page's own record");
    assert_eq!(m["timeToAcknowledge"], 300);
    assert_eq!(m["timeToMitigate"], 1200);
    assert_eq!(m["timeToResolve"], 2700);
    assert_eq!(m["pagesSent"], 1);
    assert_eq!(m["paged"]["ann"], 1);
    assert_eq!(analysis["status"], "DRAFT");
    assert!(analysis["timelineExcerpt"].to_string().contains("rolled back deploy 4812"));
    assert_eq!(analysis["template"]["questions"].as_array().map(Vec::len), Some(9));
    let aid = analysis["id"].as_str().expect("id").to_string();

    let patch = json!({"answers": {"summary": "A deploy broke card payments.", "five_whys": "Because the canary was skipped."}, "status": "IN_REVIEW"});
    let (status, updated) =
        app.admin(Method::PATCH, &format!("/api/v1/post-incident-analyses/{aid}"), Some(patch)).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (status, err) = app
        .admin(Method::PATCH, &format!("/api/v1/post-incident-analyses/{aid}"), Some(json!({"answers": {"nope": "x"}})))
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("answers.nope")));
    let item = json!({"title": "Make the canary mandatory", "owner": "ann", "due": "2026-12-01", "link": "https://tracker.example/42"});
    let (status, created) =
        app.admin(Method::POST, &format!("/api/v1/post-incident-analyses/{aid}/action-items"), Some(item)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, err) = app
        .admin(
            Method::POST,
            &format!("/api/v1/post-incident-analyses/{aid}/action-items"),
            Some(json!({"title": "x", "owner": "nobody"})),
        )
        .await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("owner")));
    let (_, saved) = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/post-incident-analyses/{aid}"),
            Some(json!({"title": "Checkout outage review"})),
        )
        .await;
    assert_eq!(saved["actionItems"].as_array().map(Vec::len), Some(1), "saving keeps the action items: {saved}");

    let res = app
        .http
        .get(format!("{}/api/v1/post-incident-analyses/{aid}/export?format=markdown", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("export");
    assert!(res.headers()["content-type"].to_str().expect("type").starts_with("text/markdown"));
    let md = res.text().await.expect("text");
    assert!(md.starts_with("# Checkout outage review\n"), "{md}");
    assert!(md.contains("| Time to acknowledge | 5 min 0 s |"), "{md}");
    assert!(md.contains("| Time to resolve | 45 min 0 s |"), "{md}");
    assert!(md.contains("## What happened, in a few sentences?\n\nA deploy broke card payments."), "{md}");
    assert!(
        md.contains("- [ ] Make the canary mandatory — owner ann, due 2026-12-01 (https://tracker.example/42)"),
        "{md}"
    );
    let (_, exported) =
        app.admin(Method::GET, &format!("/api/v1/post-incident-analyses/{aid}/export?format=json"), None).await;
    assert_eq!(exported["metrics"]["timeToResolve"], 2700);
    assert_eq!(exported["analysis"]["status"], "IN_REVIEW");

    // A second incident: acknowledged a minute after it opened, resolved ten minutes after.
    at(3600);
    let (_, second) =
        app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "Search slow", "impact": 3}))).await;
    let second = second["id"].as_str().expect("id").to_string();
    at(3660);
    app.admin(Method::POST, &format!("/api/v1/incidents/{second}/ack"), None).await;
    at(4200);
    app.admin(Method::PATCH, &format!("/api/v1/incidents/{second}"), Some(json!({"status": "RESOLVED"}))).await;
    let (status, r) = app
        .admin(Method::GET, "/api/v1/reports?from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z&period=day", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["overall"]["incidents"], 2);
    assert_eq!(r["overall"]["mtta"], 180.0, "(300 + 60) / 2");
    assert_eq!(r["overall"]["mttr"], 1650.0, "(2700 + 600) / 2");
    assert_eq!(r["byResponsePlan"]["checkout"]["mttr"], 2700.0);
    assert_eq!(r["byPeriod"]["2026-11-30"]["incidents"], 2);
    assert_eq!(r["pagesPerPerson"][0]["contact"], "ann");
    assert_eq!(r["noisiest"][0]["source"], "alarm:checkout-errors");
    let csv = app
        .http
        .get(format!("{}/api/v1/reports?from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z&format=csv", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(csv.contains("\noverall,all,2,2,180,2,1650\n"), "{csv}");

    // Past its due date, the item is overdue, and its owner is reminded through their channel.
    clock.set("2026-12-03T12:00:00Z".parse().expect("valid"));
    let (_, items) = app.admin(Method::GET, "/api/v1/action-items?overdue=true", None).await;
    assert_eq!(count(&items), 1);
    assert_eq!(items["items"][0]["overdue"], true);
    let mut reminded = false;
    for _ in 0..100 {
        if sink.requests.lock().await.iter().any(|r| r.body.contains("Overdue action item: Make the canary mandatory"))
        {
            reminded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reminded, "the owner was reminded");
}

async fn changes_are_audited(app: TestApp) {
    let responder = app.token("responder").await;
    app.admin(Method::POST, "/api/v1/incidents", Some(json!({"title": "audited", "impact": 3}))).await;
    app.call(Method::PATCH, "/api/v1/incidents/1", Some(&responder), Some(json!({"impact": 2}))).await;
    let (status, _) = app.call(Method::PATCH, "/api/v1/incidents/1", None, Some(json!({"impact": 1}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.admin(
        Method::POST,
        "/api/v1/metrics",
        Some(json!({"namespace": "n", "metricData": [{"metricName": "m", "value": 1}]})),
    )
    .await;
    let (status, _) = app.call(Method::GET, "/api/v1/audit", Some(&responder), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins only");
    let (status, log) = app.admin(Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries = log["items"].as_array().expect("items");
    let find = |actor: &str, method: &str, path: &str| {
        entries.iter().find(|e| e["actor"] == actor && e["method"] == method && e["path"] == path).cloned()
    };
    let created = find("admin", "POST", "/api/v1/incidents").expect("the start is audited");
    assert_eq!(created["status"], 201);
    assert_eq!(created["remote"], "127.0.0.1");
    assert!(created["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(find("responder", "PATCH", "/api/v1/incidents/1").expect("the change")["status"], 200);
    assert_eq!(find("anonymous", "PATCH", "/api/v1/incidents/1").expect("the refusal")["status"], 401);
    assert!(find("admin", "POST", "/api/v1/metrics").is_none(), "data senders post is not audited");
    assert!(find("responder", "POST", "/api/v1/tokens").is_none());
    assert!(find("admin", "POST", "/api/v1/tokens").is_some(), "making the responder's token was");
    let (_, only) = app.admin(Method::GET, "/api/v1/audit?actor=responder", None).await;
    assert!(only["items"].as_array().expect("items").iter().all(|e| e["actor"] == "responder"));
    let csv = app
        .http
        .get(format!("{}/api/v1/audit?format=csv", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    assert!(csv.starts_with("at,actor,method,path,status,remote,client,request_id\n"), "{csv}");
    assert!(!csv.contains(ADMIN), "no secret in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_each_token_has_a_rate() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.token_rate_per_minute = 5).await else { return };
    let other = app.token("viewer").await;
    let mut statuses = Vec::new();
    let mut retry = None;
    for _ in 0..14 {
        let res = app.http.get(format!("{}/api/v1/incidents", app.base)).bearer_auth(ADMIN).send().await.expect("send");
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        }
        statuses.push(res.status());
    }
    // Fifteen requests of the admin token in all (one made the viewer's token): however a minute
    // boundary splits them, one side holds more than five, so at least one is refused.
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "with Retry-After: {retry:?}");
    let (status, _) = app.call(Method::GET, "/api/v1/incidents", Some(&other), None).await;
    assert_eq!(status, StatusCode::OK, "another token has its own allowance");
}

/// Reads from `stream` until the server closes it, and returns what it sent; `None` when it is
/// still open after `limit` (a guard so a broken server fails the test rather than hanging it).
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    limit: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    tokio::time::timeout(limit, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// Slow clients (a trickle of headers, or a body that never comes) are cut off after the client
/// timeout, on plain HTTP as on HTTPS, while prompt clients are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let Some(app) = spawn_app_with(Backend::Sqlite, |c| c.client_timeout = std::time::Duration::from_secs(1)).await
    else {
        return;
    };
    let addr = app.base.trim_start_matches("http://").to_string();
    let guard = std::time::Duration::from_secs(20);

    // Headers begun and never finished: the connection is closed without an answer.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: muster\r\n").await.expect("write");
    let said = read_until_closed(&mut slow, guard).await.expect("the server closes a connection whose headers stall");
    assert!(!said.contains("200 OK"), "no request was served: {said}");

    // Headers complete, body promised and never sent: 408, and the connection closes.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: muster\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"title\""
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let said = read_until_closed(&mut slow, guard).await.expect("the server closes a connection whose body stalls");
    assert!(said.starts_with("HTTP/1.1 408"), "a stalled body is a 408: {said}");
    let (status, list) = app.admin(Method::GET, "/api/v1/incidents", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "nothing half-written: {list}");

    // A body trickled in, each piece in time but the whole far too slow: 408 all the same.
    let slow = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut from, mut to) = slow.into_split();
    let head = b"POST /integrations/grafana HTTP/1.1\r\nHost: muster\r\nContent-Type: application/json\r\n\
                 Content-Length: 40\r\n\r\n";
    to.write_all(head).await.expect("write");
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if to.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let said = read_until_closed(&mut from, guard).await.expect("the server gives up on a trickled body");
    assert!(said.starts_with("HTTP/1.1 408"), "a trickled body is a 408: {said}");
    trickle.abort();

    // A prompt client on the same server is served.
    let mut quick = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    quick.write_all(b"GET /healthz HTTP/1.1\r\nHost: muster\r\nConnection: close\r\n\r\n").await.expect("write");
    let said = read_until_closed(&mut quick, guard).await.expect("answered");
    assert!(said.starts_with("HTTP/1.1 200"), "{said}");
}
