use muster_core::stack::ResourceSpec;
use muster_template::{Options, Source, plan_stack};
use std::collections::BTreeMap;

fn source(content: &str) -> Vec<Source> {
    vec![Source { name: "template.yaml".into(), content: content.into() }]
}

fn params(pairs: &[(&str, &str)]) -> Options {
    Options { parameters: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), skip_unsupported: false }
}

const PLAN_TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: staging
    AllowedValues: [staging, prod]
  Service:
    Type: String
    AllowedPattern: "[a-z]+"
    ConstraintDescription: lower-case letters only
    MinLength: 2
  Zones:
    Type: CommaDelimitedList
    Default: "fra, ams"
Mappings:
  Impact:
    prod: {Level: 1}
    staging: {Level: 4}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  ProdOrFra: !Or [!Condition IsProd, !Equals [!Select [0, !Ref Zones], fra]]
Resources:
  Plan:
    Type: AWS::SSMIncidents::ResponsePlan
    Properties:
      Name: !Sub "${Service}-${Env}"
      DisplayName: !Join [" / ", [!Ref Service, !Ref Env, !Select [1, !Ref Zones]]]
      IncidentTemplate:
        Title: !Sub
          - "${Svc} is down in ${AWS::Region}"
          - Svc: !Ref Service
        Impact: !FindInMap [Impact, !Ref Env, Level]
        Summary: !If [IsProd, "Customers are affected.", !Ref AWS::NoValue]
        DedupeString: !Sub "${Service}-down ${!literal}"
        IncidentTags:
          - Key: zones
            Value: !Join [",", !Ref Zones]
          - Key: b64
            Value: !Base64 x
      Engagements:
        - !If [IsProd, "arn:aws:ssm-contacts::1:contact/oncall", !Ref AWS::NoValue]
  ProdOnly:
    Type: AWS::SSMIncidents::ResponsePlan
    Condition: IsProd
    DependsOn: Plan
    Properties:
      Name: prod-only
      IncidentTemplate: {Title: t, Impact: 2}
      ChatChannel:
        ChatbotSns: [!GetAtt Plan.Arn]
Outputs:
  PlanArn:
    Value: !Ref Plan
  Split:
    Value: !Select [1, !Split ["-", !Sub "${Service}-x"]]
  ProdArn:
    Condition: IsProd
    Value: !GetAtt ProdOnly.Arn
"#;

fn plan_of(spec: &ResourceSpec) -> &muster_core::plan::ResponsePlanSpec {
    match spec {
        ResourceSpec::ResponsePlan(p) => p,
        other => panic!("expected a response plan, got {other:?}"),
    }
}

#[test]
fn intrinsics_parameters_and_conditions_resolve() {
    let plan = plan_stack("s", &source(PLAN_TEMPLATE), &params(&[("Service", "api")])).expect("applies");
    assert_eq!(plan.resources.len(), 1, "ProdOnly's condition is false in staging");
    let p = plan_of(&plan.resources[0].spec);
    assert_eq!(p.name, "api-staging");
    assert_eq!(p.display_name.as_deref(), Some("api / staging / ams"));
    assert_eq!(p.incident_template.title, "api is down in local");
    assert_eq!(p.incident_template.impact.get(), 4);
    assert_eq!(p.incident_template.summary, None, "AWS::NoValue removes the property");
    assert_eq!(p.incident_template.dedupe_string.as_deref(), Some("api-down ${literal}"));
    assert_eq!(p.incident_template.tags["zones"], "fra,ams");
    assert_eq!(p.incident_template.tags["b64"], "eA==");
    assert!(p.engagements.is_empty());
    assert_eq!(plan.outputs["PlanArn"], "arn:aws:ssm-incidents::000000000000:response-plan/api-staging");
    assert_eq!(plan.outputs["Split"], "x");
    assert!(!plan.outputs.contains_key("ProdArn"));
    assert_eq!(plan.parameters["Env"], "staging");

    let prod =
        plan_stack("s", &source(PLAN_TEMPLATE), &params(&[("Service", "api"), ("Env", "prod")])).expect("applies");
    assert_eq!(prod.resources.len(), 2);
    let p = plan_of(&prod.resources[0].spec);
    assert_eq!(p.incident_template.impact.get(), 1);
    assert_eq!(p.incident_template.summary.as_deref(), Some("Customers are affected."));
    assert_eq!(p.engagements, ["arn:aws:ssm-contacts::1:contact/oncall"]);
    let p2 = plan_of(&prod.resources[1].spec);
    assert_eq!(p2.chat_channels, ["arn:aws:ssm-incidents::000000000000:response-plan/api-prod"]);
}

