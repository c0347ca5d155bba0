//! Detection jobs: evaluating metric alarms, taking their actions, pruning old metric data, and
//! opening incidents from triggers with the context a responder needs.

use crate::{Engine, EngineError};
use jiff::{SignedDuration, Timestamp};
use muster_core::alarm::{ActionTarget, Alarm, StateValue, action_target, data_window, evaluate, next_evaluation};
use muster_core::engage::{Job, NewJob, Task};
use muster_core::incident::{RelatedItem, RelatedItemKind, StartRequest, Trigger, prepare_related_item, prepare_start};
use muster_core::metric::Datapoint;
use muster_core::plan::ResponsePlan;
use muster_store::{AlarmChange, Effects, StartOutcome, evaluate_job};
use serde_json::{Value, json};

/// How often old metric data is pruned.
const PRUNE_EVERY: SignedDuration = SignedDuration::from_hours(1);

/// What a trigger brings to a new incident besides the plan's template.
#[derive(Debug, Clone, Default)]
pub struct TriggerContext {
    /// Resources the trigger names (`VpnId=vpn-0123`, `instance=web-1:9100`, an ARN).
    pub resources: Vec<String>,
    /// Related items: the alarm or rule, the metric with its recent data, links the sender gave.
    pub related: Vec<(RelatedItemKind, String, String)>,
}

