//! Post-incident analysis: questions from a template, the incident's record pulled in, durations
//! computed from that record (never typed), action items, and exports. Also the reports across
//! incidents: MTTA and MTTR by response plan, impact and period; incidents per week; pages per person
//! and after hours; the noisiest sources.

use crate::Invalid;
use crate::engage::Page;
use crate::error::{optional_text, text};
use crate::incident::{Incident, TimelineEvent};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A question an analysis answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Question {
    /// A short key (`summary`, `five_whys`); answers are stored under it.
    pub id: String,
    pub prompt: String,
    #[serde(default)]
    pub help: Option<String>,
}

/// An editable set of questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisTemplate {
    pub name: String,
    pub questions: Vec<Question>,
}

impl AnalysisTemplate {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = crate::plan::validate_name("name", &self.name)?;
        if self.questions.is_empty() || self.questions.len() > 50 {
            return Err(Invalid::new("questions", "give 1 to 50 questions"));
        }
        let mut seen = Vec::new();
        for (i, q) in self.questions.iter().enumerate() {
            let at = |e: Invalid| e.within(&format!("questions[{i}]"));
            let id = text("id", &q.id, 64).map_err(at)?;
            if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                return Err(at(Invalid::new("id", "use letters, digits, '_' and '-' only")));
            }
            if seen.contains(&id) {
                return Err(at(Invalid::new("id", format!("{id:?} is used twice"))));
            }
            text("prompt", &q.prompt, 500).map_err(at)?;
            seen.push(id);
        }
        Ok(self.with_name(name))
    }

    fn with_name(self, name: String) -> Self {
        Self { name, ..self }
    }

    /// The template every analysis gets unless it names another.
    pub fn default_template() -> Self {
        let q = |id: &str, prompt: &str| Question { id: id.into(), prompt: prompt.into(), help: None };
        Self {
            name: "default".into(),
            questions: vec![
                q("summary", "What happened, in a few sentences?"),
                q("impact", "Who was affected, how, and for how long?"),
                q("detection", "How was it detected? Could it have been detected sooner?"),
                q("diagnosis", "How was the cause found? What slowed the diagnosis?"),
                q("mitigation", "What stopped the impact, and when?"),
                q("prevention", "What will keep it from happening again?"),
                q("five_whys", "Why did it happen? Ask why five times."),
                q("went_well", "What went well?"),
                q("to_improve", "What should be improved?"),
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AnalysisStatus {
    #[default]
    Draft,
    InReview,
    Published,
}

impl AnalysisStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AnalysisStatus::Draft => "DRAFT",
            AnalysisStatus::InReview => "IN_REVIEW",
            AnalysisStatus::Published => "PUBLISHED",
        }
    }
}

/// One line of the analysis's timeline: taken from the incident's, editable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExcerptEntry {
    /// The incident timeline event it came from, if any.
    #[serde(default)]
    pub event_id: Option<String>,
    pub time: Timestamp,
    pub message: String,
}

/// Durations computed from the incident's record, in seconds; absent when the record does not
/// have the moments they need.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisMetrics {
    /// The trigger's own time (the alarm's state change, the alert's start, the event's time) to the
    /// incident's opening.
    pub time_to_detect: Option<i64>,
    /// Opening to the first page.
    pub time_to_engage: Option<i64>,
    /// Opening to the first acknowledgement.
    pub time_to_acknowledge: Option<i64>,
    /// Opening to the timeline event marked `mitigated`.
    pub time_to_mitigate: Option<i64>,
    /// Opening to resolution.
    pub time_to_resolve: Option<i64>,
    pub pages_sent: usize,
    /// Pages per person.
    pub paged: BTreeMap<String, usize>,
    /// Who acknowledged first, and how.
    pub first_acknowledged_by: Option<String>,
}

