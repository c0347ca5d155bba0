//! Metric alarms over simulated minutes, on both backends: periodic and data-driven evaluations,
//! M out of N, missing data, state history, and actions that open incidents and publish to a topic
//! whose webhook subscriber is a real HTTP receiver.

use jiff::{SignedDuration, Timestamp};
use muster_core::alarm::{AlarmSpec, ComparisonOperator, StateValue, TreatMissingData};
use muster_core::incident::Impact;
use muster_core::metric::{Datapoint, Dimension, Dimensions};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::topic::{Protocol, Subscription, TopicSpec};
use muster_core::{Clock, ManualClock};
use muster_engine::{Engine, EngineConfig, ProviderConfig};
use muster_notify::testing::HttpSink;
use muster_store::testing::fresh_url;
use muster_store::{Backend, SqlStore, Store};
use std::sync::Arc;

fn t0() -> Timestamp {
    "2026-11-30T09:00:00Z".parse().expect("valid")
}

fn errors(value: f64, at: Timestamp) -> Datapoint {
    Datapoint {
        namespace: "Web".into(),
        metric_name: "Errors".into(),
        dimensions: Dimensions::from([("Host".to_string(), "web-1".to_string())]),
        timestamp: at,
        value: Some(value),
        sample_count: 1.0,
        sum: value,
        minimum: value,
        maximum: value,
        unit: None,
    }
}

