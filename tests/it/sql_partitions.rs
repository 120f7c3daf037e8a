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

use chrono::{Datelike, Days, Utc};
use serde_json::Value;

use crate::sql_support::{database, unique_table};
use crate::support::tempdir;

/// The check `id` of a `check --output json`.
fn check<'a>(out: &'a Value, id: &str) -> &'a Value {
    out["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id}: {out}"))
}

fn partitioned_table(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("part");
    let t = db.quote(&table);
    // Two partitions: one wholly past retention (15 days), one open-ended.
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
    let per_partition = |out: &Value| -> Vec<(String, u64, bool)> {
        let mut partitions: Vec<(String, u64, bool)> = out["table_partitions"]
            .as_array()
            .unwrap_or_else(|| panic!("no table_partitions: {out}"))
            .iter()
            .map(|p| {
                let name = p["name"].as_str().unwrap_or_default().to_string();
                (
                    name,
                    p["rows"].as_u64().unwrap_or(u64::MAX),
                    p["dropped_whole"] == true,
                )
            })
            .collect();
        partitions.sort();
        partitions
    };
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
    let partitions = |of: &str| {
        let query = if name == "postgres" {
            format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{of}'")
        } else {
            format!(
                "SELECT COUNT(*) FROM information_schema.partitions WHERE table_schema = DATABASE() AND partition_name = '{of}'"
            )
        };
        db.count(&query)
    };
    assert_eq!(partitions(&old), 0, "the partition past retention");
    assert_eq!(partitions(&new), 1, "the boundary partition");

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
