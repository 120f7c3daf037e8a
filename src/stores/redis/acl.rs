//! The app's ACL user (`ACL SETUSER`): its keys limited to the trace
//! prefix and the index, its commands to those the seed's
//! `RedisTraceStorage` sends (and Laravel's connection: PING, SELECT).
//! The password is set only when the user is created; an update rewrites
//! the keys and commands and keeps the password the app uses.

use serde_json::{Value, json};

use super::Redis;
use crate::error::Result;
use crate::secret::Secret;
use crate::spec::RedisStorage;

/// What the store sends: `stores` (SET, EXPIRE, ZADD), `retrieve` (GET),
/// `list` (ZREVRANGE, ZSCORE, STRLEN), `purgeOldTraces` (ZRANGEBYSCORE,
/// DEL, ZREM), plus UNLINK, EXISTS and TTL, and the connection's own.
pub(crate) const COMMANDS: [&str; 16] = [
    "ping",
    "select",
    "get",
    "set",
    "expire",
    "exists",
    "ttl",
    "strlen",
    "del",
    "unlink",
    "zadd",
    "zrem",
    "zscore",
    "zrange",
    "zrevrange",
    "zrangebyscore",
];

/// What a cluster client sends besides: the slot map it routes by
/// (`CLUSTER SLOTS`, or `CLUSTER SHARDS`/`NODES` in newer clients), and
/// `READONLY`/`READWRITE` (reads from replicas: the redis crate's client
/// sends it to every node it connects to; the key patterns still apply).
pub(crate) const CLUSTER_COMMANDS: [&str; 5] = [
    "cluster|slots",
    "cluster|shards",
    "cluster|nodes",
    "readonly",
    "readwrite",
];

/// The commands the app's user gets on `spec`'s server.
fn commands(spec: &RedisStorage) -> Vec<&'static str> {
    let extra: &[&str] = if spec.cluster { &CLUSTER_COMMANDS } else { &[] };
    COMMANDS.iter().chain(extra).copied().collect()
}

/// The app's user name for `env`.
pub(crate) fn user_name(env: &str) -> String {
    format!("chronotrace-{env}")
}

/// The key patterns the user gets: the traces and the index.
pub(crate) fn key_patterns(spec: &RedisStorage) -> Vec<String> {
    vec![
        format!("~{}*", spec.key_prefix),
        format!("~{}", spec.index_key),
    ]
}

/// The user as the plan shows it (never a password).
pub(crate) fn desired(spec: &RedisStorage, env: &str) -> Value {
    json!({
        "user": user_name(env),
        "keys": key_patterns(spec).join(" "),
        "commands": commands_rule(spec),
    })
}

fn commands_rule(spec: &RedisStorage) -> String {
    let allowed: Vec<String> = commands(spec).iter().map(|c| format!("+{c}")).collect();
    format!("-@all {}", allowed.join(" "))
}

/// The app's user as the connection sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen {
    Absent,
    /// In the shape of `desired`.
    Present(Value),
    /// The connection may not manage ACL users: what it lacks and how to
    /// get it (for a plan note, never a change `apply` would be refused).
    Refused(String),
}

/// The user as it is, or why the connection may not manage it. `ACL
/// GETUSER` is refused (`NOPERM`) to a user without `@admin`; where the
/// server has `ACL DRYRUN` (Redis 7), it also says whether `ACL SETUSER`
/// itself is allowed, for users allowed one and not the other.
pub(crate) async fn observe(redis: &Redis, name: &str) -> Result<Seen> {
    let cmd = redis::cmd("ACL").arg("GETUSER").arg(name).to_owned();
    let Some(answer) = redis.permitted::<redis::Value>("ACL GETUSER", &cmd).await? else {
        let whoami = redis::cmd("ACL").arg("WHOAMI").to_owned();
        let who = redis.permitted::<String>("ACL WHOAMI", &whoami).await?;
        return Ok(Seen::Refused(refused(who.as_deref(), "ACL GETUSER")));
    };
    if let Some(denied) = setuser_denied(redis, name).await? {
        return Ok(Seen::Refused(denied));
    }
    if matches!(answer, redis::Value::Nil) {
        return Ok(Seen::Absent);
    }
    let keys = super::checks::acl_field(&answer, "keys");
    let commands = super::checks::acl_field(&answer, "commands");
    Ok(Seen::Present(
        json!({ "user": name, "keys": keys, "commands": commands }),
    ))
}