#[test]
fn bad_parameters_are_refused_by_name() {
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (&[], "Parameters.Service", "no Default"),
        (&[("Service", "API")], "Parameters.Service", "lower-case letters only"),
        (&[("Service", "a")], "Parameters.Service", "MinLength"),
        (&[("Service", "api"), ("Env", "dev")], "Parameters.Env", "AllowedValues"),
        (&[("Service", "api"), ("Nope", "x")], "Parameters.Nope", "not declared"),
    ];
    for (given, field, message) in cases {
        let err = plan_stack("s", &source(PLAN_TEMPLATE), &params(given)).expect_err("refused");
        assert_eq!(err.field, *field);
        assert!(err.message.contains(message), "{} should mention {message}", err.message);
    }
}

#[test]
fn errors_name_the_resource_and_property() {
    let bad_impact = PLAN_TEMPLATE.replace("Impact: 2}", "Impact: 9}");
    let err =
        plan_stack("s", &source(&bad_impact), &params(&[("Service", "api"), ("Env", "prod")])).expect_err("refused");
    assert_eq!(err.field, "Resources.ProdOnly.Properties.IncidentTemplate.Impact");

    let unknown_prop = PLAN_TEMPLATE.replace("      Name: prod-only", "      Name: prod-only\n      Colour: red");
    let err =
        plan_stack("s", &source(&unknown_prop), &params(&[("Service", "api"), ("Env", "prod")])).expect_err("refused");
    assert_eq!(err.field, "Resources.ProdOnly.Properties.Colour");

    let bad_ref = PLAN_TEMPLATE.replace("!Ref Service, !Ref Env", "!Ref Servise, !Ref Env");
    let err = plan_stack("s", &source(&bad_ref), &params(&[("Service", "api")])).expect_err("refused");
    assert!(err.field.starts_with("Resources.Plan.Properties.DisplayName"), "{}", err.field);
    assert!(err.message.contains("Servise"));

    let bad_dep = PLAN_TEMPLATE.replace("DependsOn: Plan", "DependsOn: Plan2");
    let err = plan_stack("s", &source(&bad_dep), &params(&[("Service", "api")])).expect_err("refused");
    assert_eq!(err.field, "Resources.ProdOnly.DependsOn");

    let cycle = PLAN_TEMPLATE.replace("NotProd: !Not [!Condition IsProd]", "NotProd: !Not [!Condition NotProd]");
    let err = plan_stack("s", &source(&cycle), &params(&[("Service", "api")])).expect_err("refused");
    assert!(err.message.contains("itself"));
}

#[test]
fn unknown_types_are_refused_or_skipped() {
    let t = PLAN_TEMPLATE.replace("Outputs:\n", "  Bucket:\n    Type: AWS::S3::Bucket\nOutputs:\n");
    let err = plan_stack("s", &source(&t), &params(&[("Service", "api")])).expect_err("refused");
    assert_eq!(err.field, "Resources.Bucket.Type");
    assert!(err.message.contains("AWS::S3::Bucket"));
    let mut opts = params(&[("Service", "api")]);
    opts.skip_unsupported = true;
    let plan = plan_stack("s", &source(&t), &opts).expect("applies the rest");
    assert_eq!(plan.skipped.len(), 1);
    assert_eq!(plan.skipped[0].logical_id, "Bucket");
}

#[test]
fn json_templates_use_the_long_forms() {
    let t = r#"{
      "Parameters": {"N": {"Type": "String", "Default": "x"}},
      "Resources": {"P": {"Type": "AWS::SSMIncidents::ResponsePlan", "Properties": {
        "Name": {"Fn::Sub": "plan-${N}"},
        "IncidentTemplate": {"Title": {"Fn::Join": ["", ["t-", {"Ref": "N"}]]}, "Impact": "2"}}}}
    }"#;
    let plan = plan_stack("s", &source(t), &Options::default()).expect("applies");
    let p = plan_of(&plan.resources[0].spec);
    assert_eq!(p.name, "plan-x");
    assert_eq!(p.incident_template.title, "t-x");
    assert_eq!(p.incident_template.impact.get(), 2);
}

