//! Metric alarms with CloudWatch's semantics: a statistic over periods, M out of N breaching
//! periods, a threshold and comparison, the four ways of treating missing data, and the three
//! states with a reason. Evaluation is a pure function of the alarm, its data and the instant.

use crate::Invalid;
use crate::error::{optional_text, text};
use crate::metric::{Datapoint, Dimension, Dimensions, Statistic, UNITS, parse_dimensions};
use crate::plan::validate_name;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ComparisonOperator {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl ComparisonOperator {
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
            ComparisonOperator::GreaterThanThreshold => value > threshold,
            ComparisonOperator::LessThanThreshold => value < threshold,
            ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    fn words(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
            ComparisonOperator::GreaterThanThreshold => "greater than",
            ComparisonOperator::LessThanThreshold => "less than",
            ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }
}

/// How a period with no data counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Neither breaching nor not; with no data at all the alarm has INSUFFICIENT_DATA.
    #[default]
    Missing,
    Breaching,
    NotBreaching,
    /// Keeps the current state while the data is missing.
    Ignore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateValue {
    Ok,
    Alarm,
    InsufficientData,
}

impl StateValue {
    pub fn as_str(self) -> &'static str {
        match self {
            StateValue::Ok => "OK",
            StateValue::Alarm => "ALARM",
            StateValue::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<StateValue> {
        Some(match s {
            "OK" => StateValue::Ok,
            "ALARM" => StateValue::Alarm,
            "INSUFFICIENT_DATA" => StateValue::InsufficientData,
            _ => return None,
        })
    }
}

fn yes() -> bool {
    true
}

/// A metric alarm as a person or a template writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlarmSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub namespace: String,
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    /// `SampleCount`, `Average`, `Sum`, `Minimum`, `Maximum`, or a percentile such as `p99`.
    pub statistic: String,
    /// Seconds: 10, 20, 30 or a multiple of 60.
    pub period: u32,
    pub evaluation_periods: u32,
    /// M of the N evaluation periods that must breach; N when absent.
    #[serde(default)]
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: f64,
    pub comparison_operator: ComparisonOperator,
    #[serde(default)]
    pub treat_missing_data: TreatMissingData,
    #[serde(default = "yes")]
    pub actions_enabled: bool,
    /// Response plans and topics (by name or ARN) told when the alarm goes to ALARM.
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    #[serde(default)]
    pub ok_actions: Vec<String>,
    #[serde(default)]
    pub insufficient_data_actions: Vec<String>,
    #[serde(default)]
    pub unit: Option<String>,
}

impl AlarmSpec {
    pub fn validate(self) -> Result<Self, Invalid> {
        let name = validate_name("name", &self.name)?;
        Statistic::parse("statistic", &self.statistic)?;
        parse_dimensions(&self.dimensions)?;
        if !(self.period == 10
            || self.period == 20
            || self.period == 30
            || (self.period > 0 && self.period.is_multiple_of(60)))
        {
            return Err(Invalid::new("period", "must be 10, 20, 30 or a multiple of 60 seconds"));
        }
        if self.evaluation_periods == 0 {
            return Err(Invalid::new("evaluationPeriods", "must be at least 1"));
        }
        if u64::from(self.period) * u64::from(self.evaluation_periods) > 7 * 86_400 {
            return Err(Invalid::new("evaluationPeriods", "period times evaluation periods must be at most 7 days"));
        }
        if let Some(m) = self.datapoints_to_alarm
            && (m == 0 || m > self.evaluation_periods)
        {
            return Err(Invalid::new("datapointsToAlarm", "must be from 1 to evaluationPeriods"));
        }
        if !self.threshold.is_finite() {
            return Err(Invalid::new("threshold", "must be a finite number"));
        }
        if let Some(u) = &self.unit
            && !UNITS.contains(&u.as_str())
        {
            return Err(Invalid::new("unit", format!("unknown unit {u:?}")));
        }
        for (field, list) in [
            ("alarmActions", &self.alarm_actions),
            ("okActions", &self.ok_actions),
            ("insufficientDataActions", &self.insufficient_data_actions),
        ] {
            if list.len() > 5 {
                return Err(Invalid::new(field, "at most 5 actions"));
            }
            for (i, a) in list.iter().enumerate() {
                text(&format!("{field}[{i}]"), a, 1024)?;
            }
        }
        Ok(Self {
            name,
            description: optional_text("description", self.description.as_deref(), 1024)?,
            namespace: text("namespace", &self.namespace, 255)?,
            metric_name: text("metricName", &self.metric_name, 255)?,
            ..self
        })
    }

    pub fn statistic(&self) -> Statistic {
        Statistic::parse("statistic", &self.statistic).unwrap_or(Statistic::Average)
    }

    pub fn dimension_map(&self) -> Dimensions {
        parse_dimensions(&self.dimensions).unwrap_or_default()
    }

    pub fn datapoints_to_alarm(&self) -> u32 {
        self.datapoints_to_alarm.unwrap_or(self.evaluation_periods)
    }

    pub fn period(&self) -> SignedDuration {
        SignedDuration::from_secs(i64::from(self.period))
    }

    /// The actions for entering a state.
    pub fn actions_for(&self, state: StateValue) -> &[String] {
        match state {
            StateValue::Alarm => &self.alarm_actions,
            StateValue::Ok => &self.ok_actions,
            StateValue::InsufficientData => &self.insufficient_data_actions,
        }
    }
}

/// An alarm as stored, with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alarm {
    pub id: String,
    #[serde(flatten)]
    pub spec: AlarmSpec,
    pub state_value: StateValue,
    pub state_reason: String,
    #[schema(value_type = Object)]
    pub state_reason_data: Value,
    pub state_updated_at: Timestamp,
    pub stack: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Alarm {
    /// The alarm's ARN as CloudWatch would write it; triggers carry it.
    pub fn arn(&self) -> String {
        format!("arn:aws:cloudwatch:local:000000000000:alarm:{}", self.spec.name)
    }
}

/// One entry of an alarm's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlarmHistoryItem {
    pub timestamp: Timestamp,
    /// `StateUpdate`, `ConfigurationUpdate` or `Action`.
    pub kind: String,
    pub summary: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// What an evaluation decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub state: StateValue,
    pub reason: String,
    pub reason_data: Value,
}

