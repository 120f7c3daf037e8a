//! A `redis` environment (the seed's `RedisTraceStorage`): the server's
//! URL (never with a password), the key prefix and index key the store
//! writes, and the environment variable holding the password. Keys of
//! the other stores are refused here, and the Redis keys on the others.

use serde_saphyr::{Location, Spanned};

use super::{Checker, s3_keys};
use crate::spec::RedisStorage;
use crate::spec::raw::RawEnvironment;

/// The seed's trace key prefix (`RedisTraceStorage::$prefix`).
pub(crate) const DEFAULT_KEY_PREFIX: &str = "chronotrace:traces:";
/// The seed's index sorted set (`RedisTraceStorage::$indexKey`).
pub(crate) const DEFAULT_INDEX_KEY: &str = "chronotrace:index";
/// Laravel's own variable for the Redis password (`config/database.php`).
pub(crate) const DEFAULT_PASSWORD_ENV: &str = "REDIS_PASSWORD";

/// Characters SCAN's MATCH pattern reads as glob syntax: a prefix holding
/// one would fence the purge to other keys than the app's.
const GLOB_CHARS: &str = "*?[]\\";

impl Checker<'_> {
    pub(super) fn redis(&mut self, env: RawEnvironment) -> Option<RedisStorage> {
        self.keys_of_other_stores(&env);
        let cluster = env.cluster.as_ref().is_some_and(|v| v.value);
        let (url, more_seeds) = match &env.urls {
            None => (
                self.redis_url(env.url.as_ref(), &env.storage.referenced),
                Vec::new(),
            ),
            Some(urls) => self.seed_urls(urls, env.url.is_some(), cluster),
        };
        let key_prefix = self.key_name(
            env.key_prefix.as_ref(),
            DEFAULT_KEY_PREFIX,
            "redis.key-prefix",
            "key_prefix",
        );
        let index_key = self.key_name(
            env.index_key.as_ref(),
            DEFAULT_INDEX_KEY,
            "redis.index-key",
            "index_key",
        );
        if let (Some(prefix), Some(index), Some(raw)) = (&key_prefix, &index_key, &env.index_key)
            && index.starts_with(prefix.as_str())
        {
            self.problem(
                    &raw.referenced,
                    "redis.index-key",
                    format!("index_key '{index}' must not start with key_prefix '{prefix}': the index would count as a trace and a purge could delete it"),
                );
        }
        let password_env = self.password_env(env.password_env.as_ref());
        if let (true, Some(url), Some(raw)) = (cluster, &url, &env.url)
            && !on_database_zero(url)
        {
            self.problem(
                    &raw.referenced,
                    "redis.cluster-database",
                    "a Redis Cluster has database 0 only: drop the database number from url (or set cluster: false)".into(),
                );
        }
        Some(RedisStorage {
            url: url?,
            key_prefix: key_prefix?,
            index_key: index_key?,
            password_env: password_env?,
            app_user: env.app_user.is_none_or(|v| v.value),
            cluster,
            more_seeds,
        })
    }

    /// `urls:` (a cluster's seed nodes, instead of `url`): each as `url`
    /// would be, on database 0, all with one scheme; the first becomes
    /// `url`, the others are tried after it.
    fn seed_urls(
        &mut self,
        raw: &Spanned<Vec<Spanned<String>>>,
        with_url: bool,
        cluster: bool,
    ) -> (Option<String>, Vec<String>) {
        let at = &raw.referenced;
        if with_url {
            self.problem(at, "redis.urls", "give url or urls, not both".into());
            return (None, Vec::new());
        }
        if !cluster {
            self.problem(
                at,
                "redis.urls",
                "urls (several seed nodes) needs cluster: true; a single server has one url".into(),
            );
            return (None, Vec::new());
        }
        let mut urls = Vec::new();
        for item in &raw.value {
            match check_redis_url(&item.value) {
                Ok(url) if !on_database_zero(&url) => self.problem(
                    &item.referenced,
                    "redis.cluster-database",
                    "a Redis Cluster has database 0 only: drop the database number".into(),
                ),
                Ok(url) => urls.push(url),
                Err((rule, message)) => self.problem(&item.referenced, rule, message),
            }
        }
        if urls.len() != raw.value.len() {
            return (None, Vec::new());
        }
        let tls = urls.iter().filter(|u| u.starts_with("rediss://")).count();
        if urls.is_empty() || (tls != 0 && tls != urls.len()) {
            self.problem(
                at,
                "redis.urls",
                "urls must list at least one node, all redis:// or all rediss://".into(),
            );
            return (None, Vec::new());
        }
        let first = urls.remove(0);
        (Some(first), urls)
    }

    /// `url:` is required; redis:// or rediss://, a host, at most a
    /// database number, and never a password (the message never echoes
    /// the URL: it may hold one).
    fn redis_url(&mut self, raw: Option<&Spanned<String>>, env_loc: &Location) -> Option<String> {
        let Some(raw) = raw else {
            self.problem(
                env_loc,
                "redis.url",
                "storage: redis needs a url (e.g. redis://127.0.0.1:6379 or rediss://cache.example.com:6380)".into(),
            );
            return None;
        };
        match check_redis_url(&raw.value) {
            Ok(url) => Some(url),
            Err((rule, message)) => {
                self.problem(&raw.referenced, rule, message);
                None
            }
        }
    }

    /// A key name or prefix: not empty, no glob or control characters.
    fn key_name(
        &mut self,
        raw: Option<&Spanned<String>>,
        default: &str,
        rule: &'static str,
        key: &str,
    ) -> Option<String> {
        let Some(raw) = raw else {
            return Some(default.to_string());
        };
        let value = &raw.value;
        let bad = value
            .chars()
            .find(|c| c.is_control() || c.is_whitespace() || GLOB_CHARS.contains(*c));
        if value.is_empty() || bad.is_some() {
            self.problem(
                &raw.referenced,
                rule,
                format!("{key} '{value}' must be a non-empty key name without spaces or glob characters (* ? [ ] \\): purges and SCAN are fenced to it"),
            );
            return None;
        }
        Some(value.clone())
    }

    fn password_env(&mut self, raw: Option<&Spanned<String>>) -> Option<String> {
        let Some(raw) = raw else {
            return Some(DEFAULT_PASSWORD_ENV.to_string());
        };
        let value = &raw.value;
        let valid = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            self.problem(
                &raw.referenced,
                "redis.password-env",
                format!("password_env '{value}' must name an environment variable (letters, digits, '_'); the password itself never goes in the spec"),
            );
            return None;
        }
        Some(value.clone())
    }

    /// The bucket, directory and table keys mean nothing to a Redis store.
    fn keys_of_other_stores(&mut self, env: &RawEnvironment) {
        self.store_keys_elsewhere(env, "redis");
        let path = ("path", env.path.as_ref().map(|v| v.referenced));
        let keys = s3_keys(env).into_iter().chain([path]);
        self.not_applicable(keys, |key| {
            let hint = if key == "prefix" {
                " (use key_prefix)"
            } else {
                ""
            };
            format!("'{key}' does not apply to storage: redis{hint}")
        });
    }
}

