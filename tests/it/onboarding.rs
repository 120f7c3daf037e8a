//! The first minutes of a user: completions, the man page and the spec's
//! JSON Schema.

use serde_json::Value;

use crate::cli::SUBCOMMANDS;
use crate::support::{Run, tempdir, tool};

#[test]
fn completions_are_produced_for_common_shells() {
    let dir = tempdir();
    for shell in ["bash", "zsh", "fish"] {
        let out = Run::new(dir.path())
            .args(["completions", shell])
            .run()
            .code(0)
            .stderr_is_empty();
        assert!(
            out.stdout.contains("chronotrace-ops"),
            "{shell}: {}",
            out.stdout
        );
        assert!(out.stdout.contains("render"), "{shell}");
    }
}

/// Issue 28: `man` prints the main page in roff, naming every subcommand
/// and the variables; `man --out DIR` writes a page per subcommand too.
#[test]
fn issue_28_the_man_page_is_roff_and_names_every_subcommand() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["man"])
        .run()
        .code(0)
        .stderr_is_empty();
    let page = &out.stdout;
    assert!(page.contains(".TH chronotrace-ops 1 "), "{page}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "OPTIONS",
        "SUBCOMMANDS",
        "ENVIRONMENT",
        "VERSION",
    ] {
        assert!(
            page.contains(&format!("\n.SH {section}\n")),
            "{section}\n{page}"
        );
    }
    for command in SUBCOMMANDS {
        let named = format!("chronotrace\\-ops\\-{command}(1)");
        assert!(page.contains(&named), "{named}\n{page}");
    }
    for variable in [
        "CHRONOTRACE_OPS_ENV",
        "CHRONOTRACE_OPS_TIMEOUT",
        "AWS_ENDPOINT_URL_S3",
    ] {
        assert!(page.contains(variable), "{variable}\n{page}");
    }

    Run::new(dir.path())
        .args(["man", "--out", "man/man1"])
        .run()
        .code(0)
        .stderr_is_empty()
        .stdout_is_empty();
    let pages = dir.path().join("man/man1");
    for command in SUBCOMMANDS
        .iter()
        .map(|c| format!("-{c}"))
        .chain(["".into(), "-cleanup-verify".into()])
    {
        let file = pages.join(format!("chronotrace-ops{command}.1"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(text.contains(".TH chronotrace-ops"), "{}", file.display());
    }
}

/// The pages render with groff without a warning (`-ww`: every warning).
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn the_man_pages_render_with_groff_without_warnings() {
    let groff = tool("groff");
    let dir = tempdir();
    Run::new(dir.path())
        .args(["man", "--out", "man1"])
        .run()
        .code(0);
    let mut pages: Vec<_> = std::fs::read_dir(dir.path().join("man1"))
        .expect("man1")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    pages.sort();
    assert!(pages.len() > SUBCOMMANDS.len(), "{pages:?}");
    for page in pages {
        let out = std::process::Command::new(&groff)
            .args(["-man", "-ww", "-T", "utf8", "-P", "-cbou"])
            .arg(&page)
            .output()
            .expect("groff runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{}: {stderr}",
            page.display()
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SYNOPSIS"), "{}: {text}", page.display());
    }
}

/// The keys the parser accepts at one level, read from its own
/// "unknown field" message, which lists every expected key.
fn parser_keys(spec: &str) -> Vec<String> {
    let dir = tempdir();
    std::fs::write(dir.path().join("s.yaml"), spec).expect("write");
    let out = Run::new(dir.path())
        .args(["--config", "s.yaml", "render"])
        .run()
        .code(2)
        .one_line_error("expected one of ");
    let list = out
        .stderr
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no key list in {}", out.stderr));
    let list = list.split(" [rule").next().unwrap_or(list);
    let mut keys: Vec<String> = list
        .split(", ")
        .map(|k| k.trim().trim_matches('`').to_string())
        .collect();
    keys.sort();
    keys
}

fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
    let mut keys: Vec<String> = schema
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{pointer} missing"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_schema_knows_exactly_the_keys_the_parser_accepts() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["schema"])
        .run()
        .code(0)
        .stderr_is_empty();
    let schema: Value = serde_json::from_str(&out.stdout).expect("the schema is JSON");
    let cases = [
        ("project: p\nenvironments: {}\nbogus: 1\n", "/properties"),
        (
            "project: p\nenvironments:\n  a:\n    bogus: 1\n",
            "/$defs/environment/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: s3\n    transitions:\n      - { bogus: 1 }\n",
            "/$defs/environment/properties/transitions/items/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: s3\n    iam: { bogus: 1 }\n",
            "/$defs/environment/properties/iam/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: local\n    schedule: { bogus: 1 }\n",
            "/$defs/environment/properties/schedule/properties",
        ),
        (
            "project: p\nenvironments: {}\nminio: { bogus: 1 }\n",
            "/$defs/minio/properties",
        ),
        (
            "project: p\nenvironments: {}\nminio: { tls: { bogus: 1 } }\n",
            "/$defs/minio/properties/tls/properties",
        ),
    ];
    for (spec, pointer) in cases {
        assert_eq!(
            parser_keys(spec),
            schema_keys(&schema, pointer),
            "{pointer}"
        );
    }
}