/// Where a period starts: instants are cut into periods from the Unix epoch.
fn period_start(t: Timestamp, period: i64) -> i64 {
    t.as_second().div_euclid(period) * period
}

/// The span of data an evaluation at `now` reads: the N periods up to and including the current one.
pub fn data_window(spec: &AlarmSpec, now: Timestamp) -> (Timestamp, Timestamp) {
    let p = i64::from(spec.period);
    let current = period_start(now, p);
    let from = current - p * i64::from(spec.evaluation_periods);
    let ts = |s: i64| Timestamp::from_second(s).unwrap_or(now);
    (ts(from), ts(current + p))
}

/// When the alarm should next be evaluated with no new data: the start of the next period.
pub fn next_evaluation(spec: &AlarmSpec, now: Timestamp) -> Timestamp {
    let p = i64::from(spec.period);
    Timestamp::from_second(period_start(now, p) + p).unwrap_or(now)
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { format!("{v}") }
}

/// Decides the alarm's state at `now` from the data in [`data_window`].
///
/// The evaluation range is the N most recent periods. The current, still open period counts only
/// when its verdict is final (it breaches, and more data could only take it further); otherwise the
/// range ends with the last closed period, so a period is neither called missing nor judged on half
/// its data before it is over. A period breaches when its statistic compares with the threshold as
/// the operator says. With M breaching periods the alarm is in ALARM. Missing periods count as
/// breaching or not breaching when the alarm says so; otherwise they count as neither, and when
/// every period is missing the state is INSUFFICIENT_DATA (`missing`) or stays as it was (`ignore`).
pub fn evaluate(spec: &AlarmSpec, current: StateValue, data: &[Datapoint], now: Timestamp) -> Evaluation {
    let p = i64::from(spec.period);
    let n = i64::from(spec.evaluation_periods);
    let m = spec.datapoints_to_alarm() as usize;
    let statistic = spec.statistic();
    let open = period_start(now, p);
    // The open period counts early only when its verdict can no longer change: it breaches, and
    // more data can only take it further (a minimum below, a maximum above, a count or a sum of
    // non-negative values above). Otherwise the range ends with the last closed period, so a
    // period half full of data is not called low.
    let in_open: Vec<&Datapoint> = data.iter().filter(|d| period_start(d.timestamp, p) == open).collect();
    let open_final = statistic.compute(&in_open).is_some_and(|v| {
        use ComparisonOperator::*;
        let rising = matches!(spec.comparison_operator, GreaterThanThreshold | GreaterThanOrEqualToThreshold);
        let only_grows = match statistic {
            Statistic::Minimum => !rising,
            Statistic::Maximum | Statistic::SampleCount => rising,
            Statistic::Sum => rising && in_open.iter().all(|d| d.minimum >= 0.0),
            Statistic::Average | Statistic::Percentile(_) => false,
        };
        only_grows && spec.comparison_operator.breaches(v, spec.threshold)
    });
    let last = if open_final { open } else { open - p };
    let mut periods = Vec::with_capacity(n as usize);
    for k in (0..n).rev() {
        let start = last - k * p;
        let in_period: Vec<&Datapoint> = data.iter().filter(|d| period_start(d.timestamp, p) == start).collect();
        periods.push((start, statistic.compute(&in_period)));
    }
    let breaching = |v: f64| spec.comparison_operator.breaches(v, spec.threshold);
    let present: Vec<(i64, f64)> = periods.iter().filter_map(|(s, v)| v.map(|v| (*s, v))).collect();
    let missing = periods.len() - present.len();
    let mut breaches = present.iter().filter(|(_, v)| breaching(*v)).count();
    match spec.treat_missing_data {
        TreatMissingData::Breaching => breaches += missing,
        TreatMissingData::NotBreaching | TreatMissingData::Missing | TreatMissingData::Ignore => {}
    }
    let stamp =
        |s: i64| Timestamp::from_second(s).map(|t| t.strftime("%d/%m/%y %H:%M:%S").to_string()).unwrap_or_default();
    let shown = |list: &[(i64, f64)]| {
        list.iter().rev().map(|(s, v)| format!("{} ({})", fmt_num(*v), stamp(*s))).collect::<Vec<_>>().join(", ")
    };
    let reason_data = json!({
        "version": "1.0",
        "queryDate": now,
        "startDate": Timestamp::from_second(last - (n - 1) * p).unwrap_or(now),
        "statistic": spec.statistic,
        "period": spec.period,
        "recentDatapoints": present.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        "threshold": spec.threshold,
        "evaluatedDatapoints": periods.iter().rev().map(|(s, v)| json!({
            "timestamp": Timestamp::from_second(*s).unwrap_or(now),
            "value": v,
        })).collect::<Vec<_>>(),
    });
    let plural = |k: usize| if k == 1 { "datapoint" } else { "datapoints" };
    if present.is_empty() && spec.treat_missing_data == TreatMissingData::Missing {
        return Evaluation {
            state: StateValue::InsufficientData,
            reason: format!(
                "Insufficient Data: {missing} {} {} unknown.",
                plural(missing),
                if missing == 1 { "was" } else { "were" }
            ),
            reason_data,
        };
    }
    if present.is_empty() && spec.treat_missing_data == TreatMissingData::Ignore {
        return Evaluation {
            state: current,
            reason: format!("No data in the evaluation range: the state stays {}.", current.as_str()),
            reason_data,
        };
    }
    let words = spec.comparison_operator.words();
    let threshold = fmt_num(spec.threshold);
    if breaches >= m {
        let list: Vec<(i64, f64)> = present.iter().copied().filter(|(_, v)| breaching(*v)).collect();
        let shown_count = breaches;
        let mut reason = format!(
            "Threshold Crossed: {shown_count} out of the last {n} {} [{}] {} {words} the threshold ({threshold}) (minimum {m} {} for OK -> ALARM transition).",
            plural(n as usize),
            shown(&list),
            if shown_count == 1 { "was" } else { "were" },
            plural(m),
        );
        if n == 1 && m == 1 && list.len() == 1 {
            reason =
                format!("Threshold Crossed: 1 datapoint [{}] was {words} the threshold ({threshold}).", shown(&list));
        }
        Evaluation { state: StateValue::Alarm, reason, reason_data }
    } else {
        let list: Vec<(i64, f64)> = present.iter().copied().filter(|(_, v)| !breaching(*v)).collect();
        let reason = if list.is_empty() {
            format!(
                "Threshold Crossed: {breaches} out of the last {n} {} breached, fewer than the {m} needed for ALARM.",
                plural(n as usize)
            )
        } else {
            format!(
                "Threshold Crossed: {} {} [{}] {} not {words} the threshold ({threshold}).",
                list.len(),
                plural(list.len()),
                shown(&list),
                if list.len() == 1 { "was" } else { "were" },
            )
        };
        Evaluation { state: StateValue::Ok, reason, reason_data }
    }
}

