//! The one store test suite, run against SQLite and PostgreSQL alike.

use jiff::{SignedDuration, Timestamp};
use muster_core::incident::{
    Impact, IncidentPatch, IncidentStatus, NewIncident, RelatedItemKind, StartRequest, prepare_related_item,
    prepare_start, prepare_user_event,
};
use muster_core::plan::{IncidentTemplate, ResponsePlanSpec};
use muster_core::stack::{ChangeAction, DesiredResource, ResourceSpec, StackPlan};
use muster_store::testing::fresh_url;
use muster_store::{Backend, IncidentQuery, SqlStore, StartOutcome, Store, StoreError};
use std::sync::Arc;

fn t0() -> Timestamp {
    "2026-11-23T09:00:00Z".parse().expect("valid")
}

fn start(title: &str, dedupe: Option<&str>, now: Timestamp) -> NewIncident {
    let req = StartRequest {
        title: Some(title.into()),
        impact: Some(Impact::try_from(2).expect("valid")),
        dedupe_string: dedupe.map(Into::into),
        ..Default::default()
    };
    prepare_start(req, None, "tester", now).expect("valid start")
}

fn plan_spec(name: &str, title: &str) -> ResponsePlanSpec {
    ResponsePlanSpec {
        name: name.into(),
        display_name: None,
        incident_template: IncidentTemplate {
            title: title.into(),
            impact: Impact::try_from(3).expect("valid"),
            summary: None,
            dedupe_string: Some(title.into()),
            tags: Default::default(),
        },
        chat_channels: vec![],
        engagements: vec![],
        actions: vec![],
        integrations: serde_json::Value::Null,
        maintenance: Vec::new(),
    }
}

async fn open(backend: Backend) -> Option<(SqlStore, String)> {
    let url = fresh_url(backend).await?;
    let store = SqlStore::connect(&url).await.expect("store connects and migrates");
    Some((store, url))
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some((store, url)) = super::open(muster_store::Backend::Sqlite).await {
                    super::$name(store, url).await;
                }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                if let Some((store, url)) = super::open(muster_store::Backend::Postgres).await {
                    super::$name(store, url).await;
                }
            })*
        }
    };
}

suite!(
    start_numbers_incidents_and_writes_the_timeline,
    dedupe_adds_to_the_open_incident,
    fifty_concurrent_starts_make_one_incident,
    a_resolved_incident_is_never_reopened_by_dedupe,
    client_token_returns_the_same_incident,
    resolve_and_reopen_are_recorded,
    reopening_beside_an_open_twin_is_refused,
    list_filters_by_status_and_pages,
    notes_and_related_items,
    response_plans_have_unique_names,
    stacks_apply_diff_and_delete,
    a_failed_stack_apply_writes_nothing,
    data_survives_reconnect,
    tokens_are_found_by_hash_until_revoked,
    contacts_channels_and_activation,
    rotations_need_their_members,
    overrides_are_listed_by_window,
    stacks_order_people_before_rotations,
    deliveries_are_claimed_before_routing,
);