#[test]
fn the_reference_scenario_loads_with_its_known_quirks() {
    let text = include_str!("fixtures/vpn-tunnel-down.cfn.yaml");
    let opts = Options {
        parameters: BTreeMap::from([("VpnConnectionId".to_string(), "vpn-0123456789abcdef0".to_string())]),
        skip_unsupported: true,
    };
    let plan = plan_stack("vpn", &source(text), &opts).expect("applies");
    let p = plan_of(&plan.resources.iter().find(|r| r.logical_id == "IncidentResponsePlan").expect("plan").spec);
    assert_eq!(p.incident_template.title, "VPN connection vpn-0123456789abcdef0 is DOWN");
    assert_eq!(p.incident_template.dedupe_string.as_deref(), Some("VPN connection vpn-0123456789abcdef0 is DOWN"));
    assert_eq!(p.incident_template.impact.get(), 3);
    assert_eq!(p.chat_channels, ["arn:aws:sns:local:000000000000:vpn-connection-status-notification"]);
    assert_eq!(p.actions[0]["documentName"], "AWSSupport-TroubleshootVPN");
    assert_eq!(p.actions[0]["parameters"]["VpnConnectionId"], serde_json::json!(["vpn-0123456789abcdef0"]));
    assert_eq!(p.actions[0]["roleArn"], "arn:aws:iam::000000000000:role/vpn-AutomationRole");
    assert!(plan.warnings.iter().any(|w| w.contains("Parameters")), "{:?}", plan.warnings);
    assert!(
        plan.warnings.iter().any(|w| w.contains("SlackWorkspaceId") && w.contains("placeholder")),
        "{:?}",
        plan.warnings
    );
    assert!(plan.warnings.iter().any(|w| w.contains("AutomationRole") && w.contains("IAM")), "{:?}", plan.warnings);
    assert!(
        plan.warnings.iter().any(|w| w.contains("AWSSupport-TroubleshootVPN") && w.contains("muster-troubleshoot-vpn")),
        "{:?}",
        plan.warnings
    );
    assert!(plan.skipped.is_empty(), "every resource is supported: {:?}", plan.skipped);
    let ResourceSpec::Alarm(alarm) = &plan.resources.iter().find(|r| r.logical_id == "VpnAlarm").expect("alarm").spec
    else {
        panic!("an alarm")
    };
    assert_eq!(alarm.name, "VPN connection vpn-0123456789abcdef0 status alarm");
    assert_eq!((alarm.namespace.as_str(), alarm.metric_name.as_str()), ("AWS/VPN", "TunnelState"));
    assert_eq!(alarm.dimension_map()["VpnId"], "vpn-0123456789abcdef0");
    assert_eq!((alarm.statistic.as_str(), alarm.period, alarm.evaluation_periods), ("Minimum", 60, 1));
    assert_eq!(alarm.threshold, 1.0);
    assert_eq!(
        alarm.alarm_actions,
        [
            "arn:aws:ssm-incidents::000000000000:response-plan/VPN connection vpn-0123456789abcdef0 incident response plan"
        ]
    );
    let ResourceSpec::ChatChannel(slack) =
        &plan.resources.iter().find(|r| r.logical_id == "SlackChannelConfiguration").expect("slack").spec
    else {
        panic!("a chat channel")
    };
    assert_eq!(slack.target, "YourChannelID");
    assert_eq!(slack.topics, ["vpn-connection-status-notification"]);

    let unknown = text.replace("AWS::CloudWatch::Alarm", "AWS::SQS::Queue");
    let err = plan_stack("vpn", &source(&unknown), &Options { skip_unsupported: false, ..opts.clone() })
        .expect_err("unsupported");
    assert!(err.field.ends_with(".Type"));
    let math = text.replace("      Statistic: Minimum\n", "      Metrics: []\n");
    let err = plan_stack("vpn", &source(&math), &opts).expect_err("metric math");
    assert!(err.field.ends_with("Metrics"), "{err}");
    let bad =
        Options { parameters: BTreeMap::from([("VpnConnectionId".into(), "nope".into())]), skip_unsupported: true };
    let err = plan_stack("vpn", &source(text), &bad).expect_err("bad parameter");
    assert_eq!(err.field, "Parameters.VpnConnectionId");
    assert!(err.message.contains("Must be a valid VPN connection ID."));
}

