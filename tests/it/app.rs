//! Issue 15, the app's side: the `local` path default follows the Laravel
//! app (`storage/app/private` from Laravel 11, `storage/app` before), and
//! traces one directory away are never an empty, compliant store. App trees
//! are made here, Laravel 10-style and 12-style.

use std::path::Path;

use serde_json::Value;

use crate::support::{Outcome, Run, tempdir};

/// A Laravel app in `dir`: composer.lock with the framework at
/// `laravel` and `extra` packages, `artisan`, and when `root` is given a
/// `config/filesystems.php` whose local disk is `storage_path(root)`.
pub fn laravel_app(dir: &Path, laravel: &str, root: Option<&str>, extra: &[(&str, &str)]) {
    let mut packages = vec![format!(
        r#"{{"name": "laravel/framework", "version": "{laravel}"}}"#
    )];
    packages.extend(
        extra
            .iter()
            .map(|(name, version)| format!(r#"{{"name": "{name}", "version": "{version}"}}"#)),
    );
    let lock = format!(
        "{{\"_readme\": [\"test\"], \"packages\": [{}], \"packages-dev\": []}}",
        packages.join(", ")
    );
    std::fs::create_dir_all(dir.join("config")).expect("mkdir");
    std::fs::write(dir.join("composer.lock"), lock).expect("lock");
    std::fs::write(dir.join("artisan"), "#!/usr/bin/env php\n<?php\n").expect("artisan");
    if let Some(root) = root {
        let config = format!(
            "<?php\n\nreturn [\n    'default' => env('FILESYSTEM_DISK', 'local'),\n    'disks' => [\n        'local' => [\n            'driver' => 'local',\n            'root' => storage_path('{root}'),\n            'throw' => false,\n        ],\n        'public' => ['driver' => 'local', 'root' => storage_path('app/public')],\n    ],\n];\n"
        );
        std::fs::write(dir.join("config/filesystems.php"), config).expect("config");
    }
}

/// A trace bundle under `{root}/traces/{date}/`.
pub fn trace(dir: &Path, root: &str, date: &str, name: &str) {
    let partition = dir.join(root).join("traces").join(date);
    std::fs::create_dir_all(&partition).expect("mkdir");
    std::fs::write(partition.join(format!("{name}.zip")), b"PK\x03\x04zip").expect("trace");
}

/// The package installed, async storage off: an app whose checks pass.
pub const PACKAGE: (&str, &str) = ("grazulex/laravel-chronotrace", "v0.0.4");
const QUIET_ENV: &str = "CHRONOTRACE_STORAGE=local\nCHRONOTRACE_ASYNC_STORAGE=false\n";

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

fn check_of<'v>(report: &'v Value, id: &str) -> &'v Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn verify(dir: &Path, extra: &[&str]) -> Outcome {
    Run::new(dir)
        .args(["--output", "json"])
        .args(extra)
        .args(["cleanup", "verify", "-e", "local"])
        .run()
}

#[test]
fn issue_15_a_laravel_12_app_is_read_under_storage_app_private_by_default() {
    let dir = tempdir();
    let app = dir.path();
    laravel_app(app, "v12.3.0", Some("app/private"), &[PACKAGE]);
    std::fs::write(app.join(".env"), QUIET_ENV).expect("env");
    trace(app, "storage/app/private", "2020-01-01", "ct_old");
    // The embedded starter spec: no path written, the app decides.
    let out = verify(app, &[]).code(1);
    let report = json(&out);
    assert_eq!(report["expired_objects"], 1, "{report:#}");
    assert_eq!(report["oldest"], "2020-01-01");
    let out = Run::new(app)
        .args(["--output", "json", "report", "-e", "local"])
        .run()
        .code(0);
    let report = json(&out);
    assert_eq!(report["objects"], 1, "{report:#}");
    assert!(
        report["storage"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("storage/app/private")),
        "{report:#}"
    );
    let out = Run::new(app)
        .args(["--output", "json", "check", "-e", "local"])
        .run()
        .code(0);
    let checks = json(&out);
    let directory = check_of(&checks, "local.directory");
    assert!(
        directory["message"]
            .as_str()
            .is_some_and(|m| m.contains("storage/app/private")),
        "{directory:#}"
    );
    let laravel = check_of(&checks, "app.laravel");
    assert_eq!(laravel["status"], "pass", "{laravel:#}");
}

#[test]
fn a_laravel_10_app_and_an_upgraded_one_keep_storage_app() {
    // Laravel 10, and an app upgraded to 11 that kept its filesystems.php:
    // the config's root wins over the version.
    for (version, root) in [
        ("v10.48.2", Some("app")),
        ("v11.9.0", Some("app")),
        ("v10.1.0", None),
    ] {
        let dir = tempdir();
        let app = dir.path();
        laravel_app(app, version, root, &[PACKAGE]);
        trace(app, "storage/app", "2020-01-01", "ct_old");
        let report = json(&verify(app, &[]).code(1));
        assert_eq!(
            report["expired_objects"], 1,
            "{version} {root:?}: {report:#}"
        );
        assert!(report.get("elsewhere").is_none(), "{report:#}");
    }
    // No config and Laravel 12 in composer.lock: the version decides.
    let dir = tempdir();
    laravel_app(dir.path(), "v12.0.1", None, &[PACKAGE]);
    trace(dir.path(), "storage/app/private", "2020-01-01", "ct_old");
    assert_eq!(json(&verify(dir.path(), &[]).code(1))["expired_objects"], 1);
}

