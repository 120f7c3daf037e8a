//! The command line (clap derive). Nothing below `commands` sees these types:
//! `lib::run` turns them into a validated `Context` first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::transport::timeouts::Timeouts;

/// Provision, validate and audit the object storage behind ChronoTrace.
#[derive(Debug, Parser)]
#[command(name = "chronotrace-ops", version, about, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 all good, 1 the world is not as asked, 2 could not do the job."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The spec file [default: ./chronotrace-ops.yaml, else the embedded starter spec]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "CHRONOTRACE_OPS_CONFIG"
    )]
    pub config: Option<PathBuf>,

    /// The environment to work on
    #[arg(
        short = 'e',
        long = "env",
        global = true,
        value_name = "ENV",
        env = "CHRONOTRACE_OPS_ENV"
    )]
    pub env: Option<String>,

    /// What stdout carries: text for people, json for scripts
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// S3, IAM and STS endpoint, overriding the spec's (also AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL)
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// AWS profile for credentials
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Region, overriding the spec's
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// More logs on stderr (-v, -vv); secrets are never logged
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No colour, even on a terminal (also NO_COLOR)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// The Laravel app's directory [default: the environment's `app:`, else
    /// the current directory when it is a Laravel app]
    #[arg(long, global = true, value_name = "DIR")]
    pub app: Option<PathBuf>,

    /// PEM bundle of CAs to trust for the endpoint's TLS (also AWS_CA_BUNDLE)
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,

    /// Longest wait for one call to the server, retries included; raise it for slow links [default: 20]
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "CHRONOTRACE_OPS_TIMEOUT",
        value_parser = Timeouts::parse
    )]
    pub timeout: Option<Timeouts>,
}

/// Output format of stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter spec
    #[command(after_help = "Example:\n  chronotrace-ops init && $EDITOR chronotrace-ops.yaml")]
    Init(InitArgs),
    /// Render compose, nginx, lifecycle, IAM and .env files from the templates
    #[command(
        after_help = "Examples:\n  chronotrace-ops render --out deploy\n  chronotrace-ops render --out deploy --check   # exit 1 if the files drifted"
    )]
    Render(RenderArgs),
    /// Show what `apply` would change in the environment
    #[command(
        after_help = "Examples:\n  chronotrace-ops plan -e staging\n  chronotrace-ops plan -e production --exit-code   # exit 1 if changes are pending"
    )]
    Plan(PlanArgs),
    /// Provision bucket, versioning, lifecycle, security settings and IAM
    #[command(after_help = "Example:\n  chronotrace-ops apply -e staging --yes")]
    Apply(ApplyArgs),
    /// Remove what `apply` created (for CI environments)
    #[command(after_help = "Example:\n  chronotrace-ops destroy -e ci --yes --empty")]
    Destroy(DestroyArgs),
    /// Validate connectivity, credentials, bucket, retention and security end to end
    #[command(
        after_help = "Examples:\n  chronotrace-ops check -e production --output json\n  chronotrace-ops check -e production --format junit --out check-results.xml"
    )]
    Check(CheckArgs),
    /// Verify that traces past retention are gone, or purge them
    #[command(subcommand)]
    Cleanup(CleanupCommand),
    /// Health report: volume, age, retention compliance, findings
    #[command(
        after_help = "Example:\n  chronotrace-ops report -e production --format markdown >> \"$GITHUB_STEP_SUMMARY\""
    )]
    Report(ReportArgs),
    /// Copy or move traces from one environment's store into another's
    #[command(
        after_help = "Examples:\n  chronotrace-ops migrate --from local --to staging                  # dry run: counts, bytes, per day\n  chronotrace-ops migrate --from hot --to cold --older-than 7 --move --yes"
    )]
    Migrate(MigrateArgs),
    /// The whole job for one environment: render, apply, check, verify, report
    #[command(after_help = "Example:\n  chronotrace-ops bootstrap -e local --yes")]
    Bootstrap(BootstrapArgs),
    /// Print shell completions
    #[command(
        after_help = "Example:\n  chronotrace-ops completions bash > /etc/bash_completion.d/chronotrace-ops"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write every page to a directory
    #[command(
        after_help = "Examples:\n  chronotrace-ops man > /usr/local/share/man/man1/chronotrace-ops.1\n  chronotrace-ops man --out target/man   # chronotrace-ops.1 and a page per subcommand"
    )]
    Man(ManArgs),
    /// Print the JSON Schema of chronotrace-ops.yaml (for editor validation)
    #[command(
        after_help = "Example:\n  chronotrace-ops schema > chronotrace-ops.schema.json\n  # then in the spec: # yaml-language-server: $schema=chronotrace-ops.schema.json"
    )]
    Schema,
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man` flags.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write chronotrace-ops.1 and one page per subcommand
    /// (chronotrace-ops-check.1, ...) to DIR instead of the main page to stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `plan` flags.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 1 when changes are pending (for CI drift detection)
    #[arg(long)]
    pub exit_code: bool,
}

/// `apply` flags.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking (required without a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Where a new app secret is written (app-credentials.<env>.env, mode 0600, never overwritten) [default: .chronotrace-ops/ beside the spec, git-ignored]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the app's key on a self-hosted store: a new key, proven, written, then the old one deleted
    #[arg(long)]
    pub rotate_app_key: bool,
}

/// `destroy` flags.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Confirm the removal (required)
    #[arg(long)]
    pub yes: bool,
    /// Delete every object, version and delete marker of a non-empty bucket first
    #[arg(long)]
    pub empty: bool,
}

/// `check` flags.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format: the table, JSON, or JUnit XML for CI test panels
    /// (json also follows --output json)
    #[arg(long, value_enum)]
    pub format: Option<CheckFormat>,
    /// Write the result to FILE instead of stdout (the exit code still
    /// says whether a check failed)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `check` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    /// JUnit XML: one test case per check
    Junit,
}

/// `cleanup` subcommands.
#[derive(Debug, Subcommand)]
pub enum CleanupCommand {
    /// Exit 1 if traces past retention (plus grace days) are still there
    #[command(after_help = "Example:\n  chronotrace-ops cleanup verify -e production --grace 2")]
    Verify(VerifyArgs),
    /// Delete traces past retention (a dry run unless --yes)
    #[command(
        after_help = "Examples:\n  chronotrace-ops cleanup purge -e staging            # dry run\n  chronotrace-ops cleanup purge -e staging --yes"
    )]
    Purge(PurgeArgs),
}

/// `cleanup verify` flags.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Retention in days for this run, instead of the spec's
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Days of lifecycle lag to allow
    #[arg(long, value_name = "D", default_value_t = crate::ops::DEFAULT_GRACE_DAYS)]
    pub grace: u32,
    /// Partitions listed at once
    #[arg(long, value_name = "N", default_value_t = crate::ops::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Where the figures come from: the bucket's listing, its S3 Inventory (the spec's `inventory:`), or auto (the inventory when fresher than 48 hours)
    #[arg(long, value_enum, default_value_t = ScanSourceArg::Listing)]
    pub source: ScanSourceArg,
}

/// `--source` of `report` and `cleanup verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanSourceArg {
    Listing,
    Inventory,
    Auto,
}

