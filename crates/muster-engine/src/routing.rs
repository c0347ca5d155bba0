//! Routing what was received: events against rules, alerts into incidents (opened, acknowledged,
//! resolved, or recorded as suppressed), and heartbeats that stopped.

use crate::detection::TriggerContext;
use crate::{Engine, EngineError};
use muster_core::alarm::{ActionTarget, action_target};
use muster_core::alert::{Alert, AlertAction};
use muster_core::engage::{Job, NewJob, Task};
use muster_core::incident::{IncidentPatch, IncidentStatus, NewEvent, RelatedItemKind, StartRequest, Trigger};
use muster_core::integration::{INBOUND_ALERT, Inbound, Integration};
use muster_core::plan::ResponsePlan;
use muster_store::{Effects, InboundUpdate, NewInbound, StartOutcome};
use serde_json::{Value, json};

/// What a rule's or alarm's target names, found.
pub(crate) enum Target {
    Plan(Box<ResponsePlan>),
    Topic(String),
    Missing(String),
}

/// The payload of an inbound alert: the alert, as parsed when it was received.
pub fn alert_payload(alert: &Alert) -> Value {
    json!({ "alert": alert })
}

impl Engine {
    pub(crate) async fn resolve_target(&self, target: &str) -> Result<Target, EngineError> {
        let t = action_target(target);
        if let ActionTarget::ResponsePlan(name) | ActionTarget::Named(name) = &t
            && let Some(plan) = self.store.get_plan(name).await?
        {
            return Ok(Target::Plan(Box::new(plan)));
        }
        if let ActionTarget::Topic(name) | ActionTarget::Named(name) = &t
            && let Some(topic) = self.store.get_topic(name).await?
        {
            return Ok(Target::Topic(topic.spec.name));
        }
        Ok(Target::Missing(match t {
            ActionTarget::Unsupported(arn) => {
                format!("Muster cannot take the action {arn}: it runs response plans and topics only")
            }
            _ => format!("there is no response plan or topic named {target:?}"),
        }))
    }