/// What an alarm action names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionTarget {
    /// `arn:aws:ssm-incidents::…:response-plan/NAME`.
    ResponsePlan(String),
    /// `arn:aws:sns:REGION:ACCOUNT:NAME`.
    Topic(String),
    /// A bare name: a response plan if there is one so named, else a topic.
    Named(String),
    /// An action Muster cannot take (EC2, Auto Scaling, Lambda, Systems Manager OpsItems, …).
    Unsupported(String),
}

pub fn action_target(action: &str) -> ActionTarget {
    if let Some((_, name)) = action.split_once(":response-plan/") {
        return ActionTarget::ResponsePlan(name.to_string());
    }
    if let Some(rest) = action.strip_prefix("arn:aws:sns:") {
        return ActionTarget::Topic(rest.rsplit(':').next().unwrap_or(rest).to_string());
    }
    if action.starts_with("arn:") {
        return ActionTarget::Unsupported(action.to_string());
    }
    ActionTarget::Named(action.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("valid")
    }

    fn spec(n: u32, m: Option<u32>, treat: TreatMissingData) -> AlarmSpec {
        AlarmSpec {
            name: "vpn".into(),
            description: None,
            namespace: "AWS/VPN".into(),
            metric_name: "TunnelState".into(),
            dimensions: vec![Dimension { name: "VpnId".into(), value: "vpn-1".into() }],
            statistic: "Minimum".into(),
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 1.0,
            comparison_operator: ComparisonOperator::LessThanThreshold,
            treat_missing_data: treat,
            actions_enabled: true,
            alarm_actions: vec![],
            ok_actions: vec![],
            insufficient_data_actions: vec![],
            unit: None,
        }
    }

    fn point(at: &str, v: f64) -> Datapoint {
        Datapoint {
            namespace: "AWS/VPN".into(),
            metric_name: "TunnelState".into(),
            dimensions: Dimensions::new(),
            timestamp: t(at),
            value: Some(v),
            sample_count: 1.0,
            sum: v,
            minimum: v,
            maximum: v,
            unit: None,
        }
    }

    /// One value per minute from 08:00 on; `None` leaves the minute empty.
    fn minutes(values: &[Option<f64>]) -> Vec<Datapoint> {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| point(&format!("2026-11-30T08:{i:02}:30Z"), v)))
            .collect()
    }

    #[test]
    fn one_breaching_minute_alarms_the_reference_alarm() {
        let s = spec(1, None, TreatMissingData::Missing);
        let e = evaluate(&s, StateValue::InsufficientData, &minutes(&[Some(0.0)]), t("2026-11-30T08:00:40Z"));
        assert_eq!(e.state, StateValue::Alarm);
        assert!(
            e.reason.starts_with("Threshold Crossed: 1 datapoint [0.0 (30/11/26 08:00:00)] was less than"),
            "{}",
            e.reason
        );
        // A good datapoint does not clear the alarm before its minute closes.
        let e = evaluate(&s, StateValue::Alarm, &minutes(&[Some(0.0), Some(1.0)]), t("2026-11-30T08:01:40Z"));
        assert_eq!(e.state, StateValue::Alarm);
        let e = evaluate(&s, StateValue::Alarm, &minutes(&[Some(0.0), Some(1.0)]), t("2026-11-30T08:02:10Z"));
        assert_eq!(e.state, StateValue::Ok);
        assert!(e.reason.contains("was not less than the threshold (1.0)"), "{}", e.reason);
    }

    #[test]
    fn a_half_full_period_is_not_called_low() {
        // Fewer than 10 requests a minute is an outage; 30 s into a minute, 4 so far is not one.
        let mut s = spec(1, None, TreatMissingData::Missing);
        s.statistic = "SampleCount".into();
        s.threshold = 10.0;
        let early = minutes(&[Some(1.0), Some(1.0), Some(1.0), Some(1.0)])
            .into_iter()
            .map(|mut d| {
                d.timestamp = t("2026-11-30T08:00:30Z");
                d
            })
            .collect::<Vec<_>>();
        let e = evaluate(&s, StateValue::Ok, &early, t("2026-11-30T08:00:40Z"));
        assert_eq!(e.state, StateValue::InsufficientData, "the closed minute before had no data");
        // A maximum above its threshold is final at once.
        let mut hot = spec(1, None, TreatMissingData::Missing);
        hot.statistic = "Maximum".into();
        hot.comparison_operator = ComparisonOperator::GreaterThanThreshold;
        hot.threshold = 90.0;
        let e = evaluate(&hot, StateValue::Ok, &minutes(&[Some(95.0)]), t("2026-11-30T08:00:40Z"));
        assert_eq!(e.state, StateValue::Alarm);
        // An average is never final before its minute ends.
        hot.statistic = "Average".into();
        let e = evaluate(&hot, StateValue::Ok, &minutes(&[Some(95.0)]), t("2026-11-30T08:00:40Z"));
        assert_eq!(e.state, StateValue::InsufficientData);
        let e = evaluate(&hot, StateValue::Ok, &minutes(&[Some(95.0)]), t("2026-11-30T08:01:10Z"));
        assert_eq!(e.state, StateValue::Alarm, "once the minute closed");
    }

    #[test]
    fn the_open_period_counts_once_it_has_data() {
        let s = spec(1, None, TreatMissingData::Missing);
        // At 08:01:10 the 08:01 minute has no data yet: the closed 08:00 minute decides.
        let e = evaluate(&s, StateValue::Ok, &minutes(&[Some(0.0)]), t("2026-11-30T08:01:10Z"));
        assert_eq!(e.state, StateValue::Alarm);
        // A minute later, 08:01 closed empty and 08:02 is still empty: no data in range.
        let e = evaluate(&s, StateValue::Alarm, &minutes(&[Some(0.0)]), t("2026-11-30T08:02:10Z"));
        assert_eq!(e.state, StateValue::InsufficientData);
        assert_eq!(e.reason, "Insufficient Data: 1 datapoint was unknown.");
    }

    #[test]
    fn m_out_of_n() {
        let s = spec(5, Some(3), TreatMissingData::Missing);
        let now = t("2026-11-30T08:04:50Z");
        let two = minutes(&[Some(0.0), Some(2.0), Some(0.0), Some(2.0), Some(2.0)]);
        assert_eq!(evaluate(&s, StateValue::Ok, &two, now).state, StateValue::Ok);
        let three = minutes(&[Some(0.0), Some(2.0), Some(0.0), Some(2.0), Some(0.0)]);
        let e = evaluate(&s, StateValue::Ok, &three, now);
        assert_eq!(e.state, StateValue::Alarm);
        assert!(e.reason.contains("3 out of the last 5 datapoints"), "{}", e.reason);
        // Data older than the range does not count.
        let old = minutes(&[Some(0.0), Some(0.0), Some(0.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0)]);
        assert_eq!(evaluate(&s, StateValue::Alarm, &old, t("2026-11-30T08:07:50Z")).state, StateValue::Ok);
    }

    #[test]
    fn each_way_of_treating_missing_data() {
        let now = t("2026-11-30T08:02:50Z");
        // Three periods: breaching, missing, missing.
        let data = minutes(&[Some(0.0), None, None]);
        let state = |treat, m, current| evaluate(&spec(3, Some(m), treat), current, &data, now).state;
        assert_eq!(state(TreatMissingData::Breaching, 3, StateValue::Ok), StateValue::Alarm);
        assert_eq!(state(TreatMissingData::NotBreaching, 2, StateValue::Ok), StateValue::Ok);
        assert_eq!(state(TreatMissingData::Missing, 1, StateValue::Ok), StateValue::Alarm);
        assert_eq!(state(TreatMissingData::Missing, 2, StateValue::Alarm), StateValue::Ok);
        // No data at all.
        let none: Vec<Datapoint> = Vec::new();
        let state = |treat, current| evaluate(&spec(3, None, treat), current, &none, now).state;
        assert_eq!(state(TreatMissingData::Missing, StateValue::Ok), StateValue::InsufficientData);
        assert_eq!(state(TreatMissingData::Ignore, StateValue::Alarm), StateValue::Alarm);
        assert_eq!(state(TreatMissingData::Ignore, StateValue::Ok), StateValue::Ok);
        assert_eq!(state(TreatMissingData::Breaching, StateValue::Ok), StateValue::Alarm);
        assert_eq!(state(TreatMissingData::NotBreaching, StateValue::Alarm), StateValue::Ok);
    }

    #[test]
    fn every_operator() {
        use ComparisonOperator::*;
        assert!(GreaterThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!GreaterThanThreshold.breaches(1.0, 1.0));
        assert!(GreaterThanThreshold.breaches(1.5, 1.0));
        assert!(LessThanOrEqualToThreshold.breaches(1.0, 1.0));
        assert!(!LessThanThreshold.breaches(1.0, 1.0));
        assert!(LessThanThreshold.breaches(0.5, 1.0));
        let bad: Result<AlarmSpec, _> = serde_json::from_value(json!({
            "name": "a", "namespace": "n", "metricName": "m", "statistic": "Average", "period": 60,
            "evaluationPeriods": 1, "threshold": 1, "comparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"
        }));
        assert!(bad.is_err());
    }

    #[test]
    fn windows_and_schedules_follow_period_boundaries() {
        let s = spec(3, None, TreatMissingData::Missing);
        let (from, to) = data_window(&s, t("2026-11-30T08:05:20Z"));
        assert_eq!((from, to), (t("2026-11-30T08:02:00Z"), t("2026-11-30T08:06:00Z")));
        assert_eq!(next_evaluation(&s, t("2026-11-30T08:05:20Z")), t("2026-11-30T08:06:00Z"));
    }

    #[test]
    fn specs_are_checked() {
        let field = |f: fn(&mut AlarmSpec)| {
            let mut s = spec(3, None, TreatMissingData::Missing);
            f(&mut s);
            s.validate().expect_err("refused").field
        };
        assert_eq!(field(|s| s.period = 45), "period");
        assert_eq!(field(|s| s.evaluation_periods = 0), "evaluationPeriods");
        assert_eq!(field(|s| s.datapoints_to_alarm = Some(4)), "datapointsToAlarm");
        assert_eq!(field(|s| s.statistic = "Median".into()), "statistic");
        assert_eq!(field(|s| s.threshold = f64::NAN), "threshold");
        assert_eq!(field(|s| s.alarm_actions = vec![" ".into()]), "alarmActions[0]");
        assert!(spec(3, Some(2), TreatMissingData::Ignore).validate().is_ok());
    }

    #[test]
    fn action_targets() {
        assert_eq!(
            action_target("arn:aws:ssm-incidents::000000000000:response-plan/VPN plan"),
            ActionTarget::ResponsePlan("VPN plan".into())
        );
        assert_eq!(action_target("arn:aws:sns:us-east-1:000000000000:ops"), ActionTarget::Topic("ops".into()));
        assert_eq!(action_target("ops"), ActionTarget::Named("ops".into()));
        assert!(matches!(action_target("arn:aws:automate:us-east-1:ec2:stop"), ActionTarget::Unsupported(_)));
    }
}
