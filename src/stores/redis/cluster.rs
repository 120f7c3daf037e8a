//! The servers a Redis store's commands go to: one server, or a Redis
//! Cluster (`cluster: true`) read from the node the spec's `url` names.
//!
//! A cluster splits the keyspace into 16,384 slots (CRC16 of the key, or
//! of its `{hash tag}`), each served by one master. `Nodes` keeps one
//! connection per master and the slot map `CLUSTER SLOTS` gave, and runs a
//! batch of commands as one pipeline per master, in parallel, each
//! command on the master of its key (`run`). Replicas hold copies of their
//! master's keys: they are listed (ACL users live on every node) but never
//! walked. The `redis` crate's own cluster client routes by key too, but
//! it hides which node answered and cannot `SCAN` one node to its end, and
//! the walk needs both (a node that fails is named; each master's keys are
//! walked once): so the routing is the tool's, on the crate's connections.
//!
//! A node that answers `MOVED` (slots moved since the map was read) stops
//! the run with one line: the map is read again by the next run.

use std::path::Path;

use futures::future::join_all;
use redis::{Cmd, RedisResult};

use super::Redis;
use crate::error::{Error, Result};
use crate::spec::RedisStorage;
use crate::transport::timeouts::Timeouts;

/// The slots of a Redis Cluster.
pub(crate) const SLOTS: usize = 16_384;

/// The servers of one store: the masters (one, for a single server), the
/// master of each slot, and the replicas (never walked).
#[derive(Debug, Clone)]
pub(crate) struct Nodes {
    /// The node the spec's `url` names (on a cluster, the map's source).
    seed: Redis,
    pub(crate) masters: Vec<Redis>,
    /// The index of the master serving each slot (empty: one server).
    owner: Vec<u16>,
    /// The replicas' addresses (`host:port`), for per-node settings.
    pub(crate) replicas: Vec<String>,
    /// The master holding the index key.
    index: usize,
}

/// One `CLUSTER SLOTS` range: its slots, its master's and replicas'
/// addresses (`host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotRange {
    pub(crate) first: u16,
    pub(crate) last: u16,
    pub(crate) master: String,
    pub(crate) replicas: Vec<String>,
}

/// A batch's answers, in the order its commands were given; `None` for
/// the commands of a node that failed (`failed`: the first such node's
/// error, naming it).
pub(crate) struct Answers {
    pub(crate) answers: Vec<Option<RedisResult<i64>>>,
    /// The master each answer came from (its position in `masters`).
    pub(crate) from: Vec<usize>,
    pub(crate) failed: Option<Error>,
}

impl Answers {
    /// Adds a later batch's answers after these.
    pub(crate) fn extend(&mut self, later: Answers) {
        self.answers.extend(later.answers);
        self.from.extend(later.from);
        self.failed = self.failed.take().or(later.failed);
    }
}

impl Nodes {
    /// One server: every command goes to it.
    pub(crate) fn single(redis: Redis) -> Nodes {
        Nodes {
            seed: redis.clone(),
            masters: vec![redis],
            owner: Vec::new(),
            replicas: Vec::new(),
            index: 0,
        }
    }

