//! Invalid specs: each refused with exit 2, one line naming the file, the
//! line and the rule, and nothing written.

use crate::support::{Run, tempdir};

/// (what, spec text, line the error must name, rule id)
const CASES: &[(&str, &str, u64, &str)] = &[
    (
        "the seed's lifecycle example (STANDARD_IA at 7 days)",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    retention_days: 90
    transitions:
      - { days: 7, storage_class: STANDARD_IA }
      - { days: 30, storage_class: GLACIER }
",
        9,
        "lifecycle.ia-minimum-days",
    ),
    (
        "transitions out of waterfall order",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    retention_days: 400
    transitions:
      - { days: 30, storage_class: GLACIER }
      - { days: 60, storage_class: STANDARD_IA }
",
        10,
        "lifecycle.waterfall",
    ),
    (
        "expiration before a transition",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    retention_days: 20
    transitions:
      - { days: 30, storage_class: GLACIER_IR }
",
        7,
        "lifecycle.expiration-after-transitions",
    ),
    (
        "an unknown storage class",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    transitions:
      - { days: 30, storage_class: COLD }
",
        8,
        "lifecycle.storage-class",
    ),
    (
        "noncurrent days without versioning",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    noncurrent_days: 7
",
        7,
        "lifecycle.noncurrent-needs-versioning",
    ),
    (
        "retention of zero days",
        "project: p
environments:
  local:
    storage: local
    retention_days: 0
",
        5,
        "retention.minimum",
    ),
    (
        "a bucket name with capitals",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: ChronoTrace
",
        6,
        "bucket.name",
    ),
    (
        "a bucket name like an IP address",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: 10.0.0.1
",
        6,
        "bucket.name",
    ),
    (
        "an empty prefix",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    prefix: /
",
        7,
        "prefix.empty",
    ),
    (
        "a prefix with ..",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    prefix: a/../b
",
        7,
        "prefix.format",
    ),
    (
        "an endpoint that is not a URL",
        "project: p
environments:
  staging:
    storage: s3
    provider: minio
    endpoint: minio.example.com
    bucket: chronotrace-staging
",
        6,
        "endpoint.url",
    ),
    (
        "credentials in the endpoint",
        "project: p
environments:
  staging:
    storage: s3
    provider: minio
    endpoint: https://admin:hunter22@minio.example.com
    bucket: chronotrace-staging
",
        6,
        "endpoint.credentials",
    ),
    (
        "MinIO without an endpoint",
        "project: p
environments:
  staging:
    storage: s3
    provider: minio
    bucket: chronotrace-staging
",
        4,
        "endpoint.required",
    ),
    (
        "an IAM role name with a space",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    iam:
      policy: ChronoTraceS3Policy
      role: ChronoTrace Role
",
        9,
        "iam.name",
    ),
    (
        "an IAM policy name over 64 characters",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    iam:
      policy: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      role: ChronoTraceRole
",
        8,
        "iam.name",
    ),
    (
        "a trust policy for everyone",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    iam:
      policy: ChronoTraceS3Policy
      role: ChronoTraceRole
      trusted_service: '*'
",
        10,
        "iam.trusted-service",
    ),
    (
        "distributed MinIO with fewer than 4 drives",
        "project: p
environments:
  local:
    storage: local
minio:
  mode: distributed
  nodes: 3
  drives_per_node: 1
  domain: minio.example.com
  tls: { certificate: a.crt, key: a.key }
",
        7,
        "minio.erasure-set",
    ),
    (
        "an unpinned MinIO image",
        "project: p
environments:
  local:
    storage: local
minio:
  domain: minio.example.com
  image: minio/minio:latest
  tls: { certificate: a.crt, key: a.key }
",
        7,
        "minio.image-pinned",
    ),
    (
        "versioning on a store without versioning",
        "project: p
environments:
  garage:
    storage: s3
    provider: s3-compatible
    endpoint: http://127.0.0.1:3900
    bucket: traces
    versioning: true
",
        8,
        "provider.versioning",
    ),
    (
        "AWS storage classes on MinIO",
        "project: p
environments:
  staging:
    storage: s3
    provider: minio
    endpoint: https://minio.example.com
    bucket: chronotrace-staging
    retention_days: 90
    transitions:
      - { days: 30, storage_class: STANDARD_IA }
",
        10,
        "provider.transitions",
    ),
    (
        "an app identity on a generic S3-compatible store",
        "project: p
environments:
  staging:
    storage: s3
    provider: s3-compatible
    endpoint: https://s3.example.com
    bucket: chronotrace-staging
    iam:
      policy: P
      role: R
",
        9,
        "provider.iam",
    ),
    (
        "an IAM role on MinIO (its app identity is a user)",
        "project: p
environments:
  staging:
    storage: s3
    provider: minio
    endpoint: https://minio.example.com
    bucket: chronotrace-staging
    iam:
      policy: P
      role: R
",
        10,
        "spec.key-not-applicable",
    ),
    (
        "an s3 key on a local environment",
        "project: p
environments:
  local:
    storage: local
    bucket: chronotrace
",
        5,
        "spec.key-not-applicable",
    ),
    (
        "an unknown provider",
        "project: p
environments:
  staging:
    storage: s3
    provider: gcs
    bucket: chronotrace-staging
",
        5,
        "spec.provider",
    ),
    (
        "an unknown key",
        "project: p
environments:
  local:
    storage: local
    retention: 15
",
        5,
        "spec.syntax",
    ),
    (
        "a wrong type",
        "project: p
environments:
  local:
    storage: local
    retention_days: fifteen
",
        5,
        "spec.syntax",
    ),
    (
        "broken YAML",
        "project: p
environments:
  local:
    storage: local
   path: [unclosed
",
        5,
        "spec.syntax",
    ),
    (
        "an unknown top-level key",
        "project: p
environments:
  local:
    storage: local
buckets: []
",
        5,
        "spec.syntax",
    ),
    (
        "a mount of a filesystem type the tool does not know (issue 26)",
        "project: p
environments:
  production:
    storage: local
    path: /mnt/chronotrace
    mount: { kind: ext4, source: /dev/sdb1 }
",
        6,
        "mount.kind",
    ),
    (
        "an NFS mount whose source is no server:/export (issue 26)",
        "project: p
environments:
  production:
    storage: local
    path: /mnt/chronotrace
    mount:
      kind: nfs4
      source: nfs-server/exports/chronotrace
",
        8,
        "mount.source",
    ),
    (
        "a mount without a path to mount it on (issue 26)",
        "project: p
environments:
  production:
    storage: local
    mount: { kind: nfs4, source: \"nfs-server:/exports/chronotrace\" }
",
        5,
        "mount.path",
    ),
    (
        "a mount point that is relative (issue 26)",
        "project: p
environments:
  production:
    storage: local
    path: storage/app
    mount: { kind: nfs4, source: \"nfs-server:/exports/chronotrace\" }
",
        5,
        "mount.path",
    ),
    (
        "a mount on a bucket (issue 26)",
        "project: p
environments:
  production:
    storage: s3
    region: us-east-1
    bucket: chronotrace-production
    mount: { kind: nfs4, source: \"nfs-server:/exports/chronotrace\" }
",
        7,
        "spec.key-not-applicable",
    ),
];

/// `render --out deploy` with `spec` as `bad.yaml`, in a fresh directory.
fn render_spec(spec: &str) -> (tempfile::TempDir, crate::support::Outcome) {
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.yaml"), spec).expect("write spec");
    let out = Run::new(dir.path())
        .args(["--config", "bad.yaml", "render", "--out", "deploy"])
        .run();
    (dir, out)
}

#[test]
fn every_invalid_spec_is_refused_with_its_line_and_rule() {
    for (what, spec, line, rule) in CASES {
        let (dir, out) = render_spec(spec);
        assert_eq!(out.code, 2, "{what}: exit code\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{what}: stdout\n{}", out.stdout);
        let error = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error: bad.yaml:"))
            .unwrap_or_else(|| panic!("{what}: no located error in\n{}", out.stderr));
        assert!(
            error.starts_with(&format!("error: bad.yaml:{line}:")),
            "{what}: expected line {line} in\n{error}"
        );
        assert!(
            error.contains(&format!("[rule: {rule}]")),
            "{what}: expected rule {rule} in\n{error}"
        );
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
        assert!(
            !dir.path().join("deploy").exists(),
            "{what}: something was written"
        );
    }
}

#[test]
fn the_seed_example_comes_with_a_valid_alternative() {
    let (_, spec, _, _) = CASES[0];
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.yaml"), spec).expect("write spec");
    let out = Run::new(dir.path())
        .args(["--config", "bad.yaml", "render"])
        .run()
        .code(2)
        .one_line_error("STANDARD_IA needs at least 30 days, got 7");
    assert!(
        out.stderr
            .contains("STANDARD_IA needs at least 30 days, got 7"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("try STANDARD_IA 30 → GLACIER 60 → expire >= 150"),
        "{}",
        out.stderr
    );
}

#[test]
fn all_problems_are_reported_at_once_one_line_each() {
    let spec = "project: p
environments:
  a:
    storage: s3
    region: us-east-1
    bucket: Bad
  b:
    storage: local
    retention_days: -1
";
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.yaml"), spec).expect("write spec");
    let out = Run::new(dir.path())
        .args(["--config", "bad.yaml", "render"])
        .run()
        .code(2)
        .stdout_is_empty();
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 2, "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 2, "{}", out.stderr);
    assert!(errors[0].starts_with("error: bad.yaml:6:"), "{}", errors[0]);
    assert!(errors[1].starts_with("error: bad.yaml:9:"), "{}", errors[1]);
}

#[test]
fn a_secret_in_the_endpoint_is_never_echoed() {
    let (_, spec, _, _) = CASES
        .iter()
        .find(|c| c.3 == "endpoint.credentials")
        .expect("case exists");
    let dir = tempdir();
    std::fs::write(dir.path().join("bad.yaml"), spec).expect("write spec");
    let out = Run::new(dir.path())
        .args(["--config", "bad.yaml", "render"])
        .run()
        .code(2)
        .one_line_error("[rule: endpoint.credentials]");
    assert!(!out.stderr.contains("hunter22"), "{}", out.stderr);
}

/// (what, spec text, line, what the message must say) for every kind of
/// error the YAML parser and serde can raise on a spec (issue 11): each
/// one line in the user's words, never the parser's internals.
const PARSE_CASES: &[(&str, &str, u64, &str)] = &[
    (
        "a key written twice",
        "project: p\nenvironments:\n  local:\n    storage: local\n    storage: s3\n",
        5,
        "`storage` is written twice in the same block: keep one",
    ),
    (
        "an environment written twice",
        "project: p\nenvironments:\n  local:\n    storage: local\n  local:\n    storage: local\n",
        5,
        "`local` is written twice in the same block",
    ),
    (
        "text where a number goes",
        "project: p\nenvironments:\n  local:\n    storage: local\n    retention_days: fifteen\n",
        5,
        "expected a whole number",
    ),
    (
        "a word where true or false goes",
        "project: p\nenvironments:\n  s:\n    storage: s3\n    versioning: maybe\n",
        5,
        "true or false",
    ),
    (
        "a list where a block goes",
        "project: p\nenvironments: [a, b]\n",
        2,
        "expected a block of `key: value` lines here",
    ),
    (
        "a misspelt key",
        "project: p\nenvironments:\n  local:\n    storage: local\n    retention: 15\n",
        5,
        "unknown key `retention` (did you mean `retention_days`?): expected one of",
    ),
    (
        "a missing key",
        "project: p\nenvironments:\n  local:\n    path: disk\n",
        4,
        "`storage` is missing here",
    ),
    (
        "an empty value",
        "project:\nenvironments:\n  local:\n    storage: local\n",
        1,
        "empty",
    ),
    (
        "a list where text goes",
        "project: p\nenvironments:\n  local:\n    storage: local\n    path: [unclosed\n",
        5,
        "expected a single value (text), not a list or a block here",
    ),
    (
        "a tab in the indentation",
        "project: p\nenvironments:\n\tl: 1\n",
        3,
        "this is not valid YAML: tabs disallowed",
    ),
    (
        "two documents",
        "project: p\nenvironments:\n  local:\n    storage: local\n---\nproject: q\n",
        6,
        "several YAML documents",
    ),
    (
        "an alias to nothing",
        "project: *name\nenvironments:\n  local:\n    storage: local\n",
        1,
        "refers to no anchor",
    ),
];

/// Words that belong to the parser's implementation, not to the spec.
const INTERNALS: &[&str] = &[
    "DuplicateKeyPolicy",
    "Options",
    "i64",
    "u32",
    "struct ",
    "Raw",
    "Spanned",
    "serde",
    "variant",
    "field",
];

#[test]
fn every_parse_error_speaks_the_users_language() {
    for (what, spec, line, says) in PARSE_CASES {
        let (dir, out) = render_spec(spec);
        assert_eq!(out.code, 2, "{what}: exit code\n{}", out.stderr);
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{what}: one line\n{}", out.stderr);
        let error = errors[0];
        assert!(
            error.starts_with(&format!("error: bad.yaml:{line}:")),
            "{what}: expected line {line} in\n{error}"
        );
        assert!(error.ends_with("[rule: spec.syntax]"), "{what}: {error}");
        assert!(
            error.contains(says),
            "{what}: expected {says:?} in\n{error}"
        );
        for internal in INTERNALS {
            assert!(
                !error.contains(internal),
                "{what}: {internal:?} in\n{error}"
            );
        }
        assert!(!dir.path().join("deploy").exists(), "{what}: written");
    }
}
