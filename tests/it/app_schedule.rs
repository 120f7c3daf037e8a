//! Issue 15: the rendered files tell only the truth. The `.env` sets no
//! package setting without saying the package ignores it, and where
//! retention depends on the tool, `schedule:` renders a systemd timer and
//! service and a cron file for `cleanup purge --yes`.

use std::path::Path;
use std::process::Command;

use crate::support::{Run, tempdir, tool};

const SPEC: &str = "project: shop\nenvironments:\n  local:\n    storage: local\n    path: storage/app/private\n    retention_days: 10\n    schedule: { at: \"04:05\", directory: /var/www/shop, user: deploy }\n  ci_box:\n    storage: s3\n    provider: s3-compatible\n    endpoint: http://127.0.0.1:3900\n    region: garage\n    bucket: ct-shop\n    schedule:\n      at: \"23:59\"\n      directory: /srv/shop\n      binary: /opt/bin/chronotrace-ops\n";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn issue_15_render_writes_a_timer_a_service_and_a_cron_file_that_check_out() {
    let dir = tempdir();
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), SPEC).expect("spec");
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
    let deploy = dir.path().join("deploy");
    let service = read(&deploy.join("chronotrace-purge-local.service"));
    let timer = read(&deploy.join("chronotrace-purge-local.timer"));
    let cron = read(&deploy.join("chronotrace-purge-local.cron"));
    assert!(
        service
            .contains("ExecStart=/usr/local/bin/chronotrace-ops --env local cleanup purge --yes"),
        "{service}"
    );
    assert!(service.contains("User=deploy") && service.contains("WorkingDirectory=/var/www/shop"));
    assert!(timer.contains("OnCalendar=*-*-* 04:05:00"), "{timer}");
    assert!(timer.contains("Unit=chronotrace-purge-local.service"));
    assert!(cron.contains("Schedule::exec("), "{cron}");
    check_cron(&cron);
    check_units(&[&service, &timer]);
    let s3_cron = read(&deploy.join("chronotrace-purge-ci_box.cron"));
    assert!(
        s3_cron.contains("59 23 * * * www-data cd /srv/shop && /opt/bin/chronotrace-ops --env ci_box cleanup purge --yes"),
        "{s3_cron}"
    );
    assert!(
        read(&deploy.join("chronotrace-purge-ci_box.service")).contains("network-online.target")
    );
    // The real systemd-analyze (Debian's systemd package) verifies the units.
    systemd_verify(&deploy, dir.path());
    // The files are part of the render: `render --check` sees them.
    Run::new(dir.path())
        .args(["render", "--out", "deploy", "--check"])
        .run()
        .code(0);
    std::fs::remove_file(deploy.join("chronotrace-purge-local.timer")).expect("rm");
    let out = Run::new(dir.path())
        .args(["render", "--out", "deploy", "--check"])
        .run()
        .code(1);
    assert!(
        out.stdout.contains("chronotrace-purge-local.timer"),
        "{}",
        out.stdout
    );
}

/// Every non-comment line of a cron.d file: a variable, or five time fields,
/// a user and a command.
fn check_cron(text: &str) {
    let entries: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.contains('='))
        .collect();
    assert_eq!(entries.len(), 1, "{text}");
    let fields: Vec<&str> = entries[0].split_whitespace().collect();
    assert!(fields.len() > 6, "{}", entries[0]);
    let ranges = [(0, 59), (0, 23)];
    for (field, (low, high)) in fields.iter().zip(ranges) {
        let n: u32 = field.parse().expect("a number");
        assert!((low..=high).contains(&n), "{field}");
    }
    assert_eq!(&fields[2..5], ["*", "*", "*"]);
    assert!(!entries[0].contains('%'), "cron reads % as a newline");
}

/// Units parse as INI: sections, `Key=value` lines, comments.
fn check_units(units: &[&str]) {
    for unit in units {
        let mut section = false;
        for line in unit
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            if line.starts_with('[') {
                assert!(line.ends_with(']'), "{line}");
                section = true;
            } else {
                assert!(section, "a key before any section: {line}");
                let (key, value) = line.split_once('=').expect("Key=value");
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{line}");
                assert!(!value.is_empty(), "{line}");
            }
        }
    }
}

/// `systemd-analyze verify` on the rendered units, with ExecStart pointed
/// at a real binary (verify checks it exists).
fn systemd_verify(deploy: &Path, scratch: &Path) {
    let systemd_analyze = tool("systemd-analyze");
    let units = scratch.join("units");
    std::fs::create_dir_all(&units).expect("mkdir");
    let binary = env!("CARGO_BIN_EXE_chronotrace-ops");
    for kind in ["service", "timer"] {
        let name = format!("chronotrace-purge-local.{kind}");
        let text = read(&deploy.join(&name))
            .replace("/usr/local/bin/chronotrace-ops", binary)
            .replace("User=deploy", "User=root")
            .replace("/var/www/shop", "/");
        std::fs::write(units.join(&name), text).expect("write");
    }
    let out = Command::new(systemd_analyze)
        .args(["verify", "--man=no"])
        .arg(units.join("chronotrace-purge-local.timer"))
        .arg(units.join("chronotrace-purge-local.service"))
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let relevant: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("chronotrace-purge"))
        .collect();
    assert!(
        out.status.success() && relevant.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
}

#[test]
fn issue_15_a_bad_schedule_is_refused_before_anything_runs() {
    let cases = [
        ("at: \"25:00\", directory: /srv/a", "schedule.at"),
        ("at: \"3:15\", directory: /srv/a", "schedule.at"),
        ("at: \"03:15\", directory: srv/a", "schedule.path"),
        ("at: \"03:15\", directory: \"/srv/my app\"", "schedule.path"),
        ("at: \"03:15\", directory: \"/srv/a%b\"", "schedule.path"),
        (
            "at: \"03:15\", directory: /srv/a, user: \"root;rm\"",
            "schedule.user",
        ),
        ("at: \"03:15\"", "spec.syntax"),
    ];
    for (schedule, rule) in cases {
        let dir = tempdir();
        let spec = format!(
            "project: p\nenvironments:\n  local:\n    storage: local\n    schedule: {{ {schedule} }}\n"
        );
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
        let out = Run::new(dir.path()).args(["render"]).run().code(2);
        assert!(out.stderr.contains(rule), "{schedule}: {}", out.stderr);
        assert!(
            out.stderr.contains("chronotrace-ops.yaml:5"),
            "{}",
            out.stderr
        );
        assert!(!dir.path().join("deploy").exists());
    }
}

#[test]
fn issue_15_the_rendered_env_sets_nothing_the_package_ignores_without_saying_so() {
    let dir = tempdir();
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
    for env in ["local", "staging", "production"] {
        let text = read(&dir.path().join(format!("deploy/.env.{env}")));
        assert!(!text.contains("CHRONOTRACE_AUTO_PURGE="), "{env}: {text}");
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("CHRONOTRACE_RETENTION_DAYS="))
            .unwrap_or_else(|| panic!("{env}: {text}"));
        let comment = lines[..at].join("\n");
        assert!(comment.contains("Ignored"), "{env}: {text}");
        assert!(
            comment.contains("reads CHRONOTRACE_RETENTION_DAYS\n# nowhere"),
            "{env}: {text}"
        );
    }
    // The report offers no package setting that does nothing.
    let out = Run::new(dir.path())
        .args(["report", "-e", "local"])
        .run()
        .code(0);
    assert!(
        !out.stdout.contains("(or CHRONOTRACE_AUTO_PURGE)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Schedule::exec("), "{}", out.stdout);
}