/// Whether the connection's user is refused `ACL SETUSER name`:
/// `Some(why)` when it is. `ACL DRYRUN` (Redis 7) says exactly; where it
/// is missing (Redis 6) or refused, the user's own rules (`ACL GETUSER`,
/// allowed here) are read instead (`rules_allow_setuser`).
async fn setuser_denied(redis: &Redis, name: &str) -> Result<Option<String>> {
    let whoami = redis::cmd("ACL").arg("WHOAMI").to_owned();
    let Some(who) = redis.permitted::<String>("ACL WHOAMI", &whoami).await? else {
        return Ok(None);
    };
    let dryrun = redis::cmd("ACL")
        .arg("DRYRUN")
        .arg(&who)
        .arg("ACL")
        .arg("SETUSER")
        .arg(name)
        .to_owned();
    let allowed = match redis.attempt::<redis::Value>("ACL DRYRUN", &dryrun).await? {
        Ok(redis::Value::Okay) => true,
        Ok(redis::Value::SimpleString(s)) if s == "OK" => true,
        // The reason, as a string: "This user has no permissions to run...".
        Ok(_) => false,
        Err(_) => {
            let own = redis::cmd("ACL").arg("GETUSER").arg(&who).to_owned();
            match redis.permitted::<redis::Value>("ACL GETUSER", &own).await? {
                Some(own) => rules_allow_setuser(&super::checks::acl_field(&own, "commands")),
                None => true,
            }
        }
    };
    Ok((!allowed).then(|| refused(Some(&who), "ACL SETUSER")))
}

/// Whether a user's command rules (as `ACL GETUSER` lists them, applied
/// left to right) allow `ACL SETUSER`: its command `acl`, subcommand
/// `acl|setuser`, categories @admin, @slow and @dangerous. Other
/// selectors are not read: a user allowed only through one is taken as
/// refused, and plan notes it rather than apply failing.
pub(crate) fn rules_allow_setuser(commands: &str) -> bool {
    let mut allowed = false;
    for rule in commands.split_whitespace() {
        let rule = rule.to_ascii_lowercase();
        let (grant, name) = match rule.split_at_checked(1) {
            Some(("+", name)) => (true, name),
            Some(("-", name)) => (false, name),
            _ => match rule.as_str() {
                "allcommands" => (true, "@all"),
                "nocommands" => (false, "@all"),
                _ => continue,
            },
        };
        if matches!(
            name,
            "@all" | "@admin" | "@slow" | "@dangerous" | "acl" | "acl|setuser"
        ) {
            allowed = grant;
        }
    }
    allowed
}

/// Why a connection refused `command` cannot make the app's user, and how
/// to get it (`who`: its user, when the server would say).
fn refused(who: Option<&str>, command: &str) -> String {
    let who = who.map_or_else(
        || "the connection's user".to_string(),
        |w| format!("the connection's user {w}"),
    );
    format!(
        "{who} may not run {command} (it needs @admin, or +acl), so it cannot make the app's ACL user; to have it made, run apply connected as an ACL admin (its name in the url, its password in the spec's password_env), or write `app_user: false` in the spec to stop planning it"
    )
}

/// Whether an observed user matches the desired one: the same key
/// patterns and the same commands, in any order.
pub(crate) fn matches(observed: &Value, desired: &Value) -> bool {
    let words = |v: &Value, field: &str| {
        let mut w: Vec<String> = v[field]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        w.sort();
        w
    };
    words(observed, "keys") == words(desired, "keys")
        && words(observed, "commands") == words(desired, "commands")
}

