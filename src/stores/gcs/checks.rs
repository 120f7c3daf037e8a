//! `check`'s verdicts on a bucket's settings, read from its metadata and
//! IAM policy (pure): location, uniform bucket-level access, public access
//! prevention, versioning, soft delete, no public binding, and the
//! lifecycle rule that deletes `{prefix}/` at the retention, compared with
//! the spec. The calls that fetch them are `plugin`'s.

use serde_json::Value;

use super::client::ProjectPolicy;
use crate::check::CheckResult;
use crate::spec::GcsStorage;

/// The narrowest predefined role that reads, writes, lists and deletes
/// objects without touching IAM: the app's binding (`provision`).
pub(crate) const APP_ROLE: &str = "roles/storage.objectUser";

/// What the app needs under `{prefix}/`, and must not hold on the whole
/// bucket: `check` tests them as the app's identity.
pub(crate) const APP_PERMISSIONS: [&str; 3] = [
    "storage.objects.create",
    "storage.objects.get",
    "storage.objects.delete",
];

/// Every verdict on `bucket` (its JSON metadata) and `policy` (its IAM
/// policy, `None` when it could not be read: said so).
pub(crate) fn bucket_checks(
    spec: &GcsStorage,
    retention_days: u32,
    bucket: &Value,
    policy: Option<&Value>,
) -> Vec<CheckResult> {
    let mut checks = vec![
        location(spec, bucket),
        uniform_access(bucket),
        public_access_prevention(bucket),
        versioning(spec, bucket),
        soft_delete(spec, bucket),
    ];
    checks.push(match policy {
        Some(policy) => public_bindings(policy),
        None => CheckResult::skip(
            "gcs.public-bindings",
            "the bucket's IAM policy could not be read",
        ),
    });
    if let Some(account) = &spec.service_account {
        checks.push(match policy {
            Some(policy) => app_binding(spec, account, policy),
            None => CheckResult::skip(
                "gcs.app-binding",
                "the bucket's IAM policy could not be read",
            ),
        });
    }
    checks.push(lifecycle(spec, retention_days, bucket));
    checks
}

fn location(spec: &GcsStorage, bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.location";
    let found = bucket["location"]
        .as_str()
        .unwrap_or("")
        .to_ascii_uppercase();
    match &spec.location {
        Some(want) if *want != found => CheckResult::fail(
            ID,
            format!("the bucket is in {found}, the spec says {want}"),
        )
        .with_hint("a bucket cannot move: fix the spec, or copy the traces to a new bucket"),
        Some(_) => CheckResult::pass(ID, format!("in {found}, as the spec says")),
        None => CheckResult::pass(ID, format!("in {found} (the spec names no location)")),
    }
}

fn uniform_access(bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.uniform-access";
    if bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] == true {
        CheckResult::pass(
            ID,
            "uniform bucket-level access is on: IAM alone grants access",
        )
    } else {
        CheckResult::fail(
            ID,
            "uniform bucket-level access is off: object ACLs can grant access",
        )
        .with_hint("turn on uniform bucket-level access on the bucket")
    }
}

fn public_access_prevention(bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.public-access-prevention";
    match bucket["iamConfiguration"]["publicAccessPrevention"].as_str() {
        Some("enforced") => CheckResult::pass(ID, "public access prevention is enforced"),
        other => CheckResult::fail(
            ID,
            format!(
                "public access prevention is {} (traces could be made public)",
                other.unwrap_or("not set")
            ),
        )
        .with_hint("enforce public access prevention on the bucket"),
    }
}

fn versioning(spec: &GcsStorage, bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.versioning";
    let on = bucket["versioning"]["enabled"] == true;
    let said = if on { "on" } else { "off" };
    if on == spec.versioning {
        CheckResult::pass(ID, format!("versioning is {said}, as the spec says"))
    } else {
        CheckResult::fail(
            ID,
            format!("versioning is {said}, the spec says {}", spec.versioning),
        )
    }
}

fn soft_delete(spec: &GcsStorage, bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.soft-delete";
    let seconds = &bucket["softDeletePolicy"]["retentionDurationSeconds"];
    let seconds = seconds
        .as_u64()
        .or_else(|| seconds.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0);
    let days = seconds / 86_400;
    let found = if days == 0 {
        "off".to_string()
    } else {
        format!("{days} days: purged traces stay recoverable, and billed, that long")
    };
    match spec.soft_delete_days {
        Some(want) if u64::from(want) != days => CheckResult::fail(
            ID,
            format!("soft delete is {found}; the spec says {want} days"),
        ),
        _ => CheckResult::pass(ID, format!("soft delete is {found}")),
    }
}