    /// The servers of `spec`: the one server its `url` names, or (with
    /// `cluster: true`) every master of the cluster that node belongs to.
    /// The server's mode is checked against the spec's first.
    pub(crate) async fn open(
        spec: &RedisStorage,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Nodes> {
        let seed = connect_seed(spec, timeouts, ca_bundle).await?;
        if spec.cluster {
            Nodes::discover(seed, spec, &spec.index_key, timeouts, ca_bundle).await
        } else {
            Ok(Nodes::single(seed))
        }
    }

    /// The cluster `seed` belongs to: its slot map (`CLUSTER SLOTS`), and a
    /// connection to each master, authenticated as the seed was. Every
    /// slot must be served: a walk that missed one would not be exact.
    pub(crate) async fn discover(
        seed: Redis,
        spec: &RedisStorage,
        index_key: &str,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Nodes> {
        let answer: redis::Value = seed
            .query(
                "CLUSTER SLOTS",
                &redis::cmd("CLUSTER").arg("SLOTS").to_owned(),
            )
            .await?;
        let seed_host = url::Url::parse(&spec.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let ranges = parse_slots(&answer, &seed_host);
        if let Some(gap) = uncovered(&ranges) {
            return Err(Error::cloud_with_hint(
                format!(
                    "redis {}: the cluster serves no master for slots {gap} (CLUSTER SLOTS): a walk would miss their keys",
                    seed.label
                ),
                "see `redis-cli cluster info` (cluster_state) and `--cluster check`",
            ));
        }
        let mut addresses: Vec<String> = Vec::new();
        let mut owner = vec![0u16; SLOTS];
        let mut replicas = Vec::new();
        for range in &ranges {
            let at = match addresses.iter().position(|a| *a == range.master) {
                Some(at) => at,
                None => {
                    addresses.push(range.master.clone());
                    addresses.len() - 1
                }
            };
            for slot in range.first..=range.last {
                if let Some(o) = owner.get_mut(usize::from(slot)) {
                    *o = u16::try_from(at).unwrap_or(u16::MAX);
                }
            }
            replicas.extend(range.replicas.iter().cloned());
        }
        replicas.sort();
        replicas.dedup();
        let masters = connect_all(spec, &addresses, timeouts, ca_bundle).await?;
        let mut nodes = Nodes {
            seed,
            masters,
            owner,
            replicas,
            index: 0,
        };
        nodes.index = nodes.of_key(index_key.as_bytes());
        Ok(nodes)
    }

    /// Every node, masters then replicas, connected: ACL users live on
    /// each (a cluster does not copy them), replicas included, so the app
    /// keeps its user when a replica is promoted.
    pub(crate) async fn every_node(
        &self,
        spec: &RedisStorage,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Vec<Redis>> {
        let replicas = connect_all(spec, &self.replicas, timeouts, ca_bundle).await?;
        Ok(self.masters.iter().cloned().chain(replicas).collect())
    }

    /// The URL of a node of this cluster at `address` (`host:port`).
    pub(crate) fn url_of(&self, spec: &RedisStorage, address: &str) -> String {
        node_url(spec, address)
    }

    /// The master of `key` (its position in `masters`).
    pub(crate) fn of_key(&self, key: &[u8]) -> usize {
        self.owner
            .get(usize::from(slot(key)))
            .map_or(0, |o| usize::from(*o))
    }

    /// The master holding the index.
    pub(crate) fn index(&self) -> &Redis {
        self.master(self.index)
    }

    /// The position of the index's master.
    pub(crate) fn index_node(&self) -> usize {
        self.index
    }

    /// Master `node` (`of_key` only hands out positions in `masters`; the
    /// seed stands in for any other, which a cluster would answer MOVED).
    pub(crate) fn master(&self, node: usize) -> &Redis {
        self.masters.get(node).unwrap_or(&self.seed)
    }

    /// Runs `commands` (each on its node), as one pipeline a node, the
    /// nodes in parallel, each node's commands in the order given. A
    /// command the server refuses is its answer's error; a node that fails
    /// or times out leaves its answers `None` and is named in `failed`.
    pub(crate) async fn run(&self, what: &str, commands: Vec<(usize, Cmd)>) -> Answers {
        let count = commands.len();
        let mut from = Vec::with_capacity(count);
        let mut pipes: Vec<(redis::Pipeline, Vec<usize>)> = Vec::new();
        pipes.resize_with(self.masters.len(), || (redis::pipe(), Vec::new()));
        for (at, (node, cmd)) in commands.into_iter().enumerate() {
            let node = if node < pipes.len() { node } else { 0 };
            from.push(node);
            if let Some((pipe, positions)) = pipes.get_mut(node) {
                pipe.add_command(cmd);
                positions.push(at);
            }
        }
        let running = pipes
            .iter_mut()
            .enumerate()
            .filter(|(_, (_, positions))| !positions.is_empty())
            .map(|(node, (pipe, positions))| {
                pipe.ignore_errors();
                let redis = self.master(node);
                async move {
                    let answer: Result<Vec<RedisResult<i64>>> = redis.pipeline(what, pipe).await;
                    (positions.clone(), answer)
                }
            });
        let mut answers: Vec<Option<RedisResult<i64>>> = Vec::with_capacity(count);
        answers.resize_with(count, || None);
        let mut failed = None;
        for (positions, answer) in join_all(running).await {
            match answer {
                Ok(values) => {
                    for (at, value) in positions.into_iter().zip(values) {
                        if let Some(slot) = answers.get_mut(at) {
                            *slot = Some(value);
                        }
                    }
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        Answers {
            answers,
            from,
            failed,
        }
    }
}

/// Connects to the spec's node (`url`), or on a cluster to the first of
/// its seed nodes (`urls:`) that answers: a seed node that is down is no
/// reason to give up on the cluster. A node that answers in the wrong
/// mode (`cluster:`) is the spec's error, not the node's: it stops there.
/// When none answers, the first one's error says why.
pub(crate) async fn connect_seed(
    spec: &RedisStorage,
    timeouts: Timeouts,
    ca_bundle: Option<&Path>,
) -> Result<Redis> {
    let first = Redis::connect(spec, timeouts, ca_bundle).await;
    let Err(first_error) = first else {
        return first;
    };
    if matches!(first_error, Error::Usage { .. }) {
        return Err(first_error);
    }
    for url in &spec.more_seeds {
        let seed = RedisStorage {
            url: url.clone(),
            ..spec.clone()
        };
        match Redis::connect(&seed, timeouts, ca_bundle).await {
            Ok(redis) => {
                tracing::debug!(seed = %url, "the first seed node did not answer: {first_error}");
                return Ok(redis);
            }
            Err(e) => tracing::debug!(seed = %url, "seed node: {e}"),
        }
    }
    Err(first_error)
}

/// Connects to the nodes at `addresses` (`host:port`), in parallel.
async fn connect_all(
    spec: &RedisStorage,
    addresses: &[String],
    timeouts: Timeouts,
    ca_bundle: Option<&Path>,
) -> Result<Vec<Redis>> {
    let urls: Vec<String> = addresses.iter().map(|a| node_url(spec, a)).collect();
    let connecting = urls
        .iter()
        .map(|url| Redis::connect_node(spec, url, timeouts, ca_bundle));
    join_all(connecting).await.into_iter().collect()
}

/// The URL of a cluster node at `address` (`host:port`): the spec's URL
/// (scheme, username) with that host and port.
fn node_url(spec: &RedisStorage, address: &str) -> String {
    let (host, port) = address.rsplit_once(':').unwrap_or((address, "6379"));
    let scheme = if spec.is_tls() { "rediss" } else { "redis" };
    let user = url::Url::parse(&spec.url)
        .ok()
        .map(|u| u.username().to_owned())
        .filter(|u| !u.is_empty())
        .map_or_else(String::new, |u| format!("{u}@"));
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("{scheme}://{user}{host}:{port}")
}

/// The ranges of a `CLUSTER SLOTS` answer: `[first, last, [host, port,
/// id, ...], [replica...]...]` each. An empty host (the node does not
/// know its own address) means the seed's, as redis-cli reads it.
pub(crate) fn parse_slots(answer: &redis::Value, seed_host: &str) -> Vec<SlotRange> {
    use redis::Value;
    let items = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            _ => Vec::new(),
        }
    };
    let address = |node: &Value| -> Option<String> {
        let node = items(node);
        let host: String = redis::from_redis_value_ref(node.first()?).ok()?;
        let port: u16 = redis::from_redis_value_ref(node.get(1)?).ok()?;
        let host = if host.is_empty() || host == "?" {
            seed_host.to_owned()
        } else {
            host
        };
        Some(format!("{host}:{port}"))
    };
    items(answer)
        .iter()
        .filter_map(|range| {
            let range = items(range);
            let first: u16 = redis::from_redis_value_ref(range.first()?).ok()?;
            let last: u16 = redis::from_redis_value_ref(range.get(1)?).ok()?;
            let master = address(range.get(2)?)?;
            let replicas = range.iter().skip(3).filter_map(address).collect();
            Some(SlotRange {
                first,
                last,
                master,
                replicas,
            })
        })
        .collect()
}

/// The first run of slots no range serves (`5461-10922`), if any.
pub(crate) fn uncovered(ranges: &[SlotRange]) -> Option<String> {
    let mut served = vec![false; SLOTS];
    for r in ranges {
        for slot in r.first..=r.last.min(SLOTS as u16 - 1) {
            if let Some(s) = served.get_mut(usize::from(slot)) {
                *s = true;
            }
        }
    }
    let first = served.iter().position(|s| !s)?;
    let last = served
        .iter()
        .skip(first)
        .position(|s| *s)
        .map_or(SLOTS - 1, |n| first + n - 1);
    let missing = served.iter().filter(|s| !**s).count();
    Some(if first == last {
        format!("{first} ({missing} slots in all)")
    } else {
        format!("{first}-{last} ({missing} slots in all)")
    })
}

/// The slot of a key, as Redis computes it: CRC16 (XMODEM) of the key, or
/// of the text between its first `{` and the next `}` when that is not
/// empty (a hash tag), modulo 16,384.
pub(crate) fn slot(key: &[u8]) -> u16 {
    let hashed = key
        .iter()
        .position(|b| *b == b'{')
        .and_then(|open| {
            let rest = key.get(open + 1..)?;
            let close = rest.iter().position(|b| *b == b'}')?;
            rest.get(..close).filter(|tag| !tag.is_empty())
        })
        .unwrap_or(key);
    crc16(hashed) % SLOTS as u16
}

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), bit by bit.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::Value;

    #[test]
    fn slots_are_the_ones_redis_computes() {
        // The check value of CRC16/XMODEM, and CLUSTER KEYSLOT's answers.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"chronotrace:index"), slot(b"chronotrace:index"));
        // A hash tag: only the text between the braces counts.
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % 16_384);
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
    }

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    #[test]
    fn cluster_slots_give_each_range_its_master_and_replicas() {
        let answer = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(8191),
                node("127.0.0.1", 7000),
                node("127.0.0.1", 7003),
            ]),
            Value::Array(vec![Value::Int(8192), Value::Int(16383), node("", 7001)]),
        ]);
        let ranges = parse_slots(&answer, "10.1.2.3");
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0].master, "127.0.0.1:7000");
        assert_eq!(ranges[0].replicas, vec!["127.0.0.1:7003".to_string()]);
        assert_eq!(ranges[1].master, "10.1.2.3:7001", "no host: the seed's");
        assert_eq!(uncovered(&ranges), None);
        assert_eq!(
            uncovered(&ranges[1..]).as_deref(),
            Some("0-8191 (8192 slots in all)")
        );
    }

    #[test]
    fn a_node_url_keeps_the_scheme_and_the_user() {
        let mut spec = crate::stores::redis::seed_layout();
        spec.url = "rediss://app@10.0.0.1:6380".into();
        assert_eq!(
            node_url(&spec, "10.0.0.2:6381"),
            "rediss://app@10.0.0.2:6381"
        );
        spec.url = "redis://127.0.0.1:7000".into();
        assert_eq!(node_url(&spec, "::1:7001"), "redis://[::1]:7001");
    }
}
