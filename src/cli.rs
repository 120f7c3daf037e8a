//! The command line (clap derive). Nothing below `commands` sees these types:
//! `lib::run` turns them into a validated `Context` first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        env = "CHRONOTRACE_ENV"
    )]
    pub env: Option<String>,

    /// What stdout carries: text for people, json for scripts
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// S3, IAM and STS endpoint, overriding the spec's
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
