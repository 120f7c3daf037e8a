//! Just enough reading of Laravel config files (PHP arrays) as text, with no
//! PHP: comments removed, the expression of one array key, and the few
//! expressions a disk root or a setting is written with (`storage_path()`,
//! `base_path()`, `env('NAME', default)`, string and boolean literals).
//! Anything else is "unknown", never a guess.

use std::path::PathBuf;

/// The text without `//`, `#` and `/* */` comments (quoted strings kept).
pub(crate) fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('\'' | '"', _) => {
                quote = Some(c);
                out.push(c);
            }
            ('/', Some('/')) | ('#', _) => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut last = ' ';
                for skipped in chars.by_ref() {
                    if last == '*' && skipped == '/' {
                        break;
                    }
                    last = skipped;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The expression after `'key' =>` (first occurrence), up to the next
/// top-level `,` or closing bracket.
pub(crate) fn value_of<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    for quoted in [format!("'{key}'"), format!("\"{key}\"")] {
        let mut from = 0;
        while let Some(found) = text[from..].find(&quoted) {
            let after = from + found + quoted.len();
            let rest = text[after..].trim_start();
            if let Some(expr) = rest.strip_prefix("=>") {
                return Some(until_top_level_end(expr.trim_start()));
            }
            from = after;
        }
    }
    None
}

/// `expr` up to the first `,`, `]` or `)` outside brackets and quotes.
fn until_top_level_end(expr: &str) -> &str {
    until_end(expr, true)
}

/// `expr` up to the first closing bracket outside brackets and quotes
/// (and, with `at_comma`, the first such `,`).
fn until_end(expr: &str, at_comma: bool) -> &str {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in expr.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' | '(' => depth += 1,
            ']' | ')' if depth == 0 => return expr[..i].trim(),
            ']' | ')' => depth -= 1,
            ',' if depth == 0 && at_comma => return expr[..i].trim(),
            _ => {}
        }
    }
    expr.trim()
}

/// A single- or double-quoted literal without interpolation.
pub(crate) fn string_literal(expr: &str) -> Option<String> {
    let expr = expr.trim();
    let quote = expr.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = expr.strip_prefix(quote)?.strip_suffix(quote)?;
    if inner.contains(quote) || (quote == '"' && inner.contains('$')) {
        return None;
    }
    Some(inner.replace("\\\\", "\\"))
}

/// The arguments of `name(...)` when `expr` is exactly that call.
fn call<'e>(expr: &'e str, name: &str) -> Option<Vec<&'e str>> {
    let inner = expr
        .trim()
        .strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let mut args = Vec::new();
    let mut rest = inner.trim();
    while !rest.is_empty() {
        let arg = until_top_level_end(rest);
        args.push(arg);
        rest = rest[arg.len()..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        if args.len() > 4 {
            return None;
        }
    }
    Some(args)
}

/// The root of the disk `disk` in `config/filesystems.php` text, relative
/// to the app (or absolute); `None` when it cannot be read without PHP.
pub(crate) fn disk_root(
    text: &str,
    disk: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    let text = strip_comments(text);
    let disks = value_of(&text, "disks")?;
    let block = value_of(disks, disk)?;
    let block = block.strip_prefix('[')?;
    path_expr(value_of(block, "root")?, env)
}

/// A path expression: `storage_path('x')`, `base_path('x')`, a literal, or
/// `env('NAME', <one of these>)`.
fn path_expr(expr: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let under = |base: &str, args: Vec<&str>| -> Option<PathBuf> {
        match args.first() {
            None => Some(PathBuf::from(base)),
            Some(arg) => {
                let sub = string_literal(arg)?;
                let sub = sub.trim_start_matches('/');
                Some(if base.is_empty() {
                    PathBuf::from(sub)
                } else {
                    PathBuf::from(base).join(sub)
                })
            }
        }
    };
    if let Some(args) = call(expr, "storage_path") {
        return under("storage", args);
    }
    if let Some(args) = call(expr, "base_path") {
        return under("", args);
    }
    if let Some(args) = call(expr, "env") {
        let name = string_literal(args.first()?)?;
        return match env(&name) {
            Some(value) if !value.is_empty() => Some(PathBuf::from(value)),
            _ => path_expr(args.get(1)?, env),
        };
    }
    string_literal(expr).map(PathBuf::from)
}