/// A backlog of alerts to route never holds up a delivery that is due, even one due later.
async fn deliveries_are_claimed_before_routing(store: SqlStore, _: String) {
    use muster_core::engage::{NewJob, Task};
    use muster_store::NewInbound;
    let t = t0();
    let routes: Vec<NewJob> = (0..20)
        .map(|i| {
            NewJob::at(Task::Route { inbound_id: format!("in-{i}"), closes: false }, t + SignedDuration::from_millis(i))
        })
        .collect();
    assert_eq!(routes[0].task.kind(), "route");
    store.ingest(&Vec::<NewInbound>::new(), &routes, t).await.expect("routes");
    // A resolve in the same backlog, due before the delivery: it may stop what the delivery is part
    // of, so it keeps its place in due order among deliveries.
    let resolve = NewJob::at(Task::Route { inbound_id: "in-r".into(), closes: true }, t + SignedDuration::from_secs(1));
    assert_eq!(resolve.task.kind(), "route-close");
    store.ingest(&[], std::slice::from_ref(&resolve), t).await.expect("resolve");
    let later = t + SignedDuration::from_secs(5);
    let deliver = NewJob::at(Task::DeliverNotification { notification_id: "n-1".into() }, later);
    store.ingest(&[], std::slice::from_ref(&deliver), later).await.expect("delivery");
    let claimed = store.claim_jobs("node-a", later, SignedDuration::from_secs(60), 5).await.expect("claim");
    assert_eq!(claimed.len(), 5);
    assert_eq!(claimed[0].id, resolve.id, "the resolve first: due first, and not a new alert");
    assert_eq!(claimed[1].id, deliver.id, "then the delivery, though every new alert's route was due before it");
    // Then the new alerts' routes, oldest first.
    let order: Vec<&str> = claimed[2..].iter().map(|j| j.id.as_str()).collect();
    let expected: Vec<&str> = routes[..3].iter().map(|j| j.id.as_str()).collect();
    assert_eq!(order, expected);
}

async fn start_numbers_incidents_and_writes_the_timeline(store: SqlStore, _: String) {
    let a = store.start_incident(start("a", None, t0())).await.expect("start");
    let b = store.start_incident(start("b", None, t0())).await.expect("start");
    let (a, b) = (a.into_incident(), b.into_incident());
    assert_eq!((a.number, b.number), (1, 2));
    assert_eq!(a.status, IncidentStatus::Open);
    assert_eq!(a.trigger_count, 1);
    assert_eq!(a.created_at, t0());
    let by_number = store.get_incident("2").await.expect("get").expect("exists");
    assert_eq!(by_number.id, b.id);
    let timeline = store.list_timeline(&a.id).await.expect("timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].event_type, "incident.started");
    assert_eq!(timeline[0].actor, "tester");
    assert!(store.get_incident("nope").await.expect("get").is_none());
}

async fn dedupe_adds_to_the_open_incident(store: SqlStore, _: String) {
    let first = store.start_incident(start("vpn down", Some("vpn"), t0())).await.expect("start");
    assert!(matches!(first, StartOutcome::Created(_)));
    let later = t0() + SignedDuration::from_mins(5);
    let second = store.start_incident(start("vpn down again", Some("vpn"), later)).await.expect("start");
    let StartOutcome::Deduplicated(i) = second else { panic!("expected dedupe, got {second:?}") };
    assert_eq!(i.id, first.incident().id);
    assert_eq!(i.trigger_count, 2);
    assert_eq!(i.title, "vpn down", "dedupe keeps the first title");
    assert_eq!(i.last_triggered_at, later);
    let types: Vec<String> =
        store.list_timeline(&i.id).await.expect("timeline").into_iter().map(|e| e.event_type).collect();
    assert_eq!(types, ["incident.started", "incident.triggered"]);
    // A storm within the minute folds into that event; the count stays exact.
    for s in 1..=3 {
        store.start_incident(start("again", Some("vpn"), later + SignedDuration::from_secs(s))).await.expect("start");
    }
    let timeline = store.list_timeline(&i.id).await.expect("timeline");
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert!(timeline[1].message.ends_with("(triggers 2-5)"), "{}", timeline[1].message);
    assert_eq!(timeline[1].data["triggerCount"], 5);
    let i = store.get_incident(&i.id).await.expect("get").expect("exists");
    assert_eq!(i.trigger_count, 5);
    // Another source within the minute: an event of its own.
    let mut other_source = start("again", Some("vpn"), later + SignedDuration::from_secs(4));
    other_source.trigger.source = "grafana".into();
    store.start_incident(other_source).await.expect("start");
    let timeline = store.list_timeline(&i.id).await.expect("timeline");
    assert_eq!(timeline.len(), 3, "{timeline:?}");
    assert!(timeline[2].message.contains("grafana (trigger 6)"), "{}", timeline[2].message);
    // A minute on, a new event.
    store.start_incident(start("again", Some("vpn"), later + SignedDuration::from_mins(2))).await.expect("start");
    let timeline = store.list_timeline(&i.id).await.expect("timeline");
    assert_eq!(timeline.len(), 4);
    assert!(timeline[3].message.ends_with("(trigger 7)"), "{}", timeline[3].message);
    let other = store.start_incident(start("other", Some("db"), later)).await.expect("start");
    assert!(matches!(other, StartOutcome::Created(_)));
}

async fn fifty_concurrent_starts_make_one_incident(store: SqlStore, _: String) {
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.start_incident(start("storm", Some("storm"), t0())).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("task").expect("start").into_incident().id);
    }
    ids.dedup();
    assert_eq!(ids.iter().collect::<std::collections::BTreeSet<_>>().len(), 1, "one incident for one dedupe string");
    let page = store.list_incidents(&IncidentQuery { limit: 100, ..Default::default() }).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].trigger_count, 50);
    assert_eq!(page.items[0].number, 1, "lost races leave no gap in numbers");
    // The start, and the 49 re-triggers of the same instant folded into one event that counts them.
    let timeline = store.list_timeline(&ids[0]).await.expect("timeline");
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    assert_eq!(timeline[1].data["firstTriggerCount"], 2);
    assert_eq!(timeline[1].data["triggerCount"], 50);
}

