//! `completions <shell>`: shell completion scripts, generated from the CLI itself.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{ExitStatus, Result};

pub fn run(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut command = Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "chronotrace-ops",
        &mut std::io::stdout(),
    );
    Ok(ExitStatus::Ok)
}