#[test]
fn native_format_substitutes_parameters_and_merges_files() {
    let a = Source {
        name: "params.yaml".into(),
        content: "parameters:\n  vpnId:\n    default: vpn-1\n    allowedPattern: \"vpn-[0-9]+\"\n".into(),
    };
    let b = Source {
        name: "plans.yaml".into(),
        content: "responsePlans:\n  vpn-down:\n    displayName: VPN\n    incidentTemplate:\n      title: \"VPN ${vpnId} down\"\n      impact: 2\n      dedupeString: \"vpn ${vpnId}\"\n      tags: {team: net}\n".into(),
    };
    let plan = plan_stack("n", &[a.clone(), b.clone()], &Options::default()).expect("applies");
    assert_eq!(plan.format, "muster");
    let p = plan_of(&plan.resources[0].spec);
    assert_eq!(p.name, "vpn-down");
    assert_eq!(p.incident_template.title, "VPN vpn-1 down");
    assert_eq!(p.incident_template.tags["team"], "net");

    let err = plan_stack("n", &[a.clone(), b.clone()], &params(&[("vpnId", "x")])).expect_err("pattern");
    assert_eq!(err.field, "parameters.vpnId");
    let err = plan_stack("n", &[a.clone(), b.clone(), b.clone()], &Options::default()).expect_err("twice");
    assert!(err.message.contains("plans.yaml"));
    let typo = Source { name: "t.yaml".into(), content: b.content.replace("impact: 2", "impact: 7") };
    let err = plan_stack("n", &[a.clone(), typo], &Options::default()).expect_err("impact");
    assert_eq!(err.field, "responsePlans.vpn-down.incidentTemplate.impact");
    let unknown = Source { name: "u.yaml".into(), content: "monitors: {}".into() };
    assert_eq!(plan_stack("n", &[unknown], &Options::default()).expect_err("section").field, "monitors");
}

#[test]
fn native_alarms_and_runbooks() {
    let file = Source {
        name: "detect.yaml".into(),
        content: r#"
parameters:
  host: {default: web-1}
runbooks:
  check-web:
    schemaVersion: "0.3"
    mainSteps:
      - name: wait
        action: aws:sleep
        inputs: {Duration: PT1S}
alarms:
  web-errors:
    namespace: Web
    metricName: Errors
    dimensions: [{name: Host, value: "${host}"}]
    statistic: Sum
    period: 60
    evaluationPeriods: 5
    datapointsToAlarm: 3
    threshold: 10
    comparisonOperator: GreaterThanOrEqualToThreshold
    treatMissingData: notBreaching
    alarmActions: [web-down]
"#
        .into(),
    };
    let plan = plan_stack("d", std::slice::from_ref(&file), &Options::default()).expect("applies");
    let alarm = plan.resources.iter().find(|r| r.logical_id == "alarms.web-errors").expect("alarm");
    let ResourceSpec::Alarm(spec) = &alarm.spec else { panic!("an alarm") };
    assert_eq!(spec.name, "web-errors");
    assert_eq!(spec.dimension_map()["Host"], "web-1");
    assert_eq!(spec.datapoints_to_alarm(), 3);
    assert!(
        plan.resources.iter().any(|r| matches!(&r.spec, ResourceSpec::Runbook { name, .. } if name == "check-web"))
    );
    let rule = Source {
        name: "rules.yaml".into(),
        content: "rules:\n  deploys:\n    eventPattern: {source: [deployer], detail: {state: [failed]}}\n    targets: [web-down]\n".into(),
    };
    let plan = plan_stack("d", &[file.clone(), rule.clone()], &Options::default()).expect("applies");
    let r = plan.resources.iter().find(|r| r.logical_id == "rules.deploys").expect("rule");
    assert!(matches!(&r.spec, ResourceSpec::Rule(spec) if spec.targets == ["web-down"]));
    let bad_rule = Source { name: "r.yaml".into(), content: rule.content.replace("[deployer]", "deployer") };
    let err = plan_stack("d", &[bad_rule], &Options::default()).expect_err("pattern");
    assert_eq!(err.field, "rules.deploys.eventPattern.source");
    let bad = Source { name: "b.yaml".into(), content: file.content.replace("period: 60", "period: 45") };
    assert_eq!(plan_stack("d", &[bad], &Options::default()).expect_err("period").field, "alarms.web-errors.period");
}