async fn a_resolved_incident_is_never_reopened_by_dedupe(store: SqlStore, _: String) {
    let first = store.start_incident(start("x", Some("k"), t0())).await.expect("start").into_incident();
    let resolve = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
    store.update_incident(&first.id, &resolve, "tester", t0()).await.expect("update").expect("exists");
    let next = store.start_incident(start("x", Some("k"), t0())).await.expect("start");
    let StartOutcome::Created(next) = next else { panic!("a resolved incident must not take new triggers") };
    assert_ne!(next.id, first.id);
    let first = store.get_incident(&first.id).await.expect("get").expect("exists");
    assert_eq!(first.status, IncidentStatus::Resolved);
    assert_eq!(first.trigger_count, 1);
}

async fn client_token_returns_the_same_incident(store: SqlStore, _: String) {
    let mut n = start("t", Some("tok"), t0());
    n.client_token = Some("retry-1".into());
    let a = store.start_incident(n.clone()).await.expect("start");
    let mut again = n.clone();
    again.id = muster_core::new_id();
    let b = store.start_incident(again).await.expect("start");
    assert!(matches!(b, StartOutcome::Replayed(_)));
    assert_eq!(a.incident().id, b.incident().id);
    assert_eq!(b.incident().trigger_count, 1, "a replay is not a new trigger");
    // A start deduplicated into an open incident is replayed too.
    let mut c = start("t", Some("tok"), t0());
    c.client_token = Some("retry-2".into());
    let c1 = store.start_incident(c.clone()).await.expect("start");
    assert!(matches!(c1, StartOutcome::Deduplicated(_)));
    let c2 = store.start_incident(c).await.expect("start");
    assert!(matches!(c2, StartOutcome::Replayed(_)));
    assert_eq!(c2.incident().trigger_count, 2);
}

async fn resolve_and_reopen_are_recorded(store: SqlStore, _: String) {
    let i = store.start_incident(start("r", None, t0())).await.expect("start").into_incident();
    let later = t0() + SignedDuration::from_hours(2);
    let resolve = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
    let (resolved, events) =
        store.update_incident(&i.id, &resolve, "bob", later).await.expect("update").expect("exists");
    assert_eq!(resolved.resolved_at, Some(later));
    assert_eq!(events.len(), 1);
    let stored = store.get_incident(&i.id).await.expect("get").expect("exists");
    assert_eq!(stored.status, IncidentStatus::Resolved);
    assert_eq!(stored.resolved_at, Some(later));
    let reopen = IncidentPatch { status: Some(IncidentStatus::Open), ..Default::default() };
    let (reopened, _) = store.update_incident(&i.id, &reopen, "bob", later).await.expect("update").expect("exists");
    assert_eq!(reopened.status, IncidentStatus::Open);
    assert_eq!(reopened.resolved_at, None);
    let types: Vec<String> =
        store.list_timeline(&i.id).await.expect("timeline").into_iter().map(|e| e.event_type).collect();
    assert_eq!(types, ["incident.started", "incident.resolved", "incident.reopened"]);
    assert!(store.update_incident("999", &reopen, "bob", later).await.expect("update").is_none());
}

