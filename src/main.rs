//! The binary: parse, run, print the error once, exit with its status.

use std::process::ExitCode;

fn main() -> ExitCode {
    chronotrace_ops::main_entry(std::env::args_os()).into()
}