impl Engine {
    pub(crate) async fn evaluate_alarm(&self, job: &Job, alarm_id: &str, periodic: bool) -> Result<(), EngineError> {
        let now = self.now();
        let Some(alarm) = self.store.get_alarm(alarm_id).await? else {
            // Deleted: its jobs end here.
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let (from, to) = data_window(&alarm.spec, now);
        let data = self
            .store
            .metric_data(&alarm.spec.namespace, &alarm.spec.metric_name, &alarm.spec.dimension_map(), from, to)
            .await?;
        let evaluation = evaluate(&alarm.spec, alarm.state_value, &data, now);
        let mut fx = Effects::default();
        if evaluation.state != alarm.state_value {
            tracing::info!(alarm = %alarm.spec.name, from = alarm.state_value.as_str(), to = evaluation.state.as_str(),
                "alarm state change");
            fx.alarm = Some(AlarmChange { alarm_id: alarm.id.clone(), evaluation });
        }
        if periodic {
            fx.jobs.push(evaluate_job(&alarm.id, true, next_evaluation(&alarm.spec, now)));
        }
        self.finish(job, fx).await?;
        Ok(())
    }

    pub(crate) async fn alarm_action(
        &self,
        job: &Job,
        alarm_id: &str,
        state: &str,
        target: &str,
        changed_at: Timestamp,
    ) -> Result<(), EngineError> {
        let now = self.now();
        let Some(alarm) = self.store.get_alarm(alarm_id).await? else {
            self.finish(job, Effects::default()).await?;
            return Ok(());
        };
        let state = StateValue::parse(state).unwrap_or(StateValue::Alarm);
        let mut fx = Effects::default();
        let plan = match action_target(target) {
            ActionTarget::ResponsePlan(name) | ActionTarget::Named(name) => self.store.get_plan(&name).await?,
            _ => None,
        };
        let topic = match action_target(target) {
            ActionTarget::Topic(name) | ActionTarget::Named(name) if plan.is_none() => {
                self.store.get_topic(&name).await?.map(|t| t.spec.name)
            }
            _ => None,
        };
        let outcome: Result<String, String> = if let Some(plan) = plan {
            if let Some(w) = muster_core::maintenance::any_active(&plan.maintenance, now) {
                Ok(format!("suppressed: response plan {} is in its maintenance window {}", plan.name, w.name))
            } else if state == StateValue::Alarm {
                self.open_from_alarm(&alarm, &plan, changed_at).await
            } else {
                Ok(format!("response plan {} opens incidents on ALARM only; nothing to do", plan.name))
            }
        } else if let Some(topic) = topic {
            fx.jobs.push(NewJob::at(
                Task::Publish {
                    incident_id: None,
                    target: topic.clone(),
                    subject: format!("{}: \"{}\"", state.as_str(), alarm.spec.name),
                    text: format!("Alarm {} is now {}.\n{}", alarm.spec.name, state.as_str(), alarm.state_reason),
                    approval: None,
                },
                now,
            ));
            Ok(format!("published to topic {topic}"))
        } else if let ActionTarget::Unsupported(arn) = action_target(target) {
            Err(format!("Muster cannot take the action {arn}: it runs response plans and topics only"))
        } else {
            Err(format!("there is no response plan or topic named {target:?}"))
        };
        let (summary, data) = match &outcome {
            Ok(what) => {
                (format!("Successfully executed action {target}"), json!({"actionState": "Succeeded", "result": what}))
            }
            Err(why) => (format!("Failed to execute action {target}"), json!({"actionState": "Failed", "error": why})),
        };
        if let Err(why) = &outcome {
            tracing::warn!(alarm = %alarm.spec.name, target, error = %why, "alarm action failed");
        }
        self.store.add_alarm_history(&alarm.id, "Action", &summary, &data, now).await?;
        self.finish(job, fx).await?;
        Ok(())
    }

    /// Opens (or adds to) the plan's incident for an alarm, with the alarm, its metric and data, and
    /// the resources its dimensions name.
    async fn open_from_alarm(
        &self,
        alarm: &Alarm,
        plan: &ResponsePlan,
        changed_at: Timestamp,
    ) -> Result<String, String> {
        let now = self.now();
        let spec = &alarm.spec;
        // The data the alarm saw, for the responder: the last hour, or the evaluation range if longer.
        let span = SignedDuration::from_secs(i64::from(spec.period) * i64::from(spec.evaluation_periods))
            .max(SignedDuration::from_hours(1));
        let data = self
            .store
            .metric_data(
                &spec.namespace,
                &spec.metric_name,
                &spec.dimension_map(),
                now - span,
                now + SignedDuration::from_secs(1),
            )
            .await
            .map_err(|e| e.to_string())?;
        let dims: Vec<String> = spec.dimension_map().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let metric_title = if dims.is_empty() {
            format!("{} {}", spec.namespace, spec.metric_name)
        } else {
            format!("{} {} ({})", spec.namespace, spec.metric_name, dims.join(", "))
        };
        let mut ctx = TriggerContext::default();
        ctx.related.push((RelatedItemKind::Other, format!("Alarm {}", spec.name), alarm.arn()));
        ctx.related.push((RelatedItemKind::Metric, metric_title, metric_summary(alarm, &data)));
        for (k, v) in spec.dimension_map() {
            ctx.related.push((RelatedItemKind::Resource, k.clone(), v.clone()));
            ctx.resources.push(format!("{k}={v}"));
        }
        let trigger = Trigger {
            source: "alarm".into(),
            details: json!({
                "alarmName": spec.name,
                "alarmArn": alarm.arn(),
                "state": alarm.state_value.as_str(),
                "reason": alarm.state_reason,
                "reasonData": alarm.state_reason_data,
                "namespace": spec.namespace,
                "metricName": spec.metric_name,
                "dimensions": spec.dimension_map(),
                "changedAt": changed_at,
            }),
        };
        let req = StartRequest {
            response_plan: Some(plan.name.clone()),
            trigger,
            client_token: Some(format!("alarm:{}:{}", alarm.id, changed_at.as_millisecond())),
            ..Default::default()
        };
        let outcome = self.start_with_context(req, plan, &format!("alarm:{}", spec.name), ctx).await?;
        let i = outcome.incident();
        Ok(match outcome {
            StartOutcome::Created(_) => format!("opened incident #{}", i.number),
            StartOutcome::Deduplicated(_) => format!("added a trigger to open incident #{}", i.number),
            StartOutcome::Replayed(_) => format!("incident #{} was opened for this change already", i.number),
        })
    }

    /// Starts an incident from a plan and a trigger, writing the trigger's context with it.
    pub async fn start_with_context(
        &self,
        req: StartRequest,
        plan: &ResponsePlan,
        actor: &str,
        ctx: TriggerContext,
    ) -> Result<StartOutcome, String> {
        self.start_from(req, Some(plan), actor, ctx).await
    }

    /// Starts an incident built from the trigger alone (no response plan).
    pub async fn start_plain(
        &self,
        req: StartRequest,
        actor: &str,
        ctx: TriggerContext,
    ) -> Result<StartOutcome, String> {
        self.start_from(req, None, actor, ctx).await
    }

    async fn start_from(
        &self,
        req: StartRequest,
        plan: Option<&ResponsePlan>,
        actor: &str,
        ctx: TriggerContext,
    ) -> Result<StartOutcome, String> {
        let now = self.now();
        let mut new = prepare_start(req, plan, actor, now).map_err(|e| e.to_string())?;
        new.resources = ctx.resources;
        new.related = ctx
            .related
            .into_iter()
            .filter_map(|(kind, title, value)| {
                let value: String = value.chars().take(4000).collect();
                prepare_related_item(&new.id, kind, Some(&title), &value, actor, now).ok()
            })
            .collect::<Vec<RelatedItem>>();
        let outcome = self.store.start_incident(new).await.map_err(|e| e.to_string())?;
        self.wake();
        Ok(outcome)
    }

    pub(crate) async fn prune_metrics(&self, job: &Job) -> Result<(), EngineError> {
        let now = self.now();
        let gone = self.store.prune_metric_data(now - self.config.metric_retention).await?;
        let (inbound, incidents) = self
            .store
            .prune(Some(now - self.config.inbound_retention), self.config.resolved_retention.map(|r| now - r))
            .await?;
        if gone + inbound + incidents > 0 {
            tracing::info!(metric_rows = gone, inbound, incidents, "pruned data past its retention");
        }
        let mut fx = Effects::default();
        fx.jobs.push(NewJob::at(Task::PruneMetrics, now + PRUNE_EVERY).unique("prune-metrics"));
        self.finish(job, fx).await?;
        Ok(())
    }
}

/// The metric's recent data as a related item's value: what the alarm watched, and the last points.
fn metric_summary(alarm: &Alarm, data: &[Datapoint]) -> String {
    let spec = &alarm.spec;
    let periods = muster_core::metric::per_period(data, i64::from(spec.period), spec.statistic());
    let points: Vec<Value> =
        periods[periods.len().saturating_sub(20)..].iter().map(|(t, v)| json!({"timestamp": t, "value": v})).collect();
    json!({
        "namespace": spec.namespace,
        "metricName": spec.metric_name,
        "dimensions": spec.dimension_map(),
        "statistic": spec.statistic,
        "period": spec.period,
        "threshold": spec.threshold,
        "comparisonOperator": spec.comparison_operator,
        "datapoints": points,
    })
    .to_string()
}
