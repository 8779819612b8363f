//! Study items (每日学习): Markdown files with TOML front matter, pushed one a day to each branch
//! group (the next one the branch has not had; a dated item on its date first), read in full
//! with `/学习`, recorded with `/学了`.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// One study item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyItem {
    /// The file stem (`06-oath`): stable, sorts in sequence order.
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub source: String,
    /// `MM-DD`: pushed on this day every year instead of the sequence.
    pub date: Option<(u32, u32)>,
    pub link: Option<String>,
    pub body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    source: String,
    date: Option<String>,
    link: Option<String>,
}

/// Longest excerpt pushed to a group, in characters.
const EXCERPT_CHARS: usize = 120;

impl StudyItem {
    /// Parses `+++\n<toml>\n+++\n<markdown>`.
    pub fn parse(file_name: &str, text: &str) -> Result<Self, String> {
        let id = file_name.trim_end_matches(".md").to_owned();
        let rest = text.trim_start_matches('\u{feff}').strip_prefix("+++").ok_or_else(|| format!("{file_name}: no +++ front matter"))?;
        let (front, body) = rest.split_once("\n+++").ok_or_else(|| format!("{file_name}: front matter not closed with +++"))?;
        let front: FrontMatter = toml::from_str(front).map_err(|e| format!("{file_name}: {}", e.message()))?;
        let date = match front.date.as_deref() {
            None => None,
            Some(d) => {
                let (m, day) = d.split_once('-').ok_or_else(|| format!("{file_name}: date `{d}` is not MM-DD"))?;
                let parsed = m.parse().ok().zip(day.parse().ok());
                match parsed {
                    Some((m, day)) if NaiveDate::from_ymd_opt(2024, m, day).is_some() => Some((m, day)),
                    _ => return Err(format!("{file_name}: date `{d}` is not MM-DD")),
                }
            }
        };
        let body = body.trim().to_owned();
        if front.title.trim().is_empty() || body.is_empty() {
            return Err(format!("{file_name}: empty title or body"));
        }
        Ok(Self { id, title: front.title, tags: front.tags, source: front.source, date, link: front.link, body })
    }

    /// The first paragraph, cut to a chat-friendly length.
    pub fn excerpt(&self) -> String {
        let first = self.body.split("\n\n").map(str::trim).find(|p| !p.is_empty() && !p.starts_with('#')).unwrap_or("");
        let mut out: String = first.chars().take(EXCERPT_CHARS).collect();
        if first.chars().count() > EXCERPT_CHARS {
            out.push('…');
        }
        out
    }

    fn is_on(&self, date: NaiveDate) -> bool {
        self.date == Some((date.month(), date.day()))
    }
}

/// What a branch was pushed on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TodayItem {
    pub date: NaiveDate,
    pub item: String,
}

/// The study library.
#[derive(Debug, Clone, Default)]
pub struct StudyLibrary {
    items: Vec<StudyItem>,
}

impl StudyLibrary {
    pub fn new(mut items: Vec<StudyItem>) -> Self {
        items.sort_by(|a, b| a.id.cmp(&b.id));
        Self { items }
    }

    /// The items shipped in `data/study/`.
    pub fn shipped() -> Result<Self, String> {
        let items = crate::shipped::STUDY_FILES.iter().map(|(name, text)| StudyItem::parse(name, text)).collect::<Result<_, _>>()?;
        Ok(Self::new(items))
    }

    pub fn items(&self) -> &[StudyItem] {
        &self.items
    }

    pub fn get(&self, id: &str) -> Option<&StudyItem> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The item to push on `date` to a branch that was pushed `pushed` (item id → date): a
    /// dated item on its day; otherwise the first undated item not pushed yet; once every
    /// item was pushed, the one pushed longest ago.
    pub fn next_for(&self, date: NaiveDate, pushed: &std::collections::HashMap<String, NaiveDate>) -> Option<&StudyItem> {
        if let Some(dated) = self.items.iter().find(|i| i.is_on(date)) {
            return Some(dated);
        }
        let undated = || self.items.iter().filter(|i| i.date.is_none());
        undated().find(|i| !pushed.contains_key(&i.id)).or_else(|| undated().min_by_key(|i| (pushed.get(&i.id).copied(), i.id.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, date: Option<&str>) -> StudyItem {
        let date_line = date.map(|d| format!("date = \"{d}\"\n")).unwrap_or_default();
        StudyItem::parse(&format!("{id}.md"), &format!("+++\ntitle = \"{id}\"\n{date_line}+++\n\n第一段。\n\n第二段。\n")).unwrap()
    }

    #[test]
    fn parses_front_matter_and_excerpt() {
        let i = item("01-a", Some("07-01"));
        assert_eq!(i.date, Some((7, 1)));
        assert_eq!(i.excerpt(), "第一段。");
        assert!(StudyItem::parse("x.md", "no front matter").is_err());
        assert!(StudyItem::parse("x.md", "+++\ntitle = \"t\"\ndate = \"13-40\"\n+++\nbody").is_err());
    }

    #[test]
    fn the_sequence_with_dated_items_and_wrap_around() {
        let lib = StudyLibrary::new(vec![item("02-b", None), item("01-a", None), item("03-july", Some("07-01"))]);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut pushed = std::collections::HashMap::new();
        assert_eq!(lib.next_for(d("2026-06-30"), &pushed).unwrap().id, "01-a");
        pushed.insert("01-a".to_string(), d("2026-06-30"));
        assert_eq!(lib.next_for(d("2026-07-01"), &pushed).unwrap().id, "03-july");
        assert_eq!(lib.next_for(d("2026-07-02"), &pushed).unwrap().id, "02-b");
        pushed.insert("02-b".to_string(), d("2026-07-02"));
        assert_eq!(lib.next_for(d("2026-07-03"), &pushed).unwrap().id, "01-a", "wraps to the oldest");
    }
}
