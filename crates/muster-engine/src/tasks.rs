//! What each job does.

use crate::notifiers::chat_destination;
use crate::{Engine, EngineError, links};
use jiff::{SignedDuration, Timestamp};
use muster_core::contact::{ActivationStatus, Contact, ContactPlan, ContactType, PlanStage, PlanTarget};
use muster_core::engage::{EngagementStatus, Job, MAX_DELIVERY_ATTEMPTS, NewJob, Page, PageStatus, Task, retry_delay};
use muster_core::incident::NewEvent;
use muster_core::new_id;
use muster_core::topic::{Notification, NotificationStatus, Protocol, topic_name};
use muster_notify::{Message, SendError};
use muster_store::{Effects, NotificationUpdate, Outgoing, PageUpdate};
use rand::Rng;

fn event(kind: &str, message: String, data: serde_json::Value, now: Timestamp) -> NewEvent {
    NewEvent::new(kind, "muster", message, data, now)
}

/// A person's default plan: every activated channel at once.
fn default_plan(channels: &[String]) -> ContactPlan {
    ContactPlan {
        stages: vec![PlanStage {
            duration_minutes: 0,
            duration_seconds: None,
            targets: channels.iter().map(|c| PlanTarget { channel: Some(c.clone()), ..Default::default() }).collect(),
        }],
        repeat: 0,
        round_robin: false,
    }
}

impl Engine {
    pub(crate) async fn handle(&self, job: Job) -> Result<(), EngineError> {
        match job.task.clone() {
            Task::StartEngagement { engagement_id } => self.start_engagement(&job, &engagement_id).await,
            Task::EscalationStage { engagement_id, escalation, stage, round } => {
                self.escalation_stage(&job, &engagement_id, &escalation, stage, round).await
            }
            Task::ContactStage { engagement_id, contact, stage, essential } => {
                self.contact_stage(&job, &engagement_id, &contact, stage, essential).await
            }
            Task::DeliverPage { page_id } => self.deliver_page(&job, &page_id).await,
            Task::PlanHandoffNotices => self.plan_handoff_notices(&job).await,
            Task::HandoffNotice { rotation_id, shift_start, contact } => {
                self.handoff_notice(&job, &rotation_id, shift_start, &contact).await
            }
            Task::Publish { incident_id, target, subject, text, approval } => {
                self.publish(&job, incident_id, &target, &subject, &text, approval).await
            }
            Task::DeliverNotification { notification_id } => self.deliver_notification(&job, &notification_id).await,
            Task::RunStep { execution_id, step, resume } => self.run_step(&job, &execution_id, &step, resume).await,
            Task::EvaluateAlarm { alarm_id, periodic } => self.evaluate_alarm(&job, &alarm_id, periodic).await,
            Task::AlarmAction { alarm_id, state, target, changed_at } => {
                self.alarm_action(&job, &alarm_id, &state, &target, changed_at).await
            }
            Task::PruneMetrics => self.prune_metrics(&job).await,
            Task::Route { inbound_id, .. } => self.route(&job, &inbound_id).await,
            Task::CheckHeartbeat { integration_id } => self.check_heartbeat(&job, &integration_id).await,
            Task::RemindActionItems => self.remind_action_items(&job).await,
        }
    }

    /// The people on call in a rotation at `at`, overrides included.
    async fn on_call(&self, rotation: &str, at: Timestamp) -> Result<Vec<String>, EngineError> {
        let Some(r) = self.store.get_rotation(rotation).await? else { return Ok(vec![]) };
        let Ok(schedule) = r.spec.schedule() else { return Ok(vec![]) };
        let overrides: Vec<_> = self
            .store
            .list_overrides(Some(&r.id), at, at + SignedDuration::from_nanos(1))
            .await?
            .into_iter()
            .map(|(_, o)| o)
            .collect();
        Ok(schedule.on_call(at, &overrides))
    }

