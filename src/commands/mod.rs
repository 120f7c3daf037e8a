//! One module per subcommand: wiring only (load the spec, call the pure
//! core, print the result, choose the exit status).

pub mod init;
pub mod render;

use std::path::PathBuf;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::Result;
use crate::output;
use crate::spec::{DEFAULT_SPEC_FILE, Spec, SpecSource};

/// What every command needs from the global flags, already validated.
#[derive(Debug, Clone)]
pub struct Context {
    pub output: OutputFormat,
    pub spec_source: SpecSource,
    /// `--config` / `CHRONOTRACE_OPS_CONFIG`, or the default file name.
    pub spec_path: PathBuf,
    pub env: Option<String>,
    pub verbose: u8,
}

impl Context {
    /// Builds the context from the parsed global flags.
    pub fn from_global(global: &GlobalArgs) -> Context {
        Context {
            output: global.output,
            spec_source: SpecSource::discover(global.config.as_deref()),
            spec_path: global
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SPEC_FILE)),
            env: global.env.clone(),
            verbose: global.verbose,
        }
    }

    /// Loads and validates the spec, printing its warnings on stderr.
    pub fn load_spec(&self) -> Result<Spec> {
        if self.spec_source == SpecSource::Embedded {
            output::note(&format!(
                "no {DEFAULT_SPEC_FILE} here: using the embedded starter spec (write it with `chronotrace-ops init`)"
            ));
        }
        let spec = self.spec_source.load()?;
        for warning in &spec.warnings {
            output::warn(warning);
        }
        Ok(spec)
    }
}
