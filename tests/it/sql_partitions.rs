//! Partitioned traces tables (issue 26) on real servers: PostgreSQL 15
//! declarative range partitions on `created_at` and MariaDB 10.11
//! `PARTITION BY RANGE (UNIX_TIMESTAMP(created_at))`, from the bench.
//! `check` reads the partitions and their bounds (and says a plain table
//! is not partitioned); the purge is exact and leaves every row within
//! retention in place: the partition wholly past the cutoff is dropped
//! (`DETACH` and `DROP TABLE`; `ALTER TABLE … DROP PARTITION`) and the
//! boundary one batched; a dry run, verify and report count per
//! partition. `partition: monthly`: `apply` creates the layout and the
//! months ahead, and converges.

use chrono::{Datelike, Days, NaiveDate, Utc};
use serde_json::Value;

use crate::sql_support::{Db, database, unique_table};
use crate::support::{Outcome, tempdir};

/// The check `id` of a `check --output json`.
fn check<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {out}"))
}

/// Creates `table` with two partitions: `{table}_old`, wholly past
/// retention (15 days: below 20 days ago), and `{table}_new`, open-ended;
/// returns their names and the day between them.
fn create_partitioned(db: &Db, name: &str, table: &str) -> (String, String, NaiveDate) {
    let t = db.quote(table);
    let split = Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(20))
        .expect("a day");
    let (old, new) = (format!("{table}_old"), format!("{table}_new"));
    let statements = if name == "postgres" {
        vec![
            format!(
                "CREATE TABLE {t} (id bigserial, trace_id varchar(255) NOT NULL, data text NOT NULL, created_at timestamp(0) without time zone NOT NULL, updated_at timestamp(0) without time zone NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)"
            ),
            format!("CREATE INDEX ON {t} (created_at)"),
            format!("CREATE UNIQUE INDEX ON {t} (trace_id, created_at)"),
            format!(
                "CREATE TABLE {} PARTITION OF {t} FOR VALUES FROM (MINVALUE) TO ('{split} 00:00:00')",
                db.quote(&old)
            ),
            format!(
                "CREATE TABLE {} PARTITION OF {t} FOR VALUES FROM ('{split} 00:00:00') TO (MAXVALUE)",
                db.quote(&new)
            ),
        ]
    } else {
        vec![format!(
            "CREATE TABLE {t} (id bigint unsigned NOT NULL AUTO_INCREMENT, trace_id varchar(255) NOT NULL, data longtext NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at timestamp NULL, PRIMARY KEY (id, created_at), KEY {t_idx} (created_at)) \
             PARTITION BY RANGE (UNIX_TIMESTAMP(created_at)) (PARTITION {old} VALUES LESS THAN (UNIX_TIMESTAMP('{split} 00:00:00')), PARTITION {new} VALUES LESS THAN MAXVALUE)",
            t_idx = db.quote(&format!("{table}_created_at")),
            old = db.quote(&old),
            new = db.quote(&new),
        )]
    };
    db.exec(&statements);
    (old, new, split)
}

/// 1 when `of` is a partition of a table (PostgreSQL: a child in
/// `pg_inherits`), else 0.
fn partition_count(db: &Db, name: &str, of: &str) -> i64 {
    let query = if name == "postgres" {
        format!(
            "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relname = '{of}'"
        )
    } else {
        format!(
            "SELECT COUNT(*) FROM information_schema.partitions WHERE table_schema = DATABASE() AND partition_name = '{of}'"
        )
    };
    db.count(&query)
}

/// Each partition of a `table_partitions` list: its name, rows, whether
/// it is dropped whole, and the table it is kept as when detached;
/// sorted by name.
fn detached(out: &Value) -> Vec<(String, u64, bool, Option<String>)> {
    let mut partitions: Vec<_> = out["table_partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no table_partitions: {out}"))
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                p["rows"].as_u64().unwrap_or(u64::MAX),
                p["dropped_whole"] == true,
                p["detached_as"].as_str().map(String::from),
            )
        })
        .collect();
    partitions.sort();
    partitions
}

/// Each partition of a `table_partitions` list: its name, rows and
/// whether it is dropped whole, sorted by name.
fn per_partition(out: &Value) -> Vec<(String, u64, bool)> {
    detached(out)
        .into_iter()
        .map(|(name, rows, whole, _)| (name, rows, whole))
        .collect()
}

