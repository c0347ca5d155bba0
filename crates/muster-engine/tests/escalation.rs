//! Escalations over simulated time, on both backends, with real HTTP receivers.

use jiff::{SignedDuration, Timestamp};
use muster_core::contact::{ChannelSpec, ChannelType, ContactPlan, ContactSpec, ContactType, PlanStage, PlanTarget};
use muster_core::engage::{EngagementStatus, PageStatus};
use muster_core::incident::{Impact, StartRequest, prepare_start};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::{Clock, ManualClock};
use muster_engine::{Engine, EngineConfig, ProviderConfig};
use muster_notify::testing::HttpSink;
use muster_store::testing::fresh_url;
use muster_store::{Backend, SqlStore, Store};
use std::sync::Arc;

fn t0() -> Timestamp {
    "2026-11-23T09:00:00Z".parse().expect("valid")
}

struct World {
    store: Arc<SqlStore>,
    clock: Arc<ManualClock>,
    engine: Engine,
    sink: HttpSink,
    url: String,
}

async fn world(backend: Backend) -> Option<World> {
    let url = fresh_url(backend).await?;
    let store = Arc::new(SqlStore::connect(&url).await.expect("store"));
    let clock = Arc::new(ManualClock::new(t0()));
    let sink = HttpSink::start().await;
    let engine = engine(&store, &clock).await;
    Some(World { store, clock, engine, sink, url })
}

async fn engine(store: &Arc<SqlStore>, clock: &Arc<ManualClock>) -> Engine {
    let config = EngineConfig {
        public_url: Some("https://muster.example".into()),
        handoff_notice_minutes: 0,
        message_templates: [("pageSubject".to_string(), "[P{{ incident.impact }}] {{ subject }}".to_string())].into(),
        secrets: Default::default(),
        http_policy: Default::default(),
        ..Default::default()
    };
    Engine::new(store.clone(), clock.clone(), &ProviderConfig::default(), config).await.expect("engine")
}

impl World {
    async fn person(&self, alias: &str, path: &str) {
        let spec = ContactSpec {
            alias: alias.into(),
            display_name: None,
            kind: ContactType::Personal,
            time_zone: None,
            rotations: vec![],
            plan: None,
        };
        let c = self.store.create_contact(&spec, t0()).await.expect("contact");
        let ch = ChannelSpec {
            name: "hook".into(),
            kind: ChannelType::Webhook,
            address: format!("{}/{path}", self.sink.base),
            defer_activation: false,
        };
        self.store.add_channel(&c.id, &ch, true, t0()).await.expect("channel");
    }

    async fn escalation(&self, alias: &str, stages: &[(&[&str], u32)], essential: &[&str], repeat: u32) {
        let plan = ContactPlan {
            stages: stages
                .iter()
                .map(|(who, mins)| PlanStage {
                    duration_minutes: *mins,
                    duration_seconds: None,
                    targets: who
                        .iter()
                        .map(|w| PlanTarget {
                            contact: Some(w.to_string()),
                            essential: essential.contains(w),
                            ..Default::default()
                        })
                        .collect(),
                })
                .collect(),
            repeat,
            round_robin: false,
        };
        let spec = ContactSpec {
            alias: alias.into(),
            display_name: None,
            kind: ContactType::Escalation,
            time_zone: None,
            rotations: vec![],
            plan: Some(plan),
        };
        self.store.create_contact(&spec.validate().expect("valid plan"), t0()).await.expect("escalation");
    }

    /// Opens an incident from a plan that engages `contact`; its id.
    async fn incident(&self, contact: &str) -> String {
        let spec = ResponsePlanSpec {
            name: format!("plan-{contact}"),
            display_name: None,
            incident_template: IncidentTemplate {
                title: "Database down".into(),
                impact: Impact::try_from(1).expect("valid"),
                summary: Some("Primary is gone".into()),
                dedupe_string: None,
                tags: Default::default(),
            },
            chat_channels: vec![],
            engagements: vec![format!("arn:aws:ssm-contacts:local:000000000000:contact/{contact}")],
            actions: vec![],
            integrations: serde_json::Value::Null,
            maintenance: Vec::new(),
        };
        let plan = match self.store.get_plan(&spec.name).await.expect("get") {
            Some(p) => p,
            None => self.store.create_plan(&spec, t0()).await.expect("plan"),
        };
        let new = prepare_start(StartRequest::default(), Some(&plan), "test", self.clock.now()).expect("valid");
        self.store.start_incident(new).await.expect("start").into_incident().id
    }