/// The policy's bindings that grant something to a member `member` picks.
fn bindings_of<'a>(
    policy: &'a Value,
    member: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'a Value> + 'a {
    policy["bindings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |b| {
            b["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(&member)
        })
}

fn public_bindings(policy: &Value) -> CheckResult {
    const ID: &str = "gcs.public-bindings";
    let public: Vec<String> = bindings_of(policy, |m| {
        matches!(m, "allUsers" | "allAuthenticatedUsers")
    })
    .filter_map(|b| b["role"].as_str().map(str::to_string))
    .collect();
    if public.is_empty() {
        CheckResult::pass(ID, "no binding to allUsers or allAuthenticatedUsers")
    } else {
        CheckResult::fail(
            ID,
            format!("the bucket grants {} to the public", public.join(", ")),
        )
        .with_hint("remove the allUsers and allAuthenticatedUsers bindings")
    }
}

/// The app's access on the bucket: bound, and only under the prefix. A
/// binding without a condition on the prefix (or with `objectAdmin` or
/// `admin`, which also change IAM) is too broad. A binding whose condition
/// names the objects only (what `apply` wrote before the listing half) is
/// narrow but cannot list: a failure of its own.
fn app_binding(spec: &GcsStorage, account: &str, policy: &Value) -> CheckResult {
    const ID: &str = "gcs.app-binding";
    let member = format!("serviceAccount:{account}");
    let dir = spec.prefix.dir();
    let condition = prefix_condition(spec);
    let objects_only = objects_condition(spec);
    let mine: Vec<&Value> = bindings_of(policy, |m| m == member).collect();
    let expression = |b: &Value| b["condition"]["expression"].as_str().map(str::to_string);
    let narrow_role = |b: &Value| b["role"] == APP_ROLE;
    let lists = mine
        .iter()
        .any(|b| narrow_role(b) && expression(b).as_ref() == Some(&condition));
    let cannot_list = mine
        .iter()
        .any(|b| narrow_role(b) && expression(b).as_ref() == Some(&objects_only));
    let broad: Vec<String> = mine
        .iter()
        .filter(|b| {
            let under_prefix = [&condition, &objects_only]
                .into_iter()
                .any(|c| expression(b).as_ref() == Some(c));
            !under_prefix
                || matches!(
                    b["role"].as_str(),
                    Some("roles/storage.objectAdmin" | "roles/storage.admin")
                )
        })
        .filter_map(|b| b["role"].as_str().map(str::to_string))
        .collect();
    if !broad.is_empty() {
        CheckResult::fail(
            ID,
            format!(
                "{account} holds {} on the bucket beyond {dir}",
                broad.join(", ")
            ),
        )
        .with_hint(format!(
            "bind roles/storage.objectUser with the condition {condition} instead (`apply` does)"
        ))
    } else if mine.is_empty() {
        CheckResult::fail(ID, format!("{account} has no binding on the bucket"))
            .with_hint("run `apply`: it binds the app on the bucket, under the prefix")
    } else if cannot_list && !lists {
        CheckResult::fail(
            ID,
            format!(
                "{account} may use the objects under {dir} but not list them: its condition names objects only, and Cloud Storage checks a listing on the bucket"
            ),
        )
        .with_hint(format!(
            "run `apply`: it adds the listing half to the condition ({condition})"
        ))
    } else {
        CheckResult::pass(ID, format!("{account} may use {dir} only"))
    }
}

/// The condition that keeps the app's binding under the prefix, in two
/// halves because Cloud Storage checks permissions on two resources.
/// Reading, writing and deleting an object are checked on the object,
/// whose `resource.name` is `projects/_/buckets/B/objects/NAME`: the first
/// half. `storage.objects.list` is checked on the bucket, whose
/// `resource.name` (`projects/_/buckets/B`) no `objects/` prefix matches,
/// so that half alone denies every listing; the second half grants a
/// listing by the request's `prefix`, the API attribute
/// `storage.googleapis.com/objectListPrefix` (Google's IAM Conditions
/// attribute reference, "API attributes":
/// https://cloud.google.com/iam/docs/conditions-attribute-reference).
pub(crate) fn prefix_condition(spec: &GcsStorage) -> String {
    let dir = spec.prefix.dir();
    format!(
        "{} || api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"{dir}\")",
        objects_condition(spec)
    )
}

