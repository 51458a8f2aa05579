//! The import panel's state: a path with Tab completion, a preview (format, encoding, delimiter,
//! mapping, and a dry run's counts), the running import, and its summary. Pure: the runtime lists
//! directories and runs the import, and answers with messages.

use crate::import::{Counts, ImportProgress, ImportSummary, Inspection};

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Typing a path.
    Path,
    /// Reading the file's head and counting a dry run.
    Inspecting,
    Preview {
        inspection: Box<Inspection>,
        dry: Counts,
    },
    Running {
        progress: Option<ImportProgress>,
        cancelling: bool,
    },
    Done(Box<ImportSummary>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportPanel {
    pub path: super::app::Field,
    /// What Tab found when the typed prefix had several matches.
    pub completions: Vec<String>,
    pub stage: Stage,
}

impl Default for ImportPanel {
    fn default() -> Self {
        ImportPanel { path: Default::default(), completions: Vec::new(), stage: Stage::Path }
    }
}

impl ImportPanel {
    pub fn running(&self) -> bool {
        matches!(self.stage, Stage::Running { .. })
    }

    pub fn path(&self) -> String {
        self.path.0.value().trim().to_string()
    }
}

/// Where the typed path's last component starts: the directory part, and the prefix to complete.
pub fn split_path(typed: &str) -> (&str, &str) {
    match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("", typed),
    }
}

/// Completes `typed` from `entries` (names in its directory, directories ending in `/`): one
/// match completes fully, several complete to their longest common prefix and are returned.
pub fn complete(typed: &str, entries: &[String]) -> (String, Vec<String>) {
    let (dir, prefix) = split_path(typed);
    // Hidden files only when asked for, as shells do.
    let mut matches: Vec<&String> =
        entries.iter().filter(|e| e.starts_with(prefix) && (prefix.starts_with('.') || !e.starts_with('.'))).collect();
    matches.sort();
    match matches.as_slice() {
        [] => (typed.to_string(), Vec::new()),
        [one] => (format!("{dir}{one}"), Vec::new()),
        many => {
            let first = many[0].as_str();
            let common = many.iter().fold(first.len(), |n, m| {
                first
                    .chars()
                    .zip(m.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len_utf8())
                    .sum::<usize>()
                    .min(n)
            });
            (format!("{dir}{}", &first[..common]), many.iter().map(|m| m.to_string()).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tab_completes_one_match_fully_and_several_to_their_common_prefix() {
        let entries = names(&["leads-2025.csv", "leads-2026.xlsx", "notes/", ".hidden.csv"]);
        assert_eq!(complete("n", &entries), ("notes/".into(), vec![]));
        assert_eq!(
            complete("data/le", &entries),
            ("data/leads-202".into(), names(&["leads-2025.csv", "leads-2026.xlsx"]))
        );
        assert_eq!(complete("zzz", &entries), ("zzz".into(), vec![]));
        assert_eq!(complete(".h", &entries), (".hidden.csv".into(), vec![]));
        assert_eq!(complete("", &entries).1.len(), 3, "hidden files only when asked for");
        assert_eq!(split_path("/tmp/x/ab"), ("/tmp/x/", "ab"));
        let cyrillic = names(&["лиды-1.csv", "лиды-2.csv"]);
        assert_eq!(complete("ли", &cyrillic).0, "лиды-");
    }
}