    async fn hits(&self, path: &str) -> usize {
        self.sink.requests.lock().await.iter().filter(|r| r.path == format!("/{path}")).count()
    }

    async fn advance(&self, mins: i64) {
        self.clock.advance(SignedDuration::from_mins(mins));
        self.engine.run_due().await.expect("jobs run");
    }
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::world(muster_store::Backend::Sqlite).await { super::$name(w).await } })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::world(muster_store::Backend::Postgres).await { super::$name(w).await } })* }
    };
}

both!(
    three_stages_page_in_turn_and_an_ack_stops_the_rest,
    a_restart_mid_escalation_loses_no_stage,
    a_failing_receiver_gets_retries_then_an_error_receipt,
    only_essential_targets_stop_the_plan,
    a_dead_nodes_jobs_are_taken_over_once,
    round_robin_takes_turns,
    a_providers_rate_is_respected,
    the_incoming_person_hears_before_their_shift,
);

async fn three_stages_page_in_turn_and_an_ack_stops_the_rest(w: World) {
    for (a, p) in [("ann", "a"), ("bob", "b"), ("cy", "c")] {
        w.person(a, p).await;
    }
    w.escalation("db-escalation", &[(&["ann"], 5), (&["bob"], 5), (&["cy"], 5)], &[], 0).await;
    let incident = w.incident("db-escalation").await;
    w.engine.run_due().await.expect("run");
    assert_eq!((w.hits("a").await, w.hits("b").await, w.hits("c").await), (1, 0, 0), "stage 1 pages ann only");
    w.advance(4).await;
    assert_eq!(w.hits("b").await, 0, "stage 2 waits its turn");
    w.advance(1).await;
    assert_eq!((w.hits("a").await, w.hits("b").await), (1, 1), "stage 2 pages bob");
    let pages = w.store.list_pages(Some(&incident), None).await.expect("pages");
    let bobs = pages.iter().find(|p| p.contact == "bob").expect("bob's page");
    assert_eq!(bobs.status, PageStatus::Delivered);
    let acked = w.store.acknowledge(&bobs.id, "bob", "api", w.clock.now()).await.expect("ack").expect("exists");
    assert!(acked.stopped);
    w.advance(10).await;
    w.advance(60).await;
    assert_eq!(w.hits("c").await, 0, "an acknowledgement stops the escalation: stage 3 never pages");
    let e = &w.store.list_engagements(Some(&incident)).await.expect("engagements")[0];
    assert_eq!(e.status, EngagementStatus::Acknowledged);
    assert_eq!(e.acknowledged_by.as_deref(), Some("bob"));
    let timeline: Vec<String> =
        w.store.list_timeline(&incident).await.expect("timeline").into_iter().map(|e| e.event_type).collect();
    assert!(timeline.contains(&"page.acknowledged".to_string()), "{timeline:?}");
    assert_eq!(timeline.iter().filter(|t| *t == "engagement.stage").count(), 2);
    let body: serde_json::Value = serde_json::from_str(&w.sink.requests.lock().await[0].body).expect("json");
    assert!(body["ackUrl"].as_str().expect("a signed link").starts_with("https://muster.example/ack/"));
    assert_eq!(body["subject"], "[P1] Incident #1: Database down (impact 1)", "the overridden subject template");
}

async fn a_restart_mid_escalation_loses_no_stage(w: World) {
    w.person("ann", "a").await;
    w.person("bob", "b").await;
    w.escalation("esc", &[(&["ann"], 10), (&["bob"], 10)], &[], 0).await;
    w.incident("esc").await;
    w.engine.run_due().await.expect("run");
    assert_eq!(w.hits("a").await, 1);
    // The process goes away; a new one opens the same database.
    let World { store, clock, sink, url, engine } = w;
    drop(engine);
    store.close().await;
    drop(store);
    let store = Arc::new(SqlStore::connect(&url).await.expect("reopen"));
    let engine = engine_for(&store, &clock).await;
    clock.advance(SignedDuration::from_mins(10));
    engine.run_due().await.expect("run");
    let bob = sink.requests.lock().await.iter().filter(|r| r.path == "/b").count();
    assert_eq!(bob, 1, "stage 2 fired after the restart");
}

async fn engine_for(store: &Arc<SqlStore>, clock: &Arc<ManualClock>) -> Engine {
    engine(store, clock).await
}

