//! `init`: the starter spec, and never overwriting without --force.

use crate::support::{Run, tempdir};

#[test]
fn init_writes_a_valid_commented_spec() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["init"])
        .run()
        .code(0)
        .stderr_is_empty();
    assert!(
        out.stdout.contains("wrote chronotrace-ops.yaml"),
        "{}",
        out.stdout
    );
    let spec =
        std::fs::read_to_string(dir.path().join("chronotrace-ops.yaml")).expect("spec written");
    for env in [
        "local:",
        "staging:",
        "production:",
        "provider: minio",
        "provider: aws",
    ] {
        assert!(spec.contains(env), "{env} missing from\n{spec}");
    }
    assert!(
        spec.lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 3
    );
    // The written spec is the one commands then use, without the embedded-default note.
    let render = Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0)
        .stderr_is_empty();
    assert!(
        !render.stderr.contains("embedded starter spec"),
        "{}",
        render.stderr
    );
}

#[test]
fn a_second_init_refuses_and_leaves_the_spec_untouched() {
    let dir = tempdir();
    let path = dir.path().join("chronotrace-ops.yaml");
    std::fs::write(&path, "project: mine\n").expect("write");
    let out = Run::new(dir.path())
        .args(["init"])
        .run()
        .code(2)
        .one_line_error("already exists");
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "project: mine\n"
    );

    Run::new(dir.path())
        .args(["init", "--force"])
        .run()
        .code(0)
        .stderr_is_empty()
        .stdout_contains("wrote chronotrace-ops.yaml");
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .contains("environments:")
    );
}

#[test]
fn init_honours_config_and_json_output() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["--config", "conf/ops.yaml", "--output", "json", "init"])
        .run()
        .code(0)
        .stderr_is_empty();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json on stdout");
    assert_eq!(json["path"], "conf/ops.yaml");
    assert!(dir.path().join("conf/ops.yaml").is_file());
}
