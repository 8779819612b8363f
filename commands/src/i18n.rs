//! Message catalogs: every text the bot says, per language, from `data/i18n/*.toml` (embedded in
//! the binary). Code names a message by key (`checkin.ok`) and fills its `{placeholders}`.

use std::collections::BTreeMap;
use std::fmt::{self, Display, Write as _};
use std::str::FromStr;

use crate::domain::Role;

/// A language the bot speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::ZhCn => include_str!("../../data/i18n/zh-CN.toml"),
            Lang::En => include_str!("../../data/i18n/en.toml"),
        }
    }
}

impl Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A language code that has no catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}` (available: zh-CN, en)")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, UnknownLang> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "zh-cn" | "zh" | "zh-hans" => Ok(Lang::ZhCn),
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

/// A catalog file that is not a table of strings.
#[derive(Debug, thiserror::Error)]
#[error("message catalog {lang}: {detail}")]
pub struct CatalogError {
    lang: Lang,
    detail: String,
}

/// All messages of one language.
#[derive(Debug, Clone)]
pub struct Catalog {
    lang: Lang,
    messages: BTreeMap<String, String>,
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in table {
        let full = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::String(s) => {
                out.insert(full, s.clone());
            }
            toml::Value::Table(t) => flatten(&full, t, out)?,
            _ => return Err(format!("`{full}` is not a string")),
        }
    }
    Ok(())
}

impl Catalog {
    pub fn load(lang: Lang) -> Result<Self, CatalogError> {
        let table: toml::Table = toml::from_str(lang.source()).map_err(|e| CatalogError { lang, detail: e.to_string() })?;
        let mut messages = BTreeMap::new();
        flatten("", &table, &mut messages).map_err(|detail| CatalogError { lang, detail })?;
        Ok(Self { lang, messages })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// A message without placeholders. A missing key shows as the key itself (and a test makes
    /// sure no key used in code is missing).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        match self.messages.get(key) {
            Some(text) => text,
            None => {
                tracing::warn!(key, lang = %self.lang, "missing catalog message");
                key
            }
        }
    }

    /// A message with its `{name}` placeholders filled.
    pub fn t(&self, key: &str, args: &[(&str, &dyn Display)]) -> String {
        let template = self.get(key);
        if args.is_empty() {
            return template.to_owned();
        }
        let mut out = String::with_capacity(template.len() + 16);
        self.fill(&mut out, template, args);
        out
    }

    /// [`Catalog::t`] appended to `out`: for a reply built from several messages, or one whose
    /// values are long (an FAQ answer), in a buffer the caller sizes once.
    pub fn t_into(&self, out: &mut String, key: &str, args: &[(&str, &dyn Display)]) {
        self.fill(out, self.get(key), args);
    }

    fn fill(&self, out: &mut String, template: &str, args: &[(&str, &dyn Display)]) {
        let mut rest = template;
        // Byte searches: braces are ASCII, so the positions are character boundaries.
        while let Some(open) = rest.bytes().position(|b| b == b'{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.bytes().position(|b| b == b'}') {
                Some(close) => {
                    let name = &after[..close];
                    match args.iter().find(|(n, _)| *n == name) {
                        Some((_, value)) => {
                            // Into `out` directly: no String per value.
                            let _ = write!(out, "{value}");
                        }
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }

    /// A role's name in this language.
    pub fn role(&self, role: Role) -> &str {
        let key = match role {
            Role::Secretary => "role.secretary",
            Role::Committee => "role.committee",
            Role::Member => "role.member",
            Role::Probationary => "role.probationary",
            Role::Candidate => "role.candidate",
            Role::Activist => "role.activist",
            Role::Applicant => "role.applicant",
            Role::Masses => "role.masses",
        };
        self.get(key)
    }

    /// Joins names with the language's list separator (`、` or `, `).
    pub fn join(&self, items: &[String]) -> String {
        items.join(self.get("role.joiner"))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    #[cfg(test)]
    fn placeholders(&self, key: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = self.get(key);
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            found.push(after[..close].to_owned());
            rest = &after[close + 1..];
        }
        found.sort();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_have_the_same_keys_and_placeholders() {
        let zh = Catalog::load(Lang::ZhCn).unwrap();
        let en = Catalog::load(Lang::En).unwrap();
        let zk: Vec<&str> = zh.keys().collect();
        let ek: Vec<&str> = en.keys().collect();
        assert_eq!(zk, ek);
        for key in zk {
            assert_eq!(zh.placeholders(key), en.placeholders(key), "{key}");
        }
    }

    /// Every `"section.key"` literal passed to the catalog in this crate's sources exists.
    #[test]
    fn every_key_used_in_code_exists() {
        let zh = Catalog::load(Lang::ZhCn).unwrap();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files = vec![std::path::PathBuf::from(root)];
        let mut checked = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in ["t(\"", "get(\"", "msg(\""] {
                for (i, _) in text.match_indices(call) {
                    let rest = &text[i + call.len()..];
                    let key = &rest[..rest.find('"').unwrap()];
                    if key.contains('.') && key.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_') {
                        assert!(zh.messages.contains_key(key), "{}: missing key {key}", path.display());
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 30, "only {checked} keys found: is the scan broken?");
    }

    /// Every command and subcommand has its usage line and help, in both languages.
    #[test]
    fn every_command_is_described() {
        let registry = crate::framework::Registry::new(crate::cmd::ALL);
        for lang in [Lang::ZhCn, Lang::En] {
            let catalog = Catalog::load(lang).unwrap();
            for (spec, _) in registry.all() {
                for field in ["usage", "help"] {
                    assert!(catalog.messages.contains_key(spec.catalog_key(field).as_str()), "{lang:?}: no {}", spec.catalog_key(field));
                }
            }
        }
    }

    #[test]
    fn placeholders_are_filled() {
        let zh = Catalog::load(Lang::ZhCn).unwrap();
        let text = zh.t("checkin.ok", &[("week", &3), ("streak", &5)]);
        assert_eq!(text, "签到成功！本周已签到 3 天，已连续签到 5 天。");
        assert_eq!("EN".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
    }
}