async fn a_failing_receiver_gets_retries_then_an_error_receipt(w: World) {
    w.person("ann", "a").await;
    w.sink.answer(500);
    let incident = w.incident("ann").await;
    w.engine.run_due().await.expect("run");
    assert_eq!(w.hits("a").await, 1);
    for _ in 0..8 {
        w.advance(20).await;
    }
    assert_eq!(w.hits("a").await, 5, "five attempts in all");
    let page = &w.store.list_pages(Some(&incident), None).await.expect("pages")[0];
    assert_eq!(page.status, PageStatus::Error);
    assert_eq!(page.attempts, 5);
    assert!(page.last_error.as_deref().unwrap_or("").contains("500"));
    let timeline = w.store.list_timeline(&incident).await.expect("timeline");
    let failed = timeline.iter().find(|e| e.event_type == "page.failed").expect("the failure is on the timeline");
    assert!(failed.message.contains("after 5 attempt"));
    assert!(!failed.message.contains(&w.sink.base), "no address in the timeline");
    let keys: Vec<String> = w
        .sink
        .requests
        .lock()
        .await
        .iter()
        .map(|r| r.headers["idempotency-key"].to_str().unwrap_or("").to_string())
        .collect();
    assert!(keys.iter().all(|k| k == &page.id), "one idempotency key across retries");
}

async fn only_essential_targets_stop_the_plan(w: World) {
    for (a, p) in [("ann", "a"), ("bob", "b"), ("cy", "c")] {
        w.person(a, p).await;
    }
    w.escalation("esc", &[(&["ann", "bob"], 5), (&["cy"], 5)], &["bob"], 0).await;
    let incident = w.incident("esc").await;
    w.engine.run_due().await.expect("run");
    let pages = w.store.list_pages(Some(&incident), None).await.expect("pages");
    let ann = pages.iter().find(|p| p.contact == "ann").expect("ann paged");
    let acked = w.store.acknowledge(&ann.id, "ann", "api", w.clock.now()).await.expect("ack").expect("exists");
    assert!(!acked.stopped, "ann is not essential");
    w.advance(5).await;
    assert_eq!(w.hits("c").await, 1, "the plan goes on");
    let pages = w.store.list_pages(Some(&incident), None).await.expect("pages");
    let bob = pages.iter().find(|p| p.contact == "bob").expect("bob paged");
    assert!(w.store.acknowledge(&bob.id, "bob", "link", w.clock.now()).await.expect("ack").expect("exists").stopped);
}

async fn a_dead_nodes_jobs_are_taken_over_once(w: World) {
    w.person("ann", "a").await;
    w.person("bob", "b").await;
    w.escalation("esc", &[(&["ann"], 5), (&["bob"], 5)], &[], 0).await;
    for _ in 0..5 {
        w.incident("esc").await;
    }
    // A second node on the same database claims the due jobs and dies before finishing them.
    let other = SqlStore::connect(&w.url).await.expect("second node");
    let claimed = other.claim_jobs("dead-node", w.clock.now(), muster_engine::LEASE, 100).await.expect("claim");
    assert_eq!(claimed.len(), 5);
    assert_eq!(w.engine.run_due().await.expect("run"), 0, "claimed jobs are not run twice while their lease holds");
    w.advance(2).await;
    assert_eq!(w.hits("a").await, 5, "after the lease runs out, the live node takes them over");
    w.advance(5).await;
    assert_eq!(w.hits("b").await, 5, "every stage fires once");
    w.advance(30).await;
    assert_eq!((w.hits("a").await, w.hits("b").await), (5, 5));
}

async fn round_robin_takes_turns(w: World) {
    w.person("ann", "a").await;
    w.person("bob", "b").await;
    let plan = ContactPlan {
        stages: vec![PlanStage {
            duration_minutes: 5,
            duration_seconds: None,
            targets: vec![
                PlanTarget { contact: Some("ann".into()), ..Default::default() },
                PlanTarget { contact: Some("bob".into()), ..Default::default() },
            ],
        }],
        repeat: 0,
        round_robin: true,
    };
    let spec = ContactSpec {
        alias: "rr".into(),
        display_name: None,
        kind: ContactType::Escalation,
        time_zone: None,
        rotations: vec![],
        plan: Some(plan),
    };
    w.store.create_contact(&spec.validate().expect("valid"), t0()).await.expect("contact");
    let mut order = Vec::new();
    for _ in 0..3 {
        let before = (w.hits("a").await, w.hits("b").await);
        w.incident("rr").await;
        w.engine.run_due().await.expect("run");
        let after = (w.hits("a").await, w.hits("b").await);
        assert_eq!(after.0 + after.1, before.0 + before.1 + 1, "one person per engagement");
        order.push(if after.0 > before.0 { "ann" } else { "bob" });
    }
    assert_eq!(order, ["ann", "bob", "ann"]);
}

