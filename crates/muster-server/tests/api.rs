//! Black-box tests: a real server on a random port and a fresh database, over real HTTP, on both
//! backends.

use muster_server::{Application, Config};
use muster_store::Backend;
use muster_store::testing::fresh_url;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ADMIN: &str = "test-admin-token-0123456789";

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
    let url = fresh_url(backend).await?;
    let config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: url,
        admin_token: Some(ADMIN.into()),
        body_limit: 64 * 1024,
        public_url: None,
    };
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

    let (status, resolved) =
        app.admin(Method::PATCH, "/api/v1/incidents/1", Some(json!({"status": "RESOLVED", "impact": 3}))).await;
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
            "incident.impact-changed",
            "incident.resolved"
        ]
    );

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
