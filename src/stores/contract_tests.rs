//! What every store states for `render` and the app's checks agrees with
//! itself: the driver `check --app` expects is the `CHRONOTRACE_STORAGE`
//! line `render` writes, and a store's own app checks give one result per
//! id they announce (the ids the checks are skipped by when the app cannot
//! be read).

use super::connections::Connections;
use super::open;
use crate::app::contract::Driver;
use crate::spec::Spec;

const SPEC: &str = "project: p
environments:
  disk:
    storage: local
  bucket:
    storage: s3
    region: eu-west-1
    bucket: traces-b
  cache:
    storage: redis
    url: redis://127.0.0.1:6379
  table:
    storage: database
    url: sqlite://traces.db
";

#[test]
fn the_driver_checked_is_the_driver_rendered() {
    let spec = Spec::parse(SPEC, "t.yaml").expect("valid spec");
    let connections = Connections::default();
    for env in spec.environments.values() {
        let store = open(env, &connections);
        let files = store.files().expect("files");
        let (name, rendered) = files.settings.first().expect("a driver line");
        assert_eq!(name, "CHRONOTRACE_STORAGE", "{}", env.name);
        match store.app_contract().driver {
            Driver::Setting { value, .. } => assert_eq!(value, rendered, "{}", env.name),
            Driver::Skipped(why) => assert!(why.contains(rendered.as_str()), "{}", env.name),
        }
    }
}

#[test]
fn a_stores_app_checks_answer_every_id_they_announce() {
    let spec = Spec::parse(SPEC, "t.yaml").expect("valid spec");
    let connections = Connections::default();
    let app = tempfile::tempdir().expect("temp dir");
    let tree = crate::app::tree::read(app.path(), "bucket").expect("an empty app reads");
    for env in spec.environments.values() {
        let store = open(env, &connections);
        if let Some(checks) = store.app_contract().checks {
            let ran: Vec<String> = checks.run(&tree).into_iter().map(|c| c.id).collect();
            assert_eq!(ran, checks.ids(), "{}", env.name);
        }
    }
}
