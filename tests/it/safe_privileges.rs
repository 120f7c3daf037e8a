//! `plan` reads what the connection may do before planning the app's own
//! user (issue 27, "apply plans what the connection cannot do"): connected
//! as the app's own account (a PostgreSQL database owner without
//! CREATEROLE, a MariaDB user without CREATE USER, a Redis ACL user without
//! `@admin`), or without Garage's admin token, the plan holds a `=` note
//! saying what is missing instead of a change `apply` would be refused, and
//! `apply` executes exactly that plan: the rest is made, exit 0.

use std::path::Path;

use crate::redis::{connect, namespace, redis_server, write_spec};
use crate::selfhosted_identity::{admin_run, unique_user, write_identity_spec};
use crate::servers::{s3_client, server, unique_bucket};
use crate::sql_support::{Db, database, unique_table};
use crate::support::{Run, tempdir};

/// The bench server `name`'s URL with another user and database.
fn url_as(admin: &Db, user: &str, database: &str) -> String {
    let mut url = url::Url::parse(&admin.url).expect("a URL");
    url.set_username(user).expect("a user");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// `plan` then `apply` as an account that may not create users: a note,
/// the table made, no user, no credentials file; `app_user: false` then
/// plans no user at all.
fn owner_story(owner: &Db, admin: &Db, dir: &Path, lacks: &str, app_user_count: &str) {
    let table = unique_table("own");
    owner.write_spec(dir, &table);
    let plan = owner.tool(dir, &["plan"]).run().code(0);
    assert!(
        plan.stdout.contains("+ sql.table")
            && plan.stdout.contains("= sql.app-user: not planned: ")
            && plan.stdout.contains(lacks)
            && plan.stdout.contains("app_user: false")
            && !plan.stdout.contains("+ sql.app-user"),
        "{}",
        plan.stdout
    );
    owner
        .tool(dir, &["apply", "--yes", "--out", "creds"])
        .run()
        .code(0);
    assert_eq!(owner.rows(&table), 0, "the table exists, empty");
    assert!(!dir.join("creds/app-credentials.ci.env").exists());
    assert_eq!(
        admin.count(&app_user_count.replace("{user}", &format!("{table}_ci_app"))),
        0,
        "no app user was made"
    );
    // Converged: the note is not a pending change.
    owner.tool(dir, &["plan", "--exit-code"]).run().code(0);

    // Opted out: no user planned, no note.
    let spec = dir.join("chronotrace-ops.yaml");
    let text = std::fs::read_to_string(&spec).expect("spec");
    std::fs::write(&spec, format!("{text}    app_user: false\n")).expect("spec");
    let plan = owner.tool(dir, &["plan", "--exit-code"]).run().code(0);
    assert!(!plan.stdout.contains("sql.app-user"), "{}", plan.stdout);
    owner
        .tool(dir, &["destroy", "--yes", "--empty"])
        .run()
        .code(0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn postgres_as_the_database_owner_notes_the_app_user_and_apply_exits_0() {
    let dir = tempdir();
    let admin = database("postgres", dir.path());
    let name = unique_table("pgown");
    let password = format!("pw{name}");
    admin.exec(&[
        format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'"),
        format!("CREATE DATABASE {name} OWNER {name}"),
    ]);
    let owner = Db {
        name: "postgres",
        url: url_as(&admin, &name, &name),
        password,
    };
    owner_story(
        &owner,
        &admin,
        dir.path(),
        "has neither CREATEROLE nor SUPERUSER",
        "SELECT COUNT(*) FROM pg_roles WHERE rolname = '{user}'",
    );
    admin.exec(&[
        format!("DROP DATABASE {name} WITH (FORCE)"),
        format!("DROP ROLE {name}"),
    ]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn mariadb_as_a_user_without_create_user_notes_the_app_user_and_apply_exits_0() {
    let dir = tempdir();
    let admin = database("mariadb", dir.path());
    let name = unique_table("myown");
    let password = format!("pw{name}");
    admin.exec(&[
        format!("CREATE DATABASE {name}"),
        format!("CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{password}'"),
        format!("GRANT ALL PRIVILEGES ON {name}.* TO '{name}'@'127.0.0.1'"),
    ]);
    let owner = Db {
        name: "mariadb",
        url: url_as(&admin, &name, &name),
        password,
    };
    owner_story(
        &owner,
        &admin,
        dir.path(),
        "lacks the CREATE USER privilege",
        "SELECT CAST(COUNT(*) AS SIGNED) FROM mysql.user WHERE user = '{user}'",
    );
    admin.exec(&[
        format!("DROP DATABASE {name}"),
        format!("DROP USER '{name}'@'127.0.0.1'"),
    ]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn redis_as_a_user_without_acl_notes_the_acl_user_and_apply_exits_0() {
    let dir = tempdir();
    let ns = namespace("noacl");
    write_spec(dir.path(), &ns);
    let limited = format!("ct-noacl-{}", &ns[9..ns.len() - 1]);
    let password = format!("pw-{limited}");
    let mut c = connect();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&limited)
        .arg("on")
        .arg(format!(">{password}"))
        .arg("~*")
        .arg("+@all")
        .arg("-@admin")
        .query(&mut c)
        .expect("a user without ACL");
    // Its own environment name, so its app user would be its own; the
    // limited user in the URL.
    let (url, _) = redis_server();
    let env = format!("noacl{}", &ns[9..ns.len() - 1]);
    let spec_path = dir.path().join("chronotrace-ops.yaml");
    let spec = std::fs::read_to_string(&spec_path).expect("spec");
    let as_limited = url.replace("redis://", &format!("redis://{limited}@"));
    std::fs::write(
        &spec_path,
        spec.replace("  cache:", &format!("  {env}:"))
            .replace(&url, &as_limited),
    )
    .expect("spec");
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", env.as_str()])
            .args(args)
            .run()
    };

    let plan = tool(&["plan", "--exit-code"]).code(0);
    assert!(
        plan.stdout.contains("= redis.acl-user: not planned: ")
            && plan.stdout.contains(&limited)
            && plan.stdout.contains("app_user: false"),
        "{}",
        plan.stdout
    );
    tool(&["apply", "--yes", "--out", "creds"]).code(0);
    assert!(
        !dir.path()
            .join(format!("creds/app-credentials.{env}.env"))
            .exists()
    );
    let users: Vec<String> = redis::cmd("ACL").arg("USERS").query(&mut c).expect("users");
    assert!(!users.contains(&format!("chronotrace-{env}")), "{users:?}");
    // destroy cannot tell whether the user is there: one line, nothing done.
    tool(&["destroy", "--yes"])
        .code(2)
        .one_line_error("may not run ACL GETUSER");

    let _: () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&limited)
        .query(&mut c)
        .expect("deluser");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_without_its_admin_token_notes_the_app_key_and_apply_exits_0() {
    let garage = server("garage");
    let dir = tempdir();
    let (bucket, user) = (unique_bucket("ga-notoken"), unique_user("gnt"));
    write_identity_spec(dir.path(), &garage, "garage", &bucket, &user);
    let admin = std::env::var("CT_TEST_GARAGE_ADMIN_ENDPOINT").expect("admin endpoint");
    let path = dir.path().join("chronotrace-ops.yaml");
    let spec = std::fs::read_to_string(&path).expect("spec");
    std::fs::write(&path, format!("{spec}    admin_endpoint: {admin}\n")).expect("spec");
    let with_token = |token: Option<&str>, args: &[&str]| {
        let mut run = Run::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
            .args(["-e", "staging"])
            .args(args);
        if let Some(token) = token {
            run = run.env("GARAGE_ADMIN_TOKEN", token);
        }
        run.run()
    };

    let plan = with_token(None, &["plan"]).code(0);
    assert!(
        plan.stdout.contains("+ bucket")
            && plan
                .stdout
                .contains("= iam.access-key: not planned: GARAGE_ADMIN_TOKEN is not set")
            && !plan.stdout.contains("+ iam.access-key"),
        "{}",
        plan.stdout
    );
    let wrong = with_token(Some("not-the-admin-token"), &["plan"]).code(0);
    assert!(
        wrong.stdout.contains("refused GARAGE_ADMIN_TOKEN (HTTP 40"),
        "{}",
        wrong.stdout
    );
    with_token(None, &["apply", "--yes"]).code(0);
    let made = s3_client(&garage)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await;
    assert!(made.is_ok(), "the bucket was made: {made:?}");
    assert!(
        !dir.path()
            .join("deploy/app-credentials.staging.env")
            .exists()
    );
    // With the token, the key is planned and made.
    admin_run(dir.path(), &garage, &["plan", "--exit-code"])
        .code(1)
        .stdout_contains("+ iam.access-key");
    admin_run(dir.path(), &garage, &["destroy", "--yes", "--empty"]).code(0);
}
