//! The keys that tie an environment to its Laravel app and its host: `app:`
//! (the app's directory) and `schedule:` (a daily `cleanup purge --yes`,
//! rendered as a systemd timer and a cron file, so every value must be
//! safe inside both).

use std::path::PathBuf;

use serde_saphyr::Spanned;

use super::Checker;
use crate::spec::Schedule;
use crate::spec::raw::RawSchedule;

/// The user a web server runs PHP as on Debian and Ubuntu.
const DEFAULT_USER: &str = "www-data";
/// Where the release binary is usually installed.
const DEFAULT_BINARY: &str = "/usr/local/bin/chronotrace-ops";

impl Checker<'_> {
    /// `app:`: a directory, never empty.
    pub(super) fn app_dir(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        let value = raw.value.trim();
        if value.is_empty() || value.contains('\n') {
            self.problem(
                &raw.referenced,
                "spec.app",
                "app must name the Laravel app's directory".into(),
            );
            return None;
        }
        Some(PathBuf::from(value))
    }

    /// `schedule:`: a time of day, an absolute directory, a user, a binary.
    pub(super) fn schedule(&mut self, raw: &Spanned<RawSchedule>) -> Option<Schedule> {
        let s = &raw.value;
        let time = parse_time(&s.at.value);
        if time.is_none() {
            self.problem(
                &s.at.referenced,
                "schedule.at",
                format!(
                    "schedule.at '{}' must be a time of day HH:MM (00:00 to 23:59, server-local)",
                    s.at.value
                ),
            );
        }
        let directory = self.absolute(&s.directory, "directory");
        let binary = match &s.binary {
            Some(raw) => self.absolute(raw, "binary"),
            None => Some(DEFAULT_BINARY.to_string()),
        };
        let user = match &s.user {
            Some(raw) if is_user_name(&raw.value) => Some(raw.value.clone()),
            Some(raw) => {
                self.problem(
                    &raw.referenced,
                    "schedule.user",
                    format!(
                        "schedule.user '{}' must be a user name (lowercase letters, digits, '_' or '-', at most 32)",
                        raw.value
                    ),
                );
                None
            }
            None => Some(DEFAULT_USER.to_string()),
        };
        let (hour, minute) = time?;
        Some(Schedule {
            hour,
            minute,
            directory: directory?,
            user: user?,
            binary: binary?,
        })
    }

    /// An absolute path made only of characters that need no quoting in a
    /// systemd unit or a cron line (`%` means something to both).
    fn absolute(&mut self, raw: &Spanned<String>, key: &str) -> Option<String> {
        let value = raw.value.trim_end_matches('/');
        let safe = value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
        if value.starts_with('/') && safe && !value.split('/').any(|part| part == "..") {
            return Some(value.to_string());
        }
        self.problem(
            &raw.referenced,
            "schedule.path",
            format!(
                "schedule.{key} '{}' must be an absolute path of letters, digits, '/', '.', '_' and '-' (it goes into a systemd unit and a cron line)",
                raw.value.escape_debug()
            ),
        );
        None
    }
}

/// `HH:MM` on a 24-hour clock.
fn parse_time(text: &str) -> Option<(u8, u8)> {
    let (hour, minute) = text.trim().split_once(':')?;
    if hour.len() != 2 || minute.len() != 2 {
        return None;
    }
    let hour: u8 = hour.parse().ok()?;
    let minute: u8 = minute.parse().ok()?;
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// A POSIX-portable user name, as `useradd` accepts by default.
fn is_user_name(name: &str) -> bool {
    name.len() <= 32
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(parse_time("03:15"), Some((3, 15)));
        assert_eq!(parse_time("23:59"), Some((23, 59)));
        for bad in ["24:00", "3:15", "03:60", "0315", "", "aa:bb", "03:15:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn user_names() {
        assert!(is_user_name("www-data"));
        assert!(is_user_name("_deploy"));
        for bad in ["", "Root", "1user", "a b", "x;y", &"a".repeat(33)] {
            assert!(!is_user_name(bad), "{bad}");
        }
    }
}