/// The first half of `prefix_condition` alone: the objects under the
/// prefix, no listing. What the tool's `apply` wrote before the listing
/// half: `check` names it, `plan` updates it.
fn objects_condition(spec: &GcsStorage) -> String {
    format!(
        "resource.name.startsWith(\"projects/_/buckets/{}/objects/{}\")",
        spec.bucket,
        spec.prefix.dir()
    )
}

/// The seed's project-wide binding: any Cloud Storage role the app's
/// account holds on the project reaches every bucket of it. Read from the
/// project's IAM policy; a policy the caller may not read (403) or a
/// server that does not serve it (an emulator) is said, not failed.
pub(crate) fn project_binding(
    spec: &GcsStorage,
    account: &str,
    project: &str,
    answer: &ProjectPolicy,
) -> CheckResult {
    const ID: &str = "gcs.project-binding";
    let policy = match answer {
        ProjectPolicy::Read(policy) => policy,
        ProjectPolicy::Denied(why) => {
            return CheckResult::skip(
                ID,
                format!(
                    "the IAM policy of project {project} could not be read ({why}): a project-wide binding of {account} would go unseen"
                ),
            );
        }
        ProjectPolicy::NotServed(status) => {
            return CheckResult::skip(
                ID,
                format!(
                    "the endpoint does not serve project IAM (HTTP {status}): project {project} not checked"
                ),
            );
        }
    };
    let member = format!("serviceAccount:{account}");
    let roles: Vec<String> = bindings_of(policy, |m| m == member)
        .filter_map(|b| b["role"].as_str())
        .filter(|role| role.starts_with("roles/storage."))
        .map(str::to_string)
        .collect();
    if roles.is_empty() {
        return CheckResult::pass(
            ID,
            format!("{account} holds no Cloud Storage role on project {project}"),
        );
    }
    let bucket = &spec.bucket;
    CheckResult::fail(
        ID,
        format!(
            "{account} holds {} on project {project}: every bucket of the project, not only gs://{bucket}/{}",
            roles.join(", "),
            spec.prefix.dir()
        ),
    )
    // The condition has commas: `^;^` makes `;` gcloud's separator of
    // the flag's keys (`gcloud topic escaping`).
    .with_hint(format!(
        "bind it on the bucket instead (`apply` does): gcloud storage buckets add-iam-policy-binding gs://{bucket} --member={member} --role=roles/storage.objectUser --condition='^;^title=chronotrace-ops traces;expression={}'; then gcloud projects remove-iam-policy-binding {project} --member={member} --role={}",
        prefix_condition(spec),
        roles[0]
    ))
}

/// The app's permissions as its own identity: `inside` on an object under
/// the prefix, `outside` on the whole bucket (`None`: the server did not
/// answer, as the emulators do not). Allowed inside, denied outside.
pub(crate) fn app_permissions(
    spec: &GcsStorage,
    account: &str,
    inside: Option<&[String]>,
    outside: Option<&[String]>,
) -> CheckResult {
    const ID: &str = "gcs.app-permissions";
    let dir = spec.prefix.dir();
    let Some(inside) = inside else {
        return CheckResult::skip(
            ID,
            "the server does not answer testIamPermissions (the emulators enforce no IAM)",
        );
    };
    let missing: Vec<&str> = APP_PERMISSIONS
        .iter()
        .copied()
        .filter(|p| !inside.iter().any(|held| held == p))
        .collect();
    if !missing.is_empty() {
        return CheckResult::fail(
            ID,
            format!("{account} lacks {} under {dir}", missing.join(", ")),
        )
        .with_hint(format!(
            "bind roles/storage.objectUser on the bucket with the condition {} (`apply` does)",
            prefix_condition(spec)
        ));
    }
    match outside {
        Some(held) if !held.is_empty() => CheckResult::fail(
            ID,
            format!(
                "{account} holds {} on the whole bucket, beyond {dir}",
                held.join(", ")
            ),
        )
        .with_hint(format!(
            "keep only the binding with the condition {}; remove unconditioned and project-wide ones",
            prefix_condition(spec)
        )),
        Some(_) => CheckResult::pass(
            ID,
            format!("as {account}: allowed under {dir}, denied on the rest of the bucket"),
        ),
        None => CheckResult::pass(
            ID,
            format!("as {account}: allowed under {dir} (the server did not answer for the whole bucket)"),
        ),
    }
}

