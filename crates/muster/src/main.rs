//! `muster`: the server (`muster serve`) and the client commands that talk to it.

mod client;
mod closure;
mod demo;
mod detection;
mod load;
mod oncall;
mod paging;
mod runbooks;
mod serve;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "muster", version, about = "Self-hosted incident management and on-call", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    client: ClientArgs,
}

#[derive(Args, Clone)]
pub struct ClientArgs {
    /// The Muster server to talk to.
    #[arg(long, env = "MUSTER_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// API token.
    #[arg(long, env = "MUSTER_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Output format of client commands.
    #[arg(long, short = 'o', value_enum, default_value = "table", global = true)]
    pub output: Output,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Drive running nodes with alerts, metrics and acknowledgements; print throughput and latency.
    Load(load::LoadArgs),
    /// Run a throwaway server with the reference scenario and simulated data: an incident opens
    /// within a minute.
    Demo(demo::DemoArgs),
    /// Apply a native Muster YAML file, a folder of them, or a CloudFormation template as a stack.
    Apply(ApplyArgs),
    /// Start, list, show, update, resolve and annotate incidents.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// List, show and delete stacks.
    #[command(subcommand)]
    Stack(StackCommand),
    /// List and show response plans.
    #[command(subcommand, name = "plan")]
    Plan(PlanCommand),
    /// Create, list and revoke API tokens (admin).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Who is on call now (or --at an instant), in every rotation or in one.
    Oncall {
        /// A rotation's name; all rotations when absent.
        rotation: Option<String>,
        /// An RFC 3339 instant.
        #[arg(long)]
        at: Option<String>,
    },
    /// List rotations, show their shifts, preview a rotation not yet saved.
    #[command(subcommand)]
    Rotation(RotationCommand),
    /// Cover part of someone's shift: create, list and delete overrides.
    #[command(subcommand)]
    Override(OverrideCommand),
    /// Contacts and their channels.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// List and acknowledge pages.
    #[command(subcommand)]
    Page(PageCommand),
    /// Engage a contact by hand (a person, an on-call schedule or an escalation plan).
    Engage {
        contact: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        content: Option<String>,
        /// The incident it is about (id or number).
        #[arg(long)]
        incident: Option<String>,
    },
    /// List, show and stop engagements.
    #[command(subcommand)]
    Engagement(EngagementCommand),
    /// Topics: list them, publish to one.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Runbooks: validate, store, run, and answer their approvals.
    #[command(subcommand)]
    Runbook(RunbookCommand),
    /// Send metric data, list series, show a metric's statistics.
    #[command(subcommand)]
    Metric(MetricCommand),
    /// Metric alarms: list, show with history, set a state by hand.
    #[command(subcommand)]
    Alarm(AlarmCommand),
    /// Post-incident analyses: create, list, show, answer, add action items, export.
    #[command(subcommand)]
    Analysis(AnalysisCommand),
    /// Action items across every analysis.
    ActionItems {
        #[arg(long)]
        owner: Option<String>,
        /// Only the overdue ones.
        #[arg(long)]
        overdue: bool,
        /// Done ones too.
        #[arg(long)]
        all: bool,
    },
    /// MTTA and MTTR by response plan, impact and period; pages per person; the noisiest sources.
    Report {
        /// RFC 3339; default 30 days before --to.
        #[arg(long)]
        from: Option<String>,
        /// RFC 3339; default now.
        #[arg(long)]
        to: Option<String>,
        /// day, week or month.
        #[arg(long, default_value = "week")]
        period: String,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// The audit log: who changed what, when, from where (admins).
    Audit {
        #[arg(long)]
        actor: Option<String>,
        /// RFC 3339.
        #[arg(long)]
        from: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print CSV.
        #[arg(long)]
        csv: bool,
    },
    /// Copy the SQLite database while the server runs (a consistent copy); for PostgreSQL, use pg_dump.
    Backup {
        /// sqlite://PATH (default: the server's default database).
        #[arg(long, env = "MUSTER_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// The file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a backup in the place of a (stopped) server's SQLite database, after checking it.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long, env = "MUSTER_DATABASE_URL", hide_env_values = true)]
        database: Option<String>,
        /// Replace an existing database (it is kept beside as .before-restore).
        #[arg(long)]
        force: bool,
    },
    /// Send events (matched against event rules).
    #[command(subcommand)]
    Event(EventCommand),
    /// Event rules: list, show, test a pattern.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Integrations for existing tools: create (prints the key once), list, delete; what they received.
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Silences: add, list, expire.
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Notifications sent to topics and chat channels, with their receipts.
    Notifications {
        #[arg(long)]
        incident: Option<String>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
pub struct ApplyArgs {
    /// A template file or a folder of native YAML files.
    #[arg(short = 'f', long = "file")]
    pub path: PathBuf,
    /// The stack's name; defaults to the file's (or folder's) name without extension.
    #[arg(long)]
    pub stack: Option<String>,
    /// A template parameter, KEY=VALUE; repeat for more.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Show what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import supported resources and list the unsupported ones instead of refusing the template.
    #[arg(long)]
    pub skip_unsupported: bool,
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Start an incident (or add to the open one with the same dedupe string).
    Start {
        #[arg(long)]
        title: Option<String>,
        /// 1 (critical) to 5 (no impact).
        #[arg(long)]
        impact: Option<i64>,
        #[arg(long)]
        summary: Option<String>,
        #[arg(long = "dedupe")]
        dedupe_string: Option<String>,
        /// Response plan name or id; its template fills what is not given.
        #[arg(long = "plan")]
        response_plan: Option<String>,
        /// A tag, KEY=VALUE; repeat for more.
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// Makes a retried start return the same incident.
        #[arg(long)]
        client_token: Option<String>,
    },
    /// List incidents, newest first.
    List {
        /// OPEN or RESOLVED.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue from a previous page's next token.
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Show an incident (by number or id) with its timeline and related items.
    Show { incident: String },
    /// Acknowledge an incident: its outstanding pages, and stop its escalations.
    Ack { incident: String },
    /// Change an incident's title, summary, impact or roles.
    Update {
        incident: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        summary: Option<String>,
        #[arg(long)]
        impact: Option<i64>,
        #[arg(long)]
        commander: Option<String>,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Resolve an incident.
    Resolve {
        incident: String,
        /// A closing note for the timeline.
        #[arg(long, short = 'm')]
        message: Option<String>,
    },
    /// Reopen a resolved incident.
    Reopen { incident: String },
    /// Add a note to an incident's timeline.
    Note {
        incident: String,
        message: String,
        /// A custom event type instead of a note; `mitigated` marks when the impact stopped (for
        /// the analysis's time to mitigate).
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Add a related item (metric, link, resource, incident, attachment, other).
    Relate {
        incident: String,
        #[arg(long = "type", default_value = "link")]
        kind: String,
        #[arg(long)]
        title: Option<String>,
        value: String,
    },
}

#[derive(Args, Clone)]
pub struct RangeArgs {
    /// Start of the range (RFC 3339); now when absent.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the range (RFC 3339); a week after --from when absent.
    #[arg(long)]
    pub to: Option<String>,
    /// Show times in this IANA zone (default: this machine's).
    #[arg(long)]
    pub tz: Option<String>,
}

#[derive(Subcommand)]
pub enum RotationCommand {
    List,
    Show {
        rotation: String,
    },
    /// The shifts between two instants, overrides included.
    Shifts {
        rotation: String,
        #[command(flatten)]
        range: RangeArgs,
    },
    /// The shifts a rotation file (YAML or JSON, a rotation as the API takes it) would make.
    Preview {
        #[arg(short = 'f', long = "file")]
        path: PathBuf,
        #[command(flatten)]
        range: RangeArgs,
    },
    Delete {
        rotation: String,
    },
}

#[derive(Subcommand)]
pub enum OverrideCommand {
    /// Put these people on call instead, from --start to --end.
    Create {
        rotation: String,
        /// A contact alias; repeat for more.
        #[arg(long = "contact", required = true)]
        contacts: Vec<String>,
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
    },
    List {
        rotation: String,
        #[command(flatten)]
        range: RangeArgs,
    },
    Delete {
        rotation: String,
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ContactCommand {
    List,
    Show {
        alias: String,
    },
    /// Create a person.
    Create {
        alias: String,
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone.
        #[arg(long)]
        tz: Option<String>,
    },
    Delete {
        alias: String,
    },
    /// The contact's own upcoming shifts across rotations.
    Shifts {
        alias: String,
        #[command(flatten)]
        range: RangeArgs,
    },
    /// Add a channel: EMAIL, SMS, VOICE, CHAT or WEBHOOK.
    AddChannel {
        alias: String,
        #[arg(long)]
        name: String,
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        address: String,
        /// Wait for the activation code even when an admin adds it.
        #[arg(long)]
        defer_activation: bool,
    },
    /// Send a channel its activation code, through the channel itself.
    SendCode {
        alias: String,
        channel: String,
    },
    /// Confirm a channel with the code it received.
    Activate {
        alias: String,
        channel: String,
        code: String,
    },
}

#[derive(Subcommand)]
pub enum PageCommand {
    /// Pages with their receipts, of an incident or of all.
    List {
        #[arg(long)]
        incident: Option<String>,
    },
    /// Acknowledge a page: stops its escalation.
    Ack { page: String },
}

#[derive(Subcommand)]
pub enum RunbookCommand {
    List,
    Show {
        name: String,
    },
    /// Check a document (YAML or JSON) here, without a server: steps, parameters, unsupported steps.
    Validate {
        file: PathBuf,
    },
    /// Store a document as a runbook (replacing one of the same name).
    Put {
        name: String,
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Start an execution.
    Run {
        name: String,
        /// A parameter, KEY=VALUE (a JSON value, or text); repeat for more.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// The incident it works on (id or number).
        #[arg(long)]
        incident: Option<String>,
        /// Wait until it finishes or waits for an approval, then show it.
        #[arg(long)]
        wait: bool,
    },
    /// Show an execution with its steps.
    Execution {
        id: String,
    },
    /// Executions, of an incident or all.
    Executions {
        #[arg(long)]
        incident: Option<String>,
    },
    Approve {
        id: String,
        /// Who approves (a contact alias); the token's name when absent.
        #[arg(long)]
        approver: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    Reject {
        id: String,
        #[arg(long)]
        approver: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    Cancel {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum MetricCommand {
    /// Send one datum (as PutMetricData).
    Put {
        #[arg(long)]
        namespace: String,
        /// The metric's name.
        #[arg(long = "name")]
        metric_name: String,
        /// A dimension, NAME=VALUE; repeat for more.
        #[arg(long = "dimension", value_name = "NAME=VALUE")]
        dimensions: Vec<String>,
        #[arg(long, allow_negative_numbers = true)]
        value: f64,
        /// A CloudWatch unit (Count, Seconds, Percent, ...).
        #[arg(long)]
        unit: Option<String>,
        /// When it was observed (RFC 3339); now when absent.
        #[arg(long)]
        timestamp: Option<String>,
    },
    /// The series that have data.
    List {
        #[arg(long)]
        namespace: Option<String>,
    },
    /// A metric's statistic per period over the last hour (or --from/--to).
    Get {
        #[arg(long)]
        namespace: String,
        #[arg(long = "name")]
        metric_name: String,
        #[arg(long = "dimension", value_name = "NAME=VALUE")]
        dimensions: Vec<String>,
        #[arg(long, default_value = "Average")]
        statistic: String,
        #[arg(long, default_value_t = 60)]
        period: u32,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AlarmCommand {
    /// Alarms with their state (or only those in --state).
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// An alarm, its state and reason, and its history.
    Show {
        name: String,
    },
    /// Set a state by hand to try the alarm's actions; the next evaluation puts it back.
    SetState {
        name: String,
        /// OK, ALARM or INSUFFICIENT_DATA.
        state: String,
        #[arg(long)]
        reason: String,
    },
    Delete {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum AnalysisCommand {
    /// Start an analysis of an incident (id or number).
    Create {
        incident: String,
        #[arg(long)]
        template: Option<String>,
        #[arg(long)]
        title: Option<String>,
    },
    List {
        #[arg(long)]
        incident: Option<String>,
    },
    /// The analysis with its metrics, answers and action items.
    Show { id: String },
    /// Answer a question (by its id: summary, impact, detection, ...).
    Answer { id: String, question: String, answer: String },
    /// DRAFT, IN_REVIEW or PUBLISHED.
    Status { id: String, status: String },
    /// Add an action item.
    AddItem {
        id: String,
        title: String,
        #[arg(long)]
        owner: Option<String>,
        /// A date, 2026-12-15.
        #[arg(long)]
        due: Option<String>,
        #[arg(long)]
        link: Option<String>,
    },
    /// Markdown (default) or JSON.
    Export {
        id: String,
        #[arg(long, default_value = "markdown")]
        format: String,
    },
}

#[derive(Subcommand)]
pub enum EventCommand {
    /// Send one event: --source and --detail-type with a JSON --detail, or a whole event with --json.
    Put {
        #[arg(long, required_unless_present = "json")]
        source: Option<String>,
        #[arg(long)]
        detail_type: Option<String>,
        /// The event's detail, as JSON.
        #[arg(long)]
        detail: Option<String>,
        /// A resource ARN the event is about; repeat for more.
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// A whole event (or a list of events) as JSON.
        #[arg(long, conflicts_with_all = ["source", "detail_type", "detail", "resources"])]
        json: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum RuleCommand {
    List,
    Show {
        name: String,
    },
    /// Does PATTERN (JSON) match EVENT (JSON)? Exits 1 when it does not.
    Test {
        #[arg(long)]
        pattern: String,
        #[arg(long)]
        event: String,
    },
}

#[derive(Subcommand)]
pub enum IntegrationCommand {
    List,
    /// Create one; its key is printed once.
    Create {
        name: String,
        /// alertmanager, pagerduty, sns, grafana, generic or heartbeat.
        #[arg(long = "type")]
        kind: String,
        /// The response plan its alerts go to.
        #[arg(long)]
        plan: Option<String>,
        /// For heartbeats: seconds between expected pings.
        #[arg(long)]
        interval: Option<u32>,
        /// Group alerts whose labels agree on these into one incident; repeat for more.
        #[arg(long = "group-by")]
        group_by: Vec<String>,
    },
    Delete {
        name: String,
    },
    /// What was received (events and alerts) and what became of it.
    Received {
        /// Only this integration's.
        #[arg(long)]
        integration: Option<String>,
        /// pending, routed, suppressed, unmatched, recorded or failed.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SilenceCommand {
    List,
    /// Silence alerts whose labels match every matcher (`name=value`, `name!=value`, `name=~regex`,
    /// `name!~regex`) until --for ends.
    Add {
        #[arg(required = true)]
        matchers: Vec<String>,
        /// How long: a duration such as 2h, 30m, 1d.
        #[arg(long = "for", default_value = "1h")]
        duration: String,
        #[arg(long)]
        comment: String,
        #[arg(long)]
        author: Option<String>,
    },
    Expire {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum TopicCommand {
    List,
    /// Tell a topic's subscribers and chat channels.
    Publish {
        topic: String,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        message: String,
    },
}

#[derive(Subcommand)]
pub enum EngagementCommand {
    List {
        #[arg(long)]
        incident: Option<String>,
    },
    Show {
        engagement: String,
    },
    Stop {
        engagement: String,
    },
}

#[derive(Subcommand)]
pub enum StackCommand {
    List,
    Show {
        name: String,
    },
    /// Delete a stack and everything it made.
    Delete {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum PlanCommand {
    List,
    Show { plan: String },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is shown once.
    Create {
        name: String,
        #[arg(long, default_value = "responder", value_parser = ["viewer", "responder", "admin"])]
        role: String,
    },
    List,
    Revoke {
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Load(args) => load::run(&cli.client.server, cli.client.token.as_deref(), args).await,
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "muster", &mut std::io::stdout());
                Ok(())
            }
            Command::Apply(args) => client::apply(&cli.client, args).await,
            Command::Incident(c) => client::incident(&cli.client, c).await,
            Command::Stack(c) => client::stack(&cli.client, c).await,
            Command::Plan(c) => client::plan(&cli.client, c).await,
            Command::Token(c) => client::token(&cli.client, c).await,
            Command::Oncall { rotation, at } => oncall::oncall(&cli.client, rotation, at).await,
            Command::Rotation(c) => oncall::rotation(&cli.client, c).await,
            Command::Override(c) => oncall::overrides(&cli.client, c).await,
            Command::Contact(c) => oncall::contact(&cli.client, c).await,
            Command::Page(c) => paging::page(&cli.client, c).await,
            Command::Engage { contact, subject, content, incident } => {
                paging::engage(&cli.client, contact, subject, content, incident).await
            }
            Command::Engagement(c) => paging::engagement(&cli.client, c).await,
            Command::Topic(c) => paging::topic(&cli.client, c).await,
            Command::Runbook(c) => runbooks::runbook(&cli.client, c).await,
            Command::Metric(c) => detection::metric(&cli.client, c).await,
            Command::Alarm(c) => detection::alarm(&cli.client, c).await,
            Command::Event(c) => detection::event(&cli.client, c).await,
            Command::Analysis(c) => closure::analysis(&cli.client, c).await,
            Command::Audit { actor, from, limit, csv } => closure::audit(&cli.client, actor, from, limit, csv).await,
            Command::Backup { database, to } => closure::backup(database, to).await,
            Command::Restore { from, database, force } => closure::restore(from, database, force).await,
            Command::ActionItems { owner, overdue, all } => {
                closure::action_items(&cli.client, owner, overdue, all).await
            }
            Command::Report { from, to, period, csv } => closure::report(&cli.client, from, to, period, csv).await,
            Command::Rule(c) => detection::rule(&cli.client, c).await,
            Command::Integration(c) => detection::integration(&cli.client, c).await,
            Command::Silence(c) => detection::silence(&cli.client, c).await,
            Command::Notifications { incident } => paging::notifications(&cli.client, incident).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
