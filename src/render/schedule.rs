//! The schedule line for `cleanup purge --yes`, in its three forms (cron,
//! systemd timer, Laravel scheduler). Where retention depends on the tool
//! (a local disk, a store without lifecycle rules) nothing else deletes
//! traces: the package's own `chronotrace:purge` deletes nothing (v0.0.4)
//! and `CHRONOTRACE_RETENTION_DAYS` / `CHRONOTRACE_AUTO_PURGE` are read
//! nowhere. `render` writes the files from these same strings.

use serde::Serialize;

use super::store::StoreFiles;
use crate::spec::{Environment, Schedule};

/// The time used in examples when the spec has no `schedule:`.
const EXAMPLE_TIME: (u8, u8) = (3, 15);

/// One environment's purge schedule, every form of it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Forms {
    /// The command the schedule runs (in `directory`).
    pub(crate) command: String,
    pub(crate) directory: String,
    pub(crate) user: String,
    /// A cron.d line (with the user field).
    pub(crate) cron: String,
    /// systemd's `OnCalendar=` value.
    pub(crate) on_calendar: String,
    /// The Laravel scheduler line (routes/console.php).
    pub(crate) laravel: String,
}

impl Forms {
    /// The forms for `env`, from its `schedule:` or an example.
    pub(crate) fn new(env: &str, schedule: Option<&Schedule>) -> Forms {
        let (hour, minute, directory, user, binary) = match schedule {
            Some(s) => (
                s.hour,
                s.minute,
                s.directory.clone(),
                s.user.clone(),
                s.binary.clone(),
            ),
            None => (
                EXAMPLE_TIME.0,
                EXAMPLE_TIME.1,
                "/path/to/app".into(),
                "www-data".into(),
                "chronotrace-ops".into(),
            ),
        };
        let command = format!("{binary} --env {env} cleanup purge --yes");
        Forms {
            cron: format!("{minute} {hour} * * * {user} cd {directory} && {command}"),
            on_calendar: format!("*-*-* {hour:02}:{minute:02}:00"),
            laravel: format!("Schedule::exec('{command}')->dailyAt('{hour:02}:{minute:02}');"),
            command,
            directory,
            user,
        }
    }

    /// One line for a report: the three forms.
    pub(crate) fn summary(&self) -> String {
        format!(
            "cron (/etc/cron.d): `{}` · systemd: a timer with OnCalendar={} running `{}` in {} (`render` writes both with `schedule:` in the spec) · Laravel scheduler (routes/console.php): `{}`",
            self.cron, self.on_calendar, self.command, self.directory, self.laravel
        )
    }
}

/// The context of the purge templates (systemd service and timer, cron).
#[derive(Debug, Serialize)]
pub(crate) struct Units {
    pub(crate) project: String,
    pub(crate) env: String,
    /// The purge talks to a bucket (network, credentials from the AWS
    /// chain); the templates' name for `StoreFiles::purge_signs_with_aws`.
    pub(crate) s3: bool,
    pub(crate) forms: Forms,
}

impl Units {
    pub(crate) fn new(
        project: &str,
        env: &Environment,
        schedule: &Schedule,
        store: &StoreFiles,
    ) -> Units {
        Units {
            project: project.to_string(),
            env: env.name.clone(),
            s3: store.purge_signs_with_aws,
            forms: Forms::new(&env.name, Some(schedule)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_agree() {
        let schedule = Schedule {
            hour: 4,
            minute: 5,
            directory: "/var/www/app".into(),
            user: "deploy".into(),
            binary: "/usr/local/bin/chronotrace-ops".into(),
        };
        let forms = Forms::new("local", Some(&schedule));
        assert_eq!(
            forms.cron,
            "5 4 * * * deploy cd /var/www/app && /usr/local/bin/chronotrace-ops --env local cleanup purge --yes"
        );
        assert_eq!(forms.on_calendar, "*-*-* 04:05:00");
        assert!(forms.laravel.ends_with("->dailyAt('04:05');"));
        assert!(Forms::new("x", None).summary().contains("15 3 * * *"));
    }
}
