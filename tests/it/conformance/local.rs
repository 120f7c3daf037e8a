//! A local directory under the suite: `path: disk` in a fresh temporary
//! directory, traces at `disk/traces/{date}/{id}.zip` (the Laravel local
//! disk's layout). No server: these tests run under a plain `cargo test`
//! too, like the other local-disk tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{PurgeHold, RETENTION, Seeded, StopAtProgress, StoreUnderTest, Support, suite};
use crate::cleanup::day;
use crate::support::{Run, tempdir};

struct LocalStore {
    dir: TempDir,
}

impl LocalStore {
    fn new() -> LocalStore {
        let dir = tempdir();
        let spec = format!(
            "project: ct\nenvironments:\n  staging:\n    storage: local\n    path: disk\n    retention_days: {RETENTION}\n"
        );
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
        LocalStore { dir }
    }

    /// The environment's `path:`.
    fn disk(&self) -> PathBuf {
        self.dir.path().join("disk")
    }

    fn write(&self, name: &str, body: &[u8]) {
        let path = self.disk().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, body).expect("write");
    }
}

/// Every file under `root`, by its path relative to `root`.
fn files(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        // A directory the purge removed meanwhile holds nothing.
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                found.insert(relative.display().to_string());
            }
        }
    }
    found
}

impl StoreUnderTest for LocalStore {
    fn name(&self) -> &str {
        "local"
    }

    fn tool(&self, args: &[&str]) -> Run {
        Run::new(self.dir.path()).args(["-e", "staging"]).args(args)
    }

    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        let mut seeded = Seeded::default();
        for age in 0..days {
            let traces: Vec<(String, u64)> = (0..per_day)
                .map(|i| (format!("traces/{}/trace-{age}-{i}.zip", day(age)), 3))
                .collect();
            for (name, _) in &traces {
                self.write(name, b"zip");
            }
            seeded.push(age, traces);
        }
        seeded
    }

    fn count(&self) -> u64 {
        files(&self.disk().join("traces")).len() as u64
    }

    fn everything(&self) -> BTreeSet<String> {
        files(&self.disk())
    }

    fn plant_foreign(&mut self) -> BTreeSet<String> {
        let names = [
            "app/keep.txt".to_owned(),
            format!("traces-archive/{}/a.zip", day(40)),
        ];
        for name in &names {
            self.write(name, b"zip");
        }
        names.into_iter().collect()
    }

    fn probe_check(&self) -> &'static str {
        "local.writable"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        (30, 1000)
    }

    fn hold_purge(&mut self, total: u64, young: u64) -> Box<dyn PurgeHold> {
        let traces = self.disk().join("traces");
        Box::new(StopAtProgress {
            store: "local".to_owned(),
            remaining: move || files(&traces).len() as u64,
            total,
            young,
        })
    }

    fn drift(&mut self) -> &'static str {
        // The one thing apply makes: its directory, removed.
        std::fs::remove_dir(self.disk().join("traces")).expect("remove traces/");
        "local.traces-dir"
    }

    fn destroy(&self) -> Support {
        Support::No(
            "destroy removes cloud resources only: a local directory holding traces is the user's to delete",
        )
    }
}

suite!(LocalStore::new());