    pub(crate) async fn route(&self, job: &Job, inbound_id: &str) -> Result<(), EngineError> {
        let Some(item) = self.store.get_inbound(inbound_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let mut fx = Effects::default();
        if item.status == "pending" {
            let update = match item.kind.as_str() {
                "event" => self.route_event(&item, &mut fx).await?,
                "alert" => match self.route_alert(&item).await? {
                    Some(u) => u,
                    None => {
                        // Its trigger has not been routed yet: look again in a moment.
                        fx.jobs.push(NewJob::at(
                            Task::Route { inbound_id: item.id.clone(), closes: true },
                            self.now() + jiff::SignedDuration::from_secs(2),
                        ));
                        self.finish(job, fx).await?;
                        return Ok(());
                    }
                },
                // Change events, subscription confirmations, notices: kept and shown, nothing to route.
                _ => InboundUpdate {
                    id: item.id.clone(),
                    status: "recorded".into(),
                    outcome: json!({}),
                    incident_id: None,
                },
            };
            tracing::debug!(inbound = %item.id, status = %update.status, "routed");
            fx.inbound = Some(update);
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    async fn route_event(&self, item: &Inbound, fx: &mut Effects) -> Result<InboundUpdate, EngineError> {
        let event = &item.payload;
        let mut matched = Vec::new();
        let mut actions = Vec::new();
        let mut incident_id = None;
        for rule in self.store.list_rules().await? {
            if rule.spec.state != muster_core::rule::RuleState::Enabled {
                continue;
            }
            let Ok(pattern) = rule.spec.pattern() else { continue };
            if !pattern.matches(event) {
                continue;
            }
            matched.push(rule.spec.name.clone());
            for target in &rule.spec.targets {
                let result = match self.resolve_target(target).await? {
                    Target::Plan(plan)
                        if muster_core::maintenance::any_active(&plan.maintenance, self.now()).is_some() =>
                    {
                        let window = muster_core::maintenance::any_active(&plan.maintenance, self.now())
                            .map(|w| w.name.clone())
                            .unwrap_or_default();
                        json!({"target": target, "suppressed": {"maintenanceWindow": window}})
                    }
                    Target::Plan(plan) => {
                        let mut ctx = TriggerContext::default();
                        ctx.related.push((RelatedItemKind::Other, format!("Rule {}", rule.spec.name), rule.arn()));
                        for r in event["resources"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                            ctx.related.push((RelatedItemKind::Resource, "Resource".into(), r.to_string()));
                            ctx.resources.push(r.to_string());
                        }
                        ctx.related.push((RelatedItemKind::Other, "Event".into(), event.to_string()));
                        let req = StartRequest {
                            response_plan: Some(plan.name.clone()),
                            trigger: Trigger {
                                source: "rule".into(),
                                details: json!({"rule": rule.spec.name, "ruleArn": rule.arn(), "event": event}),
                            },
                            client_token: Some(format!("inbound:{}:{}:{target}", item.id, rule.id)),
                            ..Default::default()
                        };
                        match self.start_with_context(req, &plan, &format!("rule:{}", rule.spec.name), ctx).await {
                            Ok(o) => {
                                incident_id = Some(o.incident().id.clone());
                                json!({"target": target, "incident": o.incident().id, "outcome": outcome_word(&o)})
                            }
                            Err(e) => json!({"target": target, "error": e}),
                        }
                    }
                    Target::Topic(topic) => {
                        let text = format!(
                            "{} / {}\n{}",
                            event["source"].as_str().unwrap_or(""),
                            event["detail-type"].as_str().unwrap_or(""),
                            serde_json::to_string_pretty(&event["detail"]).unwrap_or_default()
                        );
                        fx.jobs.push(NewJob::at(
                            Task::Publish {
                                incident_id: None,
                                target: topic.clone(),
                                subject: format!("Rule {} matched an event", rule.spec.name),
                                text: text.chars().take(8000).collect(),
                                approval: None,
                            },
                            self.now(),
                        ));
                        json!({"target": target, "published": topic})
                    }
                    Target::Missing(why) => json!({"target": target, "error": why}),
                };
                actions.push(result);
            }
        }
        Ok(InboundUpdate {
            id: item.id.clone(),
            status: if matched.is_empty() { "unmatched".into() } else { "routed".into() },
            outcome: json!({"matchedRules": matched, "actions": actions}),
            incident_id,
        })
    }

    /// Whether an alert received before this one, for the same incident, is still to be routed
    /// (a resolve must not overtake its trigger).
    async fn earlier_pending(
        &self,
        item: &Inbound,
        integration: &Integration,
        dedupe: &str,
    ) -> Result<bool, EngineError> {
        let pending = self
            .store
            .list_inbound(&muster_store::InboundQuery {
                integration_id: Some(integration.id.clone()),
                status: Some("pending".into()),
                limit: 500,
            })
            .await?;
        Ok(pending.iter().any(|other| {
            other.id != item.id
                && (other.received_at, &other.id) < (item.received_at, &item.id)
                && serde_json::from_value::<Alert>(other.payload["alert"].clone())
                    .is_ok_and(|a| incident_dedupe(integration, &a, &other.id) == dedupe)
        }))
    }

    /// What an alert does; `None` when it must wait for an earlier alert of the same incident.
    async fn route_alert(&self, item: &Inbound) -> Result<Option<InboundUpdate>, EngineError> {
        let failed = |why: String| InboundUpdate {
            id: item.id.clone(),
            status: "failed".into(),
            outcome: json!({"error": why}),
            incident_id: None,
        };
        let alert: Alert = match serde_json::from_value(item.payload["alert"].clone()) {
            Ok(a) => a,
            Err(e) => return Ok(Some(failed(format!("the stored alert does not read back: {e}")))),
        };
        let Some(integration) = self.store.get_integration(item.integration_id.as_deref().unwrap_or("")).await? else {
            return Ok(Some(failed("its integration was deleted before it was routed".into())));
        };
        let now = self.now();
        let suppressed = |outcome: Value| InboundUpdate {
            id: item.id.clone(),
            status: "suppressed".into(),
            outcome,
            incident_id: None,
        };
        if alert.action == AlertAction::Trigger {
            if let Some(w) = muster_core::maintenance::any_active(&integration.spec.maintenance, now) {
                return Ok(Some(suppressed(json!({"maintenanceWindow": w.name}))));
            }
            if let Some(s) = self.store.silence_for(&alert.labels, now).await? {
                return Ok(Some(suppressed(json!({"silence": s}))));
            }
        }
        let dedupe = incident_dedupe(&integration, &alert, &item.id);
        let actor = format!("integration:{}", integration.spec.name);
        match alert.action {
            AlertAction::Trigger => {
                let plan = match &integration.spec.response_plan {
                    Some(key) => match self.store.get_plan(key).await? {
                        Some(p) => Some(p),
                        None => return Ok(Some(failed(format!("its response plan {key:?} does not exist")))),
                    },
                    None => None,
                };
                if let Some(w) = plan.as_ref().and_then(|p| muster_core::maintenance::any_active(&p.maintenance, now)) {
                    return Ok(Some(suppressed(
                        json!({"maintenanceWindow": w.name, "responsePlan": integration.spec.response_plan}),
                    )));
                }
                let mut ctx = TriggerContext::default();
                for r in &alert.resources {
                    let (title, value) = r.split_once('=').unwrap_or(("Resource", r.as_str()));
                    ctx.related.push((RelatedItemKind::Resource, title.to_string(), value.to_string()));
                    ctx.resources.push(r.clone());
                }
                for (title, url) in &alert.links {
                    if url.starts_with("http://") || url.starts_with("https://") {
                        ctx.related.push((RelatedItemKind::Link, title.clone(), url.clone()));
                    }
                }
                ctx.related.push((
                    RelatedItemKind::Other,
                    format!("Alert from {}", integration.spec.name),
                    alert.raw.to_string(),
                ));
                let req = StartRequest {
                    title: Some(alert.title.clone()),
                    impact: Some(alert.impact),
                    summary: alert.summary.clone(),
                    dedupe_string: Some(dedupe.clone()),
                    response_plan: plan.as_ref().map(|p| p.name.clone()),
                    trigger: Trigger {
                        source: integration.spec.kind.as_str().into(),
                        details: json!({
                            "integration": integration.spec.name,
                            "dedupeKey": alert.dedupe,
                            "labels": alert.labels,
                            "alert": alert.raw,
                        }),
                    },
                    client_token: Some(format!("inbound:{}", item.id)),
                    ..Default::default()
                };
                let outcome = match &plan {
                    Some(p) => self.start_with_context(req, p, &actor, ctx).await,
                    None => self.start_plain(req, &actor, ctx).await,
                };
                Ok(Some(match outcome {
                    Ok(o) => InboundUpdate {
                        id: item.id.clone(),
                        status: "routed".into(),
                        outcome: json!({"action": "trigger", "incident": o.incident().id, "outcome": outcome_word(&o)}),
                        incident_id: Some(o.incident().id.clone()),
                    },
                    Err(e) => failed(e),
                }))
            }
            AlertAction::Acknowledge | AlertAction::Resolve => {
                let Some(incident) = self.store.open_incident_by_dedupe(&dedupe).await? else {
                    let young = self.now().duration_since(item.received_at) < jiff::SignedDuration::from_mins(10);
                    if young && self.earlier_pending(item, &integration, &dedupe).await? {
                        return Ok(None);
                    }
                    return Ok(Some(InboundUpdate {
                        id: item.id.clone(),
                        status: "unmatched".into(),
                        outcome: json!({"action": alert.action, "note": "no open incident has this alert"}),
                        incident_id: None,
                    }));
                };
                let note = if alert.action == AlertAction::Acknowledge {
                    let (pages, _) =
                        self.acknowledge_incident(&incident, &actor, integration.spec.kind.as_str()).await?;
                    format!("acknowledged {pages} page(s)")
                } else if integration.spec.auto_resolve && integration.spec.group_by.is_empty() {
                    let patch = IncidentPatch { status: Some(IncidentStatus::Resolved), ..Default::default() };
                    self.store.update_incident(&incident, &patch, &actor, now).await?;
                    self.wake();
                    "resolved the incident".to_string()
                } else {
                    let event = NewEvent::new(
                        "alert.resolved",
                        &actor,
                        format!("{} reports the alert resolved: {}", integration.spec.name, alert.title),
                        json!({"dedupeKey": alert.dedupe}),
                        now,
                    );
                    self.store.add_timeline_event(&incident, event).await?;
                    "noted on the timeline (this integration does not resolve incidents)".to_string()
                };
                Ok(Some(InboundUpdate {
                    id: item.id.clone(),
                    status: "routed".into(),
                    outcome: json!({"action": alert.action, "incident": incident, "note": note}),
                    incident_id: Some(incident),
                }))
            }
        }
    }

    /// Acknowledges an incident: every outstanding page, and stops whatever still escalates.
    /// Answers how many pages were acknowledged and engagements stopped.
    pub async fn acknowledge_incident(
        &self,
        incident_id: &str,
        actor: &str,
        via: &str,
    ) -> Result<(usize, usize), EngineError> {
        use muster_core::engage::{EngagementStatus, PageStatus};
        let now = self.now();
        let mut pages = 0;
        for p in self.store.list_pages(Some(incident_id), None).await? {
            if matches!(p.status, PageStatus::Pending | PageStatus::Sent | PageStatus::Delivered)
                && self.store.acknowledge(&p.id, actor, via, now).await?.is_some_and(|a| a.newly)
            {
                pages += 1;
            }
        }
        let mut stopped = 0;
        for e in self.store.list_engagements(Some(incident_id)).await? {
            if e.status != EngagementStatus::Active || self.store.stop_engagement(&e.id, now).await? {
                stopped += 1;
            }
        }
        let event = NewEvent::new(
            "incident.acknowledged",
            actor,
            format!("Acknowledged by {actor}"),
            json!({"pagesAcknowledged": pages, "via": via}),
            now,
        );
        self.store.add_timeline_event(incident_id, event).await?;
        Ok((pages, stopped))
    }

    pub(crate) async fn check_heartbeat(&self, job: &Job, integration_id: &str) -> Result<(), EngineError> {
        let now = self.now();
        let Some(integration) = self.store.get_integration(integration_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let interval = jiff::SignedDuration::from_secs(i64::from(integration.spec.interval_seconds.unwrap_or(300)));
        let last = integration.last_received_at.unwrap_or(integration.created_at);
        let mut fx = Effects::default();
        if last + interval > now {
            // Pinged since this check was planned: look again when the new interval ends.
            fx.jobs.push(heartbeat_job(&integration.id, last + interval));
        } else {
            let alert = heartbeat_alert(&integration, AlertAction::Trigger, last, now);
            let item = NewInbound {
                id: muster_core::new_id(),
                kind: INBOUND_ALERT,
                integration_id: Some(integration.id.clone()),
                payload: alert_payload(&alert),
            };
            // Written as if received, so it is routed (and suppressed) like any alert.
            self.store.ingest(&[item], &[], now).await?;
            tracing::info!(integration = %integration.spec.name, "heartbeat missed");
        }
        self.finish(job, fx).await?;
        Ok(())
    }
}

/// The job that checks a heartbeat at `at` (one per integration).
pub fn heartbeat_job(integration_id: &str, at: jiff::Timestamp) -> NewJob {
    NewJob::at(Task::CheckHeartbeat { integration_id: integration_id.to_string() }, at)
        .unique(format!("heartbeat:{integration_id}"))
}

/// A heartbeat's alert: missed (trigger) or back (resolve).
pub fn heartbeat_alert(
    integration: &Integration,
    action: AlertAction,
    last: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Alert {
    let name = &integration.spec.name;
    Alert {
        source: "heartbeat".into(),
        action,
        dedupe: Some("heartbeat".into()),
        title: format!("Heartbeat {name} missed"),
        summary: Some(format!(
            "No ping since {last}; one is expected every {} seconds.",
            integration.spec.interval_seconds.unwrap_or(0)
        )),
        impact: muster_core::incident::Impact::HIGH,
        labels: [("heartbeat".to_string(), name.clone())].into(),
        resources: vec![format!("heartbeat={name}")],
        starts_at: Some(now),
        ends_at: None,
        links: vec![],
        raw: json!({"heartbeat": name, "lastPing": last, "checkedAt": now}),
    }
}

fn outcome_word(o: &StartOutcome) -> &'static str {
    match o {
        StartOutcome::Created(_) => "created",
        StartOutcome::Deduplicated(_) => "deduplicated",
        StartOutcome::Replayed(_) => "replayed",
    }
}

/// The incident an alert belongs to: its group (the integration's `groupBy` labels), else the
/// sender's own identity of it, within its integration. An alert with no identity at all (a generic
/// payload whose mapping names none) is an incident of its own. Long keys keep their start and a
/// hash of the whole, within what an incident's dedupe string may hold.
pub fn incident_dedupe(integration: &Integration, alert: &Alert, inbound_id: &str) -> String {
    let name = &integration.spec.name;
    let key = if !integration.spec.group_by.is_empty() {
        let group: Vec<String> = integration
            .spec
            .group_by
            .iter()
            .map(|l| format!("{l}={}", alert.labels.get(l).map(String::as_str).unwrap_or("")))
            .collect();
        format!("{name}:group:{}", group.join(","))
    } else {
        format!("{name}:{}", alert.dedupe.as_deref().unwrap_or(inbound_id))
    };
    if key.chars().count() <= 500 {
        return key;
    }
    let whole = muster_core::alert::fingerprint(&[("key".to_string(), key.clone())].into());
    format!("{}…{whole}", key.chars().take(400).collect::<String>())
}