async fn alarms_over_simulated_minutes(backend: Backend) {
    let Some(url) = fresh_url(backend).await else { return };
    let store = Arc::new(SqlStore::connect(&url).await.expect("store"));
    let clock = Arc::new(ManualClock::new(t0()));
    let sink = HttpSink::start().await;
    let config = EngineConfig { handoff_notice_minutes: 0, ..Default::default() };
    let engine = Engine::new(store.clone(), clock.clone(), &ProviderConfig::default(), config).await.expect("engine");
    let topic = TopicSpec {
        name: "ops".into(),
        display_name: None,
        subscriptions: vec![Subscription { protocol: Protocol::Webhook, endpoint: format!("{}/ops", sink.base) }],
    };
    store.put_topic(None, &topic, t0()).await.expect("topic");
    let plan = ResponsePlanSpec {
        name: "web-down".into(),
        display_name: None,
        incident_template: IncidentTemplate {
            title: "web-1 is failing".into(),
            impact: Impact::try_from(2).expect("valid"),
            summary: None,
            dedupe_string: Some("web-1 errors".into()),
            tags: Default::default(),
        },
        chat_channels: vec![],
        engagements: vec![],
        actions: vec![],
        integrations: serde_json::Value::Null,
        maintenance: Vec::new(),
    };
    store.create_plan(&plan, t0()).await.expect("plan");
    let spec = AlarmSpec {
        name: "web-errors".into(),
        description: None,
        namespace: "Web".into(),
        metric_name: "Errors".into(),
        dimensions: vec![Dimension { name: "Host".into(), value: "web-1".into() }],
        statistic: "Sum".into(),
        period: 60,
        evaluation_periods: 3,
        datapoints_to_alarm: Some(2),
        threshold: 10.0,
        comparison_operator: ComparisonOperator::GreaterThanOrEqualToThreshold,
        treat_missing_data: TreatMissingData::NotBreaching,
        actions_enabled: true,
        alarm_actions: vec!["arn:aws:ssm-incidents::000000000000:response-plan/web-down".into(), "ops".into()],
        ok_actions: vec!["arn:aws:sns:local:000000000000:ops".into()],
        insufficient_data_actions: vec![],
        unit: None,
    };
    let (alarm, created) = store.put_alarm(None, &spec.clone().validate().expect("valid"), t0()).await.expect("alarm");
    assert!(created);
    let state = || async { store.get_alarm("web-errors").await.expect("read").expect("alarm").state_value };
    let step = |secs: i64| {
        clock.advance(SignedDuration::from_secs(secs));
    };

    // 09:00:10, one breaching minute of three (missing minutes do not breach): OK, and OK tells ops.
    step(10);
    store.put_metric_data(&[errors(12.0, clock.now())], clock.now()).await.expect("put");
    engine.run_due().await.expect("run");
    assert_eq!(state().await, StateValue::Ok);
    // 09:01:10, the second breaching minute: ALARM opens the plan's incident and tells ops.
    step(60);
    store.put_metric_data(&[errors(7.0, clock.now()), errors(8.0, clock.now())], clock.now()).await.expect("put");
    engine.run_due().await.expect("run");
    assert_eq!(state().await, StateValue::Alarm, "7 + 8 in one minute sums to 15");
    engine.run_due().await.expect("actions");
    let incidents = store.list_incidents(&Default::default()).await.expect("list").items;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].title, "web-1 is failing");
    assert_eq!(incidents[0].trigger.source, "alarm");
    let related = store.list_related_items(&incidents[0].id).await.expect("related");
    assert!(related.iter().any(|r| r.value == alarm.arn()), "{related:?}");
    assert!(related.iter().any(|r| r.title.as_deref() == Some("Host") && r.value == "web-1"), "{related:?}");

    // Quiet minutes: periodic evaluations keep it in ALARM while two of the last three breach,
    // then the window moves past them.
    for _ in 0..2 {
        step(60);
        engine.run_due().await.expect("run");
    }
    assert_eq!(state().await, StateValue::Alarm, "at 09:03:10 minutes 00 and 01 still count");
    step(60);
    engine.run_due().await.expect("run");
    assert_eq!(state().await, StateValue::Ok, "at 09:04:10 only 01 of 01-03 breaches");
    engine.run_due().await.expect("actions");

    // Ops heard OK, ALARM, OK, through real HTTP.
    let mut bodies = Vec::new();
    for _ in 0..100 {
        bodies = sink.requests.lock().await.iter().map(|r| r.body.clone()).collect::<Vec<_>>();
        if bodies.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        engine.run_due().await.expect("deliveries");
    }
    assert_eq!(bodies.len(), 3, "{bodies:?}");
    assert!(bodies[0].contains("OK: \\\"web-errors\\\""), "{}", bodies[0]);
    assert!(bodies[1].contains("ALARM: \\\"web-errors\\\""), "{}", bodies[1]);
    assert!(bodies[2].contains("OK: \\\"web-errors\\\""), "{}", bodies[2]);

    let history = store.alarm_history(&alarm.id).await.expect("history");
    let changes: Vec<&str> =
        history.iter().rev().filter(|h| h.kind == "StateUpdate").map(|h| h.summary.as_str()).collect();
    assert_eq!(
        changes,
        [
            "Alarm updated from INSUFFICIENT_DATA to OK",
            "Alarm updated from OK to ALARM",
            "Alarm updated from ALARM to OK"
        ]
    );
    let actions = history.iter().filter(|h| h.kind == "Action").count();
    assert_eq!(actions, 4, "OK → ops, ALARM → plan and ops, OK → ops");

    // An alarm whose action names nothing that exists records the failure in its history.
    let mut broken = spec.clone();
    broken.name = "broken".into();
    broken.alarm_actions = vec!["arn:aws:lambda:local:000000000000:function:page-me".into()];
    broken.treat_missing_data = TreatMissingData::Breaching;
    let (b, _) = store.put_alarm(None, &broken, clock.now()).await.expect("alarm");
    engine.run_due().await.expect("run");
    engine.run_due().await.expect("actions");
    let history = store.alarm_history(&b.id).await.expect("history");
    let failed = history.iter().find(|h| h.kind == "Action").expect("an action entry");
    assert_eq!(failed.summary, "Failed to execute action arn:aws:lambda:local:000000000000:function:page-me");
    assert!(failed.data["error"].as_str().expect("error").contains("response plans and topics only"));

    // Deleting an alarm ends its periodic job.
    assert!(store.delete_alarm("broken").await.expect("delete"));
    step(120);
    engine.run_due().await.expect("run");
    assert!(store.get_alarm("broken").await.expect("read").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_alarms_over_simulated_minutes() {
    alarms_over_simulated_minutes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_alarms_over_simulated_minutes() {
    alarms_over_simulated_minutes(Backend::Postgres).await;
}

/// A heartbeat that stops opens an incident once its interval passes; the next ping resolves it.
async fn heartbeats_over_simulated_time(backend: Backend) {
    use muster_core::alert::AlertAction;
    use muster_core::integration::{INBOUND_ALERT, IntegrationSpec, IntegrationType};
    use muster_store::NewInbound;
    let Some(url) = fresh_url(backend).await else { return };
    let store = Arc::new(SqlStore::connect(&url).await.expect("store"));
    let clock = Arc::new(ManualClock::new(t0()));
    let config = EngineConfig { handoff_notice_minutes: 0, ..Default::default() };
    let engine = Engine::new(store.clone(), clock.clone(), &ProviderConfig::default(), config).await.expect("engine");
    let spec: IntegrationSpec = serde_json::from_value(
        serde_json::json!({"name": "nightly-backup", "type": "heartbeat", "intervalSeconds": 600}),
    )
    .expect("shape");
    let spec = spec.validate().expect("valid");
    assert_eq!(spec.kind, IntegrationType::Heartbeat);
    let hb = store.create_integration(&spec, "hash", "mk123456", t0()).await.expect("integration");
    store
        .enqueue(&[muster_engine::heartbeat_job(&hb.id, t0() + SignedDuration::from_mins(10))], t0())
        .await
        .expect("job");
    let ping = |at: Timestamp| {
        let hb = hb.clone();
        let store = store.clone();
        async move {
            let alert = muster_engine::heartbeat_alert(&hb, AlertAction::Resolve, at, at);
            let item = NewInbound {
                id: muster_core::new_id(),
                kind: INBOUND_ALERT,
                integration_id: Some(hb.id.clone()),
                payload: muster_engine::alert_payload(&alert),
            };
            let next = muster_engine::heartbeat_job(&hb.id, at + SignedDuration::from_mins(10));
            store.ingest(&[item], &[next], at).await.expect("ping");
        }
    };
    let open = || async { store.list_incidents(&Default::default()).await.expect("list").items };
    // Pings every 8 minutes for an hour: nothing opens.
    for _ in 0..7 {
        clock.advance(SignedDuration::from_mins(8));
        ping(clock.now()).await;
        engine.run_due().await.expect("run");
    }
    assert!(open().await.is_empty(), "pinged in time");
    // Then silence: ten minutes after the last ping, the heartbeat is missed.
    clock.advance(SignedDuration::from_mins(9));
    engine.run_due().await.expect("run");
    assert!(open().await.is_empty(), "not yet");
    clock.advance(SignedDuration::from_mins(2));
    engine.run_due().await.expect("check");
    engine.run_due().await.expect("route");
    let incidents = open().await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].title, "Heartbeat nightly-backup missed");
    assert_eq!(incidents[0].status, muster_core::incident::IncidentStatus::Open);
    // A later check does not open a second one; the next ping resolves it.
    clock.advance(SignedDuration::from_mins(30));
    engine.run_due().await.expect("run");
    assert_eq!(open().await.len(), 1);
    ping(clock.now()).await;
    engine.run_due().await.expect("route");
    let incidents = open().await;
    assert_eq!(incidents[0].status, muster_core::incident::IncidentStatus::Resolved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_heartbeats_over_simulated_time() {
    heartbeats_over_simulated_time(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_heartbeats_over_simulated_time() {
    heartbeats_over_simulated_time(Backend::Postgres).await;
}

/// Routed events and alerts, and resolved incidents without an analysis, go after their retention.
async fn old_data_is_pruned(backend: Backend) {
    use muster_core::incident::{IncidentPatch, IncidentStatus, StartRequest, prepare_start};
    use muster_store::NewInbound;
    let Some(url) = fresh_url(backend).await else { return };
    let store = SqlStore::connect(&url).await.expect("store");
    let t = |s: &str| -> Timestamp { s.parse().expect("valid") };
    let start = |title: &str, at: Timestamp| {
        let req = StartRequest {
            title: Some(title.into()),
            impact: Some(muster_core::incident::Impact::MEDIUM),
            ..Default::default()
        };
        prepare_start(req, None, "test", at).expect("valid")
    };
    let old = store.start_incident(start("old", t("2026-01-01T00:00:00Z"))).await.expect("start").into_incident();
    let fresh = store.start_incident(start("fresh", t("2026-11-01T00:00:00Z"))).await.expect("start").into_incident();
    let open = store.start_incident(start("open", t("2026-01-01T00:00:00Z"))).await.expect("start").into_incident();
    let resolve = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
    store.update_incident(&old.id, &resolve, "test", t("2026-01-02T00:00:00Z")).await.expect("resolve");
    store.update_incident(&fresh.id, &resolve, "test", t("2026-11-02T00:00:00Z")).await.expect("resolve");
    let event =
        |id: &str| NewInbound { id: id.into(), kind: "event", integration_id: None, payload: serde_json::json!({}) };
    store.ingest(&[event("e-old")], &[], t("2026-01-01T00:00:00Z")).await.expect("ingest");
    store.ingest(&[event("e-new")], &[], t("2026-11-29T00:00:00Z")).await.expect("ingest");
    let (inbound, incidents) =
        store.prune(Some(t("2026-10-31T00:00:00Z")), Some(t("2026-06-01T00:00:00Z"))).await.expect("prune");
    assert_eq!((inbound, incidents), (0, 1), "a pending item is kept until routed; one old resolved incident goes");
    assert!(store.get_incident(&old.id).await.expect("read").is_none());
    assert!(store.get_incident(&fresh.id).await.expect("read").is_some());
    assert!(store.get_incident(&open.id).await.expect("read").is_some(), "open incidents stay");
    let routed = muster_store::InboundUpdate {
        id: "e-old".into(),
        status: "routed".into(),
        outcome: serde_json::json!({}),
        incident_id: None,
    };
    let fx = muster_store::Effects { inbound: Some(routed), ..Default::default() };
    let jobs =
        store.claim_jobs("n", t("2026-11-30T00:00:00Z"), SignedDuration::from_secs(60), 10).await.expect("claim");
    let job = jobs
        .iter()
        .find(|j| matches!(&j.task, muster_core::engage::Task::Route { inbound_id, .. } if inbound_id == "e-old"))
        .expect("its job");
    store.finish_job(&job.id, "n", &fx, t("2026-11-30T00:00:00Z")).await.expect("finish");
    let (inbound, _) = store.prune(Some(t("2026-10-31T00:00:00Z")), None).await.expect("prune");
    assert_eq!(inbound, 1);
    assert!(store.get_inbound("e-new").await.expect("read").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_data_is_pruned() {
    old_data_is_pruned(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_data_is_pruned() {
    old_data_is_pruned(Backend::Postgres).await;
}
