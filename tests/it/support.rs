//! A small builder for running the real binary hermetically: a blank HOME,
//! no inherited `AWS_*` or `CHRONOTRACE_*` variables, instance metadata off.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One run of `chronotrace-ops`.
pub struct Run {
    cmd: Command,
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The binary in `cwd`, with a hermetic environment.
    pub fn new(cwd: &Path) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chronotrace-ops"));
        cmd.current_dir(cwd);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("AWS_") || key.starts_with("CHRONOTRACE") || key == "NO_COLOR" {
                cmd.env_remove(&*key);
            }
        }
        cmd.env("HOME", cwd)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", cwd.join(".aws-config-absent"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                cwd.join(".aws-credentials-absent"),
            );
        Run { cmd }
    }

    /// The binary started by `bash` after `setup` (e.g. `ulimit -f 2`), so
    /// a test can put the real process under limits it cannot lift.
    pub fn after_shell(cwd: &Path, setup: &str) -> Run {
        let mut run = Run::new(cwd);
        let mut cmd = Command::new("bash");
        cmd.current_dir(cwd)
            .arg("-c")
            .arg(format!("{setup}; exec \"$0\" \"$@\""))
            .arg(run.cmd.get_program());
        for (key, value) in run.cmd.get_envs() {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        run.cmd = cmd;
        run
    }

    pub fn args<I, S>(mut self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.cmd.env(key, value);
        self
    }

    /// Runs to completion.
    pub fn run(mut self) -> Outcome {
        let out = self.cmd.output().expect("the binary runs");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Outcome {
    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Outcome {
        assert_eq!(
            self.code, expected,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// True when a missing server or tool must fail the test rather than skip it
/// (under CI, and whenever `scripts/test.sh` runs the suite).
pub fn required() -> bool {
    std::env::var_os("CT_TEST_REQUIRE_SERVERS").is_some() || std::env::var_os("CI").is_some()
}

/// The path of an external tool, or `None` (with a note) when it may be skipped.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !required(),
            "{name} is not installed: run scripts/test.sh, which installs it"
        );
        eprintln!("note: {name} not installed; skipping (scripts/test.sh installs it)");
    }
    found
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}
