//! The app's `.env` file, read the way Laravel (phpdotenv) does for the
//! common cases: `KEY=value`, `export KEY=value`, single quotes (literal),
//! double quotes (escapes, `${VAR}`), unquoted values ending at ` #`.
//!
//! Values may be secrets: nothing here prints them, and `checks` only ever
//! shows the values of settings that are not secrets.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

/// The variables of one `.env` file, and which file it was.
#[derive(Debug, Clone, Default)]
pub(crate) struct DotEnv {
    /// `None` when the app has no env file.
    pub(crate) file: Option<PathBuf>,
    pub(crate) vars: IndexMap<String, String>,
}

impl DotEnv {
    /// The file Laravel reads for environment `env`: `.env.<env>` when it
    /// exists (Laravel loads it instead of `.env` when APP_ENV is `<env>`),
    /// else `.env`. An unreadable file is an error naming it.
    pub(crate) fn read(app: &Path, env: &str) -> Result<DotEnv, String> {
        for name in [format!(".env.{env}"), ".env".to_string()] {
            let path = app.join(&name);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    return Ok(DotEnv {
                        file: Some(PathBuf::from(name)),
                        vars: parse(&text),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Ok(DotEnv::default())
    }

    /// The value of `name`, when set and not empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The file's name for messages.
    pub(crate) fn label(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| "no .env".to_string(), |f| f.display().to_string())
    }
}

/// Parses dotenv text; lines it cannot read are skipped.
pub(crate) fn parse(text: &str) -> IndexMap<String, String> {
    let mut vars: IndexMap<String, String> = IndexMap::new();
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value(raw.trim(), &vars);
        vars.insert(key.to_string(), value);
    }
    vars
}

fn value(raw: &str, vars: &IndexMap<String, String>) -> String {
    if let Some(inner) = raw.strip_prefix('\'') {
        return inner.split('\'').next().unwrap_or("").to_string();
    }
    if let Some(inner) = raw.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => {}
                },
                _ => out.push(c),
            }
        }
        return interpolate(&out, vars);
    }
    let unquoted = match raw.find(" #") {
        Some(i) => &raw[..i],
        None => raw,
    };
    interpolate(unquoted.trim(), vars)
}

/// `${NAME}` replaced by an earlier variable (empty when unknown).
fn interpolate(text: &str, vars: &IndexMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push_str(vars.get(&after[..end]).map_or("", String::as_str));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_shapes() {
        let vars = parse(
            "# comment\nA=plain # note\nexport B='single # kept'\nC=\"dq \\\"x\\\" ${A}\"\nD=\n bad line\nE=${A}/x\nF = spaced \n",
        );
        assert_eq!(vars["A"], "plain");
        assert_eq!(vars["B"], "single # kept");
        assert_eq!(vars["C"], "dq \"x\" plain");
        assert_eq!(vars["D"], "");
        assert_eq!(vars["E"], "plain/x");
        assert_eq!(vars["F"], "spaced");
        assert_eq!(vars.len(), 6);
    }
}