    /// The people a contact reaches now: a person itself, an on-call schedule's people on call.
    async fn people_of(&self, c: &Contact, at: Timestamp) -> Result<Vec<String>, EngineError> {
        Ok(match c.kind {
            ContactType::Personal => vec![c.alias.clone()],
            ContactType::OncallSchedule => {
                let mut out = Vec::new();
                for r in &c.rotations {
                    for p in self.on_call(r, at).await? {
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
                out
            }
            ContactType::Escalation => vec![],
        })
    }

    async fn start_engagement(&self, job: &Job, engagement_id: &str) -> Result<(), EngineError> {
        let now = self.now();
        let Some(e) = self.store.get_engagement(engagement_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let mut fx = Effects { guard: Some(e.id.clone()), ..Effects::default() };
        let note = |fx: &mut Effects, kind: &str, message: String| {
            if let Some(i) = &e.incident_id {
                fx.events.push((
                    i.clone(),
                    event(kind, message, serde_json::json!({"engagementId": e.id, "contact": e.contact}), now),
                ));
            }
        };
        match self.store.get_contact(&e.contact).await? {
            None => {
                note(&mut fx, "engagement.failed", format!("Cannot engage {}: there is no such contact", e.contact))
            }
            Some(c) if c.kind == ContactType::Escalation => {
                note(&mut fx, "engagement.started", format!("Engaging escalation plan {}", c.alias));
                fx.jobs.push(NewJob::at(
                    Task::EscalationStage {
                        engagement_id: e.id.clone(),
                        escalation: c.alias.clone(),
                        stage: 0,
                        round: 0,
                    },
                    now,
                ));
            }
            Some(c) => {
                let people = self.people_of(&c, now).await?;
                if people.is_empty() {
                    note(&mut fx, "engagement.failed", format!("Cannot engage {}: nobody is on call", c.alias));
                } else {
                    note(&mut fx, "engagement.started", format!("Engaging {}: {}", c.alias, people.join(", ")));
                }
                for p in people {
                    fx.jobs.push(NewJob::at(
                        Task::ContactStage { engagement_id: e.id.clone(), contact: p, stage: 0, essential: true },
                        now,
                    ));
                }
            }
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    async fn escalation_stage(
        &self,
        job: &Job,
        engagement_id: &str,
        escalation: &str,
        stage: u32,
        round: u32,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let (Some(e), Some(c)) =
            (self.store.get_engagement(engagement_id).await?, self.store.get_contact(escalation).await?)
        else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let Some(plan) = c.plan.clone() else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let Some(current) = plan.stages.get(stage as usize) else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let mut fx = Effects { guard: Some(e.id.clone()), ..Effects::default() };
        let mut paged: Vec<String> = Vec::new();
        let mut skipped: Vec<String> = Vec::new();
        let targets: Vec<&PlanTarget> = if plan.round_robin && current.targets.len() > 1 {
            // Turns are counted per escalation and stage, across engagements and nodes.
            let turn = self.store.next_in_sequence(&format!("round-robin:{}:{stage}", c.alias)).await?;
            let pick = (turn - 1).rem_euclid(current.targets.len() as i64) as usize;
            vec![&current.targets[pick]]
        } else {
            current.targets.iter().collect()
        };
        for t in targets {
            let people = if let Some(r) = &t.rotation {
                self.on_call(r, now).await?
            } else if let Some(alias) = &t.contact {
                match self.store.get_contact(alias).await? {
                    Some(tc) if tc.kind != ContactType::Escalation => self.people_of(&tc, now).await?,
                    _ => {
                        skipped.push(alias.clone());
                        vec![]
                    }
                }
            } else {
                vec![]
            };
            for p in people {
                if !paged.contains(&p) {
                    fx.jobs.push(NewJob::at(
                        Task::ContactStage {
                            engagement_id: e.id.clone(),
                            contact: p.clone(),
                            stage: 0,
                            essential: t.essential,
                        },
                        now,
                    ));
                    paged.push(p);
                }
            }
        }
        let last = stage as usize + 1 == plan.stages.len();
        let next = if !last {
            Some((stage + 1, round))
        } else if round < plan.repeat {
            Some((0, round + 1))
        } else {
            None
        };
        if let Some((s, r)) = next {
            let due = now + current.duration();
            fx.jobs.push(NewJob::at(
                Task::EscalationStage { engagement_id: e.id.clone(), escalation: c.alias.clone(), stage: s, round: r },
                due,
            ));
        }
        if let Some(incident) = &e.incident_id {
            let mut message = format!(
                "Escalation {} stage {} of {}{}: {}",
                c.alias,
                stage + 1,
                plan.stages.len(),
                if round > 0 { format!(" (round {})", round + 1) } else { String::new() },
                if paged.is_empty() { "nobody to page".to_string() } else { format!("paging {}", paged.join(", ")) }
            );
            if !skipped.is_empty() {
                message.push_str(&format!("; skipped {} (not found or an escalation)", skipped.join(", ")));
            }
            let data = serde_json::json!({"engagementId": e.id, "stage": stage, "round": round, "paged": paged});
            fx.events.push((incident.clone(), event("engagement.stage", message, data, now)));
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    async fn contact_stage(
        &self,
        job: &Job,
        engagement_id: &str,
        alias: &str,
        stage: u32,
        essential: bool,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let e = self.store.get_engagement(engagement_id).await?;
        let person = self.store.get_contact(alias).await?;
        let (Some(e), Some(person)) = (e, person) else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        if e.status != EngagementStatus::Active || self.store.person_acked(&e.id, alias).await? {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        }
        let channels = self.store.list_channels(&person.id).await?;
        let active: Vec<String> = channels
            .iter()
            .filter(|c| c.activation_status == ActivationStatus::Activated)
            .map(|c| c.name.clone())
            .collect();
        let plan = person.plan.clone().unwrap_or_else(|| default_plan(&active));
        let mut fx = Effects { guard: Some(e.id.clone()), ..Effects::default() };
        let mut notes = Vec::new();
        if let Some(current) = plan.stages.get(stage as usize) {
            for t in &current.targets {
                let Some(name) = &t.channel else { continue };
                match channels.iter().find(|c| &c.name == name) {
                    Some(ch) if ch.activation_status == ActivationStatus::Activated => {
                        let page = Page {
                            id: new_id(),
                            engagement_id: e.id.clone(),
                            incident_id: e.incident_id.clone(),
                            contact: person.alias.clone(),
                            channel_id: ch.id.clone(),
                            channel_name: ch.name.clone(),
                            channel_type: ch.kind,
                            address: ch.address.clone(),
                            stage,
                            status: PageStatus::Pending,
                            attempts: 0,
                            last_error: None,
                            ack_code: format!("{:06}", rand::rng().random_range(0..1_000_000u32)),
                            created_at: now,
                            sent_at: None,
                            delivered_at: None,
                            read_at: None,
                            read_by: None,
                            read_via: None,
                        };
                        fx.jobs.push(NewJob::at(Task::DeliverPage { page_id: page.id.clone() }, now));
                        fx.pages.push(page);
                    }
                    Some(ch) => {
                        notes.push(format!("channel {} of {} is not activated; skipped", ch.name, person.alias))
                    }
                    None => notes.push(format!("{} has no channel {name}; skipped", person.alias)),
                }
            }
            if fx.pages.is_empty() && notes.is_empty() {
                notes.push(format!("{} has no activated channel to page", person.alias));
            }
            if stage as usize + 1 < plan.stages.len() {
                let due = now + current.duration();
                fx.jobs.push(NewJob::at(
                    Task::ContactStage {
                        engagement_id: e.id.clone(),
                        contact: alias.to_string(),
                        stage: stage + 1,
                        essential,
                    },
                    due,
                ));
            }
        }
        if let Some(incident) = &e.incident_id {
            let via: Vec<String> =
                fx.pages.iter().map(|p| format!("{} ({})", p.channel_name, p.channel_type.as_str())).collect();
            let mut message = if via.is_empty() {
                format!("Could not page {}", person.alias)
            } else {
                format!("Paging {} via {}", person.alias, via.join(", "))
            };
            if !notes.is_empty() {
                message.push_str(&format!(" ({})", notes.join("; ")));
            }
            let data = serde_json::json!({"engagementId": e.id, "contact": person.alias, "stage": stage, "pages": fx.pages.iter().map(|p| &p.id).collect::<Vec<_>>()});
            fx.events.push((incident.clone(), event("page.decided", message, data, now)));
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    /// What a template may say about an incident.
    async fn incident_context(&self, id: Option<&str>) -> Result<serde_json::Value, EngineError> {
        let Some(id) = id else { return Ok(serde_json::Value::Null) };
        Ok(match self.store.get_incident(id).await? {
            Some(i) => serde_json::json!({
                "id": i.id, "number": i.number, "title": i.title, "impact": i.impact,
                "summary": i.summary, "status": i.status, "dedupeString": i.dedupe_string,
            }),
            None => serde_json::Value::Null,
        })
    }

    async fn message_for(&self, page: &Page, subject: &str, content: &str) -> Result<Message, EngineError> {
        let ack_url =
            self.config.public_url.as_deref().map(|u| links::ack_link(u, &self.link_key, &page.id, self.now()));
        let context = serde_json::json!({
            "subject": subject,
            "content": content,
            "contact": page.contact,
            "channel": {"name": page.channel_name, "type": page.channel_type},
            "incident": self.incident_context(page.incident_id.as_deref()).await?,
        });
        let mut text = self.templates.render("pageText", &context);
        if ack_url.is_none() {
            text.push_str(&format!("\n\nAcknowledge with: muster page ack {}", page.id));
        }
        Ok(Message {
            id: page.id.clone(),
            subject: self.templates.render("pageSubject", &context),
            text,
            ack_url,
            ack_code: Some(page.ack_code.clone()),
            incident_url: None,
            thread: None,
            buttons: vec![],
        })
    }

    async fn deliver_page(&self, job: &Job, page_id: &str) -> Result<(), EngineError> {
        let Some(page) = self.store.get_page(page_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        if page.status != PageStatus::Pending {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        }
        let engagement = self.store.get_engagement(&page.engagement_id).await?;
        let live = engagement.as_ref().is_some_and(|e| e.status == EngagementStatus::Active)
            && !self.store.person_acked(&page.engagement_id, &page.contact).await?;
        let Some(e) = engagement.filter(|_| live) else {
            let update = PageUpdate {
                id: page.id.clone(),
                status: PageStatus::Cancelled,
                attempts: page.attempts,
                last_error: None,
                sent_at: None,
                delivered_at: None,
            };
            self.finish(job, Effects { page_update: Some(update), ..Effects::default() }).await?;
            return Ok(());
        };
        let destination = page.channel_type.as_str().to_ascii_lowercase();
        let destination = if destination == "chat" { "slack".to_string() } else { destination };
        if let Some(slot) = self.throttle(&destination) {
            // The provider's rate is used up: come back at the slot taken, without an attempt.
            let fx = Effects {
                jobs: vec![NewJob::at(Task::DeliverPage { page_id: page.id.clone() }, slot)],
                ..Effects::default()
            };
            self.finish(job, fx).await?;
            return Ok(());
        }
        let message = self.message_for(&page, &e.subject, &e.content).await?;
        let outcome = match self.notifiers.for_channel(page.channel_type) {
            Ok(n) => n.send(&page.address, &message).await,
            Err(err) => Err(err),
        };
        let now = self.now();
        let attempts = page.attempts + 1;
        let mut fx = Effects::default();
        let label = format!("{} via {} ({})", page.contact, page.channel_name, page.channel_type.as_str());
        match outcome {
            Ok(sent) => {
                let delivered = sent.delivered();
                fx.page_update = Some(PageUpdate {
                    id: page.id.clone(),
                    status: if delivered { PageStatus::Delivered } else { PageStatus::Sent },
                    attempts,
                    last_error: None,
                    sent_at: Some(now),
                    delivered_at: delivered.then_some(now),
                });
                if let Some(i) = &page.incident_id {
                    let data = serde_json::json!({"pageId": page.id, "contact": page.contact, "channel": page.channel_name, "attempts": attempts});
                    fx.events.push((i.clone(), event("page.sent", format!("Paged {label}"), data, now)));
                }
            }
            Err(SendError::Retryable(why)) if attempts < MAX_DELIVERY_ATTEMPTS => {
                tracing::info!(page = %page.id, attempts, error = %why, "page delivery failed; retrying");
                fx.page_update = Some(PageUpdate {
                    id: page.id.clone(),
                    status: PageStatus::Pending,
                    attempts,
                    last_error: Some(why),
                    sent_at: None,
                    delivered_at: None,
                });
                let due = now + retry_delay(attempts, None, rand::random::<f64>());
                fx.jobs.push(NewJob::at(Task::DeliverPage { page_id: page.id.clone() }, due));
            }
            Err(SendError::Retryable(why) | SendError::Permanent(why)) => {
                tracing::warn!(page = %page.id, attempts, error = %why, "page delivery failed for good");
                fx.page_update = Some(PageUpdate {
                    id: page.id.clone(),
                    status: PageStatus::Error,
                    attempts,
                    last_error: Some(why.clone()),
                    sent_at: None,
                    delivered_at: None,
                });
                if let Some(i) = &page.incident_id {
                    let data = serde_json::json!({"pageId": page.id, "contact": page.contact, "channel": page.channel_name, "attempts": attempts, "error": why});
                    fx.events.push((
                        i.clone(),
                        event(
                            "page.failed",
                            format!("Could not page {label} after {attempts} attempt(s): {why}"),
                            data,
                            now,
                        ),
                    ));
                }
            }
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    /// Every quarter hour: schedule the notices for shifts starting in the coming window.
    async fn plan_handoff_notices(&self, job: &Job) -> Result<(), EngineError> {
        let now = self.now();
        let lead = SignedDuration::from_mins(self.config.handoff_notice_minutes);
        let step = SignedDuration::from_mins(15);
        let mut fx = Effects::default();
        if self.config.handoff_notice_minutes > 0 {
            // Windows follow each other from the job's due time, so they tile however late it runs.
            let (from, to) = (job.due_at + lead, job.due_at + lead + step);
            for r in self.store.list_rotations().await? {
                let Ok(schedule) = r.spec.schedule() else { continue };
                let overrides: Vec<_> =
                    self.store.list_overrides(Some(&r.id), from, to).await?.into_iter().map(|(_, o)| o).collect();
                let Ok(shifts) = schedule.shifts(from - SignedDuration::from_secs(1), to, &overrides) else { continue };
                for (i, s) in shifts.iter().enumerate() {
                    if s.start < from || s.start >= to || s.start <= now {
                        continue;
                    }
                    // Only a change of people is a handoff worth a notice.
                    let before = if i > 0 && shifts[i - 1].end == s.start {
                        shifts[i - 1].contacts.clone()
                    } else {
                        schedule.on_call(s.start - SignedDuration::from_secs(1), &overrides)
                    };
                    for c in s.contacts.iter().filter(|c| !before.contains(c)) {
                        let key = format!("handoff:{}:{}:{c}", r.id, s.start.as_millisecond());
                        fx.jobs.push(
                            NewJob::at(
                                Task::HandoffNotice {
                                    rotation_id: r.id.clone(),
                                    shift_start: s.start,
                                    contact: c.clone(),
                                },
                                s.start - lead,
                            )
                            .unique(key),
                        );
                    }
                }
            }
            fx.jobs.push(NewJob::at(Task::PlanHandoffNotices, job.due_at + step).unique("plan-handoff-notices"));
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    async fn handoff_notice(
        &self,
        job: &Job,
        rotation_id: &str,
        start: Timestamp,
        alias: &str,
    ) -> Result<(), EngineError> {
        let rotation = self.store.get_rotation(rotation_id).await?;
        let person = self.store.get_contact(alias).await?;
        if let (Some(r), Some(p)) = (rotation, person) {
            let local =
                start.to_zoned(r.spec.schedule().map(|s| s.time_zone().clone()).unwrap_or(jiff::tz::TimeZone::UTC));
            let message = Message {
                id: format!("handoff-{}-{}-{alias}", r.id, start.as_millisecond()),
                subject: format!("Your on-call shift in {} starts at {}", r.spec.name, local.strftime("%a %H:%M %Z")),
                text: format!(
                    "You are on call in rotation {} from {}.",
                    r.spec.name,
                    local.strftime("%Y-%m-%d %H:%M %Z")
                ),
                ack_url: None,
                ack_code: None,
                incident_url: None,
                thread: None,
                buttons: vec![],
            };
            self.tell(&p, &message).await?;
        }
        self.finish(job, Effects::default()).await?;
        Ok(())
    }

    /// Tells a person something that is not a page (a handoff, a reminder): through their first
    /// activated channel that takes it. Answers whether one did.
    pub(crate) async fn tell(&self, person: &Contact, message: &Message) -> Result<bool, EngineError> {
        for ch in self.store.list_channels(&person.id).await? {
            if ch.activation_status != ActivationStatus::Activated {
                continue;
            }
            let result = match self.notifiers.for_channel(ch.kind) {
                Ok(n) => n.send(&ch.address, message).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => return Ok(true),
                Err(e) => {
                    tracing::info!(contact = %person.alias, channel = %ch.name, error = %e, "notice not sent through this channel")
                }
            }
        }
        Ok(false)
    }

    /// Reminds the owner of every overdue action item, once a day.
    pub(crate) async fn remind_action_items(&self, job: &Job) -> Result<(), EngineError> {
        let now = self.now();
        let items =
            self.store.list_action_items(&muster_store::ActionItemQuery { open: true, ..Default::default() }).await?;
        for item in items.iter().filter(|i| i.overdue(now)) {
            let Some(owner) = &item.spec.owner else { continue };
            let Some(person) = self.store.get_contact(owner).await? else { continue };
            let analysis = self.store.get_analysis(&item.analysis_id).await?;
            let due = item.spec.due.map(|d| d.to_string()).unwrap_or_default();
            let message = Message {
                id: format!("reminder-{}-{}", item.id, now.strftime("%Y%m%d")),
                subject: format!("Overdue action item: {}", item.spec.title),
                text: format!(
                    "The action item \"{}\" was due {due}{}.{}",
                    item.spec.title,
                    analysis.map(|a| format!(" (from the analysis \"{}\")", a.title)).unwrap_or_default(),
                    item.spec.link.as_ref().map(|l| format!(" {l}")).unwrap_or_default()
                ),
                ack_url: None,
                ack_code: None,
                incident_url: None,
                thread: None,
                buttons: vec![],
            };
            if !self.tell(&person, &message).await? {
                tracing::warn!(item = %item.id, owner = %owner, "no channel took the overdue reminder");
            }
        }
        let mut fx = Effects::default();
        fx.jobs.push(
            NewJob::at(Task::RemindActionItems, now + SignedDuration::from_hours(24)).unique("remind-action-items"),
        );
        self.finish(job, fx).await?;
        Ok(())
    }
}

/// What a fan-out says, and about what.
struct Fanout<'a> {
    incident: Option<String>,
    approval: Option<String>,
    topic: Option<String>,
    subject: &'a str,
    text: &'a str,
}

impl Engine {
    fn outgoing(&self, f: &Fanout, destination: &str, target: &str, address: &str) -> Outgoing {
        Outgoing {
            notification: Notification {
                id: new_id(),
                incident_id: f.incident.clone(),
                topic: f.topic.clone(),
                destination: destination.to_string(),
                target: target.to_string(),
                subject: f.subject.to_string(),
                text: f.text.to_string(),
                status: NotificationStatus::Pending,
                attempts: 0,
                last_error: None,
                created_at: self.now(),
                sent_at: None,
            },
            address: address.to_string(),
            approval: f.approval.clone(),
        }
    }

    /// Fans a message out: to a topic's subscriptions and the chat channels bound to it, or to one
    /// chat channel. Each destination gets a notification row (outbox) and a delivery job.
    async fn publish(
        &self,
        job: &Job,
        incident: Option<String>,
        target: &str,
        subject: &str,
        text: &str,
        approval: Option<String>,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let mut out: Vec<Outgoing> = Vec::new();
        let name = topic_name(target);
        let mut found = false;
        let mut f = Fanout { incident: incident.clone(), approval, topic: Some(name.clone()), subject, text };
        if let Some(topic) = self.store.get_topic(&name).await? {
            found = true;
            for s in self.store.subscriptions(&topic).await? {
                match s.protocol {
                    Protocol::Email => out.push(self.outgoing(&f, "email", &s.endpoint, &s.endpoint)),
                    Protocol::Sms => out.push(self.outgoing(&f, "sms", &s.endpoint, &s.endpoint)),
                    Protocol::Webhook => out.push(self.outgoing(&f, "webhook", "webhook", &s.endpoint)),
                    Protocol::Chat => {
                        if let Some(c) = self.store.get_chat_channel(&s.endpoint).await? {
                            out.push(self.outgoing(
                                &f,
                                chat_destination(c.spec.kind),
                                &c.spec.name,
                                &self.providers.chat_address(c.spec.kind, &c.spec.target),
                            ));
                        }
                    }
                }
            }
            for c in self.store.list_chat_channels().await? {
                let bound = c.spec.topics.iter().any(|t| t == &name);
                let already = out.iter().any(|o| o.notification.target == c.spec.name);
                if bound && !already {
                    out.push(self.outgoing(
                        &f,
                        chat_destination(c.spec.kind),
                        &c.spec.name,
                        &self.providers.chat_address(c.spec.kind, &c.spec.target),
                    ));
                }
            }
        } else if let Some(c) = self.store.get_chat_channel(target).await? {
            found = true;
            f.topic = None;
            out.push(self.outgoing(
                &f,
                chat_destination(c.spec.kind),
                &c.spec.name,
                &self.providers.chat_address(c.spec.kind, &c.spec.target),
            ));
        }
        let mut fx = Effects::default();
        if let Some(i) = &incident {
            let message = if !found {
                format!("Could not notify {target}: there is no such topic or chat channel")
            } else if out.is_empty() {
                format!("Topic {name} has no subscribers")
            } else {
                let targets: Vec<String> =
                    out.iter().map(|o| format!("{} ({})", o.notification.target, o.notification.destination)).collect();
                format!("Notifying {}", targets.join(", "))
            };
            fx.events
                .push((i.clone(), event("notification.decided", message, serde_json::json!({"target": target}), now)));
        }
        for o in &out {
            fx.jobs.push(NewJob::at(Task::DeliverNotification { notification_id: o.notification.id.clone() }, now));
        }
        fx.notifications = out;
        self.finish(job, fx).await?;
        Ok(())
    }

    async fn deliver_notification(&self, job: &Job, id: &str) -> Result<(), EngineError> {
        let Some(o) = self.store.get_outgoing(id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let n = &o.notification;
        if n.status != NotificationStatus::Pending {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        }
        if let Some(slot) = self.throttle(&n.destination) {
            let fx = Effects {
                jobs: vec![NewJob::at(Task::DeliverNotification { notification_id: n.id.clone() }, slot)],
                ..Effects::default()
            };
            self.finish(job, fx).await?;
            return Ok(());
        }
        // Slack threads later updates about an incident under the first message to that channel.
        let thread = match (&n.incident_id, n.destination.as_str()) {
            (Some(i), "slack") => self.store.thread_of(i, &n.target).await?,
            _ => None,
        };
        // The incident's page in the web UI (a person clicks it; the API would want a token).
        let incident_url = match (&self.config.public_url, &n.incident_id) {
            (Some(base), Some(i)) => Some(format!("{}/incidents/{i}", base.trim_end_matches('/'))),
            _ => None,
        };
        let buttons = match &o.approval {
            Some(execution) => vec![
                muster_notify::Button {
                    action_id: "muster_approve".into(),
                    text: "Approve".into(),
                    value: execution.clone(),
                    style: Some("primary".into()),
                },
                muster_notify::Button {
                    action_id: "muster_reject".into(),
                    text: "Reject".into(),
                    value: execution.clone(),
                    style: Some("danger".into()),
                },
            ],
            None => vec![],
        };
        let context = serde_json::json!({
            "subject": n.subject,
            "text": n.text,
            "incident": self.incident_context(n.incident_id.as_deref()).await?,
        });
        let message = Message {
            id: n.id.clone(),
            subject: self.templates.render("notificationSubject", &context),
            text: self.templates.render("notificationText", &context),
            ack_url: None,
            ack_code: None,
            incident_url,
            thread,
            buttons,
        };
        let result = match self.notifiers.for_destination(&n.destination) {
            Ok(notifier) => notifier.send(&o.address, &message).await,
            Err(e) => Err(e),
        };
        let now = self.now();
        let attempts = n.attempts + 1;
        let mut fx = Effects::default();
        let label = format!("{} ({})", n.target, n.destination);
        match result {
            Ok(sent) => {
                let status = if sent.delivered() { NotificationStatus::Delivered } else { NotificationStatus::Sent };
                fx.notification_update = Some(NotificationUpdate {
                    id: n.id.clone(),
                    status,
                    attempts,
                    last_error: None,
                    sent_at: Some(now),
                    reference: sent.reference().map(str::to_string),
                });
                if let Some(i) = &n.incident_id {
                    fx.events.push((
                        i.clone(),
                        event(
                            "notification.sent",
                            format!("Told {label}"),
                            serde_json::json!({"notificationId": n.id}),
                            now,
                        ),
                    ));
                }
            }
            Err(SendError::Retryable(why)) if attempts < MAX_DELIVERY_ATTEMPTS => {
                fx.notification_update = Some(NotificationUpdate {
                    id: n.id.clone(),
                    status: NotificationStatus::Pending,
                    attempts,
                    last_error: Some(why),
                    sent_at: None,
                    reference: None,
                });
                fx.jobs.push(NewJob::at(
                    Task::DeliverNotification { notification_id: n.id.clone() },
                    now + retry_delay(attempts, None, rand::random::<f64>()),
                ));
            }
            Err(SendError::Retryable(why) | SendError::Permanent(why)) => {
                fx.notification_update = Some(NotificationUpdate {
                    id: n.id.clone(),
                    status: NotificationStatus::Error,
                    attempts,
                    last_error: Some(why.clone()),
                    sent_at: None,
                    reference: None,
                });
                if let Some(i) = &n.incident_id {
                    let data = serde_json::json!({"notificationId": n.id, "error": why});
                    fx.events.push((
                        i.clone(),
                        event(
                            "notification.failed",
                            format!("Could not tell {label} after {attempts} attempt(s): {why}"),
                            data,
                            now,
                        ),
                    ));
                }
            }
        }
        self.finish(job, fx).await?;
        Ok(())
    }
}
