//! `man [--out DIR]`: the manual pages, generated from the CLI itself (as
//! `completions` are), so they cannot drift from `--help`. Without `--out`
//! the main page (every global flag, every subcommand named) goes to
//! stdout; with it, the main page and one page per subcommand, named as
//! packagers install them (`chronotrace-ops.1`, `chronotrace-ops-check.1`,
//! `chronotrace-ops-cleanup-verify.1`, ...).

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::error::{Error, ExitStatus, Result};

pub fn run(args: &ManArgs) -> Result<ExitStatus> {
    let command = Cli::command();
    match &args.out {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            clap_mangen::generate_to(command, dir).map_err(|e| Error::io(dir, e))?;
        }
        None => {
            let page = main_page(command).map_err(|e| Error::io("<man page>", e))?;
            match std::io::stdout().lock().write_all(&page) {
                // `| head` is not an error.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::io("<stdout>", e));
                }
                _ => {}
            }
        }
    }
    Ok(ExitStatus::Ok)
}

/// The main page: clap's sections, with the variables that are no flag's
/// (`ENVIRONMENT`) before the version.
fn main_page(command: clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(command);
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    man.render_extra_section(&mut page)?;
    page.extend_from_slice(ENVIRONMENT.as_bytes());
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// The variables read beside the flags' own (which their options name).
const ENVIRONMENT: &str = r".SH ENVIRONMENT
.TP
\fBAWS_ENDPOINT_URL_S3\fR, \fBAWS_ENDPOINT_URL\fR
The endpoint when \fB\-\-endpoint\-url\fR is not given, in this order, before the spec's.
.TP
\fBAWS_CA_BUNDLE\fR
PEM certificates trusted on top of the system's, when \fB\-\-ca\-bundle\fR is not given.
.TP
\fBHTTPS_PROXY\fR, \fBHTTP_PROXY\fR, \fBALL_PROXY\fR, \fBNO_PROXY\fR (and lowercase)
The proxy of every HTTP client, as curl reads them.
.TP
\fBAWS_ACCESS_KEY_ID\fR, \fBAWS_SECRET_ACCESS_KEY\fR, \fBAWS_PROFILE\fR, ...
Credentials, from the standard AWS chain. \fBAWS_REGION\fR never overrides the spec's region.
.TP
\fBCHRONOTRACE_ENV\fR, \fBCHRONOTRACE_TIMEOUT\fR
Deprecated names of \fBCHRONOTRACE_OPS_ENV\fR and \fBCHRONOTRACE_OPS_TIMEOUT\fR, still read with a warning.
.TP
\fBNO_COLOR\fR
No colour, as \fB\-\-no\-color\fR.
";