/// When the trigger itself happened, as its source recorded it.
pub fn trigger_time(incident: &Incident) -> Option<Timestamp> {
    let d = &incident.trigger.details;
    let candidates = [
        d.get("changedAt"),
        d.pointer("/alert/startsAt"),
        d.pointer("/alert/StateChangeTime"),
        d.pointer("/event/time"),
        d.pointer("/alert/payload/timestamp"),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|s| {
            s.parse::<Timestamp>().ok().or_else(|| jiff::fmt::rfc2822::parse(s).ok().map(|z| z.timestamp()))
        })
        .find(|t| *t <= incident.created_at)
}

/// A timeline event that marks mitigation: a custom event of type `mitigated`.
pub const MITIGATED: &str = "mitigated";

/// The durations of an incident's stages, from its record.
pub fn compute_metrics(incident: &Incident, timeline: &[TimelineEvent], pages: &[Page]) -> AnalysisMetrics {
    let opened = incident.created_at;
    let secs = |t: Timestamp| Some(t.duration_since(opened).as_secs().max(0));
    let first_page = pages.iter().map(|p| p.created_at).min();
    let page_ack =
        pages.iter().filter_map(|p| p.read_at.map(|t| (t, p.read_by.clone(), p.read_via.clone()))).min_by_key(|x| x.0);
    let timeline_ack = timeline
        .iter()
        .filter(|e| e.event_type == "incident.acknowledged")
        .map(|e| (e.event_time, Some(e.actor.clone()), e.data["via"].as_str().map(str::to_string)))
        .min_by_key(|x| x.0);
    let ack = match (page_ack, timeline_ack) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let mitigated = timeline.iter().filter(|e| e.event_type == MITIGATED).map(|e| e.event_time).min();
    let mut paged = BTreeMap::new();
    for p in pages {
        *paged.entry(p.contact.clone()).or_insert(0) += 1;
    }
    AnalysisMetrics {
        time_to_detect: trigger_time(incident).map(|t| opened.duration_since(t).as_secs().max(0)),
        time_to_engage: first_page.and_then(secs),
        time_to_acknowledge: ack.as_ref().and_then(|a| secs(a.0)),
        time_to_mitigate: mitigated.and_then(secs),
        time_to_resolve: incident.resolved_at.and_then(secs),
        pages_sent: pages.len(),
        paged,
        first_acknowledged_by: ack.and_then(|a| match (a.1, a.2) {
            (Some(by), Some(via)) => Some(format!("{by} ({via})")),
            (Some(by), None) => Some(by),
            _ => None,
        }),
    }
}

/// An analysis as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub id: String,
    pub incident_id: String,
    pub title: String,
    pub status: AnalysisStatus,
    pub template: AnalysisTemplate,
    /// Answers by question id.
    pub answers: BTreeMap<String, String>,
    pub timeline_excerpt: Vec<ExcerptEntry>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
}

/// A change to an analysis.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalysisPatch {
    pub title: Option<String>,
    pub status: Option<AnalysisStatus>,
    /// Answers to set (an empty text clears one).
    pub answers: Option<BTreeMap<String, String>>,
    pub timeline_excerpt: Option<Vec<ExcerptEntry>>,
}

impl AnalysisPatch {
    /// Applies the patch, refusing answers to questions the template does not have.
    pub fn apply(self, mut a: Analysis, now: Timestamp) -> Result<Analysis, Invalid> {
        if let Some(t) = self.title {
            a.title = text("title", &t, 200)?;
        }
        if let Some(s) = self.status {
            a.status = s;
        }
        if let Some(answers) = self.answers {
            for (k, v) in answers {
                if !a.template.questions.iter().any(|q| q.id == k) {
                    return Err(Invalid::new(format!("answers.{k}"), "the analysis's template has no such question"));
                }
                match optional_text(&format!("answers.{k}"), Some(&v), 20_000)? {
                    Some(v) => a.answers.insert(k, v),
                    None => a.answers.remove(&k),
                };
            }
        }
        if let Some(excerpt) = self.timeline_excerpt {
            if excerpt.len() > 500 {
                return Err(Invalid::new("timelineExcerpt", "at most 500 entries"));
            }
            for (i, e) in excerpt.iter().enumerate() {
                text("message", &e.message, 10_000).map_err(|err| err.within(&format!("timelineExcerpt[{i}]")))?;
            }
            a.timeline_excerpt = excerpt;
        }
        a.updated_at = now;
        Ok(a)
    }
}