async fn a_providers_rate_is_respected(w: World) {
    let providers = ProviderConfig {
        twilio_api_url: Some(w.sink.base.clone()),
        twilio_account_sid: Some("AC1".into()),
        twilio_auth_token: Some("t".into()),
        twilio_from: Some("+15550001111".into()),
        ..ProviderConfig::default()
    };
    let config = EngineConfig {
        public_url: None,
        handoff_notice_minutes: 0,
        message_templates: Default::default(),
        secrets: Default::default(),
        http_policy: Default::default(),
        ..Default::default()
    };
    let engine = Engine::new(w.store.clone(), w.clock.clone(), &providers, config).await.expect("engine");
    for (alias, phone) in [("ann", "+15550000001"), ("bob", "+15550000002"), ("cy", "+15550000003")] {
        let spec = ContactSpec {
            alias: alias.into(),
            display_name: None,
            kind: ContactType::Personal,
            time_zone: None,
            rotations: vec![],
            plan: None,
        };
        let c = w.store.create_contact(&spec, t0()).await.expect("contact");
        let ch =
            ChannelSpec { name: "sms".into(), kind: ChannelType::Sms, address: phone.into(), defer_activation: false };
        w.store.add_channel(&c.id, &ch, true, t0()).await.expect("channel");
    }
    w.escalation("all", &[(&["ann", "bob", "cy"], 5)], &[], 0).await;
    w.incident("all").await;
    engine.run_due().await.expect("run");
    assert_eq!(w.sink.count().await, 1, "one SMS a second by default");
    w.clock.advance(SignedDuration::from_secs(1));
    engine.run_due().await.expect("run");
    assert_eq!(w.sink.count().await, 2);
    w.clock.advance(SignedDuration::from_secs(1));
    engine.run_due().await.expect("run");
    assert_eq!(w.sink.count().await, 3, "held back, not dropped");
    let pages = w.store.list_pages(None, None).await.expect("pages");
    assert!(pages.iter().all(|p| p.attempts == 1), "waiting for a slot is not a failed attempt");
}

async fn the_incoming_person_hears_before_their_shift(w: World) {
    use muster_core::rotation::{Recurrence, RotationSpec};
    w.person("ann", "a").await;
    w.person("bob", "b").await;
    let spec = RotationSpec {
        name: "daily".into(),
        members: vec!["ann".into(), "bob".into()],
        start: "2026-11-20T08:00:00Z".parse().expect("valid"),
        time_zone: "Europe/Rome".into(),
        recurrence: Recurrence::Daily(vec!["09:00".parse().expect("time")]),
        recurrence_multiplier: 1,
        number_of_on_calls: 1,
        coverage: Default::default(),
    };
    w.store.create_rotation(&spec, t0()).await.expect("rotation");
    w.clock.set("2026-11-23T07:00:00Z".parse().expect("valid"));
    let config = EngineConfig {
        public_url: None,
        handoff_notice_minutes: 30,
        message_templates: Default::default(),
        secrets: Default::default(),
        http_policy: Default::default(),
        ..Default::default()
    };
    let engine =
        Engine::new(w.store.clone(), w.clock.clone(), &ProviderConfig::default(), config).await.expect("engine");
    let mut seen = Vec::new();
    // Quarter-hour steps through the morning; the 09:00 Rome handoff (08:00Z) is announced at 07:30Z.
    for _ in 0..12 {
        engine.run_due().await.expect("run");
        seen.push((w.clock.now().to_string(), w.hits("a").await, w.hits("b").await));
        w.clock.advance(SignedDuration::from_mins(15));
    }
    let before: Vec<_> = seen.iter().filter(|(t, _, _)| t.as_str() < "2026-11-23T07:30:00Z").collect();
    assert!(before.iter().all(|(_, a, b)| *a == 0 && *b == 0), "nothing before the lead time: {seen:?}");
    let last = seen.last().expect("steps");
    assert_eq!((last.1, last.2), (0, 1), "one notice, to bob, who comes on at 09:00: {seen:?}");
    let at = seen.iter().find(|(_, _, b)| *b == 1).expect("sent").0.clone();
    assert_eq!(at, "2026-11-23T07:30:00Z");
    let body: serde_json::Value = serde_json::from_str(&w.sink.requests.lock().await[0].body).expect("json");
    assert!(body["subject"].as_str().expect("subject").contains("daily starts at Mon 09:00 CET"), "{body}");
}
