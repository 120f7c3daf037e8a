//! The repository's Markdown renders as written (issue 28): every table row
//! has as many cells as its header (a `|` inside a cell must be written
//! `\|`, or the row breaks into raw pipes), and every relative link leads
//! to a file of the repository and, with an anchor, to one of its headings.

use std::path::{Path, PathBuf};

/// The Markdown a user or contributor reads: the README, CONTRIBUTING,
/// CHANGELOG, BENCHMARKS and everything under `docs/`.
fn markdown_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = [
        "README.md",
        "CONTRIBUTING.md",
        "CHANGELOG.md",
        "BENCHMARKS.md",
    ]
    .iter()
    .map(|name| root.join(name))
    .collect();
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/ exists");
    for entry in docs.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The lines outside fenced code blocks, numbered from 1.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            lines.push((index + 1, line));
        }
    }
    lines
}

/// The cells of a table row: split on every `|` not escaped by a backslash
/// (GitHub splits on those even inside a code span).
fn cell_count(row: &str) -> usize {
    let mut count: usize = 0;
    let mut chars = row.trim().chars();
    while let Some(ch) = chars.next() {
        match ch {
            // An escaped character, `\|` included, is the cell's text.
            '\\' => {
                chars.next();
            }
            '|' => count += 1,
            _ => {}
        }
    }
    // `| a | b |` has three pipes and two cells.
    count.saturating_sub(1)
}

#[test]
fn every_table_row_has_as_many_cells_as_its_header() {
    let delimiter = regex::Regex::new(r"^\|(\s*:?-+:?\s*\|)+$").expect("valid regex");
    let mut problems = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        // Runs of consecutive lines that start with `|`: each must be a
        // table, a header then its delimiter row, or GitHub shows raw pipes.
        let mut runs: Vec<Vec<(usize, &str)>> = Vec::new();
        let mut previous = 0;
        for (number, line) in prose_lines(&text) {
            if !line.trim_start().starts_with('|') {
                continue;
            }
            match runs.last_mut() {
                Some(run) if number == previous + 1 => run.push((number, line)),
                _ => runs.push(vec![(number, line)]),
            }
            previous = number;
        }
        for run in runs {
            let (first, header) = run[0];
            if run.len() < 2 || !delimiter.is_match(run[1].1.trim()) {
                problems.push(format!(
                    "{}:{first}: table rows without a header and delimiter row above them (they render as raw pipes)",
                    file.display()
                ));
                continue;
            }
            let expected = cell_count(header);
            for (number, line) in &run[1..] {
                let cells = cell_count(line);
                if cells != expected {
                    problems.push(format!(
                        "{}:{number}: {cells} cells, the header has {expected} (escape `|` in a cell as `\\|`)",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_relative_link_leads_to_a_file_and_heading() {
    let link = regex::Regex::new(r"\]\(([^)\s]+)\)").expect("valid regex");
    // A link written inside a code span is text (a pattern like `(/.*)`).
    let code_span = regex::Regex::new(r"`[^`]*`").expect("valid regex");
    let mut problems = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        for (number, line) in prose_lines(&text) {
            let line = code_span.replace_all(line, "");
            for capture in link.captures_iter(&line) {
                let target = &capture[1];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                if let Err(problem) = check_link(&file, target) {
                    problems.push(format!("{}:{number}: {target}: {problem}", file.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn check_link(from: &Path, target: &str) -> Result<(), String> {
    let (path, anchor) = match target.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (target, None),
    };
    let dir = from.parent().expect("a file has a folder");
    let resolved = if path.is_empty() {
        from.to_path_buf()
    } else {
        dir.join(path)
    };
    if !resolved.exists() {
        return Err("no such file".to_owned());
    }
    let Some(anchor) = anchor else { return Ok(()) };
    let text = std::fs::read_to_string(&resolved).map_err(|err| err.to_string())?;
    let found = prose_lines(&text)
        .iter()
        .filter_map(|(_, line)| line.strip_prefix('#'))
        .map(|heading| slug(heading.trim_start_matches('#')))
        .any(|slug| slug == anchor);
    if found {
        Ok(())
    } else {
        Err("no heading with that anchor".to_owned())
    }
}

/// GitHub's anchor for a heading: lowercase, spaces to `-`, punctuation
/// other than `-` and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|ch| match ch {
            ' ' => Some('-'),
            '-' | '_' => Some(ch),
            ch if ch.is_alphanumeric() => Some(ch.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_heading_slug_drops_punctuation_as_github_does() {
    assert_eq!(
        slug(" Self-hosted stores: the app's own identity"),
        "self-hosted-stores-the-apps-own-identity"
    );
    assert_eq!(slug("The `spec` (v2)"), "the-spec-v2");
}

#[test]
fn a_pipe_escaped_in_a_cell_does_not_split_it() {
    assert_eq!(cell_count(r"| `check [--format text\|json]` | does |"), 2);
    assert_eq!(cell_count("| `a|b` | does |"), 3);
}

#[test]
fn every_document_the_sources_cite_exists() {
    // The starter spec `init` writes, code comments and scripts point
    // readers at docs/*.md, CONTRIBUTING.md and the like: none may be gone.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cited = regex::Regex::new(r"\b((?:docs/)?[A-Za-z][\w-]*\.md)\b").expect("valid regex");
    let mut problems = Vec::new();
    let mut pending = vec![
        root.join("src"),
        root.join("scripts"),
        root.join("templates"),
    ];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("readable folder").flatten() {
                pending.push(entry.path());
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (index, line) in text.lines().enumerate() {
            for capture in cited.captures_iter(line) {
                let name = &capture[1];
                let a_repository_file =
                    name.contains('/') || name.chars().next().is_some_and(char::is_uppercase);
                if a_repository_file && !root.join(name).exists() {
                    problems.push(format!("{}:{}: {name}", path.display(), index + 1));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "cited but missing:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_ci_example_runs_a_checked_release_binary_instead_of_compiling() {
    // Issue 28: the example compiled the user's own repository in every job.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = std::fs::read_to_string(root.join("docs/examples/github-actions.yml"))
        .expect("the example exists");
    assert!(!example.contains("cargo install"), "{example}");
    for needed in [
        "actions/cache@",
        "sha256sum -c",
        "releases/download/v$TOOL_VERSION",
    ] {
        assert!(
            example.contains(needed),
            "{needed} missing from the example"
        );
    }
}