/// The excerpt an analysis starts with: every timeline event but related-item bookkeeping.
pub fn excerpt_of(timeline: &[TimelineEvent]) -> Vec<ExcerptEntry> {
    timeline
        .iter()
        .filter(|e| e.event_type != "related-item.added")
        .map(|e| ExcerptEntry { event_id: Some(e.id.clone()), time: e.event_time, message: e.message.clone() })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionStatus {
    #[default]
    Open,
    InProgress,
    Done,
}

/// Something someone will do because of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionItemSpec {
    pub title: String,
    /// A contact's alias.
    #[serde(default)]
    pub owner: Option<String>,
    /// A date (`2026-12-15`).
    #[serde(default)]
    pub due: Option<jiff::civil::Date>,
    #[serde(default)]
    pub status: ActionStatus,
    /// A tracker link.
    #[serde(default)]
    pub link: Option<String>,
}

impl ActionItemSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let link = optional_text("link", self.link.as_deref(), 2000)?;
        if let Some(l) = &link
            && !(l.starts_with("http://") || l.starts_with("https://"))
        {
            return Err(Invalid::new("link", "must be an http:// or https:// URL"));
        }
        Ok(Self {
            title: text("title", &self.title, 300)?,
            owner: optional_text("owner", self.owner.as_deref(), 200)?,
            link,
            ..self
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActionItem {
    pub id: String,
    pub analysis_id: String,
    #[serde(flatten)]
    pub spec: ActionItemSpec,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ActionItem {
    /// Past its due date (the end of that day, UTC) and not done.
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.spec.status != ActionStatus::Done
            && self
                .spec
                .due
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .and_then(|z| z.checked_add(1.day()).ok())
                .is_some_and(|end| end.timestamp() <= now)
    }
}

fn duration_text(secs: Option<i64>) -> String {
    match secs {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        Some(s) => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The analysis as Markdown: title, the incident, the metrics, the answers, the timeline, the
/// action items.
pub fn to_markdown(a: &Analysis, incident: &Incident, metrics: &AnalysisMetrics, items: &[ActionItem]) -> String {
    let mut md = format!("# {}\n\n", a.title);
    md.push_str(&format!(
        "Incident #{}: {} · impact {} ({}) · {} · status {}\n\n",
        incident.number,
        incident.title,
        incident.impact,
        incident.impact.label(),
        incident.status.as_str(),
        a.status.as_str()
    ));
    md.push_str("## Metrics\n\n| measure | value |\n|---|---|\n");
    for (name, v) in [
        ("Time to detect", metrics.time_to_detect),
        ("Time to engage", metrics.time_to_engage),
        ("Time to acknowledge", metrics.time_to_acknowledge),
        ("Time to mitigate", metrics.time_to_mitigate),
        ("Time to resolve", metrics.time_to_resolve),
    ] {
        md.push_str(&format!("| {name} | {} |\n", duration_text(v)));
    }
    md.push_str(&format!("| Pages sent | {} |\n", metrics.pages_sent));
    if !metrics.paged.is_empty() {
        let who: Vec<String> = metrics.paged.iter().map(|(k, v)| format!("{k} ({v})")).collect();
        md.push_str(&format!("| Paged | {} |\n", who.join(", ")));
    }
    if let Some(by) = &metrics.first_acknowledged_by {
        md.push_str(&format!("| First acknowledged by | {by} |\n"));
    }
    md.push('\n');
    for q in &a.template.questions {
        md.push_str(&format!("## {}\n\n", q.prompt));
        match a.answers.get(&q.id) {
            Some(answer) => md.push_str(&format!("{answer}\n\n")),
            None => md.push_str("_Not answered yet._\n\n"),
        }
    }
    md.push_str("## Timeline\n\n");
    for e in &a.timeline_excerpt {
        md.push_str(&format!("- {} — {}\n", e.time.strftime("%Y-%m-%d %H:%M:%S UTC"), e.message.replace('\n', " ")));
    }
    md.push_str("\n## Action items\n\n");
    if items.is_empty() {
        md.push_str("_None._\n");
    }
    for i in items {
        let mut line = format!("- [{}] {}", if i.spec.status == ActionStatus::Done { "x" } else { " " }, i.spec.title);
        if let Some(o) = &i.spec.owner {
            line.push_str(&format!(" — owner {o}"));
        }
        if let Some(d) = i.spec.due {
            line.push_str(&format!(", due {d}"));
        }
        if let Some(l) = &i.spec.link {
            line.push_str(&format!(" ({l})"));
        }
        md.push_str(&line);
        md.push('\n');
    }
    md
}

// ---- Reports ----

/// One incident as a report sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportIncident {
    pub incident: Incident,
    /// The first acknowledgement (page or incident), if any.
    pub acknowledged_at: Option<Timestamp>,
}

/// A page as a report sees it, with the paged person's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPage {
    pub contact: String,
    pub created_at: Timestamp,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Day,
    #[default]
    Week,
    Month,
}

/// Where a period starts: days and months in UTC; weeks on Monday, UTC.
pub fn period_start(t: Timestamp, p: Period) -> jiff::civil::Date {
    let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
    match p {
        Period::Day => d,
        Period::Week => d.checked_sub((d.weekday().to_monday_zero_offset() as i64).days()).unwrap_or(d),
        Period::Month => d.first_of_month(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Mean {
    pub incidents: usize,
    /// Mean seconds from opening to the first acknowledgement, over the acknowledged incidents.
    pub mtta: Option<f64>,
    pub acknowledged: usize,
    /// Mean seconds from opening to resolution, over the resolved incidents.
    pub mttr: Option<f64>,
    pub resolved: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonPages {
    pub contact: String,
    pub pages: usize,
    /// Pages outside 08:00-18:00 on weekdays, in the person's time zone (UTC when they have none).
    pub after_hours: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// `alarm:NAME`, `integration:NAME`, `rule:NAME`, or `manual`.
    pub source: String,
    pub incidents: usize,
    pub triggers: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub period: Period,
    pub overall: Mean,
    pub by_response_plan: BTreeMap<String, Mean>,
    pub by_impact: BTreeMap<String, Mean>,
    /// By the start of each period (`2026-11-23`).
    pub by_period: BTreeMap<String, Mean>,
    pub pages_per_person: Vec<PersonPages>,
    /// The sources that opened or re-triggered the most incidents, most first.
    pub noisiest: Vec<Source>,
}

fn add(m: &mut Mean, r: &ReportIncident) {
    m.incidents += 1;
    let opened = r.incident.created_at;
    if let Some(a) = r.acknowledged_at {
        let s = a.duration_since(opened).as_secs_f64().max(0.0);
        m.mtta = Some((m.mtta.unwrap_or(0.0) * m.acknowledged as f64 + s) / (m.acknowledged + 1) as f64);
        m.acknowledged += 1;
    }
    if let Some(t) = r.incident.resolved_at {
        let s = t.duration_since(opened).as_secs_f64().max(0.0);
        m.mttr = Some((m.mttr.unwrap_or(0.0) * m.resolved as f64 + s) / (m.resolved + 1) as f64);
        m.resolved += 1;
    }
}

/// Who or what started an incident, for the noisiest list.
pub fn source_of(i: &Incident) -> String {
    let d = &i.trigger.details;
    match i.trigger.source.as_str() {
        "alarm" => format!("alarm:{}", d["alarmName"].as_str().unwrap_or("?")),
        "rule" => format!("rule:{}", d["rule"].as_str().unwrap_or("?")),
        "manual" => "manual".into(),
        other => match d["integration"].as_str() {
            Some(name) => format!("integration:{name}"),
            None => other.to_string(),
        },
    }
}

fn after_hours(t: Timestamp, zone: Option<&str>) -> bool {
    let tz = zone.and_then(|z| jiff::tz::TimeZone::get(z).ok()).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = t.to_zoned(tz);
    let weekend = matches!(local.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday);
    weekend || local.hour() < 8 || local.hour() >= 18
}

/// The report over some incidents and pages (those the caller selected for the span).
pub fn report(
    incidents: &[ReportIncident],
    pages: &[ReportPage],
    period: Period,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
) -> Report {
    let mut r = Report { from, to, period, ..Default::default() };
    let mut sources: BTreeMap<String, Source> = BTreeMap::new();
    for i in incidents {
        add(&mut r.overall, i);
        let plan = i.incident.response_plan.as_ref().map_or("(none)".to_string(), |p| p.name.clone());
        add(r.by_response_plan.entry(plan).or_default(), i);
        add(r.by_impact.entry(i.incident.impact.to_string()).or_default(), i);
        add(r.by_period.entry(period_start(i.incident.created_at, period).to_string()).or_default(), i);
        let s = source_of(&i.incident);
        let e = sources.entry(s.clone()).or_insert_with(|| Source { source: s, ..Default::default() });
        e.incidents += 1;
        e.triggers += i.incident.trigger_count;
    }
    let mut people: BTreeMap<String, PersonPages> = BTreeMap::new();
    for p in pages {
        let e = people
            .entry(p.contact.clone())
            .or_insert_with(|| PersonPages { contact: p.contact.clone(), ..Default::default() });
        e.pages += 1;
        if after_hours(p.created_at, p.time_zone.as_deref()) {
            e.after_hours += 1;
        }
    }
    r.pages_per_person = people.into_values().collect();
    r.pages_per_person.sort_by(|a, b| b.pages.cmp(&a.pages).then(a.contact.cmp(&b.contact)));
    r.noisiest = sources.into_values().collect();
    r.noisiest
        .sort_by(|a, b| b.triggers.cmp(&a.triggers).then(b.incidents.cmp(&a.incidents)).then(a.source.cmp(&b.source)));
    r.noisiest.truncate(20);
    r
}

/// The report's means as CSV: one row per group.
pub fn report_csv(r: &Report) -> String {
    let mut out = String::from("group,key,incidents,acknowledged,mtta_seconds,resolved,mttr_seconds\n");
    let num = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_default();
    let quote =
        |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    let mut row = |group: &str, key: &str, m: &Mean| {
        out.push_str(&format!(
            "{group},{},{},{},{},{},{}\n",
            quote(key),
            m.incidents,
            m.acknowledged,
            num(m.mtta),
            m.resolved,
            num(m.mttr)
        ));
    };
    row("overall", "all", &r.overall);
    for (k, m) in &r.by_response_plan {
        row("responsePlan", k, m);
    }
    for (k, m) in &r.by_impact {
        row("impact", k, m);
    }
    for (k, m) in &r.by_period {
        row("period", k, m);
    }
    out
}

/// The analysis export as JSON: the analysis, its metrics, its action items.
pub fn to_json(a: &Analysis, incident: &Incident, metrics: &AnalysisMetrics, items: &[ActionItem]) -> Value {
    json!({"analysis": a, "incident": incident, "metrics": metrics, "actionItems": items})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::ChannelType;
    use crate::engage::PageStatus;
    use crate::incident::{Impact, IncidentStatus, PlanRef, Roles, Trigger};

    fn t(s: &str) -> Timestamp {
        s.parse().expect("valid")
    }

    fn incident(created: &str, resolved: Option<&str>, plan: &str, impact: i64) -> Incident {
        Incident {
            id: format!("i-{created}"),
            number: 1,
            title: "Checkout down".into(),
            impact: Impact::try_from(impact).expect("valid"),
            status: if resolved.is_some() { IncidentStatus::Resolved } else { IncidentStatus::Open },
            summary: None,
            dedupe_string: None,
            response_plan: Some(PlanRef { id: "p".into(), name: plan.into() }),
            tags: Default::default(),
            roles: Roles::default(),
            trigger: Trigger {
                source: "alarm".into(),
                details: json!({"alarmName": "errors", "changedAt": "2026-11-30T09:58:00Z"}),
            },
            trigger_count: 3,
            created_at: t(created),
            updated_at: t(created),
            resolved_at: resolved.map(t),
            last_triggered_at: t(created),
            created_by: "alarm:errors".into(),
        }
    }

    fn page(contact: &str, created: &str, read: Option<&str>) -> Page {
        Page {
            id: format!("p-{contact}-{created}"),
            engagement_id: "e".into(),
            incident_id: Some("i".into()),
            contact: contact.into(),
            channel_id: "c".into(),
            channel_name: "mail".into(),
            channel_type: ChannelType::Email,
            address: String::new(),
            stage: 0,
            status: if read.is_some() { PageStatus::Read } else { PageStatus::Sent },
            attempts: 1,
            last_error: None,
            ack_code: String::new(),
            created_at: t(created),
            sent_at: Some(t(created)),
            delivered_at: None,
            read_at: read.map(t),
            read_by: read.map(|_| contact.to_string()),
            read_via: read.map(|_| "link".to_string()),
        }
    }

    fn event(kind: &str, at: &str) -> TimelineEvent {
        TimelineEvent {
            id: format!("ev-{kind}"),
            incident_id: "i".into(),
            event_time: t(at),
            created_at: t(at),
            event_type: kind.into(),
            actor: "ann".into(),
            message: kind.into(),
            data: Value::Null,
        }
    }

    #[test]
    fn durations_come_from_the_record() {
        let i = incident("2026-11-30T10:00:00Z", Some("2026-11-30T10:45:00Z"), "checkout", 2);
        let pages = [
            page("ann", "2026-11-30T10:00:05Z", None),
            page("bob", "2026-11-30T10:05:05Z", Some("2026-11-30T10:07:00Z")),
        ];
        let timeline = [event("incident.started", "2026-11-30T10:00:00Z"), event(MITIGATED, "2026-11-30T10:20:00Z")];
        let m = compute_metrics(&i, &timeline, &pages);
        assert_eq!(m.time_to_detect, Some(120), "the alarm changed state two minutes before");
        assert_eq!(m.time_to_engage, Some(5));
        assert_eq!(m.time_to_acknowledge, Some(420));
        assert_eq!(m.time_to_mitigate, Some(1200));
        assert_eq!(m.time_to_resolve, Some(2700));
        assert_eq!(m.pages_sent, 2);
        assert_eq!(m.paged["bob"], 1);
        assert_eq!(m.first_acknowledged_by.as_deref(), Some("bob (link)"));
        let open = incident("2026-11-30T10:00:00Z", None, "checkout", 2);
        let m = compute_metrics(&open, &[], &[]);
        assert_eq!((m.time_to_acknowledge, m.time_to_resolve, m.time_to_engage), (None, None, None));
    }

    #[test]
    fn reports_compute_means_by_group() {
        let a = ReportIncident {
            incident: incident("2026-11-23T10:00:00Z", Some("2026-11-23T11:00:00Z"), "checkout", 2),
            acknowledged_at: Some(t("2026-11-23T10:04:00Z")),
        };
        let b = ReportIncident {
            incident: incident("2026-11-25T10:00:00Z", Some("2026-11-25T10:20:00Z"), "checkout", 1),
            acknowledged_at: Some(t("2026-11-25T10:02:00Z")),
        };
        let c = ReportIncident { incident: incident("2026-12-01T10:00:00Z", None, "vpn", 2), acknowledged_at: None };
        let pages = [
            ReportPage {
                contact: "ann".into(),
                created_at: t("2026-11-23T23:00:00Z"),
                time_zone: Some("Europe/Rome".into()),
            },
            ReportPage {
                contact: "ann".into(),
                created_at: t("2026-11-24T10:00:00Z"),
                time_zone: Some("Europe/Rome".into()),
            },
            ReportPage { contact: "bob".into(), created_at: t("2026-11-28T12:00:00Z"), time_zone: None },
        ];
        let r = report(&[a, b, c], &pages, Period::Week, None, None);
        assert_eq!(r.overall.incidents, 3);
        assert_eq!(r.overall.mtta, Some(180.0), "(240 + 120) / 2");
        assert_eq!(r.overall.mttr, Some(2400.0), "(3600 + 1200) / 2");
        assert_eq!(r.by_response_plan["checkout"].incidents, 2);
        assert_eq!(r.by_response_plan["vpn"].mttr, None);
        assert_eq!(r.by_impact["2"].incidents, 2);
        assert_eq!(r.by_period["2026-11-23"].incidents, 2, "the week starting Monday 23 November");
        assert_eq!(r.by_period["2026-11-30"].incidents, 1);
        assert_eq!(r.pages_per_person[0].contact, "ann");
        assert_eq!(r.pages_per_person[0].after_hours, 1, "midnight in Rome is after hours; 11:00 is not");
        assert_eq!(r.pages_per_person[1].after_hours, 1, "a Saturday");
        assert_eq!(r.noisiest[0].source, "alarm:errors");
        assert_eq!(r.noisiest[0].triggers, 9);
        let csv = report_csv(&r);
        assert!(csv.starts_with("group,key,incidents"));
        assert!(csv.contains("\noverall,all,3,2,180,2,2400\n"), "{csv}");
        assert!(csv.contains("\nresponsePlan,vpn,1,0,,0,\n"), "{csv}");
    }

    #[test]
    fn patches_answer_only_the_templates_questions() {
        let a = Analysis {
            id: "a".into(),
            incident_id: "i".into(),
            title: "Checkout outage".into(),
            status: AnalysisStatus::Draft,
            template: AnalysisTemplate::default_template(),
            answers: BTreeMap::new(),
            timeline_excerpt: vec![],
            created_at: t("2026-11-30T10:00:00Z"),
            updated_at: t("2026-11-30T10:00:00Z"),
            created_by: "ann".into(),
        };
        let patch = AnalysisPatch {
            answers: Some([("summary".to_string(), "A bad deploy.".to_string())].into()),
            status: Some(AnalysisStatus::InReview),
            ..Default::default()
        };
        let b = patch.apply(a.clone(), t("2026-11-30T11:00:00Z")).expect("valid");
        assert_eq!(b.answers["summary"], "A bad deploy.");
        assert_eq!(b.status, AnalysisStatus::InReview);
        let bad = AnalysisPatch { answers: Some([("nope".to_string(), "x".to_string())].into()), ..Default::default() };
        assert_eq!(bad.apply(a, t("2026-11-30T11:00:00Z")).expect_err("unknown").field, "answers.nope");
        let tpl = AnalysisTemplate { name: "t".into(), questions: vec![] };
        assert_eq!(tpl.validate().expect_err("empty").field, "questions");
    }

    #[test]
    fn overdue_items_are_past_their_day() {
        let item = |status, due: &str| ActionItem {
            id: "x".into(),
            analysis_id: "a".into(),
            spec: ActionItemSpec {
                title: "Add a canary".into(),
                owner: None,
                due: Some(due.parse().expect("date")),
                status,
                link: None,
            },
            created_at: t("2026-11-01T00:00:00Z"),
            updated_at: t("2026-11-01T00:00:00Z"),
        };
        let now = t("2026-11-30T10:00:00Z");
        assert!(item(ActionStatus::Open, "2026-11-29").overdue(now));
        assert!(!item(ActionStatus::Open, "2026-11-30").overdue(now), "due today is not overdue yet");
        assert!(!item(ActionStatus::Done, "2026-11-01").overdue(now));
    }
}