/// What the config says for a setting read from env `name`: `None` when
/// the config does not read it, `Some(None)` when it does without a
/// literal default, `Some(Some(default))` otherwise.
pub(crate) fn env_default(text: &str, name: &str) -> Option<Option<String>> {
    let text = strip_comments(text);
    for quoted in [format!("'{name}'"), format!("\"{name}\"")] {
        let mut from = 0;
        while let Some(found) = text[from..].find("env(") {
            let start = from + found;
            from = start + 4;
            let expr = until_end(&text[start + 4..], false);
            if !expr.starts_with(&quoted) {
                continue;
            }
            let call_text = format!("env({expr})");
            let args = call(&call_text, "env")?;
            return Some(args.get(1).and_then(|d| literal(d)));
        }
    }
    None
}

/// A string, boolean or number literal as text.
pub(crate) fn literal(expr: &str) -> Option<String> {
    let expr = expr.trim();
    if let Some(s) = string_literal(expr) {
        return Some(s);
    }
    let lower = expr.to_ascii_lowercase();
    if matches!(lower.as_str(), "true" | "false" | "null") || expr.parse::<f64>().is_ok() {
        return Some(lower);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const L12: &str = r#"<?php
return [
    'default' => env('FILESYSTEM_DISK', 'local'),
    'disks' => [
        // 'local' => ['root' => storage_path('nope')],
        'local' => [
            'driver' => 'local',
            'root' => storage_path('app/private'),
            'serve' => true,
        ],
        'public' => [
            'driver' => 'local',
            'root' => storage_path('app/public'),
        ],
    ],
];"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_local_disk_root_in_every_common_shape() {
        let root = |text: &str| disk_root(text, "local", &no_env);
        assert_eq!(root(L12), Some(PathBuf::from("storage/app/private")));
        let l10 = L12.replace("'app/private'", "'app'");
        assert_eq!(root(&l10), Some(PathBuf::from("storage/app")));
        let base = L12.replace("storage_path('app/private')", "base_path(\"data/disk\")");
        assert_eq!(root(&base), Some(PathBuf::from("data/disk")));
        let abs = L12.replace("storage_path('app/private')", "'/srv/disk'");
        assert_eq!(root(&abs), Some(PathBuf::from("/srv/disk")));
        let from_env = L12.replace(
            "storage_path('app/private')",
            "env('LOCAL_ROOT', storage_path('app'))",
        );
        assert_eq!(root(&from_env), Some(PathBuf::from("storage/app")));
        let set = |name: &str| (name == "LOCAL_ROOT").then(|| "/mnt/traces".to_string());
        assert_eq!(
            disk_root(&from_env, "local", &set),
            Some(PathBuf::from("/mnt/traces"))
        );
        let odd = L12.replace("storage_path('app/private')", "$root . '/x'");
        assert_eq!(root(&odd), None);
        assert_eq!(root("<?php return [];"), None);
        assert_eq!(root("'disks' => ['local' => ['root' => "), None);
    }

    #[test]
    fn env_defaults_of_a_published_config() {
        let text = "return ['storage' => env('CHRONOTRACE_STORAGE', 'local'), # x\n 's3' => ['endpoint' => env(\"CHRONOTRACE_S3_ENDPOINT\"), 'n' => env('N', 15)]];";
        assert_eq!(
            env_default(text, "CHRONOTRACE_STORAGE"),
            Some(Some("local".into()))
        );
        assert_eq!(env_default(text, "CHRONOTRACE_S3_ENDPOINT"), Some(None));
        assert_eq!(env_default(text, "N"), Some(Some("15".into())));
        assert_eq!(env_default(text, "OTHER"), None);
    }

    #[test]
    fn comments_go_strings_stay() {
        assert_eq!(strip_comments("a // b\nc"), "a \nc");
        assert_eq!(strip_comments("'a // b' /* x */ c"), "'a // b'  c");
        assert_eq!(strip_comments("\"#\" # y"), "\"#\" ");
    }
}
