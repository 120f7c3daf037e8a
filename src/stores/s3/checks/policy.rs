//! Reading a bucket policy document and ACL (pure): what lets anyone in
//! (the `mc anonymous set public` mistake) and whether the TLS-only deny
//! (Security Hub S3.5) is there.

use aws_sdk_s3::types::{Grant, Type};
use serde_json::Value;

/// What a bucket policy says about anonymous access and TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyFacts {
    /// Allow statements for everyone without conditions: `Sid: actions`.
    pub public: Vec<String>,
    /// Allow statements for everyone under some condition (e.g. an IP range).
    pub conditional: Vec<String>,
    /// A Deny of `s3:*` on the bucket and its objects when `aws:SecureTransport` is false.
    pub tls_only: bool,
}

/// Analyses a policy document of `bucket`; `Err` when it is not JSON.
pub fn analyse(document: &str, bucket: &str) -> Result<PolicyFacts, String> {
    let doc: Value =
        serde_json::from_str(document).map_err(|e| format!("bucket policy is not JSON: {e}"))?;
    let mut facts = PolicyFacts::default();
    for (index, statement) in list(doc.get("Statement")).into_iter().enumerate() {
        let label = statement
            .get("Sid")
            .and_then(Value::as_str)
            .map_or_else(|| format!("statement {}", index + 1), str::to_string);
        let effect = statement
            .get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !for_everyone(statement.get("Principal")) {
            continue;
        }
        if effect == "Allow" {
            let actions = strings(statement.get("Action")).join(",");
            let entry = format!("{label}: {actions}");
            if statement.get("Condition").is_some() {
                facts.conditional.push(entry);
            } else {
                facts.public.push(entry);
            }
        } else if effect == "Deny" && is_tls_deny(statement, bucket) {
            facts.tls_only = true;
        }
    }
    Ok(facts)
}

/// Grants to everyone (AllUsers) or to any AWS account (AuthenticatedUsers).
pub fn public_grants(grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .filter_map(|g| {
            let grantee = g.grantee()?;
            let uri = grantee.uri().filter(|_| *grantee.r#type() == Type::Group)?;
            let group = uri.rsplit('/').next().unwrap_or(uri);
            matches!(group, "AllUsers" | "AuthenticatedUsers")
                .then(|| format!("{group}: {}", g.permission().map_or("?", |p| p.as_str())))
        })
        .collect()
}

/// A value that may be one item or a list of them.
fn list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item) => vec![item],
        None => Vec::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    list(value).into_iter().filter_map(Value::as_str).collect()
}

/// `"*"`, `{"AWS": "*"}` or `{"AWS": ["*"]}`.
fn for_everyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(map)) => map
            .get("AWS")
            .is_some_and(|aws| strings(Some(aws)).contains(&"*")),
        _ => false,
    }
}

fn is_tls_deny(statement: &Value, bucket: &str) -> bool {
    let actions = strings(statement.get("Action"));
    let all_actions = actions.iter().any(|a| *a == "s3:*" || *a == "*");
    let resources = strings(statement.get("Resource"));
    let covers = |suffix: &str| resources.iter().any(|r| *r == "*" || r.ends_with(suffix));
    let bucket_arn = format!(":s3:::{bucket}");
    let objects_arn = format!(":s3:::{bucket}/*");
    all_actions && covers(&bucket_arn) && covers(&objects_arn) && secure_transport_false(statement)
}

/// `"Condition": {"Bool": {"aws:SecureTransport": "false"}}` in any spelling.
fn secure_transport_false(statement: &Value) -> bool {
    let Some(bool_block) = statement.get("Condition").and_then(|c| c.get("Bool")) else {
        return false;
    };
    list(bool_block.get("aws:SecureTransport"))
        .into_iter()
        .any(|v| v == "false" || *v == Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TLS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
    // What `mc anonymous set public` writes.
    const MC_PUBLIC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::b"]},{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject","s3:PutObject"],"Resource":["arn:aws:s3:::b/*"]}]}"#;

    #[test]
    fn policies_are_read() {
        let facts = analyse(TLS_ONLY, "b").expect("json");
        assert!(facts.tls_only);
        assert!(facts.public.is_empty());

        let facts = analyse(MC_PUBLIC, "b").expect("json");
        assert!(!facts.tls_only);
        assert_eq!(facts.public.len(), 2, "{facts:?}");
        assert!(facts.public[1].contains("s3:PutObject"));
    }

    #[test]
    fn tls_deny_needs_bucket_objects_and_the_condition() {
        let cases = [
            (TLS_ONLY.replace("\"false\"", "false"), true),
            (
                TLS_ONLY.replace("\"arn:aws:s3:::b/*\"", "\"arn:aws:s3:::b\""),
                false,
            ),
            (TLS_ONLY.replace("aws:SecureTransport", "aws:Other"), false),
            (TLS_ONLY.replace("\"s3:*\"", "\"s3:GetObject\""), false),
            (
                TLS_ONLY.replace("\"b\"", "\"x\"").replace("b/*", "x/*"),
                false,
            ),
        ];
        for (doc, tls_only) in cases {
            assert_eq!(
                analyse(&doc, "b").expect("json").tls_only,
                tls_only,
                "{doc}"
            );
        }
    }

    #[test]
    fn conditional_anonymous_access_is_kept_apart() {
        let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#;
        let facts = analyse(doc, "b").expect("json");
        assert_eq!(facts.conditional.len(), 1);
        assert!(facts.public.is_empty());
        assert!(analyse("not json", "b").is_err());
    }

    #[test]
    fn public_acl_grants_are_found() {
        use aws_sdk_s3::types::{Grantee, Permission};
        let grant = |uri: &str| {
            Grant::builder()
                .grantee(
                    Grantee::builder()
                        .r#type(Type::Group)
                        .uri(uri)
                        .build()
                        .expect("grantee"),
                )
                .permission(Permission::Read)
                .build()
        };
        let owner = Grant::builder()
            .grantee(
                Grantee::builder()
                    .r#type(Type::CanonicalUser)
                    .id("me")
                    .build()
                    .expect("grantee"),
            )
            .permission(Permission::FullControl)
            .build();
        let grants = [
            owner,
            grant("http://acs.amazonaws.com/groups/global/AllUsers"),
            grant("http://acs.amazonaws.com/groups/s3/LogDelivery"),
        ];
        assert_eq!(public_grants(&grants), vec!["AllUsers: READ".to_string()]);
    }
}