impl From<ScanSourceArg> for crate::ops::ScanSource {
    fn from(arg: ScanSourceArg) -> Self {
        use crate::ops::ScanSource;
        match arg {
            ScanSourceArg::Listing => ScanSource::Listing,
            ScanSourceArg::Inventory => ScanSource::Inventory,
            ScanSourceArg::Auto => ScanSource::Auto,
        }
    }
}

/// `cleanup purge` flags.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Retention in days for this run, instead of the spec's
    #[arg(long, value_name = "N")]
    pub days: Option<u32>,
    /// Really delete (otherwise a dry run)
    #[arg(long)]
    pub yes: bool,
    /// A partitioned SQL table: detach each partition wholly past the cutoff and keep it as a table (to archive, then drop), instead of dropping it
    #[arg(long)]
    pub detach: bool,
    /// Partitions listed and deleted at once
    #[arg(long, value_name = "N", default_value_t = crate::ops::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
}

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The environment whose traces are copied
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment whose store receives them (in its own layout)
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// Only traces stored more than DAYS days ago
    #[arg(long, value_name = "DAYS")]
    pub older_than: Option<u32>,
    /// Remove each source copy once the destination confirmed its copy (only if unchanged since it was read)
    #[arg(long = "move")]
    pub move_traces: bool,
    /// Really copy (otherwise a dry run: the source's listing only)
    #[arg(long)]
    pub yes: bool,
    /// Traces copied at once
    #[arg(long, value_name = "N", default_value_t = crate::ops::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
    Markdown,
    Html,
    /// OpenMetrics text for the node exporter's textfile collector
    #[value(name = "openmetrics")]
    OpenMetrics,
}

/// `report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report format (json also follows --output json)
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Days of lifecycle lag to allow when judging retention compliance
    #[arg(long, value_name = "D", default_value_t = crate::ops::DEFAULT_GRACE_DAYS)]
    pub grace: u32,
    /// Partitions listed at once
    #[arg(long, value_name = "N", default_value_t = crate::ops::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// Leave out the `check` results (the scan alone, as in benchmarks)
    #[arg(long)]
    pub no_checks: bool,
    /// Where the figures come from: the bucket's listing, its S3 Inventory (the spec's `inventory:`), or auto (the inventory when fresher than 48 hours)
    #[arg(long, value_enum, default_value_t = ScanSourceArg::Listing)]
    pub source: ScanSourceArg,
}

/// `bootstrap` flags.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Apply without asking (required without a terminal)
    #[arg(long)]
    pub yes: bool,
    /// Where the rendered files and the report go (the app's new secrets go to .chronotrace-ops/ beside the spec, git-ignored)
    #[arg(long, value_name = "DIR", default_value = "deploy")]
    pub out: PathBuf,
}

/// `init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing spec
    #[arg(long)]
    pub force: bool,
}

/// `render` flags.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to write the artifacts to
    #[arg(long, value_name = "DIR", default_value = "deploy")]
    pub out: PathBuf,

    /// Write nothing; exit 1 if files in DIR differ from a fresh render or are missing
    #[arg(long)]
    pub check: bool,

    /// Directory of templates overriding the embedded ones (same file names)
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,

    /// Overwrite .env files that differ (they may hold secrets added by hand)
    #[arg(long)]
    pub force: bool,
}