/// The age of the `Delete` rules that apply to `{prefix}/`: those with a
/// `matchesPrefix` the prefix starts with, or no prefix condition at all.
fn lifecycle(spec: &GcsStorage, retention_days: u32, bucket: &Value) -> CheckResult {
    const ID: &str = "gcs.lifecycle";
    let dir = spec.prefix.dir();
    let ages: Vec<u64> = bucket["lifecycle"]["rule"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["action"]["type"] == "Delete")
        .filter(|r| match r["condition"]["matchesPrefix"].as_array() {
            Some(prefixes) => prefixes
                .iter()
                .filter_map(Value::as_str)
                .any(|p| dir.starts_with(p)),
            None => true,
        })
        .filter_map(|r| r["condition"]["age"].as_u64())
        .collect();
    let want = u64::from(retention_days);
    match ages.iter().min() {
        None => CheckResult::fail(
            ID,
            format!("no lifecycle rule deletes {dir} (the server kept none, or none was set): only a scheduled `cleanup purge` expires traces"),
        )
        .with_hint(format!(
            "add a lifecycle rule: Delete at age {retention_days} with matchesPrefix [\"{dir}\"]"
        )),
        Some(&age) if age == want => CheckResult::pass(
            ID,
            format!("a lifecycle rule deletes {dir} at {age} days, as the spec says"),
        ),
        Some(&age) if age < want => CheckResult::fail(
            ID,
            format!("a lifecycle rule deletes {dir} at {age} days, before the spec's {retention_days}"),
        ),
        Some(&age) => CheckResult::warn(
            ID,
            format!("the lifecycle rule deletes {dir} at {age} days, the spec says {retention_days}: traces outlive retention unless `cleanup purge` runs"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn spec() -> GcsStorage {
        GcsStorage {
            endpoint: None,
            bucket: "b".into(),
            prefix: crate::spec::Prefix::parse("traces").expect("a prefix"),
            project: None,
            location: Some("EU".into()),
            versioning: false,
            soft_delete_days: None,
            service_account: None,
        }
    }

    fn statuses(bucket: Value, policy: Value) -> Vec<(String, Status)> {
        bucket_checks(&spec(), 15, &bucket, Some(&policy))
            .into_iter()
            .map(|c| (c.id.clone(), c.status))
            .collect()
    }

    #[test]
    fn a_bucket_as_the_spec_wants_passes_every_check() {
        let bucket = serde_json::json!({
            "location": "EU",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": true}, "publicAccessPrevention": "enforced"},
            "versioning": {"enabled": false},
            "softDeletePolicy": {"retentionDurationSeconds": "604800"},
            "lifecycle": {"rule": [
                {"action": {"type": "Delete"}, "condition": {"age": 90, "matchesPrefix": ["logs/"]}},
                {"action": {"type": "Delete"}, "condition": {"age": 15, "matchesPrefix": ["traces/"]}}
            ]}
        });
        let all = statuses(bucket, serde_json::json!({"bindings": []}));
        assert!(all.iter().all(|(_, s)| *s == Status::Pass), "{all:?}");
    }

    #[test]
    fn the_apps_binding_passes_only_when_narrow() {
        let spec = GcsStorage {
            service_account: Some("app-sa@p.iam.gserviceaccount.com".into()),
            ..spec()
        };
        let member = "serviceAccount:app-sa@p.iam.gserviceaccount.com";
        let objects = "resource.name.startsWith(\"projects/_/buckets/b/objects/traces/\")";
        let listing = "api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"traces/\")";
        let narrow = serde_json::json!({"role": "roles/storage.objectUser", "members": [member],
            "condition": {"title": "t", "expression": format!("{objects} || {listing}")}});
        let verdict = |bindings: Value| {
            app_binding(
                &spec,
                "app-sa@p.iam.gserviceaccount.com",
                &serde_json::json!({"bindings": bindings}),
            )
            .status
        };
        assert_eq!(verdict(serde_json::json!([narrow])), Status::Pass);
        assert_eq!(verdict(serde_json::json!([])), Status::Fail);
        let whole_bucket =
            serde_json::json!({"role": "roles/storage.objectAdmin", "members": [member]});
        assert_eq!(
            verdict(serde_json::json!([narrow, whole_bucket])),
            Status::Fail
        );
    }

    /// A condition on `objects/` alone (what `apply` wrote before) denies
    /// every listing, which Cloud Storage checks on the bucket: a failure
    /// that says so, where the binding is not called broad.
    #[test]
    fn the_apps_binding_that_cannot_list_fails_with_its_own_verdict() {
        let spec = GcsStorage {
            service_account: Some("app-sa@p.iam.gserviceaccount.com".into()),
            ..spec()
        };
        let objects_only = serde_json::json!({"role": "roles/storage.objectUser",
            "members": ["serviceAccount:app-sa@p.iam.gserviceaccount.com"],
            "condition": {"title": "t", "expression": "resource.name.startsWith(\"projects/_/buckets/b/objects/traces/\")"}});
        let verdict = app_binding(
            &spec,
            "app-sa@p.iam.gserviceaccount.com",
            &serde_json::json!({"bindings": [objects_only]}),
        );
        assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
        assert!(
            verdict.message.contains("not list them") && !verdict.message.contains("beyond"),
            "{verdict:?}"
        );
        assert!(
            verdict
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("storage.googleapis.com/objectListPrefix")),
            "{verdict:?}"
        );
    }

    #[test]
    fn the_seeds_project_wide_object_admin_fails_with_the_bucket_level_replacement() {
        let account = "app-sa@p.iam.gserviceaccount.com";
        let seed = serde_json::json!({"version": 1, "etag": "BwX", "bindings": [
            {"role": "roles/owner", "members": ["user:ops@example.com"]},
            {"role": "roles/storage.objectAdmin", "members": [format!("serviceAccount:{account}")]}
        ]});
        let verdict = project_binding(&spec(), account, "p", &ProjectPolicy::Read(seed));
        assert_eq!(verdict.status, Status::Fail, "{verdict:?}");
        let hint = verdict.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("gcloud storage buckets add-iam-policy-binding gs://b")
                && hint.contains("--role=roles/storage.objectUser")
                && hint
                    .contains("resource.name.startsWith(\"projects/_/buckets/b/objects/traces/\")")
                && hint.contains("storage.googleapis.com/objectListPrefix")
                && hint.contains("--condition='^;^title=chronotrace-ops traces;expression=")
                && hint.contains("remove-iam-policy-binding p")
                && hint.contains("--role=roles/storage.objectAdmin"),
            "{hint}"
        );
        let clean = serde_json::json!({"bindings": [{"role": "roles/storage.objectAdmin", "members": ["serviceAccount:other@p.iam.gserviceaccount.com"]}]});
        assert_eq!(
            project_binding(&spec(), account, "p", &ProjectPolicy::Read(clean)).status,
            Status::Pass
        );
        for unread in [
            ProjectPolicy::Denied("no".into()),
            ProjectPolicy::NotServed(404),
        ] {
            assert_eq!(
                project_binding(&spec(), account, "p", &unread).status,
                Status::Skip,
                "a policy the caller may not read is a note"
            );
        }
    }

    #[test]
    fn the_app_is_allowed_inside_the_prefix_and_denied_on_the_bucket() {
        let all: Vec<String> = APP_PERMISSIONS.iter().map(|p| p.to_string()).collect();
        let none: Vec<String> = Vec::new();
        let verdict = |inside: Option<&[String]>, outside: Option<&[String]>| {
            app_permissions(&spec(), "a@p.iam.gserviceaccount.com", inside, outside).status
        };
        assert_eq!(verdict(Some(&all), Some(&none)), Status::Pass);
        assert_eq!(
            verdict(Some(&all), Some(&all)),
            Status::Fail,
            "the whole bucket"
        );
        assert_eq!(
            verdict(Some(&all[..2]), Some(&none)),
            Status::Fail,
            "no delete"
        );
        assert_eq!(verdict(None, None), Status::Skip, "an emulator");
    }

    #[test]
    fn the_seeds_bucket_fails_where_it_should() {
        // Defaults of a bucket nobody hardened, readable by everyone, whose
        // lifecycle PATCH the server dropped.
        let bucket = serde_json::json!({"location": "US-CENTRAL1"});
        let policy = serde_json::json!({"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers"]}]});
        let failed: Vec<String> = statuses(bucket, policy)
            .into_iter()
            .filter(|(_, s)| *s == Status::Fail)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            failed,
            [
                "gcs.location",
                "gcs.uniform-access",
                "gcs.public-access-prevention",
                "gcs.public-bindings",
                "gcs.lifecycle"
            ]
        );
    }
}
