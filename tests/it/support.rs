//! A small builder for running the real binary hermetically (a blank HOME,
//! no inherited `AWS_*`, `CHRONOTRACE_*` or proxy variables, instance
//! metadata off), and assertions on what a run printed: its exit code, stdout and
//! stderr (`one_line_error` for the error paths).
//!
//! A test that needs a server or a tool of the bench is `#[ignore]`d with
//! the reason, so `cargo test` alone reports it ignored, never passed;
//! `scripts/test.sh` starts the bench and runs the ignored tests too, and
//! there a missing server or tool fails the test (`servers::server`, `tool`).

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
            // The machine's proxy never carries a test's requests (a test of
            // the proxy variables sets its own).
            let proxy = key.to_ascii_uppercase().ends_with("_PROXY");
            if key.starts_with("AWS_")
                || key.starts_with("CHRONOTRACE")
                || key.starts_with("GOOGLE_")
                || key.starts_with("CLOUDSDK_")
                || key == "NO_COLOR"
                || proxy
            {
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
        Run::wrapped(cwd, Command::new("bash"), setup)
    }

    /// The binary started by `bash` in a private mount namespace
    /// (`unshare -m`: mounts made by `setup` are seen by this run alone and
    /// vanish with it), so a test mounts and unmounts as root without
    /// touching the machine's mounts.
    pub fn in_mount_namespace(cwd: &Path, setup: &str) -> Run {
        let mut unshare = Command::new("unshare");
        unshare.args(["--mount", "--propagation", "private", "bash"]);
        Run::wrapped(cwd, unshare, setup)
    }

    /// The binary started by `shell` (bash, possibly behind a wrapper)
    /// after `setup`, with the hermetic environment of `Run::new`.
    fn wrapped(cwd: &Path, shell: Command, setup: &str) -> Run {
        let mut run = Run::new(cwd);
        let mut cmd = shell;
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
        Outcome::of(self.cmd.output().expect("the binary runs"))
    }

    /// Runs to completion within `limit`; a run still going then is
    /// killed and fails the test, so a loop that never ends fails the test
    /// instead of hanging the suite.
    #[track_caller]
    pub fn run_within(self, limit: std::time::Duration) -> Outcome {
        use std::io::Read;
        let mut child = self.spawn();
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the binary") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default())
                    .lines()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n");
                panic!(
                    "the run did not end within {limit:?} (a loop that never ends?)\n--- stderr\n{stderr}"
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        Outcome::of(std::process::Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Starts the binary without waiting, stdout and stderr piped (for a
    /// test that signals it; `Outcome::of(child.wait_with_output())`).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }
}

impl Outcome {
    /// The outcome of a finished process (killed by a signal: code -1).
    pub fn of(out: std::process::Output) -> Outcome {
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code, showing the output when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Outcome {
        let holds = self.code == expected;
        self.holds(holds, &format!("exit code is not {expected}"))
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_contains(self, needle: &str) -> Outcome {
        let holds = self.stdout.contains(needle);
        self.holds(holds, &format!("stdout lacks {needle:?}"))
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_contains(self, needle: &str) -> Outcome {
        let holds = self.stderr.contains(needle);
        self.holds(holds, &format!("stderr lacks {needle:?}"))
    }

    /// Asserts that nothing was printed on stdout (no data, no partial result).
    #[track_caller]
    pub fn stdout_is_empty(self) -> Outcome {
        let holds = self.stdout.trim().is_empty();
        self.holds(holds, "stdout is not empty")
    }

    /// Asserts that nothing was printed on stderr (no error, warning or note).
    #[track_caller]
    pub fn stderr_is_empty(self) -> Outcome {
        let holds = self.stderr.trim().is_empty();
        self.holds(holds, "stderr is not empty")
    }

    /// Asserts the tool's one-line error, and nothing on stdout: no
    /// result, partial or not.
    #[track_caller]
    pub fn one_line_error(self, says: &str) -> Outcome {
        self.stderr_one_error(says).stdout_is_empty()
    }

    /// Asserts the tool's one-line error on stderr: one `error: ` line
    /// containing `says` (and at most one `  hint: ` line after it; `note: `
    /// lines aside, such as the embedded starter spec's), no panic. For a
    /// refusal after the plan was shown (`apply`, `destroy`); elsewhere
    /// `one_line_error`.
    #[track_caller]
    pub fn stderr_one_error(self, says: &str) -> Outcome {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.starts_with("note: "))
            .collect();
        let holds = match lines.as_slice() {
            [error] => error.starts_with("error: ") && error.contains(says),
            [error, hint] => {
                error.starts_with("error: ") && error.contains(says) && hint.starts_with("  hint: ")
            }
            _ => false,
        };
        self.holds(
            holds,
            &format!("expected one `error: ` line saying {says:?} (and at most a hint)"),
        )
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.shown()))
    }

    /// Fails with `what` and both streams unless `holds`.
    #[track_caller]
    fn holds(self, holds: bool, what: &str) -> Outcome {
        assert!(holds, "{what}\n{}", self.shown());
        self
    }

    /// The exit code and both streams, for an assertion's message.
    fn shown(&self) -> String {
        format!(
            "--- exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The path of an external tool that `scripts/test.sh` installs.
///
/// # Panics
///
/// When it is not installed: a test needing it is `#[ignore]`d, so it only
/// runs when asked for (`scripts/test.sh` runs every ignored test), and
/// then a missing tool is a failure, never a skip.
pub fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "{name} is not installed: run this test through scripts/test.sh, which installs it"
            )
        })
}

/// A file the bench provides (a validator's interpreter, a schema), from
/// the `CT_TEST_*` variable `var` that scripts/bench/start.sh exports.
///
/// # Panics
///
/// When the variable is unset or the file is missing, as [`tool`] does.
pub fn bench_file(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{var} names no file: run this test through scripts/test.sh, which installs it")
        })
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}
