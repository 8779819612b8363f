//! FAQ entries and the TOML file format they are shipped and imported in.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    /// Stable id, lowercase ASCII kebab-case (`probation-length`).
    pub id: String,
    /// One of the library's topics (`预备期与转正`).
    #[serde(default)]
    pub topic: String,
    /// The canonical question, shown with the answer.
    pub question: String,
    /// Other ways members ask the same thing.
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// Terms a question about this entry contains.
    #[serde(default)]
    pub keywords: Vec<String>,
    pub answer: String,
    /// Where the answer comes from (document and article).
    #[serde(default)]
    pub source: String,
}

/// Library-wide matching rules, kept with the library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqRules {
    /// Groups of terms that mean the same to a member (`入党介绍人`, `介绍人`, `introducer`);
    /// every term counts as the group's first.
    #[serde(default)]
    pub synonyms: Vec<Vec<String>>,
    /// Phrases that make a message a request the FAQ must not answer (`帮我写`, `帮我查`):
    /// asking the bot to write for someone or to look up another person's records.
    #[serde(default)]
    pub decline: Vec<String>,
    /// Keyword rules, as on a WeChat Official Account: a question that is exactly `text` (or,
    /// with `contains`, has it anywhere) gets entry `entry`, before any ranking.
    #[serde(default, rename = "keyword", skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<KeywordRule>,
}

/// One keyword rule (see [`FaqRules::keywords`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeywordRule {
    pub text: String,
    /// The id of the entry it answers with.
    pub entry: String,
    /// Matches anywhere in the question instead of the whole question.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub contains: bool,
}

/// A library file as written: `[[entry]]` tables and the rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LibraryFile {
    #[serde(default)]
    pub entry: Vec<FaqEntry>,
    #[serde(default)]
    pub synonyms: Vec<Vec<String>>,
    #[serde(default)]
    pub decline: Vec<String>,
    #[serde(default)]
    pub keyword: Vec<KeywordRule>,
}

/// A library file that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaqLibraryError {
    #[error("not a valid FAQ file: {0}")]
    Syntax(String),
    #[error("{} problem(s): {}", .0.len(), .0.join("; "))]
    Invalid(Vec<String>),
}

const MAX_ANSWER_CHARS: usize = 4000;

impl FaqEntry {
    /// Problems that make this entry unusable, if any.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let id_ok = !self.id.is_empty() && self.id.len() <= 64 && self.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            out.push(format!("id `{}` must be 1-64 lowercase letters, digits or `-`", self.id));
        }
        if self.question.trim().is_empty() {
            out.push(format!("entry `{}`: empty question", self.id));
        }
        if self.answer.trim().is_empty() {
            out.push(format!("entry `{}`: empty answer", self.id));
        }
        if self.answer.chars().count() > MAX_ANSWER_CHARS {
            out.push(format!("entry `{}`: answer longer than {MAX_ANSWER_CHARS} characters", self.id));
        }
        out
    }
}

/// Reads a library file: `[[entry]]` tables, optional `synonyms = [[...], ...]` and `decline = [...]`.
pub fn parse_library(toml_text: &str) -> Result<(Vec<FaqEntry>, FaqRules), FaqLibraryError> {
    let file: LibraryFile = toml::from_str(toml_text).map_err(|e| FaqLibraryError::Syntax(e.to_string()))?;
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for entry in &file.entry {
        problems.extend(entry.problems());
        if !seen.insert(entry.id.as_str()) {
            problems.push(format!("id `{}` appears twice", entry.id));
        }
    }
    if problems.is_empty() {
        Ok((file.entry, FaqRules { synonyms: file.synonyms, decline: file.decline, keywords: file.keyword }))
    } else {
        Err(FaqLibraryError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_with_broken_entries_is_refused_with_every_problem() {
        let text = r#"
[[entry]]
id = "Bad Id"
question = "q"
answer = "a"
[[entry]]
id = "ok"
question = ""
answer = "a"
[[entry]]
id = "ok"
question = "q"
answer = "a"
"#;
        let err = parse_library(text).unwrap_err();
        let FaqLibraryError::Invalid(problems) = err else { panic!("{err:?}") };
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn syntax_errors_are_reported() {
        assert!(matches!(parse_library("[[entry]\nid="), Err(FaqLibraryError::Syntax(_))));
    }
}