async fn reopening_beside_an_open_twin_is_refused(store: SqlStore, _: String) {
    let a = store.start_incident(start("a", Some("twin"), t0())).await.expect("start").into_incident();
    let resolve = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
    store.update_incident(&a.id, &resolve, "t", t0()).await.expect("update");
    store.start_incident(start("b", Some("twin"), t0())).await.expect("start");
    let reopen = IncidentPatch { status: Some(IncidentStatus::Open), ..Default::default() };
    let err = store.update_incident(&a.id, &reopen, "t", t0()).await.expect_err("would make two open twins");
    assert!(matches!(err, StoreError::Conflict(ref e) if e.field == "status"), "{err:?}");
    let a = store.get_incident(&a.id).await.expect("get").expect("exists");
    assert_eq!(a.status, IncidentStatus::Resolved, "nothing half-written");
}

async fn list_filters_by_status_and_pages(store: SqlStore, _: String) {
    for i in 0..7 {
        let inc = store.start_incident(start(&format!("i{i}"), None, t0())).await.expect("start").into_incident();
        if i % 2 == 0 {
            let resolve = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
            store.update_incident(&inc.id, &resolve, "t", t0()).await.expect("update");
        }
    }
    let open = store
        .list_incidents(&IncidentQuery { status: Some(IncidentStatus::Open), limit: 50, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(open.items.iter().map(|i| i.number).collect::<Vec<_>>(), [6, 4, 2]);
    let first = store.list_incidents(&IncidentQuery { limit: 3, ..Default::default() }).await.expect("list");
    assert_eq!(first.items.iter().map(|i| i.number).collect::<Vec<_>>(), [7, 6, 5]);
    assert_eq!(first.next, Some(5));
    let second = store
        .list_incidents(&IncidentQuery { limit: 3, before: first.next, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(second.items.iter().map(|i| i.number).collect::<Vec<_>>(), [4, 3, 2]);
    let last = store
        .list_incidents(&IncidentQuery { limit: 3, before: second.next, ..Default::default() })
        .await
        .expect("list");
    assert_eq!(last.items.iter().map(|i| i.number).collect::<Vec<_>>(), [1]);
    assert_eq!(last.next, None);
}

async fn notes_and_related_items(store: SqlStore, _: String) {
    let i = store.start_incident(start("n", None, t0())).await.expect("start").into_incident();
    let earlier = t0() - SignedDuration::from_mins(10);
    let note = prepare_user_event(None, "first symptom seen", Some(earlier), serde_json::Value::Null, "ann", t0())
        .expect("valid");
    store.add_timeline_event(&i.id, note).await.expect("add").expect("exists");
    let item =
        prepare_related_item(&i.id, RelatedItemKind::Link, Some("dashboard"), "https://grafana/d/1", "ann", t0())
            .expect("valid");
    store.add_related_item(&item).await.expect("add");
    let dup =
        prepare_related_item(&i.id, RelatedItemKind::Link, None, "https://grafana/d/1", "ann", t0()).expect("valid");
    assert!(matches!(store.add_related_item(&dup).await, Err(StoreError::Conflict(_))));
    let items = store.list_related_items(&i.id).await.expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].title.as_deref(), Some("dashboard"));
    let timeline = store.list_timeline(&i.id).await.expect("timeline");
    let types: Vec<&str> = timeline.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["note", "incident.started", "related-item.added"], "ordered by when things happened");
    assert_eq!(timeline[0].event_time, earlier);
}

async fn response_plans_have_unique_names(store: SqlStore, _: String) {
    let p = store.create_plan(&plan_spec("vpn", "VPN down"), t0()).await.expect("create");
    assert_eq!(store.get_plan("vpn").await.expect("get").expect("exists").id, p.id);
    assert_eq!(store.get_plan(&p.id).await.expect("get").expect("exists").name, "vpn");
    let err = store.create_plan(&plan_spec("vpn", "x"), t0()).await.expect_err("taken");
    assert!(matches!(err, StoreError::Conflict(ref e) if e.field == "name"));
    let replaced =
        store.replace_plan("vpn", &plan_spec("vpn", "VPN is down"), t0()).await.expect("replace").expect("exists");
    assert_eq!(replaced.incident_template.title, "VPN is down");
    assert_eq!(store.list_plans().await.expect("list").len(), 1);
    assert!(store.delete_plan("vpn").await.expect("delete"));
    assert!(!store.delete_plan("vpn").await.expect("delete"));
}

fn stack(name: &str, plans: &[(&str, &str)]) -> StackPlan {
    StackPlan {
        name: name.into(),
        format: "cloudformation".into(),
        template: format!("{plans:?}"),
        parameters: Default::default(),
        outputs: Default::default(),
        resources: plans
            .iter()
            .map(|(logical, plan)| {
                let spec = plan_spec(plan, &format!("{plan} is down"));
                DesiredResource {
                    logical_id: (*logical).into(),
                    resource_type: "AWS::SSMIncidents::ResponsePlan".into(),
                    properties: serde_json::to_value(&spec).expect("serializes"),
                    spec: ResourceSpec::ResponsePlan(spec),
                }
            })
            .collect(),
        warnings: vec![],
        skipped: vec![],
    }
}

async fn stacks_apply_diff_and_delete(store: SqlStore, _: String) {
    let dry = store.apply_stack(&stack("s", &[("A", "a")]), true, t0()).await.expect("dry run");
    assert!(dry.changed && dry.dry_run);
    assert!(store.get_stack("s").await.expect("get").is_none(), "a dry run writes nothing");
    assert!(store.get_plan("a").await.expect("get").is_none());

    let r = store.apply_stack(&stack("s", &[("A", "a"), ("B", "b")]), false, t0()).await.expect("apply");
    assert!(r.changed);
    assert!(r.changes.iter().all(|c| c.action == ChangeAction::Create));
    let a = store.get_plan("a").await.expect("get").expect("exists");
    assert_eq!(a.stack.as_deref(), Some("s"));
    assert!(
        matches!(store.delete_plan("a").await, Err(StoreError::Conflict(_))),
        "stack-managed plans change through the stack"
    );

    let again = store.apply_stack(&stack("s", &[("A", "a"), ("B", "b")]), false, t0()).await.expect("re-apply");
    assert!(!again.changed);
    assert!(again.changes.iter().all(|c| c.action == ChangeAction::Unchanged));

    let changed = store.apply_stack(&stack("s", &[("A", "a2"), ("C", "c")]), false, t0()).await.expect("apply");
    let actions: Vec<(String, ChangeAction)> =
        changed.changes.iter().map(|c| (c.logical_id.clone(), c.action)).collect();
    assert_eq!(
        actions,
        [("B".into(), ChangeAction::Delete), ("A".into(), ChangeAction::Update), ("C".into(), ChangeAction::Create)]
    );
    let a2 = store.get_plan("a2").await.expect("get").expect("renamed in place");
    assert_eq!(a2.id, a.id);
    assert!(store.get_plan("b").await.expect("get").is_none());

    let stored = store.get_stack("s").await.expect("get").expect("exists");
    assert_eq!(stored.resources.len(), 2);
    let removed = store.delete_stack("s", t0()).await.expect("delete").expect("existed");
    assert_eq!(removed.len(), 2);
    assert!(store.get_plan("a2").await.expect("get").is_none());
    assert!(store.get_plan("c").await.expect("get").is_none());
    assert!(store.list_stacks().await.expect("list").is_empty());
}

async fn a_failed_stack_apply_writes_nothing(store: SqlStore, _: String) {
    store.create_plan(&plan_spec("taken", "x"), t0()).await.expect("create");
    let err =
        store.apply_stack(&stack("s", &[("A", "fresh"), ("B", "taken")]), false, t0()).await.expect_err("name clash");
    let StoreError::Conflict(e) = err else { panic!("expected a conflict") };
    assert_eq!(e.field, "Resources.B.Properties.Name");
    assert!(store.get_plan("fresh").await.expect("get").is_none(), "one transaction: nothing half-applied");
    assert!(store.get_stack("s").await.expect("get").is_none());
}

async fn data_survives_reconnect(store: SqlStore, url: String) {
    let i = store.start_incident(start("persist", Some("p"), t0())).await.expect("start").into_incident();
    store.close().await;
    let again = SqlStore::connect(&url).await.expect("reconnect");
    let got = again.get_incident(&i.id).await.expect("get").expect("still there");
    assert_eq!(got, i);
    let next = again.start_incident(start("persist", Some("p"), t0())).await.expect("start");
    assert!(matches!(next, StartOutcome::Deduplicated(_)));
}

async fn tokens_are_found_by_hash_until_revoked(store: SqlStore, _: String) {
    use muster_core::auth::{ApiToken, Role};
    assert_eq!(store.count_tokens().await.expect("count"), 0);
    let t = ApiToken {
        id: "t1".into(),
        name: "ci".into(),
        role: Role::Responder,
        token_hash: "abc".into(),
        created_at: t0(),
        created_by: "admin".into(),
        revoked_at: None,
    };
    store.create_token(&t).await.expect("create");
    assert_eq!(store.token_by_hash("abc").await.expect("get").expect("live").role, Role::Responder);
    assert!(store.revoke_token("t1", t0()).await.expect("revoke"));
    assert!(!store.revoke_token("t1", t0()).await.expect("revoke twice"));
    assert!(store.token_by_hash("abc").await.expect("get").is_none());
    assert_eq!(store.list_tokens().await.expect("list")[0].revoked_at, Some(t0()));
}

fn person(alias: &str) -> muster_core::contact::ContactSpec {
    muster_core::contact::ContactSpec {
        alias: alias.into(),
        display_name: Some(alias.to_uppercase()),
        kind: muster_core::contact::ContactType::Personal,
        time_zone: Some("Europe/Rome".into()),
        rotations: vec![],
        plan: None,
    }
}

fn rotation(name: &str, members: &[&str]) -> muster_core::rotation::RotationSpec {
    muster_core::rotation::RotationSpec {
        name: name.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        start: t0(),
        time_zone: "Europe/Rome".into(),
        recurrence: muster_core::rotation::Recurrence::Daily(vec!["09:00".parse().expect("time")]),
        recurrence_multiplier: 1,
        number_of_on_calls: 1,
        coverage: Default::default(),
    }
}

async fn contacts_channels_and_activation(store: SqlStore, _: String) {
    use muster_core::contact::{ActivationStatus, ChannelSpec, ChannelType};
    use muster_store::Activation;
    let ann = store.create_contact(&person("ann"), t0()).await.expect("create");
    assert!(
        matches!(store.create_contact(&person("ann"), t0()).await, Err(StoreError::Conflict(ref e)) if e.field == "alias")
    );
    let spec = ChannelSpec {
        name: "mail".into(),
        kind: ChannelType::Email,
        address: "ann@example.com".into(),
        defer_activation: true,
    };
    let ch = store.add_channel(&ann.id, &spec, false, t0()).await.expect("channel");
    assert_eq!(ch.activation_status, ActivationStatus::NotActivated);
    assert!(matches!(store.add_channel(&ann.id, &spec, false, t0()).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.activate_channel(&ch.id, "h", t0()).await.expect("try"), Activation::NoCode);
    store.set_activation_code(&ch.id, "right", t0() + SignedDuration::from_mins(30)).await.expect("code");
    assert_eq!(
        store.activate_channel(&ch.id, "wrong", t0()).await.expect("try"),
        Activation::WrongCode { attempts_left: 4 }
    );
    assert_eq!(
        store.activate_channel(&ch.id, "right", t0() + SignedDuration::from_mins(31)).await.expect("try"),
        Activation::Expired
    );
    assert_eq!(store.activate_channel(&ch.id, "right", t0()).await.expect("try"), Activation::Activated);
    assert_eq!(store.activate_channel(&ch.id, "right", t0()).await.expect("try"), Activation::AlreadyActive);
    let listed = store.list_channels(&ann.id).await.expect("list");
    assert_eq!(listed[0].activation_status, ActivationStatus::Activated);
    assert_eq!(store.get_channel(&ann.id, "mail").await.expect("get").expect("exists").id, ch.id);
    // Five wrong codes use the code up.
    let ch2 = store
        .add_channel(
            &ann.id,
            &ChannelSpec {
                name: "sms".into(),
                kind: ChannelType::Sms,
                address: "+393331234567".into(),
                defer_activation: true,
            },
            false,
            t0(),
        )
        .await
        .expect("channel");
    store.set_activation_code(&ch2.id, "right", t0() + SignedDuration::from_mins(30)).await.expect("code");
    for _ in 0..5 {
        store.activate_channel(&ch2.id, "wrong", t0()).await.expect("try");
    }
    assert_eq!(store.activate_channel(&ch2.id, "right", t0()).await.expect("try"), Activation::TooManyAttempts);
    assert!(store.delete_channel(&ann.id, "sms").await.expect("delete"));
    let by_token = store.contact_by_calendar_token(&ann.calendar_token).await.expect("get").expect("exists");
    assert_eq!(by_token.id, ann.id);
    assert!(ann.calendar_token.len() >= 32);
}

async fn rotations_need_their_members(store: SqlStore, _: String) {
    store.create_contact(&person("ann"), t0()).await.expect("create");
    let err = store.create_rotation(&rotation("primary", &["ann", "bob"]), t0()).await.expect_err("bob is missing");
    assert!(matches!(err, StoreError::Conflict(ref e) if e.field == "members[1]"), "{err:?}");
    assert!(store.get_rotation("primary").await.expect("get").is_none(), "nothing half-written");
    store.create_contact(&person("bob"), t0()).await.expect("create");
    let r = store.create_rotation(&rotation("primary", &["ann", "bob"]), t0()).await.expect("create");
    assert_eq!(store.get_rotation("primary").await.expect("get").expect("exists").spec.members, ["ann", "bob"]);
    let err = store.delete_contact("bob").await.expect_err("bob is in a rotation");
    assert!(matches!(err, StoreError::Conflict(ref e) if e.message.contains("primary")));
    store.replace_rotation("primary", &rotation("primary", &["ann"]), t0()).await.expect("replace").expect("exists");
    assert!(store.delete_contact("bob").await.expect("now free"));
    let mut schedule = person("oncall");
    schedule.kind = muster_core::contact::ContactType::OncallSchedule;
    schedule.rotations = vec!["nope".into()];
    assert!(
        matches!(store.create_contact(&schedule, t0()).await, Err(StoreError::Conflict(ref e)) if e.field == "rotations[0]")
    );
    schedule.rotations = vec!["primary".into()];
    store.create_contact(&schedule, t0()).await.expect("schedule");
    let err = store.create_rotation(&rotation("second", &["oncall"]), t0()).await.expect_err("not a person");
    assert!(matches!(err, StoreError::Conflict(ref e) if e.field == "members[0]"));
    assert_eq!(store.rotation_by_calendar_token(&r.calendar_token).await.expect("get").expect("exists").id, r.id);
    assert!(store.delete_rotation("primary").await.expect("delete"));
}

async fn overrides_are_listed_by_window(store: SqlStore, _: String) {
    store.create_contact(&person("ann"), t0()).await.expect("create");
    store.create_contact(&person("cy"), t0()).await.expect("create");
    let r = store.create_rotation(&rotation("primary", &["ann"]), t0()).await.expect("create");
    let o = muster_core::rotation::Override {
        id: "o1".into(),
        contacts: vec!["cy".into()],
        start: t0() + SignedDuration::from_hours(2),
        end: t0() + SignedDuration::from_hours(4),
        created_at: t0(),
        created_by: "ann".into(),
    };
    store.add_override(&r.id, &o).await.expect("add");
    let mut bad = o.clone();
    bad.id = "o2".into();
    bad.contacts = vec!["zed".into()];
    assert!(
        matches!(store.add_override(&r.id, &bad).await, Err(StoreError::Conflict(ref e)) if e.field == "contacts[0]")
    );
    let hits = store
        .list_overrides(Some(&r.id), t0() + SignedDuration::from_hours(3), t0() + SignedDuration::from_hours(5))
        .await
        .expect("list");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].1, o);
    let none = store
        .list_overrides(None, t0() + SignedDuration::from_hours(4), t0() + SignedDuration::from_hours(9))
        .await
        .expect("list");
    assert!(none.is_empty(), "the window ends where it ends");
    assert!(store.delete_override(&r.id, "o1").await.expect("delete"));
}