fn partitioned_table(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("part");
    let t = db.quote(&table);
    let (old, new, split) = create_partitioned(&db, name, &table);
    let (expired, bytes) = db.seed_rows(&table, 16);
    let total = db.rows(&table);
    db.write_spec(dir.path(), &table);
    let run = |args: &[&str]| db.tool(dir.path(), args).run();

    let out = run(&["--output", "json", "check"]).json();
    let partitioning = check(&out, "sql.partitioning");
    assert_eq!(partitioning["status"], "pass", "{partitioning}");
    let message = partitioning["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("2 partition(s)") && message.contains(&old) && message.contains(&new),
        "{message}"
    );
    assert!(message.to_lowercase().contains("created_at"), "{message}");

    // The purge goes through the parent: exact, and only past retention.
    let dry = run(&["--output", "json", "cleanup", "purge"])
        .code(0)
        .json();
    assert_eq!(dry["deleted_objects"], expired, "{dry}");
    assert_eq!(db.rows(&table), total, "a dry run deletes nothing");
    // It names the partition it would drop whole, and counts per partition.
    let old_rows = db.count(&format!(
        "SELECT COUNT(*) FROM {t} WHERE created_at < '{split} 00:00:00'"
    ));
    assert!(
        old_rows > 0 && old_rows < expired as i64,
        "{old_rows} of {expired}"
    );
    // Sorted by name: "…_new" before "…_old".
    assert_eq!(
        per_partition(&dry),
        [
            (new.clone(), expired - old_rows as u64, false),
            (old.clone(), old_rows as u64, true),
        ],
        "{dry}"
    );
    let text = run(&["cleanup", "purge"]).code(0).stdout;
    assert!(
        text.contains(&format!("table partition {old} "))
            && text.contains("would be dropped whole"),
        "{text}"
    );
    let verify = run(&["--output", "json", "cleanup", "verify"]).json();
    // Verify's cutoff is two days of grace earlier: fewer rows past it.
    let past_grace = verify["expired_objects"].as_u64().unwrap_or_default();
    assert_eq!(
        per_partition(&verify),
        [
            (new.clone(), past_grace - old_rows as u64, false),
            (old.clone(), old_rows as u64, true),
        ],
        "{verify}"
    );
    let report = run(&["--output", "json", "report"]).json();
    let rows: u64 = report["storage"]["table_partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no storage.table_partitions: {report}"))
        .iter()
        .map(|p| p["rows"].as_u64().unwrap_or_default())
        .sum();
    assert_eq!(rows, total as u64, "every row, per partition: {report}");
    let text = run(&["report"]).stdout;
    assert!(text.contains(&format!("partition   {old} ")), "{text}");
    let purge = run(&["--output", "json", "cleanup", "purge", "--yes"])
        .code(0)
        .json();
    assert_eq!(purge["deleted_objects"], expired, "{purge}");
    assert_eq!(purge["deleted_bytes"], bytes, "{purge}");
    assert_eq!(
        per_partition(&purge),
        [(old.clone(), old_rows as u64, true)],
        "{purge}"
    );
    assert_eq!(db.rows(&table), total - expired as i64, "rows left");
    let verify = run(&["--output", "json", "cleanup", "verify"])
        .code(0)
        .json();
    assert_eq!(
        per_partition(&verify),
        [(new.clone(), 0, false)],
        "{verify}"
    );
    // The partition wholly past retention was dropped whole; the boundary
    // partition went by batches and stays.
    assert_eq!(
        partition_count(&db, name, &old),
        0,
        "the partition past retention"
    );
    assert_eq!(
        partition_count(&db, name, &new),
        1,
        "the boundary partition"
    );
    if name == "postgres" {
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM pg_class WHERE relname = '{old}'"
            )),
            0,
            "dropped, not only detached"
        );
    }

    // A plain table: not partitioned, small, so a pass that says so.
    let plain = unique_table("plain");
    db.create_seed_table(&plain, true);
    db.write_spec(dir.path(), &plain);
    let out = run(&["--output", "json", "check"]).json();
    let partitioning = check(&out, "sql.partitioning");
    assert_eq!(partitioning["status"], "pass", "{partitioning}");
    assert!(
        partitioning["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not partitioned"),
        "{partitioning}"
    );
    db.exec(&[
        format!("DROP TABLE {t}"),
        format!("DROP TABLE {}", db.quote(&plain)),
    ]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_partitioned_table_is_read_and_purged_on_postgres() {
    partitioned_table("postgres");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_partitioned_table_is_read_and_purged_on_mariadb() {
    partitioned_table("mariadb");
}

/// `cleanup purge --detach`: the partition wholly past retention leaves
/// the table with its rows kept in a table of its own (PostgreSQL: the
/// partition's own name; MariaDB: `{table}_{partition}`, refused when
/// taken), the boundary partition is batched; the kept table is never
/// seen again by verify, report or a later purge. A plain table refuses
/// `--detach` and keeps its rows.
fn detached_partitions(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("detach");
    let t = db.quote(&table);
    let (old, new, split) = create_partitioned(&db, name, &table);
    let kept = if name == "postgres" {
        old.clone()
    } else {
        format!("{table}_{old}")
    };
    let (expired, bytes) = db.seed_rows(&table, 16);
    let total = db.rows(&table);
    let old_rows = db.count(&format!(
        "SELECT COUNT(*) FROM {t} WHERE created_at < '{split} 00:00:00'"
    )) as u64;
    assert!(
        old_rows > 0 && old_rows < expired,
        "{old_rows} of {expired}"
    );
    db.write_spec(dir.path(), &table);
    let run = |args: &[&str]| db.tool(dir.path(), args).run();
    // A dry run says what would be detached, and under which name.
    let dry = run(&["--output", "json", "cleanup", "purge", "--detach"])
        .code(0)
        .json();
    assert_eq!(dry["deleted_objects"], expired, "{dry}");
    assert_eq!(dry["detached_objects"], old_rows, "{dry}");
    assert_eq!(
        detached(&dry),
        [
            (new.clone(), expired - old_rows, false, None),
            (old.clone(), old_rows, false, Some(kept.clone())),
        ],
        "{dry}"
    );
    let text = run(&["cleanup", "purge", "--detach"]).code(0).stdout;
    assert!(
        text.contains(&format!("table partition {old} "))
            && text.contains(&format!(
                "would be detached (out of the table, not deleted) and kept as table {kept}"
            )),
        "{text}"
    );
    assert_eq!(db.rows(&table), total, "a dry run changes nothing");

    if name != "postgres" {
        // A table already under the kept name is never overwritten: the
        // purge refuses before any change.
        db.exec(&[format!("CREATE TABLE {} (id int)", db.quote(&kept))]);
        run(&["cleanup", "purge", "--detach", "--yes"])
            .code(2)
            .one_line_error("already exists");
        assert_eq!(db.rows(&table), total, "nothing purged");
        assert_eq!(partition_count(&db, name, &old), 1, "nothing detached");
        db.exec(&[format!("DROP TABLE {}", db.quote(&kept))]);
    }

    let purge = run(&["--output", "json", "cleanup", "purge", "--detach", "--yes"])
        .code(0)
        .json();
    assert_eq!(purge["deleted_objects"], expired, "{purge}");
    assert_eq!(purge["deleted_bytes"], bytes, "{purge}");
    assert_eq!(purge["detached_objects"], old_rows, "{purge}");
    assert_eq!(
        detached(&purge),
        [(old.clone(), old_rows, false, Some(kept.clone()))],
        "{purge}"
    );
    assert_eq!(db.rows(&table), total - expired as i64, "rows left");
    assert_eq!(partition_count(&db, name, &old), 0, "detached");
    assert_eq!(
        partition_count(&db, name, &new),
        1,
        "the boundary partition"
    );
    assert_eq!(
        db.rows(&kept) as u64,
        old_rows,
        "the detached partition's rows, kept"
    );

    // Never seen again: verify passes, report counts the table alone, and
    // a later purge (with or without --detach) leaves the kept rows.
    let verify = run(&["--output", "json", "cleanup", "verify"])
        .code(0)
        .json();
    assert_eq!(
        per_partition(&verify),
        [(new.clone(), 0, false)],
        "{verify}"
    );
    let report = run(&["--output", "json", "report"]).json();
    assert_eq!(report["objects"], total - expired as i64, "{report}");
    for args in [
        &["--output", "json", "cleanup", "purge", "--yes"][..],
        &["--output", "json", "cleanup", "purge", "--detach", "--yes"],
    ] {
        let again = run(args).code(0).json();
        assert_eq!(again["deleted_objects"], 0, "{again}");
    }
    assert_eq!(db.rows(&kept) as u64, old_rows, "the kept table, untouched");

    // A plain table has nothing to detach: one line, exit 2, no row gone.
    let plain = unique_table("plaind");
    db.create_seed_table(&plain, true);
    db.seed_rows(&plain, 16);
    let plain_rows = db.rows(&plain);
    db.write_spec(dir.path(), &plain);
    run(&["cleanup", "purge", "--detach", "--yes"])
        .code(2)
        .one_line_error("is not partitioned by created_at");
    assert_eq!(db.rows(&plain), plain_rows, "nothing purged");
    // The kept table depends on nothing of the traces table (PostgreSQL:
    // its id no longer draws from the table's sequence): the table can
    // still be dropped alone, as `destroy` does.
    db.exec(&[
        format!("DROP TABLE {t}"),
        format!("DROP TABLE {}", db.quote(&kept)),
        format!("DROP TABLE {}", db.quote(&plain)),
    ]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_partition_past_retention_is_detached_and_kept_on_postgres() {
    detached_partitions("postgres");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_partition_past_retention_is_detached_and_kept_on_mariadb() {
    detached_partitions("mariadb");
}

/// Ctrl-C after a partition was detached: the interrupted purge's JSON
/// names it and the table it is kept as, with its rows in the count; a
/// rerun finishes the boundary partition. The purge is held in the
/// boundary partition by a row the test locks there (through the
/// partition alone: a lock through the table would hold off the
/// `DETACH`), so the interruption lands after the detach, whatever the
/// timing. PostgreSQL only: MariaDB's `CONVERT PARTITION` waits for every
/// transaction on the table to end, the test's lock too.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn an_interrupted_detach_says_what_it_kept_on_postgres() {
    let dir = tempdir();
    let db = database("postgres", dir.path());
    let table = unique_table("detint");
    let t = db.quote(&table);
    let (old, new, split) = create_partitioned(&db, "postgres", &table);
    let (expired, _) = db.seed_rows(&table, 16);
    let total = db.rows(&table);
    let old_rows = db.count(&format!(
        "SELECT COUNT(*) FROM {t} WHERE created_at < '{split} 00:00:00'"
    )) as u64;
    db.write_spec(dir.path(), &table);

    // The youngest row past retention, locked through its partition (one
    // runtime for the lock and its release: a connection is its runtime's).
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let held = rt.block_on(async {
        let pool = sqlx::AnyPool::connect(&db.connect_url())
            .await
            .expect("connect");
        let mut lock = pool.begin().await.expect("a transaction");
        sqlx::query(&format!(
            "SELECT id FROM {} WHERE trace_id = $1 FOR UPDATE",
            db.quote(&new)
        ))
        .bind(format!("{table}-16-0"))
        .fetch_one(&mut *lock)
        .await
        .expect("lock the row");
        lock
    });
    let mut child = db
        .tool(
            dir.path(),
            &["--output", "json", "cleanup", "purge", "--detach", "--yes"],
        )
        .spawn();
    let start = std::time::Instant::now();
    while partition_count(&db, "postgres", &old) > 0 {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "the purge ended before detaching"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no detach"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::conformance::signal(&child, "INT");
    let first = Outcome::of(child.wait_with_output().expect("the binary ends"));
    rt.block_on(held.rollback()).expect("release the row");
    let first = crate::interrupts::interrupted(first).json();
    assert_eq!(first["interrupted"], true, "{first}");
    assert_eq!(
        detached(&first),
        [(old.clone(), old_rows, false, Some(old.clone()))],
        "{first}"
    );
    assert_eq!(first["detached_objects"], old_rows, "{first}");
    let deleted = first["deleted_objects"].as_u64().unwrap_or_default();
    assert!(
        (old_rows..expired).contains(&deleted),
        "the detached rows and part of the rest: {first}"
    );
    assert_eq!(db.rows(&table), total - deleted as i64, "{first}");

    let rerun = db
        .tool(
            dir.path(),
            &["--output", "json", "cleanup", "purge", "--detach", "--yes"],
        )
        .run()
        .code(0)
        .json();
    assert_eq!(rerun["deleted_objects"], expired - deleted, "{rerun}");
    assert_eq!(db.rows(&old) as u64, old_rows, "the kept table");
    db.exec(&[
        format!("DROP TABLE {t}"),
        format!("DROP TABLE {}", db.quote(&old)),
    ]);
}

/// `--detach` where there is no table partition (a bucket, Redis,
/// SQLite): one line naming the environment, exit 2, before any call
/// (every server here is unreachable: a call would fail otherwise).
#[test]
fn detach_is_refused_where_there_is_no_table_partition() {
    let dir = tempdir();
    let stores = [
        "storage: s3\n    provider: garage\n    endpoint: http://127.0.0.1:9\n    region: garage\n    bucket: nowhere\n    prefix: app/traces",
        "storage: redis\n    url: redis://127.0.0.1:9",
        "storage: database\n    url: sqlite://absent/traces.db",
    ];
    for store in stores {
        let spec =
            format!("project: ct\nenvironments:\n  ci:\n    {store}\n    retention_days: 15\n");
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
        crate::support::Run::new(dir.path())
            .args(["-e", "ci", "cleanup", "purge", "--detach", "--yes"])
            .run()
            .code(2)
            .one_line_error("environment 'ci' is ");
    }
}

/// `partition: monthly`: `apply` creates the table partitioned by month
/// with this month and the next two ahead, a second `apply` has nothing
/// to do, a month that comes due (here: one dropped) is created by the
/// next, and a plain table already there is never rewritten.
fn monthly_layout(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("month");
    let write_spec = |table: &str| {
        db.write_spec(dir.path(), table);
        let path = dir.path().join("chronotrace-ops.yaml");
        let spec = std::fs::read_to_string(&path).expect("the spec");
        let spec = format!("{spec}    partition: monthly\n    app_user: false\n");
        std::fs::write(&path, spec).expect("write spec");
    };
    write_spec(&table);
    let run = |args: &[&str]| db.tool(dir.path(), args).run();
    run(&["plan", "--exit-code"])
        .code(1)
        .stdout_contains("sql.table");
    run(&["apply", "--yes", "--out", "creds"]).code(0);
    run(&["plan", "--exit-code"]).code(0);
    let out = run(&["--output", "json", "check"]).json();
    let partitioning = check(&out, "sql.partitioning");
    assert_eq!(partitioning["status"], "pass", "{partitioning}");
    let message = partitioning["message"].as_str().unwrap_or_default();
    // Three months and the catch-all (DEFAULT; below MAXVALUE).
    assert!(message.contains("4 partition(s)"), "{message}");
    let months: Vec<String> = (0..3)
        .map(|n| {
            let month = Utc::now()
                .date_naive()
                .with_day(1)
                .and_then(|d| d.checked_add_months(chrono::Months::new(n)))
                .expect("a month");
            month.format("p%Y%m").to_string()
        })
        .collect();
    for month in &months {
        assert!(message.contains(month.as_str()), "{month}: {message}");
    }

    // Traces written and purged through the layout, exactly.
    let (expired, _) = db.seed_rows(&table, 16);
    let purge = run(&["--output", "json", "cleanup", "purge", "--yes"])
        .code(0)
        .json();
    assert_eq!(purge["deleted_objects"], expired, "{purge}");

    // Time passes: the last month ahead is missing; the next apply adds
    // it, and only it.
    let last = &months[2];
    let t = db.quote(&table);
    db.exec(&[if name == "postgres" {
        format!("DROP TABLE {}", db.quote(&format!("{table}_{last}")))
    } else {
        format!("ALTER TABLE {t} DROP PARTITION {last}")
    }]);
    run(&["plan", "--exit-code"])
        .code(1)
        .stdout_contains("sql.partitions");
    run(&["apply", "--yes", "--out", "creds"]).code(0);
    run(&["plan", "--exit-code"]).code(0);
    let out = run(&["--output", "json", "check"]).json();
    let message = check(&out, "sql.partitioning")["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("4 partition(s)") && message.contains(last.as_str()),
        "{message}"
    );

    // destroy --empty removes the table with its partitions.
    run(&["destroy", "--yes", "--empty"]).code(0);
    assert_eq!(
        db.count(&if name == "postgres" {
            format!("SELECT COUNT(*) FROM pg_class WHERE relname LIKE '{table}%'")
        } else {
            format!("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'")
        }),
        0,
        "no table nor partition left"
    );

    // A plain table already there: a note, never a rewrite.
    let plain = unique_table("plainm");
    db.create_seed_table(&plain, true);
    write_spec(&plain);
    run(&["plan"]).stdout_contains("never rewritten");
    run(&["apply", "--yes", "--out", "creds"]).code(0);
    let out = run(&["--output", "json", "check"]).json();
    assert!(
        check(&out, "sql.partitioning")["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("not partitioned"),
        "{out}"
    );
    db.exec(&[format!("DROP TABLE {}", db.quote(&plain))]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_monthly_layout_is_created_and_kept_ahead_on_postgres() {
    monthly_layout("postgres");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_monthly_layout_is_created_and_kept_ahead_on_mariadb() {
    monthly_layout("mariadb");
}
