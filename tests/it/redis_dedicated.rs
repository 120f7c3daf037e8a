//! A Redis database of the store's own (the bench's database 7, used by
//! this test only): `DBSIZE` proves every key indexed, so the keys pass is
//! skipped — and one key without an index entry makes it run again and be
//! found. What the skip must never cost: a missed unindexed key.

use std::path::Path;

use crate::redis::{connect, finding, namespace, now, redis_server, store, write_spec_at};
use crate::support::{Outcome, Run, tempdir};

const DAY: i64 = 86_400;
const DATABASE: i64 = 7;

fn write_spec(dir: &Path, ns: &str) {
    let (url, _) = redis_server();
    write_spec_at(dir, ns, &format!("{url}/{DATABASE}"));
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    let (_, password) = redis_server();
    Run::new(dir)
        .env("REDIS_PASSWORD", password)
        .args(["-v", "--output", "json", "-e", "cache"])
        .args(args)
        .run()
}

fn database() -> redis::Connection {
    let mut c = connect();
    let _: () = redis::cmd("SELECT")
        .arg(DATABASE)
        .query(&mut c)
        .expect("select");
    let _: () = redis::cmd("FLUSHDB").query(&mut c).expect("flushdb");
    c
}

const SKIPPED: &str = "keys pass skipped";

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_dedicated_database_skips_the_keys_pass_until_a_key_lacks_its_entry() {
    let dir = tempdir();
    let ns = namespace("dedicated");
    write_spec(dir.path(), &ns);
    let mut c = database();
    let now = now();
    for i in 0..3 {
        store(&mut c, &ns, &format!("fresh{i}"), now - i * DAY, true);
    }
    store(&mut c, &ns, "old0", now - 20 * DAY, false);

    let verify = run(dir.path(), &["cleanup", "verify"]).code(1);
    assert!(verify.stderr.contains(SKIPPED), "{}", verify.stderr);
    assert_eq!(finding(&verify.json(), "redis.keys-without-index"), (0, 0));

    // One key without an index entry: DBSIZE no longer matches.
    let _: () = redis::cmd("SET")
        .arg(format!("{ns}traces:loose"))
        .arg("x")
        .query(&mut c)
        .expect("set");
    let verify = run(dir.path(), &["cleanup", "verify"]).code(1);
    assert!(!verify.stderr.contains(SKIPPED), "{}", verify.stderr);
    let v = verify.json();
    assert_eq!(finding(&v, "redis.keys-without-index"), (1, 0));
    assert_eq!(finding(&v, "redis.keys-without-ttl"), (2, 0));

    let purge = run(dir.path(), &["cleanup", "purge", "--yes"]).code(0);
    let p = purge.json();
    assert_eq!(p["deleted_objects"], 1);
    assert_eq!(finding(&p, "redis.keys-without-ttl"), (2, 2));
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{ns}traces:loose"))
        .query(&mut c)
        .expect("ttl");
    assert!(ttl > 14 * DAY && ttl <= 15 * DAY, "{ttl}");
    run(dir.path(), &["cleanup", "verify"]).code(0);
    let _: () = redis::cmd("FLUSHDB").query(&mut c).expect("flushdb");
}