const ONCALL_TEMPLATE: &str = r#"
Resources:
  Ann:
    Type: AWS::SSMContacts::Contact
    Properties:
      Alias: ann
      DisplayName: Ann Example
      Type: PERSONAL
      Plan:
        - DurationInMinutes: 5
          Targets:
            - ChannelTargetInfo:
                ChannelId: !Ref AnnMail
                RetryIntervalInMinutes: 1
  AnnMail:
    Type: AWS::SSMContacts::ContactChannel
    Properties:
      ContactId: !GetAtt Ann.Arn
      ChannelName: mail
      ChannelType: EMAIL
      ChannelAddress: ann@example.com
      DeferActivation: true
  Bob:
    Type: AWS::SSMContacts::Contact
    Properties: {Alias: bob, DisplayName: Bob, Type: PERSONAL}
  Primary:
    Type: AWS::SSMContacts::Rotation
    Properties:
      Name: primary
      ContactIds: [!Ref Ann, !GetAtt Bob.Arn]
      StartTime: "2026-01-05T09:00:00"
      TimeZoneId: Europe/Rome
      Recurrence:
        NumberOfOnCalls: 1
        RecurrenceMultiplier: 1
        WeeklySettings:
          - DayOfWeek: MON
            HandOffTime: "09:00"
        ShiftCoverages:
          - DayOfWeek: MON
            CoverageTimes:
              - {StartTime: "09:00", EndTime: "17:00"}
  Schedule:
    Type: AWS::SSMContacts::Contact
    Properties:
      Alias: oncall
      DisplayName: Primary on-call
      Type: ONCALL_SCHEDULE
      Plan:
        - RotationIds: [!Ref Primary]
"#;

#[test]
fn contacts_channels_and_rotations_from_cloudformation() {
    use muster_core::contact::{ChannelType, ContactType};
    use muster_core::rotation::Recurrence;
    let plan = plan_stack("team", &source(ONCALL_TEMPLATE), &Options::default()).expect("applies");
    let find = |id: &str| &plan.resources.iter().find(|r| r.logical_id == id).expect("resource").spec;
    let ResourceSpec::Channel { contact, spec } = find("AnnMail") else { panic!("a channel") };
    assert_eq!(contact, "ann");
    assert_eq!(spec.kind, ChannelType::Email);
    assert!(spec.defer_activation);
    let ResourceSpec::Rotation(r) = find("Primary") else { panic!("a rotation") };
    assert_eq!(r.members, ["ann", "bob"]);
    assert_eq!(r.start.to_string(), "2026-01-05T08:00:00Z", "a StartTime without offset is local to TimeZoneId");
    assert!(matches!(&r.recurrence, Recurrence::Weekly(w) if w.len() == 1));
    assert_eq!(r.coverage.len(), 1);
    let ResourceSpec::Contact(c) = find("Schedule") else { panic!("a contact") };
    assert_eq!(c.kind, ContactType::OncallSchedule);
    assert_eq!(c.rotations, ["primary"]);
    let ResourceSpec::Contact(ann) = find("Ann") else { panic!("a contact") };
    let stage = &ann.plan.as_ref().expect("a plan").stages[0];
    assert_eq!(stage.duration_minutes, 5);
    assert_eq!(stage.targets[0].channel.as_deref(), Some("mail"));
    assert_eq!(stage.targets[0].retry_interval_minutes, Some(1));

    let bad = ONCALL_TEMPLATE.replace("TimeZoneId: Europe/Rome", "TimeZoneId: Europe/Atlantis");
    assert_eq!(
        plan_stack("t", &source(&bad), &Options::default()).expect_err("zone").field,
        "Resources.Primary.Properties.TimeZoneId"
    );
    let bad = ONCALL_TEMPLATE.replace("ChannelAddress: ann@example.com", "ChannelAddress: not-an-email");
    assert_eq!(
        plan_stack("t", &source(&bad), &Options::default()).expect_err("address").field,
        "Resources.AnnMail.Properties.ChannelAddress"
    );
    let bad = ONCALL_TEMPLATE.replace("HandOffTime: \"09:00\"", "HandOffTime: \"25:00\"");
    assert_eq!(
        plan_stack("t", &source(&bad), &Options::default()).expect_err("time").field,
        "Resources.Primary.Properties.Recurrence.WeeklySettings[0].HandOffTime"
    );
}