/// Whether a (checked) Redis URL names database 0, the only one a cluster
/// has (no number, or `/0`).
fn on_database_zero(url: &str) -> bool {
    matches!(
        url::Url::parse(url).map(|u| u.path().to_owned()).as_deref(),
        Ok("" | "/" | "/0")
    )
}

/// A Redis URL as the spec may hold it, normalised; or the rule it breaks.
pub(crate) fn check_redis_url(value: &str) -> Result<String, (&'static str, String)> {
    let url =
        url::Url::parse(value).map_err(|e| ("redis.url", format!("url is not a URL: {e}")))?;
    if url.password().is_some() {
        return Err((
            "redis.url-password",
            "url must not hold a password: set it in REDIS_PASSWORD (or the variable password_env names)".into(),
        ));
    }
    if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none() {
        return Err((
            "redis.url",
            "url must be redis://host[:port][/db] or rediss:// (TLS)".into(),
        ));
    }
    let db = url.path().trim_start_matches('/');
    if !(db.is_empty() || db.parse::<u16>().is_ok())
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err((
            "redis.url",
            "url may end in a database number (/0 .. /15) and nothing else".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::check_redis_url;
    use crate::error::Error;
    use crate::spec::{Spec, Storage};

    /// (line, rule) of every problem in `text`.
    fn problems(text: &str) -> Vec<(u64, &'static str)> {
        match Spec::parse(text, "s.yaml") {
            Err(Error::Spec(problems)) => problems.iter().map(|p| (p.at.line, p.rule)).collect(),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn the_seed_layout_is_the_default() {
        let spec = "project: p\nenvironments:\n  cache:\n    storage: redis\n    url: redis://127.0.0.1:6379\n";
        let Ok(spec) = Spec::parse(spec, "s.yaml") else {
            panic!("refused");
        };
        let Some(Storage::Redis(redis)) = spec.environments.get("cache").map(|e| &e.storage) else {
            panic!("not redis");
        };
        assert_eq!(redis.key_prefix, "chronotrace:traces:");
        assert_eq!(redis.index_key, "chronotrace:index");
        assert_eq!(redis.password_env, "REDIS_PASSWORD");
    }

    #[test]
    fn every_redis_problem_is_reported_at_once_with_its_line_and_rule() {
        let text = "project: p
environments:
  cache:
    storage: redis
    url: redis://:hunter2@127.0.0.1
    key_prefix: 'traces:*'
    index_key: ''
    password_env: 'not-a-var'
    bucket: b
  disk:
    storage: local
    key_prefix: x
";
        assert_eq!(
            problems(text),
            vec![
                (9, "spec.key-not-applicable"),
                (5, "redis.url-password"),
                (6, "redis.key-prefix"),
                (7, "redis.index-key"),
                (8, "redis.password-env"),
                (12, "spec.key-not-applicable"),
            ]
        );
        let missing = "project: p\nenvironments:\n  cache:\n    storage: redis\n    key_prefix: 'chronotrace:'\n    index_key: 'chronotrace:index'\n";
        assert_eq!(
            problems(missing),
            vec![(4, "redis.url"), (6, "redis.index-key")]
        );
    }

    #[test]
    fn cluster_is_a_redis_setting_on_database_zero() {
        let spec = |extra: &str| {
            format!(
                "project: p\nenvironments:\n  c:\n    storage: redis\n    url: redis://127.0.0.1:7000{extra}\n    cluster: true\n"
            )
        };
        let Ok(parsed) = Spec::parse(&spec(""), "s.yaml") else {
            panic!("refused");
        };
        assert!(matches!(
            parsed.environments.get("c").map(|e| &e.storage),
            Some(Storage::Redis(r)) if r.cluster
        ));
        assert!(Spec::parse(&spec("/0"), "s.yaml").is_ok());
        assert_eq!(problems(&spec("/2")), vec![(5, "redis.cluster-database")]);
        let local = "project: p\nenvironments:\n  d:\n    storage: local\n    cluster: true\n";
        assert_eq!(problems(local), vec![(5, "spec.key-not-applicable")]);
    }

    #[test]
    fn a_cluster_takes_several_seed_nodes_in_urls() {
        let spec = |urls: &str, cluster: &str| {
            format!(
                "project: p\nenvironments:\n  c:\n    storage: redis\n    urls: {urls}\n{cluster}"
            )
        };
        let both = "[redis://10.0.0.1:7000, redis://10.0.0.2:7000]";
        let Ok(parsed) = Spec::parse(&spec(both, "    cluster: true\n"), "s.yaml") else {
            panic!("refused");
        };
        let Some(Storage::Redis(r)) = parsed.environments.get("c").map(|e| &e.storage) else {
            panic!("not redis");
        };
        assert_eq!(r.url, "redis://10.0.0.1:7000");
        assert_eq!(r.more_seeds, vec!["redis://10.0.0.2:7000".to_string()]);
        assert_eq!(problems(&spec(both, "")), vec![(5, "redis.urls")]);
        let mixed = "[redis://10.0.0.1:7000, rediss://10.0.0.2:7000]";
        assert_eq!(
            problems(&spec(mixed, "    cluster: true\n")),
            vec![(5, "redis.urls")]
        );
        let bad = "[redis://10.0.0.1:7000/3, 'redis://:pw@h']";
        assert_eq!(
            problems(&spec(bad, "    cluster: true\n")),
            vec![(5, "redis.cluster-database"), (5, "redis.url-password")]
        );
        let with_url = format!(
            "{}    url: redis://h:1\n",
            spec(both, "    cluster: true\n")
        );
        assert_eq!(problems(&with_url), vec![(5, "redis.urls")]);
    }

    #[test]
    fn redis_urls_take_a_host_a_port_and_a_database() {
        for ok in [
            "redis://127.0.0.1:6379",
            "rediss://cache.example.com:6380/2",
            "redis://app@10.0.0.1/0",
        ] {
            assert!(check_redis_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn a_password_in_the_url_is_refused_without_echoing_it() {
        for bad in ["redis://:hunter2@h:6379", "redis://app:hunter2@h"] {
            let Err((rule, message)) = check_redis_url(bad) else {
                panic!("{bad} accepted");
            };
            assert_eq!(rule, "redis.url-password");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn other_schemes_paths_and_queries_are_refused() {
        for bad in [
            "http://h:6379",
            "redis://h/keys",
            "redis://h?db=1",
            "not a url",
        ] {
            assert!(
                matches!(check_redis_url(bad), Err(("redis.url", _))),
                "{bad}"
            );
        }
    }
}