/// The user's password as a node keeps it (`passwords`: SHA-256 hashes
/// of `ACL GETUSER`), to give the same password to a node that lacks the
/// user (`#hash`), the password itself being known to no one but the app.
pub(crate) async fn password_hashes(redis: &Redis, name: &str) -> Result<Vec<String>> {
    let cmd = redis::cmd("ACL").arg("GETUSER").arg(name).to_owned();
    let answer: redis::Value = redis.query("ACL GETUSER", &cmd).await?;
    let pairs: Vec<(redis::Value, redis::Value)> = match answer {
        redis::Value::Array(items) => items
            .chunks(2)
            .filter_map(|c| Some((c.first()?.clone(), c.get(1)?.clone())))
            .collect(),
        redis::Value::Map(items) => items,
        _ => Vec::new(),
    };
    Ok(pairs
        .into_iter()
        .find(|(k, _)| redis::from_redis_value_ref::<String>(k).is_ok_and(|k| k == "passwords"))
        .and_then(|(_, v)| redis::from_redis_value::<Vec<String>>(v).ok())
        .unwrap_or_default())
}

/// How `set_user` sets the password: kept as it is (an update), a new one
/// (creation), or the hashes another node keeps (the user copied to a
/// node of a cluster that lacks it).
pub(crate) enum Password<'a> {
    Kept,
    New(&'a Secret),
    Hashes(&'a [String]),
}

/// `ACL SETUSER` with the rules and the password as `password` says.
pub(crate) async fn set_user(
    redis: &Redis,
    spec: &RedisStorage,
    env: &str,
    password: Password<'_>,
) -> Result<()> {
    let mut cmd = redis::cmd("ACL");
    cmd.arg("SETUSER")
        .arg(user_name(env))
        .arg("on")
        .arg("resetkeys")
        .arg("resetchannels")
        .arg("-@all");
    for pattern in key_patterns(spec) {
        cmd.arg(pattern);
    }
    for command in commands(spec) {
        cmd.arg(format!("+{command}"));
    }
    match password {
        Password::Kept => {}
        Password::New(password) => {
            cmd.arg("resetpass").arg(format!(">{}", password.expose()));
        }
        Password::Hashes(hashes) => {
            cmd.arg("resetpass");
            for hash in hashes {
                cmd.arg(format!("#{hash}"));
            }
        }
    }
    redis.query::<()>("ACL SETUSER", &cmd).await
}

/// `ACL DELUSER` of the app's user (only that one).
pub(crate) async fn delete_user(redis: &Redis, env: &str) -> Result<bool> {
    let cmd = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(user_name(env))
        .to_owned();
    Ok(redis.query::<i64>("ACL DELUSER", &cmd).await? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RedisStorage {
        crate::stores::redis::seed_layout()
    }

    #[test]
    fn the_user_reaches_the_prefix_and_the_index_only() {
        let want = desired(&spec(), "prod");
        assert_eq!(want["user"], "chronotrace-prod");
        assert_eq!(want["keys"], "~chronotrace:traces:* ~chronotrace:index");
        assert!(
            want["commands"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-@all +ping")
        );
        assert!(!want.to_string().contains('>'), "no password in the plan");
    }

    #[test]
    fn setuser_is_allowed_by_the_last_rule_that_names_it() {
        assert!(rules_allow_setuser("+@all"));
        assert!(!rules_allow_setuser("+@all -@admin"));
        assert!(!rules_allow_setuser(
            "+@all -@admin +acl|getuser +acl|whoami"
        ));
        assert!(rules_allow_setuser("-@all +acl"));
        assert!(rules_allow_setuser("+@all -@admin +acl|setuser"));
        assert!(!rules_allow_setuser("+@all -acl|setuser"));
        assert!(!rules_allow_setuser("-@all +get +set"));
        assert!(rules_allow_setuser("allcommands"));
    }

    #[test]
    fn a_user_matches_whatever_the_order_of_its_rules() {
        let want = desired(&spec(), "prod");
        let mut seen = want.clone();
        let mut commands: Vec<&str> = COMMANDS.to_vec();
        commands.reverse();
        seen["commands"] = json!(format!("-@all +{}", commands.join(" +")));
        seen["keys"] = json!("~chronotrace:index ~chronotrace:traces:*");
        assert!(matches(&seen, &want));
        seen["keys"] = json!("~*");
        assert!(!matches(&seen, &want));
    }
}