#[test]
fn contacts_and_rotations_in_the_native_format() {
    let text = r#"
contacts:
  ann:
    displayName: Ann
    timeZone: Europe/Rome
    channels:
      - {name: mail, type: EMAIL, address: ann@example.com}
      - {name: phone, type: SMS, address: "+393331234567", deferActivation: true}
  bob: {displayName: Bob}
  oncall: {type: ONCALL_SCHEDULE, rotations: [primary]}
rotations:
  primary:
    members: [ann, bob]
    start: 2026-01-05T08:00:00Z
    timeZone: Europe/Rome
    recurrence:
      weekly: [{day: MON, at: "09:00"}]
    coverage:
      MON: [{start: "09:00", end: "17:00"}]
"#;
    let plan = plan_stack("team", &source(text), &Options::default()).expect("applies");
    let ids: Vec<&str> = plan.resources.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "contacts.ann",
            "contacts.ann.channels.mail",
            "contacts.ann.channels.phone",
            "contacts.bob",
            "contacts.oncall",
            "rotations.primary"
        ]
    );
    let bad = text.replace("day: MON", "day: MOON");
    let err = plan_stack("team", &source(&bad), &Options::default()).expect_err("day");
    assert!(err.field.starts_with("rotations.primary.recurrence"), "{}", err.field);
    let bad = text.replace("type: SMS", "type: PIGEON");
    let err = plan_stack("team", &source(&bad), &Options::default()).expect_err("type");
    assert_eq!(err.field, "contacts.ann.channels[1].type");
}

#[test]
fn event_rules_from_cloudformation() {
    let text = r#"
Resources:
  Plan:
    Type: AWS::SSMIncidents::ResponsePlan
    Properties:
      Name: ec2-stopped
      IncidentTemplate: {Title: An instance stopped, Impact: 3}
  Stopped:
    Type: AWS::Events::Rule
    Properties:
      Name: ec2-stopped
      EventPattern:
        source: [aws.ec2]
        detail-type: [EC2 Instance State-change Notification]
        detail: {state: [stopped]}
      Targets:
        - Arn: !Ref Plan
          Id: plan
          RoleArn: arn:aws:iam::000000000000:role/events
"#;
    let plan = plan_stack("r", &source(text), &Options::default()).expect("applies");
    let ResourceSpec::Rule(rule) = &plan.resources.iter().find(|r| r.logical_id == "Stopped").expect("rule").spec
    else {
        panic!("a rule")
    };
    assert_eq!(rule.targets, ["arn:aws:ssm-incidents::000000000000:response-plan/ec2-stopped"]);
    assert_eq!(rule.event_pattern["detail"]["state"][0], "stopped");
    let scheduled =
        text.replace("      EventPattern:", "      ScheduleExpression: rate(5 minutes)\n      EventPattern:");
    let err = plan_stack("r", &source(&scheduled), &Options::default()).expect_err("schedule");
    assert!(err.field.ends_with("ScheduleExpression"), "{err}");
    let string_pattern = text.replace(
        "      EventPattern:\n        source: [aws.ec2]\n        detail-type: [EC2 Instance State-change Notification]\n        detail: {state: [stopped]}\n",
        "      EventPattern: '{\"source\": [\"aws.ec2\"]}'\n",
    );
    let plan = plan_stack("r", &source(&string_pattern), &Options::default()).expect("JSON text pattern");
    assert!(
        plan.resources
            .iter()
            .any(|r| matches!(&r.spec, ResourceSpec::Rule(s) if s.event_pattern["source"][0] == "aws.ec2"))
    );
}

#[test]
fn the_built_in_runbooks_parse_and_use_only_what_muster_runs() {
    assert_eq!(muster_core::library::RUNBOOKS.len(), 4);
    for (name, yaml) in muster_core::library::RUNBOOKS {
        let doc = muster_template::to_json(yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let parsed = muster_core::runbook::parse_document(&doc).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.unsupported_steps().is_empty(), "{name}: {:?}", parsed.unsupported_steps());
        muster_core::runbook::check_script_safety(&parsed).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(muster_core::library::stand_in("AWSSupport-TroubleshootVPN"), Some("muster-troubleshoot-vpn"));
    assert_eq!(muster_core::library::stand_in("AWS-RestartEC2Instance"), None);
}