async fn stacks_order_people_before_rotations(store: SqlStore, _: String) {
    use muster_core::contact::{ChannelSpec, ChannelType};
    let resource = |id: &str, ty: &str, spec: ResourceSpec| DesiredResource {
        logical_id: id.into(),
        resource_type: ty.into(),
        properties: serde_json::json!(format!("{spec:?}")),
        spec,
    };
    let mut schedule = person("oncall");
    schedule.kind = muster_core::contact::ContactType::OncallSchedule;
    schedule.rotations = vec!["primary".into()];
    let channel = ChannelSpec {
        name: "mail".into(),
        kind: ChannelType::Email,
        address: "ann@example.com".into(),
        defer_activation: false,
    };
    let plan = StackPlan {
        name: "team".into(),
        format: "muster".into(),
        template: "t".into(),
        parameters: Default::default(),
        outputs: Default::default(),
        // Declared in the least helpful order: the store must still make people first.
        resources: vec![
            resource("Schedule", "Muster::Contact", ResourceSpec::Contact(schedule)),
            resource("Primary", "Muster::Rotation", ResourceSpec::Rotation(rotation("primary", &["ann", "bob"]))),
            resource("AnnMail", "Muster::Channel", ResourceSpec::Channel { contact: "ann".into(), spec: channel }),
            resource("Ann", "Muster::Contact", ResourceSpec::Contact(person("ann"))),
            resource("Bob", "Muster::Contact", ResourceSpec::Contact(person("bob"))),
        ],
        warnings: vec![],
        skipped: vec![],
    };
    store.apply_stack(&plan, false, t0()).await.expect("apply");
    let ann = store.get_contact("ann").await.expect("get").expect("exists");
    let chans = store.list_channels(&ann.id).await.expect("channels");
    assert_eq!(
        chans[0].activation_status,
        muster_core::contact::ActivationStatus::Activated,
        "an admin's channel is active"
    );
    assert_eq!(store.get_rotation("primary").await.expect("get").expect("exists").stack.as_deref(), Some("team"));
    assert!(matches!(store.delete_rotation("primary").await, Err(StoreError::Conflict(_))), "stack-managed");
    store.delete_stack("team", t0()).await.expect("delete").expect("existed");
    assert!(store.list_contacts().await.expect("list").is_empty());
    assert!(store.list_rotations().await.expect("list").is_empty());
}