#[test]
fn an_app_given_with_flag_or_key_is_read_from_anywhere() {
    let dir = tempdir();
    let app = dir.path().join("shop");
    laravel_app(&app, "v12.3.0", Some("app/private"), &[PACKAGE]);
    trace(&app, "storage/app/private", "2020-01-01", "ct_old");
    let report = json(&verify(dir.path(), &["--app", "shop"]).code(1));
    assert_eq!(report["expired_objects"], 1, "{report:#}");
    std::fs::write(
        dir.path().join("chronotrace-ops.yaml"),
        "project: p\nenvironments:\n  local:\n    storage: local\n    app: shop\n",
    )
    .expect("spec");
    let report = json(&verify(dir.path(), &[]).code(1));
    assert_eq!(report["expired_objects"], 1, "{report:#}");
    // A missing app directory is bad usage, before any work.
    let out = verify(dir.path(), &["--app", "nowhere"]).code(2);
    assert!(out.stderr.contains("--app nowhere"), "{}", out.stderr);
}

#[test]
fn issue_15_traces_one_directory_away_fail_check_verify_and_report() {
    let dir = tempdir();
    let app = dir.path();
    // Laravel 12, but the spec pins the pre-11 root: the app writes one
    // directory below it.
    laravel_app(app, "v12.3.0", Some("app/private"), &[PACKAGE]);
    std::fs::write(app.join(".env"), QUIET_ENV).expect("env");
    trace(app, "storage/app/private", "2020-01-01", "ct_a");
    trace(app, "storage/app/private", "2020-01-02", "ct_b");
    std::fs::write(
        app.join("chronotrace-ops.yaml"),
        "project: p\nenvironments:\n  local:\n    storage: local\n    path: storage/app\n",
    )
    .expect("spec");
    std::fs::create_dir_all(app.join("storage/app/traces")).expect("mkdir");
    let out = verify(app, &[]).code(1);
    let report = json(&out);
    assert_eq!(report["expired_objects"], 0);
    assert_eq!(report["elsewhere"]["objects"], 2, "{report:#}");
    let text = Run::new(app).args(["cleanup", "verify"]).run().code(1);
    assert!(
        text.stdout.contains("FAIL") && text.stdout.contains("storage/app/private/traces"),
        "{}",
        text.stdout
    );
    assert!(
        !text.stdout.contains("ok: nothing past retention"),
        "{}",
        text.stdout
    );

    let out = Run::new(app)
        .args(["--output", "json", "check"])
        .run()
        .code(1);
    let checks = json(&out);
    let other = check_of(&checks, "local.other-root");
    assert_eq!(other["status"], "fail", "{other:#}");
    assert!(
        other["message"]
            .as_str()
            .is_some_and(|m| m.contains("storage/app/private/traces")),
        "{other:#}"
    );
    assert!(other["hint"].is_string());

    let out = Run::new(app)
        .args(["--output", "json", "report"])
        .run()
        .code(0);
    let report = json(&out);
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"storage.other-root"), "{ids:?}");
    assert!(!ids.contains(&"storage.empty"), "{ids:?}");
    for format in ["text", "markdown", "html"] {
        let out = Run::new(app)
            .args(["report", "--format", format])
            .run()
            .code(0);
        // The HTML page escapes '/' as an entity (Tera's autoescape).
        let shown = out.stdout.replace("&#x2F;", "/");
        assert!(
            shown.contains("storage/app/private/traces"),
            "{format}: {}",
            out.stdout
        );
    }
}

#[test]
fn issue_15_bootstrap_still_works_where_there_is_no_laravel_app() {
    // The README's main command, with no spec and no app: storage/app.
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["bootstrap", "--env", "local", "--yes"])
        .run()
        .code(0);
    assert!(out.stdout.contains("ready."), "{}", out.stdout);
    assert!(dir.path().join("storage/app/traces").is_dir());
    assert!(!dir.path().join("storage/app/private").exists());
    // And in a Laravel 12 app: its private root.
    let dir = tempdir();
    laravel_app(dir.path(), "v12.3.0", Some("app/private"), &[PACKAGE]);
    std::fs::write(dir.path().join(".env"), QUIET_ENV).expect("env");
    Run::new(dir.path())
        .args(["bootstrap", "--env", "local", "--yes"])
        .run()
        .code(0);
    assert!(dir.path().join("storage/app/private/traces").is_dir());
}
